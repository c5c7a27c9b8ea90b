"""Convolutional building blocks shared by the encoder and the decoder.

Shapes: x (B, T, C) frames-major, as the linears and LayerNorms want it. The
depthwise conv works on (B, C, T). A causal block keeps the last (k - 1)
inputs of its depthwise conv as its streaming state, so running a sequence in
chunks is the same computation as running it whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalConv1d(nn.Module):
    """Conv over frames that sees only the present and the past.

    forward(x (B, C_in, T), state (B, C_in, k-1) | None) -> (y (B, C_out, T), state').
    A None state means "stream start": k-1 zero frames of left context.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int = 1):
        super().__init__()
        self.kernel = kernel
        self.c_in = c_in
        self.conv = nn.Conv1d(c_in, c_out, kernel, groups=groups)

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
        return torch.zeros(batch, self.c_in, self.kernel - 1, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        if state is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        xs = torch.cat([state.to(x.dtype), x], dim=-1)  # (B, C_in, k-1+T)
        new_state = xs[..., xs.shape[-1] - (self.kernel - 1):]
        return self.conv(xs), new_state


class ConvNeXtBlock(nn.Module):
    """Depthwise conv -> LayerNorm -> MLP, with a layer-scaled residual.

    forward(x (B, T, C), state) -> (x' (B, T, C), state'). Causal blocks carry
    a (B, C, k-1) state; non-causal ("same" padding) blocks are for the
    offline encoder and take no state.
    """

    def __init__(self, dim: int, kernel: int, mlp_ratio: int, causal: bool, layer_scale: float = 0.1):
        super().__init__()
        self.causal = causal
        if causal:
            self.dwconv = CausalConv1d(dim, dim, kernel, groups=dim)
        else:
            assert kernel % 2 == 1, "a non-causal block needs an odd kernel"
            self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, mlp_ratio * dim)
        self.pw2 = nn.Linear(mlp_ratio * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
        assert self.causal
        return self.dwconv.init_state(batch, device, dtype)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        h = x.transpose(1, 2)
        if self.causal:
            h, state = self.dwconv(h, state)
        else:
            h = self.dwconv(h)
        h = self.norm(h.transpose(1, 2))
        h = self.pw2(F.gelu(self.pw1(h)))
        return x + self.gamma * h, state
