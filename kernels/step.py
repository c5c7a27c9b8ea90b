"""Single-step selective state update, for frame-by-frame inference.

Shapes (glossary in ``scan_ref``; there is no L axis, one step per call):

    state  (B, H, P, N)  float32
    x      (B, H, P)
    dt     (B, H)        positive step sizes
    A      (H,)          negative decay rates
    Bm     (B, G, N)
    Cm     (B, G, N)
    D      (H,) or None

    new_state = exp(dt * A) * state + dt * x (outer) Bm
    y         = new_state . Cm + D * x

Calling this once per frame, feeding the state back, equals the full scan
over the same frames (tested). At batch 1 an inference step costs per-op
overhead, not arithmetic (about 250 tiny ops for an 8-layer model, measured
here), so the torch version below is kept to a handful of ops: views instead
of ``repeat_interleave`` for the groups, ``addcmul`` and ``matmul`` instead
of separate multiply / add / sum.
"""

from __future__ import annotations

import torch


def check_step_args(state, x, dt, A, Bm, Cm, D=None) -> tuple[int, int, int, int, int]:
    """Validate the shapes of one step; return ``(B, H, P, G, N)``."""
    if state.dim() != 4:
        raise ValueError(f"state must be (B, H, P, N), got shape {tuple(state.shape)}")
    batch, heads, head_dim, d_state = state.shape
    if x.shape != (batch, heads, head_dim):
        raise ValueError(f"x must be (B, H, P) = {(batch, heads, head_dim)}, got {tuple(x.shape)}")
    if dt.shape != (batch, heads):
        raise ValueError(f"dt must be (B, H) = {(batch, heads)}, got {tuple(dt.shape)}")
    if A.shape != (heads,):
        raise ValueError(f"A must be (H,) = ({heads},), got {tuple(A.shape)}")
    if Bm.dim() != 3 or Bm.shape[0] != batch or Bm.shape[2] != d_state:
        raise ValueError(f"Bm must be (B, G, N) with B, N = {batch}, {d_state}, got {tuple(Bm.shape)}")
    if Cm.shape != Bm.shape:
        raise ValueError(f"Cm must match Bm {tuple(Bm.shape)}, got {tuple(Cm.shape)}")
    if state.dtype != torch.float32:
        raise ValueError(f"state must be float32 (states are kept in fp32), got {state.dtype}")
    groups = Bm.shape[1]
    if heads % groups:
        raise ValueError(f"H = {heads} heads do not split into G = {groups} groups")
    if D is not None and D.shape != (heads,):
        raise ValueError(f"D must be (H,) = ({heads},), got {tuple(D.shape)}")
    return batch, heads, head_dim, groups, d_state


def selective_state_update_ref(
    state: torch.Tensor,
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None = None,
    inplace: bool = False,
    check: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the recurrence in plain torch.

    Args: state (B, H, P, N) float32, x (B, H, P), dt (B, H), A (H,),
    Bm/Cm (B, G, N), D (H,) or None. ``inplace=True`` writes the new state
    into ``state`` (no allocation; the server's per-stream states); otherwise
    ``state`` is left untouched. ``check=False`` skips the shape checks, for
    a hot loop whose shapes were checked once.
    Returns: y (B, H, P) in x.dtype, new_state (B, H, P, N) float32.
    """
    if check:
        batch, heads, head_dim, groups, d_state = check_step_args(state, x, dt, A, Bm, Cm, D)
    else:
        batch, heads, head_dim, d_state = state.shape
        groups = Bm.shape[1]
    r = heads // groups
    out_dtype = x.dtype
    if x.dtype != torch.float32:  # only pay for casts when the caller runs in bf16
        x, dt, Bm, Cm = x.float(), dt.float(), Bm.float(), Cm.float()

    # Split heads into (G, r) with views so each group's Bm/Cm broadcasts over its heads.
    decay = torch.exp(dt * A).view(batch, groups, r, 1, 1)
    dtx = (dt.unsqueeze(-1) * x).reshape(batch, groups, r, head_dim, 1)
    Bv = Bm.reshape(batch, groups, 1, 1, d_state)  # reshape: inputs may be strided slices
    if inplace:
        if not state.is_contiguous():
            raise ValueError("inplace=True needs a contiguous state")
        s = state.view(batch, groups, r, head_dim, d_state)
        new = s.mul_(decay).addcmul_(dtx, Bv)
    else:
        s = state.reshape(batch, groups, r, head_dim, d_state)
        new = torch.addcmul(s * decay, dtx, Bv)
    y = (new @ Cm.reshape(batch, groups, 1, d_state, 1)).view(batch, heads, head_dim)
    if D is not None:
        y = torch.addcmul(y, D.unsqueeze(-1), x)
    return y.to(out_dtype), new.view(batch, heads, head_dim, d_state)
