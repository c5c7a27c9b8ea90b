"""Selective scan in the chunked matrix form (Mamba-2 / SSD): the fast training path.

Shapes follow the glossary in ``scan_ref``; additionally Q is the chunk
length, C = ceil(L / Q) the number of chunks and r = H / G heads per group.

Why this form. A sequential loop does L tiny elementwise steps, each memory
bound and each recorded by autograd; parallel scans that materialise
(B, L, H, P, N) tensors are memory bound too. With one scalar decay per head
the scan splits into chunks of Q steps where

1. inside a chunk, the output is a masked (Q x Q) "attention" matrix
   ``(Cm_l . Bm_s) * decay(s -> l)`` applied to ``dt * x``: batched matmuls;
2. each chunk's own contribution to the state at its end is one more matmul;
3. states pass from chunk to chunk with a short recurrence over C chunks;
4. the state entering a chunk reaches every output in it through ``Cm``:
   one more matmul, scaled by the decay from the chunk start.

Numerics. All decays are exponentials of sums of ``a = dt * A <= 0``. Every
exponent here is a non-positive segment sum (a difference of cumulative sums
*inside one chunk*, masked to the causal triangle *before* the exp), so
nothing can overflow; a form that divides by exp(cumsum) overflows to inf/NaN
on long or strongly decaying chunks. Cumulative sums never span more than Q
steps, which keeps their rounding error small too.

Inputs may be float32 or bfloat16; everything is computed in float32 (CPU
matmuls in bf16 are not faster without AVX512-BF16, and the decays need the
range). The sequence is zero-padded to a multiple of Q: a padded step has
dt = 0, so its decay is exactly 1 and its input exactly 0, and the final state
is unaffected.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .scan_ref import check_scan_args

DEFAULT_CHUNK = 64


def segsum_decay(a_cum: torch.Tensor) -> torch.Tensor:
    """Causal decay matrix of one chunk.

    a_cum (..., Q): cumulative sum of the log-decays inside the chunk.
    Returns (..., Q, Q) with ``[l, s] = exp(a_cum[l] - a_cum[s])`` for s <= l
    (the decay from step s to step l) and 0 above the diagonal. The upper
    triangle holds positive exponents, so it is masked to -inf before the exp.
    """
    q = a_cum.shape[-1]
    diff = a_cum.unsqueeze(-1) - a_cum.unsqueeze(-2)  # [l, s]
    causal = torch.ones(q, q, dtype=torch.bool, device=a_cum.device).tril()
    return torch.exp(diff.masked_fill(~causal, float("-inf")))


def selective_scan_chunked(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chunked selective scan; same contract as ``selective_scan_ref``.

    Args: x (B, L, H, P), dt (B, L, H), A (H,), Bm/Cm (B, L, G, N),
    D (H,) or None, initial_state (B, H, P, N) or None, chunk_size Q.
    Returns: y (B, L, H, P) in x.dtype, final_state (B, H, P, N) float32.
    Differentiable with plain autograd (no custom backward).
    """
    batch, length, heads, head_dim, groups, d_state = check_scan_args(x, dt, A, Bm, Cm, D, initial_state)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    r = heads // groups
    q = min(chunk_size, length)  # no point padding a short sequence up to a full chunk
    n_chunks = -(-length // q)
    pad = n_chunks * q - length

    xf, dtf, Bf, Cf = x.float(), dt.float(), Bm.float(), Cm.float()
    if pad:
        xf = F.pad(xf, (0, 0, 0, 0, 0, pad))
        dtf = F.pad(dtf, (0, 0, 0, pad))
        Bf = F.pad(Bf, (0, 0, 0, 0, 0, pad))
        Cf = F.pad(Cf, (0, 0, 0, 0, 0, pad))

    # Matmul layout: (B, C, G, r, Q, ...) so Q and P/N are the last two dims. reshape, not
    # view: inputs may be strided (slices of a projection, permuted storage).
    a = (dtf * A.float()).reshape(batch, n_chunks, q, groups, r).permute(0, 1, 3, 4, 2)  # (B, C, G, r, Q)
    a_cum = a.cumsum(-1)
    xdt = (xf * dtf.unsqueeze(-1)).reshape(batch, n_chunks, q, groups, r, head_dim)
    xdt = xdt.permute(0, 1, 3, 4, 2, 5).contiguous()  # (B, C, G, r, Q, P); two matmuls read it
    Bc = Bf.reshape(batch, n_chunks, q, groups, d_state).permute(0, 1, 3, 2, 4)  # (B, C, G, Q, N)
    Cc = Cf.reshape(batch, n_chunks, q, groups, d_state).permute(0, 1, 3, 2, 4)  # (B, C, G, Q, N)

    # 1. Inside each chunk: y_diag[l] = sum_{s<=l} (C_l . B_s) decay(s->l) dt_s x_s.
    scores = Cc @ Bc.transpose(-1, -2)  # (B, C, G, Q, Q), shared by the r heads of a group
    y = (segsum_decay(a_cum) * scores.unsqueeze(3)) @ xdt  # (B, C, G, r, Q, P)

    # 2. Each chunk's own inputs, decayed to the chunk end: (B, C, G, r, P, N). The decay
    #    scales Bm (Q x N) rather than x (Q x P): fewer elements whenever N < P.
    decay_to_end = torch.exp(a_cum[..., -1:] - a_cum)  # exponent <= 0
    chunk_states = xdt.transpose(-1, -2) @ (Bc.unsqueeze(3) * decay_to_end.unsqueeze(-1))

    # 3. Pass states across chunks; C is small (L / Q), so a loop is cheap.
    chunk_decay = torch.exp(a_cum[..., -1])  # (B, C, G, r): decay over a whole chunk
    if initial_state is None:
        h = xf.new_zeros(batch, groups, r, head_dim, d_state)
    else:
        h = initial_state.float().reshape(batch, groups, r, head_dim, d_state)
    entering = []
    for states_c, decay_c in zip(chunk_states.unbind(1), chunk_decay.unbind(1)):
        entering.append(h)
        h = decay_c[..., None, None] * h + states_c
    h_in = torch.stack(entering, dim=1)  # (B, C, G, r, P, N): state entering each chunk

    # 4. Entering state -> outputs: (decay(chunk start -> l) * C_l) . h_in; exponent <= 0.
    y = y + (Cc.unsqueeze(3) * torch.exp(a_cum).unsqueeze(-1)) @ h_in.transpose(-1, -2)

    y = y.permute(0, 1, 4, 2, 3, 5).reshape(batch, n_chunks * q, heads, head_dim)[:, :length]
    if D is not None:
        y = y + D.float()[:, None] * xf[:, :length]
    return y.to(x.dtype), h.reshape(batch, heads, head_dim, d_state)
