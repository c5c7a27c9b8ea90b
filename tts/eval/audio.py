"""Small audio helpers shared by the scorers: resampling to the 16 kHz that
Whisper, pocketsphinx and DNSMOS all expect, and clean-up of engine output."""

from __future__ import annotations

from math import gcd

import numpy as np

from ..errors import require

ASR_RATE = 16000


def as_mono_float(audio: np.ndarray) -> np.ndarray:
    """(T,) or (T, 1) float audio -> (T,) float32 clipped to [-1, 1].

    Clipping matters: DNSMOS refuses samples outside [-1, 1], and an engine that
    overshoots by a hair should lose points for the overshoot, not crash the run.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2 and audio.shape[1] == 1:
        audio = audio[:, 0]
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio of shape (T,), got {audio.shape}")
    return np.clip(audio, -1.0, 1.0)


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(T,) at ``sample_rate`` -> (T * 16000 / sample_rate,) float32 at 16 kHz.

    Polyphase resampling (scipy) is exact-ratio and deterministic; 24000 -> 16000
    is 2/3 and 22050 -> 16000 is 320/441. Identity at 16 kHz, without scipy.
    """
    audio = as_mono_float(audio)
    if sample_rate == ASR_RATE:
        return audio
    signal = require("scipy.signal", "eval")
    g = gcd(ASR_RATE, int(sample_rate))
    out = signal.resample_poly(audio, ASR_RATE // g, int(sample_rate) // g)
    return np.clip(out.astype(np.float32), -1.0, 1.0)
