"""Random scan inputs of a given shape, for tests and benchmarks.

The value ranges resemble a trained Mamba-2 layer (dt through softplus,
A = -exp(A_log)) so tests exercise realistic decays; ``strong_decay`` pushes
dt * A to between about -2 and -200 per step to stress the numerics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ScanShape:
    """Dimensions of a scan (letters as in the ``scan_ref`` glossary)."""

    B: int
    L: int
    H: int
    P: int
    G: int
    N: int

    def __str__(self) -> str:
        return f"B{self.B}-L{self.L}-H{self.H}-P{self.P}-G{self.G}-N{self.N}"


def random_scan_inputs(
    shape: ScanShape,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    with_D: bool = True,
    with_state: bool = True,
    strong_decay: bool = False,
) -> dict[str, torch.Tensor | None]:
    """Keyword arguments for any ``selective_scan*``: x, dt, A, Bm, Cm, D, initial_state.

    x, dt, Bm, Cm are in ``dtype``; A, D and the initial state stay float32
    (they are parameters / carried state, kept in fp32 by the model).
    """
    g = torch.Generator().manual_seed(seed)
    s = shape

    def randn(*size):
        return torch.randn(*size, generator=g)

    if strong_decay:
        dt = F.softplus(randn(s.B, s.L, s.H) + 2.0) * 2.0  # about 0.6 .. 10
        A = -torch.exp(torch.rand(s.H, generator=g) * 2.0 + 1.0)  # about -2.7 .. -20
    else:
        dt = F.softplus(randn(s.B, s.L, s.H) - 1.0)  # about 0.05 .. 2
        A = -torch.exp(torch.rand(s.H, generator=g) * 2.0 - 1.0)  # about -0.37 .. -2.7
    out = {
        "x": randn(s.B, s.L, s.H, s.P).to(dtype),
        "dt": dt.to(dtype),
        "A": A,
        "Bm": randn(s.B, s.L, s.G, s.N).to(dtype),
        "Cm": randn(s.B, s.L, s.G, s.N).to(dtype),
        "D": randn(s.H) if with_D else None,
        "initial_state": randn(s.B, s.H, s.P, s.N) if with_state else None,
    }
    return {k: (v.to(device) if v is not None else None) for k, v in out.items()}


def step_inputs(scan_inputs: dict, t: int) -> dict[str, torch.Tensor | None]:
    """The per-step slice (x, dt, Bm, Cm at time t; A, D shared) of scan inputs."""
    return {
        "x": scan_inputs["x"][:, t],
        "dt": scan_inputs["dt"][:, t],
        "A": scan_inputs["A"],
        "Bm": scan_inputs["Bm"][:, t],
        "Cm": scan_inputs["Cm"][:, t],
        "D": scan_inputs["D"],
    }
