"""One synthesis stream: explicit per-stream state, text in, audio chunks out.

Everything a stream owns (and nothing the voice or the model owns):

    dec      acoustic DecoderState, batch 1   constant size (tts.model.state)
    codec    codec DecoderState, batch 1      constant size (tts.codec.decoder)
    queue    ConditioningQueue                planned frames not yet decoded
    text     TextBuffer                       raw text waiting for a phrase boundary
    words    WordTimestamps not yet handed out
    voice    (W,) blended voice vector, speed, language, sampling temperature

The compute lives in ``Synthesizer.step_streams``, which advances many
streams in one batch; ``read`` is that call for this stream alone. Every
method takes the synthesizer's lock, so a server may push text from one
thread while its scheduler thread steps streams.
"""

from __future__ import annotations

import uuid
from collections import deque
from typing import TYPE_CHECKING

import torch

from ..errors import StatecastError
from ..model import ConditioningQueue
from .chunks import AudioChunk, WordTimestamp
from .segment import TextBuffer, segment_phrases

if TYPE_CHECKING:
    from .synthesizer import Synthesizer


class SynthesisStream:
    def __init__(self, synth: "Synthesizer", voice: str | dict[str, float], voice_vec: torch.Tensor,
                 lang: str, speed: float, temperature: float = 0.0, seed: int | None = None):
        self.id = uuid.uuid4().hex[:16]
        self.voice = voice
        self.lang = lang
        self.speed = speed
        self.temperature = float(temperature)
        self._synth = synth
        self._voice_vec = voice_vec
        model, codec = synth.model, synth.codec
        self._dec = model.init_state(1)
        self._codec = codec.init_state(1)
        self._queue = ConditioningQueue.for_config(model.cfg)
        self._text = TextBuffer(synth.clause_min_chars)
        self._words: deque[WordTimestamp] = deque()
        self._generator = None
        if self.temperature > 0:
            self._generator = torch.Generator(device=model.device)
            self._generator.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2 ** 63))
        self._samples = 0  # samples handed out so far
        self._spoke = False  # planned at least one phrase
        # Opening silence decoded but not sent (Synthesizer.lead_send_frames): frames
        # still to drop from the first chunk, and the frames every timestamp moves by.
        self._skip_frames = 0
        self._skip_total = 0
        self._closed = False
        self._cancelled = False
        self._final_sent = False

    # ---- text in -------------------------------------------------------------------------
    def push(self, text: str) -> None:
        """A piece of text; complete phrases are planned now, an unfinished tail waits."""
        if not isinstance(text, str):
            raise StatecastError(f"text must be a string, got {type(text).__name__}")
        with self._synth._lock:
            self._check_open()
            self._plan(self._text.push(text))

    def flush(self) -> None:
        """Plan whatever text is buffered now, even mid-sentence."""
        with self._synth._lock:
            self._check_open()
            self._plan(self._text.flush())

    def close(self) -> None:
        """No more text: plan the rest; the stream then drains to a final chunk.

        Raises if the stream never had anything to speak (its state is freed first).
        """
        with self._synth._lock:
            self._check_live()
            if self._closed:
                return
            self._plan(self._text.flush())
            self._closed = True
            if not self._spoke:
                self._release()
                self._final_sent = True
                raise StatecastError("text has nothing to speak (empty after normalisation)")

    def cancel(self) -> None:
        """Drop everything at once; any later call raises."""
        with self._synth._lock:
            self._release()
            self._cancelled = True

    # ---- audio out -----------------------------------------------------------------------
    @property
    def frames_ready(self) -> int:
        """Frames that can be generated now."""
        return self._queue.frames_queued if self._queue is not None else 0

    @property
    def done(self) -> bool:
        """Closed and drained (final chunk handed out), or cancelled."""
        return self._cancelled or self._final_sent

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, max_frames: int) -> AudioChunk | None:
        """Generate up to ``max_frames`` frames for this stream alone (None: nothing ready yet)."""
        return self._synth.step_streams([self], [max_frames])[0]

    def state_nbytes(self) -> int:
        """Bytes of recurrent state (acoustic + codec): constant for the stream's whole life.

        The text still to be spoken is held apart (``queued_nbytes``).
        """
        if self._dec is None:
            return 0
        return self._dec.nbytes_per_stream() + self._codec.nbytes()

    def queued_nbytes(self) -> int:
        """Bytes of planned conditioning not yet decoded, plus buffered text."""
        if self._queue is None:
            return 0
        return self._queue.nbytes() + len(self._text)

    # ---- internals (used by Synthesizer.step_streams under its lock) ----------------------------
    def _check_live(self) -> None:
        if self._cancelled:
            raise StatecastError(f"stream {self.id} was cancelled")

    def _check_open(self) -> None:
        self._check_live()
        if self._closed:
            raise StatecastError(f"stream {self.id} is closed: no more text can be pushed")

    def _plan(self, segments: list[str]) -> None:
        synth = self._synth
        frontend = synth._frontend(self.lang)
        for seg in segments:
            for phrase in segment_phrases(frontend, seg):
                self._push_plan(synth.plan_phrase(phrase.ids(), self._voice_vec, speed=self.speed), phrase.words)

    def _push_plan(self, plan, words=()) -> None:
        """Queue a planned phrase and its words' timestamps; the first one sets the unsent lead."""
        if not self._spoke:
            self._skip_frames = self._skip_total = self._synth.lead_skip_frames(plan)
        start = self._queue.push(plan)
        for w in words:  # times in the audio sent: the skipped frames come off
            a, b = self._queue.span_seconds(start - self._skip_total, plan, w.start, w.end)
            self._words.append(WordTimestamp(w.text, a, b))
        self._spoke = True

    @property
    def _drained(self) -> bool:
        return self._closed and self._queue.exhausted

    def _take_words(self, end_s: float, final: bool) -> list[WordTimestamp]:
        out = []
        while self._words and (final or self._words[0].start < end_s):
            out.append(self._words.popleft())
        return out

    def _release(self) -> None:
        self._dec = self._codec = self._queue = None
        self._text = TextBuffer(self._text.clause_min_chars)
        self._words.clear()
