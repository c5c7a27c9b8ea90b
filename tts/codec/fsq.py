"""Finite scalar quantisation (FSQ), grouped into K codebooks.

Why FSQ rather than residual VQ: it has no codebook to collapse, no commitment
or codebook loss, no EMA updates and no dead-code restarts, so a small codec
trained for a few thousand CPU steps uses every code it has (Mentzer et al.,
2023). Each latent dim is bounded with tanh and rounded to one of L levels;
a codebook's token is the mixed-radix number of its G rounded dims.

Grouped, not residual: codebook k quantises its own G dims of the latent. A
coarse-to-fine residual stack would put fine detail in hard-to-predict later
stages; grouping keeps every dim coarse (<= 8 levels), which a small decoder
learns to read quickly, and gives the acoustic model K equally sized
classification heads per frame.
"""

from __future__ import annotations

import torch
from torch import nn


class GroupedFSQ(nn.Module):
    """Latent (B, T, K*G) <-> tokens (B, K, T) and dequantised latent (B, T, K*G).

    The dequantised latent lies in [-1, 1] per dim. Rounding passes gradients
    straight through (identity), so the encoder trains end to end.
    """

    def __init__(self, levels: tuple[int, ...], n_codebooks: int, eps: float = 1e-3):
        super().__init__()
        self.levels_list = tuple(int(v) for v in levels)
        self.n_codebooks = int(n_codebooks)
        lv = torch.tensor(self.levels_list, dtype=torch.float32)
        basis = torch.cumprod(torch.tensor((1,) + self.levels_list[:-1], dtype=torch.long), 0)
        # Buffers (not parameters): they travel with .to(device) but are
        # derived from the config, so they are not saved in the weights.
        self.register_buffer("levels", lv, persistent=False)
        self.register_buffer("half_width", torch.floor(lv / 2), persistent=False)  # L // 2
        self.register_buffer("basis", basis, persistent=False)
        half_l = (lv - 1) * (1 + eps) / 2
        offset = torch.where(lv % 2 == 0, 0.5, 0.0)
        self.register_buffer("half_l", half_l, persistent=False)
        self.register_buffer("offset", offset, persistent=False)
        self.register_buffer("shift", torch.atanh(offset / half_l), persistent=False)

    @property
    def codebook_size(self) -> int:
        return int(torch.tensor(self.levels_list).prod())

    def _bound(self, z: torch.Tensor) -> torch.Tensor:
        """(..., G) -> (..., G) in (-L//2 - eps, (L-1)//2 + eps): rounds to L integers."""
        return torch.tanh(z + self.shift) * self.half_l - self.offset

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z: (B, T, K*G) float -> (latent_q (B, T, K*G) in [-1, 1], tokens (B, K, T) long)."""
        B, T, D = z.shape
        G = len(self.levels_list)
        assert D == self.n_codebooks * G, f"latent dim {D} != K*G = {self.n_codebooks}*{G}"
        zg = self._bound(z.float().view(B, T, self.n_codebooks, G))
        rounded = zg + (torch.round(zg) - zg).detach()  # straight-through
        latent_q = (rounded / self.half_width).view(B, T, D)
        digits = (torch.round(zg).detach() + self.half_width).long()
        digits = torch.minimum(digits.clamp_min(0), self.levels.long() - 1)
        tokens = (digits * self.basis).sum(-1).transpose(1, 2)  # (B, K, T)
        return latent_q.to(z.dtype), tokens

    def dequantize(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, K, T) long -> latent (B, T, K*G) float32 in [-1, 1]."""
        B, K, T = tokens.shape
        digits = (tokens.transpose(1, 2).unsqueeze(-1) // self.basis) % self.levels.long()
        latent = (digits.float() - self.half_width) / self.half_width  # (B, T, K, G)
        return latent.reshape(B, T, K * len(self.levels_list))


def fsq_tokens_ref(latent_q: torch.Tensor, levels: tuple[int, ...], n_codebooks: int) -> torch.Tensor:
    """Reference: dequantised latent (B, T, K*G) -> tokens (B, K, T), one scalar at a time.

    Written as plain loops so the vectorised mixed-radix code in GroupedFSQ has
    something independent to be checked against.
    """
    B, T, _ = latent_q.shape
    G = len(levels)
    out = torch.zeros(B, n_codebooks, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            for k in range(n_codebooks):
                code, radix = 0, 1
                for g, L in enumerate(levels):
                    q = round(float(latent_q[b, t, k * G + g]) * (L // 2))
                    code += (q + L // 2) * radix
                    radix *= L
                out[b, k, t] = code
    return out
