"""Mamba-2-style selective-SSM block: the causal layer of the acoustic decoder.

    x -> RMSNorm -> in_proj -> [z | xBC | dt]
    xBC -> causal depthwise conv (width k) -> SiLU -> [x (H, P) | Bm (G, N) | Cm (G, N)]
    dt  -> softplus(dt + dt_bias);  A = -exp(A_log)  (one scalar decay per head)
    y = selective_scan(x, dt, A, Bm, Cm, D)         (kernels/)
    y = RMSNorm(y * SiLU(z)) -> out_proj -> + residual

Shapes (letters as in ``acoustic.py``): sequences are (B, L, D), single
frames (B, D); the layer's state is conv (B, k-1, C) (the last k-1 conv
inputs, time-major: a frame's C channels are contiguous, which makes the
single-frame conv one broadcast multiply) and ssm (B, H, P, N),
C = d_inner + 2*G*N. ``forward`` takes and returns the state, so a sequence
can be run whole, in chunks, or (``step``) one frame at a time, and all three
agree (tested). The gated norm before out_proj is Mamba-2's: it keeps the
scale of y in check when dt makes the state integrate over long spans.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from kernels import selective_scan, selective_state_update

from .config import AcousticConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class Mamba2Layer(nn.Module):
    def __init__(self, cfg: AcousticConfig, layer_index: int = 0):
        super().__init__()
        self.cfg = cfg
        d, di, H = cfg.d_model, cfg.d_inner, cfg.n_heads
        self.split = (di, cfg.conv_channels, H)  # z, xBC, dt
        self.xbc_split = (di, cfg.n_groups * cfg.d_state, cfg.n_groups * cfg.d_state)
        self.norm = RMSNorm(d, cfg.norm_eps)
        self.in_proj = nn.Linear(d, sum(self.split), bias=False)
        self.conv = nn.Conv1d(cfg.conv_channels, cfg.conv_channels, cfg.d_conv, groups=cfg.conv_channels)
        # dt starts log-uniform in [dt_min, dt_max]: heads begin with memories from a few
        # frames to a few hundred, instead of all forgetting at the same rate.
        u = torch.rand(H) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
        dt0 = torch.exp(u).clamp_min(1e-4)
        self.dt_bias = nn.Parameter(dt0 + torch.log(-torch.expm1(-dt0)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.empty(H).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(H))
        self.out_norm = RMSNorm(di, cfg.norm_eps)
        self.out_proj = nn.Linear(di, d, bias=False)
        with torch.no_grad():  # residual branches start small in deep stacks (GPT-2 scaling)
            self.out_proj.weight.mul_(1 / math.sqrt(2 * max(cfg.n_layers, 1)))

    def zero_state(self, batch: int, device=None, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        conv = torch.zeros(batch, cfg.d_conv - 1, cfg.conv_channels, device=device, dtype=dtype)
        ssm = torch.zeros(batch, cfg.n_heads, cfg.head_dim, cfg.d_state, device=device, dtype=torch.float32)
        return conv, ssm

    def _ssm_inputs(self, xbc: torch.Tensor, dt: torch.Tensor):
        """xbc (..., C) after conv+SiLU, dt (..., H) raw -> x (..., H, P), dt (..., H), Bm, Cm (..., G, N)."""
        cfg = self.cfg
        xs, Bm, Cm = torch.split(xbc, self.xbc_split, dim=-1)
        xs = xs.unflatten(-1, (cfg.n_heads, cfg.head_dim))
        Bm = Bm.unflatten(-1, (cfg.n_groups, cfg.d_state))
        Cm = Cm.unflatten(-1, (cfg.n_groups, cfg.d_state))
        return xs, F.softplus(dt + self.dt_bias), Bm, Cm

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
                impl: str = "auto") -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x (B, L, D), state (conv (B, k-1, C), ssm (B, H, P, N)) or None -> (x' (B, L, D), state')."""
        B, L, _ = x.shape
        k = self.cfg.d_conv
        z, xbc, dt = torch.split(self.in_proj(self.norm(x)), self.split, dim=-1)
        conv_state, ssm_state = state if state is not None else self.zero_state(B, x.device, x.dtype)
        seq = torch.cat([conv_state.to(xbc.dtype), xbc], dim=1)  # (B, k-1+L, C)
        new_conv = seq[:, seq.shape[1] - (k - 1):]
        # No padding: the k-1 prefix is the past, so output j sees inputs j-k+1 .. j.
        xbc = F.silu(self.conv(seq.transpose(1, 2)).transpose(1, 2))  # (B, L, C)
        xs, dt, Bm, Cm = self._ssm_inputs(xbc, dt)
        A = -torch.exp(self.A_log.float())
        y, new_ssm = selective_scan(xs, dt, A, Bm, Cm, self.D, initial_state=ssm_state, impl=impl)
        y = self.out_norm(y.reshape(B, L, -1) * F.silu(z))
        return x + self.out_proj(y), (new_conv, new_ssm)

    def step(self, x: torch.Tensor, conv_state: torch.Tensor, ssm_state: torch.Tensor):
        """One frame: x (B, D) -> (x' (B, D), conv_state' (B, k-1, C), ssm_state updated in place).

        The reference single-frame path: module calls, checked kernel step.
        ``fast_step.LeanStepper`` is the same math with fewer ops.
        """
        z, xbc, dt = torch.split(self.in_proj(self.norm(x)), self.split, dim=-1)
        window = torch.cat([conv_state.to(xbc.dtype), xbc.unsqueeze(1)], dim=1)  # (B, k, C)
        w = self.conv.weight.squeeze(1).t()  # (k, C)
        xbc = F.silu((window * w).sum(1) + self.conv.bias)
        xs, dt, Bm, Cm = self._ssm_inputs(xbc, dt)
        A = -torch.exp(self.A_log.float())
        y, ssm_state = selective_state_update(ssm_state, xs, dt, A, Bm, Cm, self.D, inplace=True)
        y = self.out_norm(y.reshape(x.shape[0], -1) * F.silu(z))
        return x + self.out_proj(y), window[:, 1:], ssm_state
