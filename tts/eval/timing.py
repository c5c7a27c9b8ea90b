"""Timing one synthesis through an engine's ``stream()``: time to first audio
and real-time factor, shared by ``statecast eval`` and ``statecast bench``.

Everything goes through ``stream()`` because that is what a caller waiting to
hear something experiences: for a frame-streaming engine the first chunk is a
few frames, for a sentence-level peer (Piper, Kokoro) it is the whole first
sentence, and the clock shows the difference honestly. The chunks joined are
the utterance, so one call yields both the timings and the audio to score.

Time to first speech is what the listener waits for the first word: a player
starts on the first chunk's arrival and plays chunks back to back (waiting
when it runs dry), so the first audible sample plays at its chunk's play start
plus its offset inside the chunk. "Audible" is the first 5 ms window louder
than ONSET_DBFS: an engine that opens with silence pays for it here, however
fast its first chunk came.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np

ONSET_DBFS = -40.0  # speech onsets measured here reach -30..-15 dBFS within 10 ms; generated silence is under -65
ONSET_WINDOW_S = 0.005


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
    first_speech_s: float = float("nan")  # call -> first audible sample played (module docstring)

    @property
    def rtf(self) -> float:
        """Synthesis wall time / audio duration (< 1 is faster than real time)."""
        return self.synth_s / self.duration_s if self.duration_s > 0 else float("inf")


def speech_onset(audio: np.ndarray, sample_rate: int, dbfs: float = ONSET_DBFS,
                 window_s: float = ONSET_WINDOW_S) -> int | None:
    """First sample of the first ``window_s`` window whose RMS is above ``dbfs``; None if none is.

    audio: (T,) float in [-1, 1].
    """
    n = max(1, int(round(window_s * sample_rate)))
    whole = len(audio) // n
    if whole == 0:
        return None
    power = np.square(audio[: whole * n].astype(np.float64)).reshape(whole, n).mean(axis=1)
    loud = np.flatnonzero(power > 10.0 ** (dbfs / 10.0))
    return int(loud[0]) * n if loud.size else None


def playback_time(arrivals: list[tuple[float, float]], sample: float, sample_rate: float) -> float:
    """When sample ``sample`` of the joined chunks plays: arrivals [(arrival s, samples), ...]
    in order, a player that starts on the first and waits whenever it runs dry.

    Lengths may be in any unit of audio at ``sample_rate`` units per second: the
    load benchmark passes seconds with ``sample_rate=1``."""
    play_end, offset = 0.0, 0
    for arrival, n in arrivals:
        start = max(arrival, play_end)
        if sample < offset + n:
            return start + (sample - offset) / sample_rate
        play_end, offset = start + n / sample_rate, offset + n
    raise ValueError(f"sample {sample} is past the audio's {offset} samples")


def timed_stream(engine: Engine, text: str, clock=time.perf_counter) -> Take:
    """Run ``engine.stream(text)`` to the end, timing the first and last chunk and the first speech."""
    chunks: list[np.ndarray] = []
    arrivals: list[tuple[float, int]] = []
    ttfa = None
    t0 = clock()
    for chunk in engine.stream(text):
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if chunk.size:
            arrivals.append((clock() - t0, chunk.size))
            if ttfa is None:
                ttfa = arrivals[0][0]
        chunks.append(chunk)
    total = clock() - t0
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    onset = speech_onset(audio, engine.sample_rate)
    return Take(
        audio=audio,
        ttfa_s=total if ttfa is None else ttfa,
        synth_s=total,
        duration_s=len(audio) / engine.sample_rate,
        chunks=len(chunks),
        first_speech_s=float("nan") if onset is None else playback_time(arrivals, onset, engine.sample_rate),
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
