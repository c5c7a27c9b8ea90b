"""Pick an implementation of the scan and of the single step.

``impl`` is one of:

* ``"ref"``: the sequential fp32 loop (``scan_ref``) / the torch step
  (``step``). Ground truth; the step is also the CPU inference path.
* ``"chunked"``: the chunked matrix form (``scan_chunked``); scan only.
* ``"triton"``: the Triton kernels (``scan_triton``); CUDA tensors, or CPU
  tensors when triton was imported under ``TRITON_INTERPRET=1``. Forward only.
* ``"auto"``: on CUDA, Triton when it is installed and no gradient is needed,
  otherwise the chunked form (training: matmuls that cuBLAS runs well, with
  autograd's backward); on CPU the chunked form for scans and the torch step
  for single steps. Every choice computes the same function (tests hold them
  equal), so ``auto`` changes speed, never results.

Triton is the ``train`` extra; it is imported only when a CUDA call (or an
explicit ``impl="triton"``) needs it.
"""

from __future__ import annotations

import functools

import torch

from tts.errors import StatecastError, require

from .scan_chunked import DEFAULT_CHUNK, selective_scan_chunked
from .scan_ref import selective_scan_ref
from .step import selective_state_update_ref

IMPLS = ("auto", "ref", "chunked", "triton")


@functools.lru_cache(maxsize=1)
def _triton_module():
    """kernels.scan_triton, or a MissingExtraError naming the 'train' extra."""
    require("triton", "train")
    from . import scan_triton

    return scan_triton


@functools.lru_cache(maxsize=1)
def triton_installed() -> bool:
    try:
        _triton_module()
    except StatecastError:
        return False
    return True


def _needs_grad(*tensors) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _check_impl(impl: str) -> None:
    if impl not in IMPLS:
        raise StatecastError(f"unknown scan impl {impl!r}; choose one of {', '.join(IMPLS)}")


def resolve_scan_impl(x: torch.Tensor, *others, impl: str = "auto") -> str:
    """The concrete implementation ``selective_scan`` would run for these inputs."""
    _check_impl(impl)
    if impl != "auto":
        return impl
    if x.is_cuda and not _needs_grad(x, *others) and triton_installed():
        return "triton"
    return "chunked"


def selective_scan(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    initial_state: torch.Tensor | None = None,
    impl: str = "auto",
    chunk_size: int = DEFAULT_CHUNK,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Selective scan over a sequence, by the chosen implementation.

    Args: x (B, L, H, P), dt (B, L, H), A (H,), Bm/Cm (B, L, G, N),
    D (H,) or None, initial_state (B, H, P, N) or None; see ``scan_ref``.
    Returns: y (B, L, H, P) in x.dtype, final_state (B, H, P, N) float32.
    """
    chosen = resolve_scan_impl(x, dt, A, Bm, Cm, D, initial_state, impl=impl)
    if chosen == "ref":
        return selective_scan_ref(x, dt, A, Bm, Cm, D, initial_state)
    if chosen == "chunked":
        return selective_scan_chunked(x, dt, A, Bm, Cm, D, initial_state, chunk_size=chunk_size)
    return _triton_module().selective_scan_triton(x, dt, A, Bm, Cm, D, initial_state)


def selective_state_update(
    state: torch.Tensor,
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    impl: str = "auto",
    inplace: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recurrence step, by the chosen implementation (``"chunked"`` means the torch step).

    Args: state (B, H, P, N) float32, x (B, H, P), dt (B, H), A (H,),
    Bm/Cm (B, G, N), D (H,) or None; ``inplace=True`` overwrites ``state``.
    Returns: y (B, H, P) in x.dtype, new_state (B, H, P, N) float32.
    """
    _check_impl(impl)
    use_triton = impl == "triton" or (
        impl == "auto" and x.is_cuda and not _needs_grad(state, x, dt, A, Bm, Cm, D) and triton_installed()
    )
    if use_triton:
        return _triton_module().selective_state_update_triton(state, x, dt, A, Bm, Cm, D, inplace=inplace)
    return selective_state_update_ref(state, x, dt, A, Bm, Cm, D, inplace=inplace)
