"""Engines that the evaluation harness and benchmarks can drive side by side.

An engine spec is ``family:voice``: ``kokoro:af_heart``, ``piper:joe`` (the
teachers, run through our own frontend so that they read exactly the phonemes
the student is trained on) and ``statecast:<voice>`` (the shipped bundle, or
``$STATECAST_VOICES``; a mix such as ``statecast:af_heart=0.5,bf_emma=0.5``
works too).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from .errors import StatecastError


class Engine(Protocol):
    name: str
    sample_rate: int
    streaming: bool

    def synthesize(self, text: str) -> np.ndarray:
        """(T,) float32 mono in [-1, 1] for the whole text."""

    def stream(self, text: str) -> Iterator[np.ndarray]:
        """Audio chunks as they become available."""


class TeacherEngine:
    """A teacher voice reading our frontend's phrases, one chunk per phrase.

    Like Piper's and Kokoro's own streaming, nothing comes out before a whole
    phrase is synthesised, so ``streaming`` is False: TTFA is the first
    phrase's synthesis time.
    """

    streaming = False

    def __init__(self, family: str, voice: str):
        from .teachers import teacher_for
        from .text.frontend import Frontend

        self.teacher = teacher_for(voice)
        if self.teacher.teacher != family:
            raise StatecastError(f"voice {voice!r} belongs to {self.teacher.teacher}, not {family}")
        self.name = f"{family}:{voice}"
        self.sample_rate = self.teacher.sample_rate
        self.frontend = Frontend(self.teacher.lang)

    def stream(self, text: str) -> Iterator[np.ndarray]:
        for phrase in self.frontend.phrases(text):
            yield self.teacher.synthesize(phrase.phonemes).audio

    def synthesize(self, text: str) -> np.ndarray:
        return np.concatenate(list(self.stream(text)))


class StatecastEngine:
    """Our synthesizer, one voice (or mix), streaming frame chunks as they are decoded.

    One Synthesizer per voices directory is shared by every engine of the
    process, so evaluating five voices loads the weights once.
    """

    streaming = True
    _shared: dict = {}

    def __init__(self, voice: str, voices_dir: str | None = None, temperature: float = 0.0):
        from .synth import Synthesizer
        from .voices import parse_mix
        from .voices import voices_dir as resolve

        key = str(resolve(voices_dir))
        if key not in self._shared:
            self._shared[key] = Synthesizer.load(key)
        self.synth = self._shared[key]
        name = voice or self.synth.default_voice
        self.voice = parse_mix(name) if "=" in name else name
        self.temperature = temperature
        self.synth.resolve_voice(self.voice)  # an unknown voice fails here, not at the first sentence
        self.name = f"statecast:{name}"
        self.sample_rate = self.synth.sample_rate

    def stream(self, text: str) -> Iterator[np.ndarray]:
        for chunk in self.synth.stream(text, voice=self.voice, temperature=self.temperature):
            if chunk.pcm.size:
                yield chunk.pcm

    def synthesize(self, text: str) -> np.ndarray:
        return np.concatenate(list(self.stream(text)) or [np.zeros(0, np.float32)])


TEACHER_FAMILIES = ("kokoro", "piper")  # the peers a benchmark can put beside StateCast
FAMILIES = TEACHER_FAMILIES + ("statecast",)


def get_engine(spec: str) -> Engine:
    """Build the engine named by ``spec`` (``family:voice``)."""
    family, _, voice = spec.partition(":")
    if family not in FAMILIES:
        raise StatecastError(f"unknown engine {spec!r}; use one of {', '.join(f + ':<voice>' for f in FAMILIES)}")
    if family == "statecast":
        return StatecastEngine(voice)
    if not voice:
        voice = {"kokoro": "af_heart", "piper": "joe"}[family]
    return TeacherEngine(family, voice)
