"""Log-mel features: the encoder's analysis front end and the training losses.

Kept free of librosa/torchaudio so the service installs lean; the mel scale
is HTK's (2595 * log10(1 + f / 700)) with triangular filters.
"""

from __future__ import annotations

import math

import torch


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> torch.Tensor:
    """Triangular mel filters (n_mels, n_fft // 2 + 1), float32."""
    fmax = fmax or sample_rate / 2

    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    mels = torch.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins - lower) / (centre - lower)
    down = (upper - bins) / (upper - centre)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    # Filters narrower than one bin (low n_fft, many mels) would be all zero;
    # give each its nearest bin so no mel channel is silently dead.
    empty = fb.sum(1) == 0
    if empty.any():
        nearest = torch.argmin((bins[None, :] - centre[empty]).abs(), dim=1)
        fb[empty.nonzero().squeeze(1), nearest] = 1.0
    return fb.float()


def pad_or_crop(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Zero-pad (positive) or crop (negative) the last axis of x on each side.

    The result always has length N + left + right, also when a crop removes
    all of x (then it is all zeros).
    """
    n_out = x.shape[-1] + left + right
    assert n_out >= 0, "pad_or_crop: negative output length"
    if x.shape[-1] + left <= 0 or x.shape[-1] + right <= 0:
        return x.new_zeros(*x.shape[:-1], n_out)
    return torch.nn.functional.pad(x, (left, right))


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int, win: int | None = None) -> torch.Tensor:
    """x (B, N) float -> magnitude (B, frames, n_fft // 2 + 1), frames = 1 + (N - n_fft) // hop.

    No centring: callers pad explicitly so frame positions are theirs to choose.
    """
    win = win or n_fft
    window = torch.hann_window(win, device=x.device, dtype=torch.float32)
    spec = torch.stft(x.float(), n_fft, hop_length=hop, win_length=win, window=window,
                      center=False, return_complex=True)
    return spec.abs().transpose(1, 2)


class LogMel(torch.nn.Module):
    """x (B, N) -> log mel (B, frames, n_mels), frames as in stft_magnitude."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int, win: int | None = None):
        super().__init__()
        self.n_fft, self.hop, self.win = n_fft, hop, win or n_fft
        self.register_buffer("fb", mel_filterbank(sample_rate, n_fft, n_mels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # float32 even under bf16 autocast: log of small mel energies needs the mantissa
        with torch.autocast(device_type=x.device.type, enabled=False):
            mag = stft_magnitude(x.float(), self.n_fft, self.hop, self.win)
            return torch.log(torch.clamp(mag @ self.fb.T, min=1e-5))
