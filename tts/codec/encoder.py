"""Encoder: PCM -> latent per frame (offline, non-causal).

The encoder only runs offline (tokenising the corpus, resynthesis checks), so
it may look both ways. Its input is cheap: log-mel sub-frames (4 per codec
frame, 25 ms windows every 6.25 ms) stacked into one vector per frame; the
decoder must still invent phase, which is what the iSTFT head is good at.

Alignment: codec frame t is decoded into the window [t*H, t*H + n_fft)
(istft.py), so the stacked sub-frames of frame t are centred on that
window's centre, t*H + n_fft/2, not on t*H.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import CodecConfig
from .features import LogMel, pad_or_crop
from .layers import ConvNeXtBlock


class Encoder(nn.Module):
    """forward(pcm (B, N)) -> latent (B, T, K*G), T = ceil(N / H)."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.sub_hop = cfg.hop // cfg.enc_subframes
        self.mel = LogMel(cfg.sample_rate, cfg.enc_win, self.sub_hop, cfg.enc_mels)
        self.inp = nn.Linear(cfg.enc_subframes * cfg.enc_mels, cfg.enc_dim)
        self.norm_in = nn.LayerNorm(cfg.enc_dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(cfg.enc_dim, cfg.enc_kernel, cfg.mlp_ratio, causal=False)
            for _ in range(cfg.enc_blocks)
        )
        self.norm_out = nn.LayerNorm(cfg.enc_dim, eps=1e-6)
        self.out = nn.Linear(cfg.enc_dim, cfg.latent_dim)

    def num_frames(self, n_samples: int) -> int:
        return math.ceil(n_samples / self.cfg.hop)

    def analysis_padding(self, n_samples: int) -> tuple[int, int]:
        """(left, right) padding (negative = crop) placing sub-frame j's centre at
        j*sub_hop + sub_hop/2 + (n_fft - H)/2, so the 4 sub-frames of frame t
        straddle t*H + n_fft/2."""
        cfg, sh = self.cfg, self.sub_hop
        shift = (cfg.n_fft - cfg.hop) // 2
        left = cfg.enc_win // 2 - sh // 2 - shift
        n_sub = self.num_frames(n_samples) * cfg.enc_subframes
        right = (n_sub - 1) * sh + cfg.enc_win - left - n_samples
        return left, right

    def features(self, pcm: torch.Tensor) -> torch.Tensor:
        """pcm (B, N) -> stacked log-mel (B, T, enc_subframes * enc_mels)."""
        B, N = pcm.shape
        left, right = self.analysis_padding(N)
        mel = self.mel(pad_or_crop(pcm.float(), left, right))  # (B, T*S, M)
        T = self.num_frames(N)
        return mel.reshape(B, T, -1)

    def forward(self, pcm: torch.Tensor) -> torch.Tensor:
        h = self.norm_in(self.inp(self.features(pcm)))
        for block in self.blocks:
            h, _ = block(h)
        return self.out(self.norm_out(h))
