"""Offline speech recognisers used to score intelligibility.

Every transcriber takes a list of (T_i,) float32 clips at 16 kHz and returns
one hypothesis string per clip (``transcribe_many``), so the harness does not
care how a recogniser does its work.

One Whisper call per clip, text tokens only
-------------------------------------------
We tried packing several clips into one 30 s Whisper window (0.6 s or 1.5 s
of silence between clips, words handed back to clips by their timestamps) and
measured it against one call per clip on the 48 public sentences spoken by
Piper joe (Whisper base, int8, beam 5, one thread):

    per clip          105 s   WER 2.0%
    packed, 0.6 s gap  82 s   WER 3.6%   (9 sentences read differently)
    packed, 1.5 s gap  92 s   WER 3.2%   (11 sentences read differently)

Packing saved only a fifth of the time once decoding is text-only (below),
and it was wrong in two ways that no gap length fixed: Whisper stretches the
first word of a sentence back over the preceding silence, so "She" landed on
the previous clip, and it writes "you" / "thank you" into the gaps. So each
clip gets its own call, which is exact by construction.

``without_timestamps=True`` matters as much: with timestamp tokens, a segment
that ends early makes faster-whisper seek there and decode the near-silent
rest of the window, where Whisper can loop ("I'm sorry, I'm sorry, ..." sixty
times was seen on one Piper clip). Text-only decoding is one decode per clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from ..errors import require
from .asr_models import WhisperModelInfo, whisper_model
from .audio import ASR_RATE


class Transcriber(Protocol):
    name: str

    def transcribe_many(self, clips: Sequence[np.ndarray]) -> list[str]:
        """clips: each (T_i,) float32 at 16 kHz -> one hypothesis per clip."""
        ...

    def describe(self) -> dict:
        """Settings and model identity, recorded in the results JSON."""
        ...


@dataclass
class WhisperConfig:
    model: str = "base"  # "base" or "tiny"
    compute_type: str = "int8"
    beam_size: int = 5
    temperature: float = 0.0  # a single temperature: no sampling fallback, runs repeat exactly
    cpu_threads: int = 1


class WhisperASR:
    """faster-whisper on CPU with the pinned offline model."""

    def __init__(self, config: WhisperConfig | None = None, model_info: WhisperModelInfo | None = None):
        self.config = config or WhisperConfig()
        self.info = model_info or whisper_model(self.config.model)
        fw = require("faster_whisper", "eval")
        self.name = f"whisper-{self.info.name}"
        self._model = fw.WhisperModel(
            str(self.info.path),
            device="cpu",
            compute_type=self.config.compute_type,
            cpu_threads=self.config.cpu_threads,
            num_workers=1,
        )

    def describe(self) -> dict:
        c = self.config
        return {
            "name": self.name,
            "model_sha256": self.info.sha256,
            "source": self.info.source,
            "compute_type": c.compute_type,
            "beam_size": c.beam_size,
            "temperature": c.temperature,
            "cpu_threads": c.cpu_threads,
            "language": "en",
            "decoding": "one call per clip, text tokens only",
        }

    def transcribe_one(self, clip: np.ndarray) -> str:
        """clip: (T,) float32 at 16 kHz -> the recognised text."""
        segments, _info = self._model.transcribe(
            clip,
            language="en",
            task="transcribe",
            beam_size=self.config.beam_size,
            temperature=self.config.temperature,
            condition_on_previous_text=False,
            without_timestamps=True,  # see the module docstring
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()  # the generator does the decoding

    def transcribe_many(self, clips: Sequence[np.ndarray]) -> list[str]:
        return [self.transcribe_one(c) if c.size else "" for c in clips]


class SphinxASR:
    """pocketsphinx 5 with the US English model shipped in its wheel: a crude,
    independent second opinion (its errors are not Whisper's errors)."""

    name = "pocketsphinx"

    def __init__(self):
        ps = require("pocketsphinx", "eval")
        self._decoder = ps.Decoder(samprate=ASR_RATE, loglevel="FATAL")
        self._version = getattr(ps, "__version__", None) or _dist_version("pocketsphinx")

    def describe(self) -> dict:
        return {"name": self.name, "version": self._version, "model": "en-us (in wheel)"}

    def transcribe_many(self, clips: Sequence[np.ndarray]) -> list[str]:
        out = []
        for clip in clips:
            pcm = (np.clip(clip, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            out.append(hyp.hypstr if hyp is not None else "")
        return out


def _dist_version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
