"""Triton kernels: the full-sequence scan (forward) and the single-step state update.

Shapes follow the glossary in ``scan_ref`` (scan) and ``step`` (one step).
This module imports triton at the top; nothing else in ``kernels`` imports it
eagerly, so the lean CPU service never needs the 1 GB wheel. Import it through
``kernels.dispatch`` (which gives a clear error when triton is missing), and
set ``TRITON_INTERPRET=1`` *before* the first import to run the kernels on
CPU tensors in triton's interpreter (slow: small shapes only).

Design. Both kernels run one program per (batch, head, block of P channels)
and hold that block's (BLOCK_P, N) state in registers:

* ``_scan_fwd_kernel`` walks time sequentially, reading x, dt, Bm, Cm for one
  step and writing y for it, so the state never touches global memory until
  the final state is stored. Parallelism is B * H * P / BLOCK_P programs, ample
  for serving batches and for prefill of a prompt chunk.
* ``_state_update_kernel`` is the same body for a single step: one launch per
  layer and frame instead of the half-dozen the torch step needs.

Why no Triton backward. Training on a GPU goes through the chunked torch form
(``scan_chunked``): its cost is batched matmuls, which cuBLAS runs at full
speed, and autograd derives its backward for free and is tested against the
reference. A hand-written backward for a sequential kernel would be a second
recurrence (reverse time) plus a reduction over P for dA, all to be kept equal
to the reference by hand. The dispatcher therefore sends any call that needs
gradients to the chunked form, and the Triton scan refuses inputs that require
grad rather than silently returning a result with no gradient.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from tts.errors import StatecastError

from .scan_ref import check_scan_args
from .step import check_step_args


def interpreting() -> bool:
    """True when triton was imported in interpreter mode (kernels run on CPU tensors)."""
    return bool(triton.knobs.runtime.interpret)


def _check_device(t: torch.Tensor) -> None:
    if not t.is_cuda and not interpreting():
        raise StatecastError(
            "the Triton kernels need CUDA tensors (or TRITON_INTERPRET=1 set before triton is imported, "
            "for testing on CPU); use impl='auto' or 'chunked' on CPU"
        )


def _block_sizes(head_dim: int, d_state: int) -> tuple[int, int]:
    """Power-of-two tiles; cap the (BLOCK_P, BLOCK_N) state tile at 4096 fp32 per program."""
    block_n = triton.next_power_of_2(d_state)
    block_p = min(triton.next_power_of_2(head_dim), max(1, 4096 // block_n))
    return block_p, block_n


@triton.jit
def _scan_fwd_kernel(
    x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, h0_ptr, y_ptr, hT_ptr,
    L, H, P, N, heads_per_group,
    sx_b, sx_l, sx_h, sx_p,
    sdt_b, sdt_l, sdt_h,
    sB_b, sB_l, sB_g, sB_n,
    sC_b, sC_l, sC_g, sC_n,
    sy_b, sy_l, sy_h, sy_p,
    sh_b, sh_h, sh_p, sh_n,
    HAS_D: tl.constexpr, HAS_H0: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_p = tl.program_id(1)
    b = (pid_bh // H).to(tl.int64)  # int64 offsets: B * L * H * P can pass 2**31
    h = pid_bh % H
    g = h // heads_per_group
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, BLOCK_N)
    mask_p = offs_p < P
    mask_n = offs_n < N
    mask_pn = mask_p[:, None] & mask_n[None, :]

    a = tl.load(A_ptr + h).to(tl.float32)
    h_offs = b * sh_b + h * sh_h + offs_p[:, None] * sh_p + offs_n[None, :] * sh_n
    if HAS_H0:
        state = tl.load(h0_ptr + h_offs, mask=mask_pn, other=0.0).to(tl.float32)
    else:
        state = tl.zeros((BLOCK_P, BLOCK_N), dtype=tl.float32)
    if HAS_D:
        d = tl.load(D_ptr + h).to(tl.float32)

    x_base = x_ptr + b * sx_b + h * sx_h + offs_p * sx_p
    y_base = y_ptr + b * sy_b + h * sy_h + offs_p * sy_p
    dt_base = dt_ptr + b * sdt_b + h * sdt_h
    B_base = B_ptr + b * sB_b + g * sB_g + offs_n * sB_n
    C_base = C_ptr + b * sC_b + g * sC_g + offs_n * sC_n
    for t in range(L):
        x = tl.load(x_base + t * sx_l, mask=mask_p, other=0.0).to(tl.float32)
        dt = tl.load(dt_base + t * sdt_l).to(tl.float32)
        Bv = tl.load(B_base + t * sB_l, mask=mask_n, other=0.0).to(tl.float32)
        Cv = tl.load(C_base + t * sC_l, mask=mask_n, other=0.0).to(tl.float32)
        state = state * tl.exp(dt * a) + (dt * x)[:, None] * Bv[None, :]
        y = tl.sum(state * Cv[None, :], axis=1)
        if HAS_D:
            y += d * x
        tl.store(y_base + t * sy_l, y.to(y_ptr.dtype.element_ty), mask=mask_p)
    tl.store(hT_ptr + h_offs, state, mask=mask_pn)


@triton.jit
def _state_update_kernel(
    s_ptr, x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, y_ptr, out_ptr,
    H, P, N, heads_per_group,
    ss_b, ss_h, ss_p, ss_n,
    sx_b, sx_h, sx_p,
    sdt_b, sdt_h,
    sB_b, sB_g, sB_n,
    sC_b, sC_g, sC_n,
    sy_b, sy_h, sy_p,
    so_b, so_h, so_p, so_n,
    HAS_D: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_p = tl.program_id(1)
    b = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    g = h // heads_per_group
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, BLOCK_N)
    mask_p = offs_p < P
    mask_n = offs_n < N
    mask_pn = mask_p[:, None] & mask_n[None, :]

    # Each program reads its own tile before writing it, so out_ptr may alias s_ptr (in place).
    state = tl.load(s_ptr + b * ss_b + h * ss_h + offs_p[:, None] * ss_p + offs_n[None, :] * ss_n,
                    mask=mask_pn, other=0.0)
    x = tl.load(x_ptr + b * sx_b + h * sx_h + offs_p * sx_p, mask=mask_p, other=0.0).to(tl.float32)
    dt = tl.load(dt_ptr + b * sdt_b + h * sdt_h).to(tl.float32)
    a = tl.load(A_ptr + h).to(tl.float32)
    Bv = tl.load(B_ptr + b * sB_b + g * sB_g + offs_n * sB_n, mask=mask_n, other=0.0).to(tl.float32)
    Cv = tl.load(C_ptr + b * sC_b + g * sC_g + offs_n * sC_n, mask=mask_n, other=0.0).to(tl.float32)
    state = state * tl.exp(dt * a) + (dt * x)[:, None] * Bv[None, :]
    y = tl.sum(state * Cv[None, :], axis=1)
    if HAS_D:
        y += tl.load(D_ptr + h).to(tl.float32) * x
    tl.store(y_ptr + b * sy_b + h * sy_h + offs_p * sy_p, y.to(y_ptr.dtype.element_ty), mask=mask_p)
    tl.store(out_ptr + b * so_b + h * so_h + offs_p[:, None] * so_p + offs_n[None, :] * so_n,
             state, mask=mask_pn)


def _refuse_grad(*tensors) -> None:
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        raise RuntimeError(
            "the Triton scan is forward-only; use selective_scan(..., impl='chunked') (or 'auto') for training"
        )


def selective_scan_triton(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full-sequence scan in one Triton launch; same contract as ``selective_scan_ref``.

    Args: x (B, L, H, P), dt (B, L, H), A (H,), Bm/Cm (B, L, G, N), D (H,) or
    None, initial_state (B, H, P, N) or None. Any strides are accepted.
    Returns: y (B, L, H, P) in x.dtype, final_state (B, H, P, N) float32.
    Forward only (see the module docstring).
    """
    batch, length, heads, head_dim, groups, d_state = check_scan_args(x, dt, A, Bm, Cm, D, initial_state)
    _check_device(x)
    _refuse_grad(x, dt, A, Bm, Cm, D, initial_state)
    y = torch.empty_like(x, memory_format=torch.contiguous_format)
    final = torch.empty(batch, heads, head_dim, d_state, device=x.device, dtype=torch.float32)
    # One stride set serves h0 and the final state, hence the contiguous copy; h0 is
    # never read when HAS_H0 is False, so any pointer will do then.
    h0 = final if initial_state is None else initial_state.contiguous()
    block_p, block_n = _block_sizes(head_dim, d_state)
    grid = (batch * heads, triton.cdiv(head_dim, block_p))
    _scan_fwd_kernel[grid](
        x, dt, A, Bm, Cm, D if D is not None else A, h0, y, final,
        length, heads, head_dim, d_state, heads // groups,
        *x.stride(), *dt.stride(), *Bm.stride(), *Cm.stride(), *y.stride(),
        *final.stride(),
        HAS_D=D is not None, HAS_H0=initial_state is not None,
        BLOCK_P=block_p, BLOCK_N=block_n,
    )
    return y, final


