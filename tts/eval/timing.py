"""Timing one synthesis through an engine's ``stream()``: time to first audio
and real-time factor, shared by ``statecast eval`` and ``statecast bench``.

Everything goes through ``stream()`` because that is what a caller waiting to
hear something experiences: for a frame-streaming engine the first chunk is a
few frames, for a sentence-level peer (Piper, Kokoro) it is the whole first
sentence, and the clock shows the difference honestly. The chunks joined are
the utterance, so one call yields both the timings and the audio to score.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np


class Engine(Protocol):
    """What tts.engines hands out (restated so this module imports nothing heavy)."""

    name: str
    sample_rate: int
    streaming: bool

    def synthesize(self, text: str) -> np.ndarray: ...

    def stream(self, text: str) -> Iterable[np.ndarray]: ...


@dataclass
class Take:
    """One timed synthesis. audio: (T,) float32 at the engine's sample rate."""

    audio: np.ndarray
    ttfa_s: float  # call -> first non-empty chunk
    synth_s: float  # call -> last chunk
    duration_s: float  # len(audio) / sample_rate
    chunks: int

    @property
    def rtf(self) -> float:
        """Synthesis wall time / audio duration (< 1 is faster than real time)."""
        return self.synth_s / self.duration_s if self.duration_s > 0 else float("inf")


def timed_stream(engine: Engine, text: str, clock=time.perf_counter) -> Take:
    """Run ``engine.stream(text)`` to the end, timing the first and last chunk."""
    chunks: list[np.ndarray] = []
    ttfa = None
    t0 = clock()
    for chunk in engine.stream(text):
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if ttfa is None and chunk.size:
            ttfa = clock() - t0
        chunks.append(chunk)
    total = clock() - t0
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return Take(
        audio=audio,
        ttfa_s=total if ttfa is None else ttfa,
        synth_s=total,
        duration_s=len(audio) / engine.sample_rate,
        chunks=len(chunks),
    )


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]; NaN for no values."""
    vals = sorted(v for v in values if v == v)
    if not vals:
        return float("nan")
    if len(vals) == 1:
        return vals[0]
    pos = (len(vals) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def median(values: list[float]) -> float:
    vals = [v for v in values if v == v]
    return statistics.median(vals) if vals else float("nan")
