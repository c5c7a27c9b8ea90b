"""Selective scan: the sequential fp32 reference, and the shape contract shared by every form.

Glossary of dimension letters used throughout ``kernels/``:

    B  batch                      L  sequence length (frames)
    H  heads                      P  channels per head (head dim)
    G  groups of the Bm/Cm projections; group g serves the H/G contiguous
       heads g*H/G .. (g+1)*H/G - 1 (G = 1: every head shares one Bm, Cm)
    N  state size per channel     Q  chunk length (chunked form only)

Tensors. The SSM's own B and C matrices are spelt ``Bm`` and ``Cm`` so they
never collide with the batch letter B.

    x      (B, L, H, P)  inputs per head
    dt     (B, L, H)     positive step sizes (already through softplus)
    A      (H,)          negative decay rates, one scalar per head
    Bm     (B, L, G, N)  input projection
    Cm     (B, L, G, N)  output projection
    D      (H,) or None  skip connection
    state  (B, H, P, N)  initial state (None = zeros); final state returned

Recurrence, per step t, per head h, channel p, state index n:

    h_t = exp(dt_t * A) * h_{t-1} + dt_t * x_t * Bm_t      (outer product over p, n)
    y_t = sum_n h_t * Cm_t + D * x_t

One scalar decay per head (Mamba-2 / SSD) rather than one per (channel,
state) as in Mamba-1: it is what lets the chunked form be plain matrix
products, see ``scan_chunked``.

Every form takes an initial state and returns ``(y, final_state)``: ``y``
in the dtype of ``x``, the final state always float32 (a state that lives for
thousands of frames should not round to bf16 at every chunk boundary). So
running the scan on ``[0:k]`` and then ``[k:L]`` with the passed state equals
running it on ``[0:L]``, which is what the server's streaming relies on.
"""

from __future__ import annotations

import torch


def check_scan_args(x, dt, A, Bm, Cm, D=None, initial_state=None) -> tuple[int, int, int, int, int, int]:
    """Validate the shapes of a full-sequence scan; return ``(B, L, H, P, G, N)``."""
    if x.dim() != 4:
        raise ValueError(f"x must be (B, L, H, P), got shape {tuple(x.shape)}")
    batch, length, heads, head_dim = x.shape
    if length < 1:
        raise ValueError("the scan needs at least one step (L >= 1)")
    if dt.shape != (batch, length, heads):
        raise ValueError(f"dt must be (B, L, H) = {(batch, length, heads)}, got {tuple(dt.shape)}")
    if A.shape != (heads,):
        raise ValueError(f"A must be (H,) = ({heads},), got {tuple(A.shape)}")
    if Bm.dim() != 4 or Bm.shape[:2] != (batch, length):
        raise ValueError(f"Bm must be (B, L, G, N) with B, L = {batch}, {length}, got {tuple(Bm.shape)}")
    groups, d_state = Bm.shape[2], Bm.shape[3]
    if Cm.shape != Bm.shape:
        raise ValueError(f"Cm must match Bm {tuple(Bm.shape)}, got {tuple(Cm.shape)}")
    if heads % groups:
        raise ValueError(f"H = {heads} heads do not split into G = {groups} groups")
    if D is not None and D.shape != (heads,):
        raise ValueError(f"D must be (H,) = ({heads},), got {tuple(D.shape)}")
    if initial_state is not None and initial_state.shape != (batch, heads, head_dim, d_state):
        raise ValueError(
            f"initial_state must be (B, H, P, N) = {(batch, heads, head_dim, d_state)}, "
            f"got {tuple(initial_state.shape)}"
        )
    return batch, length, heads, head_dim, groups, d_state


def heads_from_groups(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(..., G, N) -> (..., H, N): give every head its group's projection."""
    groups = t.shape[-2]
    return t if groups == heads else t.repeat_interleave(heads // groups, dim=-2)


def selective_scan_ref(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequential fp32 scan, one time step at a time: the ground truth.

    Args: see the module glossary. x (B, L, H, P), dt (B, L, H), A (H,),
    Bm/Cm (B, L, G, N), D (H,) or None, initial_state (B, H, P, N) or None.
    Returns: y (B, L, H, P) in x.dtype, final_state (B, H, P, N) float32.

    Iterates with ``unbind`` rather than ``x[:, t]``: indexing makes autograd
    allocate a full-size zero gradient per step in backward (214 s for one
    layer, measured on this machine).
    """
    batch, _, heads, head_dim, _, d_state = check_scan_args(x, dt, A, Bm, Cm, D, initial_state)
    xf, dtf, Af = x.float(), dt.float(), A.float()
    Bh = heads_from_groups(Bm.float(), heads)  # (B, L, H, N)
    Ch = heads_from_groups(Cm.float(), heads)
    if initial_state is None:
        h = x.new_zeros(batch, heads, head_dim, d_state, dtype=torch.float32)
    else:
        h = initial_state.float()
    ys = []
    for x_t, dt_t, B_t, C_t in zip(xf.unbind(1), dtf.unbind(1), Bh.unbind(1), Ch.unbind(1)):
        decay = torch.exp(dt_t * Af)  # (B, H)
        inp = (dt_t.unsqueeze(-1) * x_t).unsqueeze(-1) * B_t.unsqueeze(2)  # (B, H, P, N)
        h = decay[:, :, None, None] * h + inp
        ys.append((h * C_t.unsqueeze(2)).sum(-1))  # (B, H, P)
    y = torch.stack(ys, dim=1)  # (B, L, H, P)
    if D is not None:
        y = y + D.float()[:, None] * xf
    return y.to(x.dtype), h
