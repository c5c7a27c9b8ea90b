"""What a synthesis stream hands out: PCM chunks with the words they start."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class WordTimestamp:
    """A spoken word (normalised text: "$5" -> "five", "dollars") and its time in the stream's audio.

    start, end: seconds from the start of the stream (sample 0 of its first chunk).
    """

    word: str
    start: float
    end: float


@dataclass
class AudioChunk:
    """pcm (N,) float32 mono in [-1, 1] at the synthesizer's sample rate.

    start: seconds from the start of the stream of ``pcm[0]``; words: the
    words whose start falls inside this chunk (all remaining words ride on the
    final chunk); final: the stream is closed and fully drained.
    """

    pcm: np.ndarray
    start: float
    words: list[WordTimestamp] = field(default_factory=list)
    final: bool = False

    @property
    def n_samples(self) -> int:
        return int(self.pcm.shape[0])


def chunk_frames(first: int, steady: int, index: int) -> int:
    """Frames in chunk number ``index`` (0-based) of a stream: ``first``, then
    doubling up to ``steady`` (2, 4, 8 by default).

    The second chunk must be made before the first (50 ms of audio) has
    played, so it too is kept small; only then does the size reach the steady
    one that amortises the per-call cost. The server's scheduler and
    ``Synthesizer.stream`` share this schedule, so both give the same audio.
    """
    return max(1, min(first << min(index, 16), max(first, steady)))
