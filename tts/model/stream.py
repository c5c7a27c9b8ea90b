"""A stream's conditioning queue: phrases in, one conditioning row per frame out.

The decoder state (``state.py``) is the stream's memory of the audio so far;
this queue is what it still has to say. Input streaming is just ``push``:
text arriving in pieces is split into phrases, each phrase is planned
(encoder + durations + conditioning, ``AcousticModel.plan_phrase``) and
appended here while the decoder keeps stepping: pieces of one phrase share
the decoder state, and a phrase after the first may start from a fresh one
(``take_with_starts`` says where; ``Synthesizer.phrase_reset``). A
phrase's rows are released once read, so the queue holds only what is
still to be spoken: (frames queued) x D floats.

Timestamps. Conditioning frame t carries the unit sounding at
``(t + shift) / frame_rate`` seconds of the stream's audio, so a unit that
starts at stream frame f starts at ``(f + shift) / frame_rate`` seconds.
"""

from __future__ import annotations

from collections import deque

import torch

from .acoustic import PhrasePlan


class ConditioningQueue:
    """Per-stream FIFO of planned phrases with a frame cursor."""

    def __init__(self, frame_rate: float = 40.0, shift: float = 2.0):
        self.frame_rate = frame_rate
        self.shift = shift
        self._plans: deque[tuple[int, PhrasePlan]] = deque()  # (stream frame of row 0, plan)
        self._row = 0  # cursor inside the first queued plan
        self.frames_pushed = 0  # stream frames planned so far
        self.frames_taken = 0  # stream frames handed to the decoder so far

    @classmethod
    def for_config(cls, cfg) -> "ConditioningQueue":
        """A queue using the frame rate and centre shift of an AcousticConfig."""
        return cls(cfg.frame_rate, cfg.cond_shift_frames)

    def push(self, plan: PhrasePlan) -> int:
        """Queue a phrase; returns the stream frame its first row will be decoded at."""
        start = self.frames_pushed
        if plan.n_frames:
            self._plans.append((start, plan))
            self.frames_pushed += plan.n_frames
        return start

    @property
    def frames_queued(self) -> int:
        return self.frames_pushed - self.frames_taken

    @property
    def exhausted(self) -> bool:
        return self.frames_queued == 0

    def take(self, n: int = 1) -> torch.Tensor:
        """The next n conditioning rows (n, D), possibly spanning phrases; advances the cursor."""
        return self.take_with_starts(n)[0]

    def take_with_starts(self, n: int = 1) -> tuple[torch.Tensor, list[int]]:
        """``take(n)`` plus the offsets (in 0..n-1) of rows that open a phrase after the stream's first.

        Those are the frames where a decoder that starts every phrase afresh
        resets its state (``Synthesizer(phrase_reset=True)``).
        """
        if n > self.frames_queued:
            raise IndexError(f"asked for {n} frames, {self.frames_queued} queued")
        rows, starts, offset = [], [], 0
        while n:
            start, plan = self._plans[0]
            if self._row == 0 and start > 0:
                starts.append(offset)
            k = min(n, plan.n_frames - self._row)
            rows.append(plan.cond[self._row:self._row + k])
            self._row += k
            n -= k
            offset += k
            self.frames_taken += k
            if self._row == plan.n_frames:
                self._plans.popleft()
                self._row = 0
        return (rows[0] if len(rows) == 1 else torch.cat(rows)), starts

    def next_cond(self) -> torch.Tensor:
        """The current frame's conditioning row (D,)."""
        return self.take(1)[0]

    def nbytes(self) -> int:
        """Bytes of conditioning still held (the text still to be spoken)."""
        return sum(p.cond.numel() * p.cond.element_size() for _, p in self._plans)

    def span_seconds(self, phrase_start_frame: int, plan: PhrasePlan, start: int, end: int) -> tuple[float, float]:
        """Audio times (s) of phonemes [start, end) of a pushed phrase (for word timestamps)."""
        unit_starts = plan.unit_start_frames()
        first = int(unit_starts[start + 1])  # unit 0 is the leading PAD
        last = int(unit_starts[end + 1]) if end + 1 < len(unit_starts) else plan.n_frames
        to_s = lambda f: (phrase_start_frame + f + self.shift) / self.frame_rate  # noqa: E731
        return to_s(first), to_s(last)


def next_conds(queues: list[ConditioningQueue]) -> torch.Tensor:
    """One conditioning row from each stream of a batch: (B, D), in the order given."""
    return torch.stack([q.next_cond() for q in queues])
