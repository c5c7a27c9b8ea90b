"""Teacher voices: the offline TTS systems that synthesise our training corpus.

They are a training/evaluation tool only (the ``teachers`` extra); the service
never imports this package. Each teacher is fed the phonemes our own frontend
produced, so what the student reads is exactly what the teacher said, and each
returns per-phoneme durations taken from its own duration predictor (exposed
as an extra ONNX graph output), which later serve as alignment targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGET_SAMPLE_RATE = 24000


@dataclass
class TeacherAudio:
    """One teacher utterance.

    audio: (T,) float32 mono at ``sample_rate``.
    durations: (len(phonemes),) seconds spent on each character of the phoneme
        string that was fed in; ``lead`` / ``trail`` are the seconds of the
        teacher's boundary tokens (silence) before the first and after the
        last phoneme. ``lead + durations.sum() + trail == len(audio) / sample_rate``
        up to the teacher's rounding.
    """

    audio: np.ndarray
    sample_rate: int
    durations: np.ndarray
    lead: float
    trail: float


def teacher_for(speaker: str):
    """The teacher that owns ``speaker`` (a Kokoro voice name or Piper's ``joe``)."""
    from .kokoro import KOKORO_VOICES, KokoroTeacher
    from .piper import PIPER_VOICES, PiperTeacher
    from ..errors import StatecastError

    if speaker in KOKORO_VOICES:
        return KokoroTeacher(speaker)
    if speaker in PIPER_VOICES:
        return PiperTeacher(speaker)
    known = ", ".join(sorted(KOKORO_VOICES) + sorted(PIPER_VOICES))
    raise StatecastError(f"unknown teacher voice {speaker!r}; known: {known}")