def selective_state_update_triton(
    state: torch.Tensor,
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    inplace: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step in one Triton launch; same contract as ``selective_state_update_ref``.

    Args: state (B, H, P, N) float32, x (B, H, P), dt (B, H), A (H,),
    Bm/Cm (B, G, N), D (H,) or None; ``inplace=True`` overwrites ``state``.
    Returns: y (B, H, P) in x.dtype, new_state (B, H, P, N) float32.
    """
    batch, heads, head_dim, groups, d_state = check_step_args(state, x, dt, A, Bm, Cm, D)
    _check_device(x)
    _refuse_grad(state, x, dt, A, Bm, Cm, D)
    out = state if inplace else torch.empty_like(state, memory_format=torch.contiguous_format)
    y = torch.empty_like(x, memory_format=torch.contiguous_format)
    block_p, block_n = _block_sizes(head_dim, d_state)
    grid = (batch * heads, triton.cdiv(head_dim, block_p))
    _state_update_kernel[grid](
        state, x, dt, A, Bm, Cm, D if D is not None else A, y, out,
        heads, head_dim, d_state, heads // groups,
        *state.stride(), *x.stride(), *dt.stride(), *Bm.stride(), *Cm.stride(), *y.stride(), *out.stride(),
        HAS_D=D is not None, BLOCK_P=block_p, BLOCK_N=block_n,
    )
    return y, out
