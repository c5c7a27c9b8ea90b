"""Reconstruction losses for the codec: log-mel L1 and multi-resolution STFT.

All losses run in float32 (also under bf16 autocast): log magnitudes of
small bins are meaningless in bf16.
"""

from __future__ import annotations

import torch
from torch import nn

from ..codec.features import LogMel, stft_magnitude

STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))  # (n_fft, hop), window = n_fft


class MelLoss(nn.Module):
    """Mean |log mel(x) - log mel(y)| over a 24 kHz-wide 100-band mel, 1024/256 STFT."""

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop: int = 256, n_mels: int = 100):
        super().__init__()
        self.mel = LogMel(sample_rate, n_fft, hop, n_mels)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            return (self.mel(x.float()) - self.mel(y.float())).abs().mean()


class MultiResolutionSTFTLoss(nn.Module):
    """Sum over resolutions of spectral convergence + mean |log|X| - log|Y||."""

    def __init__(self, resolutions=STFT_RESOLUTIONS):
        super().__init__()
        self.resolutions = tuple(resolutions)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros((), dtype=torch.float32)
        with torch.autocast(device_type=x.device.type, enabled=False):
            for n_fft, hop in self.resolutions:
                X = stft_magnitude(x.float(), n_fft, hop)
                Y = stft_magnitude(y.float(), n_fft, hop)
                sc = torch.linalg.norm(Y - X) / torch.linalg.norm(Y).clamp_min(1e-7)
                logmag = (torch.log(X.clamp_min(1e-5)) - torch.log(Y.clamp_min(1e-5))).abs().mean()
                total = total + sc + logmag
        return total / len(self.resolutions)
