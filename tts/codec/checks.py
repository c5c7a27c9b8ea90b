"""Input checks at the codec's public boundary.

Every rejection is a one-line StatecastError saying what was wrong and what to
do; nothing is silently resampled, mixed down or clipped.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import StatecastError

MAX_CHANNELS_GUESS = 8  # a (N, C) array with C this small is a multi-channel file
MAX_ABS_AMPLITUDE = 2.0  # float PCM lives in [-1, 1]; far beyond is unscaled int PCM


def _as_tensor(x, what: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    raise StatecastError(f"{what} must be a torch.Tensor or numpy array, got {type(x).__name__}")


def check_audio(audio, sample_rate: int, expected_rate: int) -> tuple[torch.Tensor, bool]:
    """audio (N,) | (B, N) | (B, 1, N) float -> ((B, N) float32, was_1d)."""
    if int(sample_rate) != expected_rate:
        raise StatecastError(
            f"codec expects {expected_rate} Hz audio, got {sample_rate} Hz: resample it first")
    x = _as_tensor(audio, "audio")
    if not torch.is_floating_point(x):
        raise StatecastError(
            f"audio must be float PCM in [-1, 1], got {x.dtype} (divide 16-bit PCM by 32768)")
    was_1d = x.ndim == 1
    if x.ndim == 1:
        x = x.unsqueeze(0)
    elif x.ndim == 3:
        if x.shape[1] != 1:
            raise StatecastError(
                f"audio has {x.shape[1]} channels (shape {tuple(x.shape)}); the codec takes mono: mix down first")
        x = x[:, 0]
    elif x.ndim == 2:
        if x.shape[1] <= MAX_CHANNELS_GUESS < x.shape[0]:
            raise StatecastError(
                f"audio of shape {tuple(x.shape)} looks like (samples, {x.shape[1]} channels); "
                "the codec takes mono (N,) or a batch (B, N): mix down first")
    else:
        raise StatecastError(f"audio must be (N,), (B, N) or (B, 1, N), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise StatecastError("audio is empty")
    if not torch.isfinite(x).all():
        raise StatecastError("audio contains NaN or infinite samples")
    peak = float(x.abs().max())
    if peak > MAX_ABS_AMPLITUDE:
        raise StatecastError(
            f"audio peak {peak:.4g} is far outside [-1, 1]: scale it (16-bit PCM: divide by 32768)")
    return x.float(), was_1d


def check_tokens(tokens, n_codebooks: int, codebook_size: int, allow_empty: bool = False
                 ) -> tuple[torch.Tensor, bool]:
    """tokens (K, T) | (B, K, T) integer -> ((B, K, T) int64, was_2d)."""
    t = _as_tensor(tokens, "tokens")
    if torch.is_floating_point(t) or t.dtype == torch.bool or t.is_complex():
        raise StatecastError(f"tokens must be integers, got {t.dtype}")
    was_2d = t.ndim == 2
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[1] != n_codebooks:
        raise StatecastError(
            f"tokens must have shape (K, T) or (B, K, T) with K = {n_codebooks} codebooks, "
            f"got {tuple(t.shape)}")
    if t.shape[0] == 0 or (t.shape[2] == 0 and not allow_empty):
        raise StatecastError("tokens are empty: nothing to decode")
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= codebook_size:
            bad = lo if lo < 0 else hi
            raise StatecastError(f"token {bad} is out of range: codebooks have codes 0..{codebook_size - 1}")
    return t.long(), was_2d
