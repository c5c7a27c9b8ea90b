"""Offline speech recognisers used to score intelligibility.

Every transcriber takes a list of (T_i,) float32 clips at 16 kHz and returns
one hypothesis string per clip (``transcribe_many``), so the harness does not
care how a recogniser batches its work.

Whisper and packing
-------------------
Whisper always encodes a 30 s window, so a 3 s sentence costs as much encoder
time as 30 s of speech. :class:`WhisperASR` therefore packs consecutive clips
into one call (up to ``pack_seconds`` of audio, clips separated by
``gap_seconds`` of silence), asks for word timestamps, and hands each word back
to the clip whose span holds the word's midpoint, the boundary between two
clips being the middle of the silence between them (:func:`split_words`). Word
timestamps are accurate to a tenth of a second or so; a 0.6 s gap leaves 0.3 s
of margin on either side of each boundary, far more than the timestamp error,
so the split is robust. Packing costs roughly a quarter of the CPU of one call
per clip. The price is that Whisper now sees neighbouring sentences as context;
both engines in a comparison get the same treatment, and ``pack_seconds=0``
gives exact per-clip calls for anyone who wants them (``--asr-per-utterance``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from ..errors import require
from .asr_models import WhisperModelInfo, whisper_model
from .audio import ASR_RATE, join_with_silence


class Transcriber(Protocol):
    name: str

    def transcribe_many(self, clips: Sequence[np.ndarray]) -> list[str]:
        """clips: each (T_i,) float32 at 16 kHz -> one hypothesis per clip."""
        ...

    def describe(self) -> dict:
        """Settings and model identity, recorded in the results JSON."""
        ...


def pack(durations: Sequence[float], max_seconds: float, gap_seconds: float) -> list[list[int]]:
    """Group consecutive clip indices so each group's audio (clips + gaps) fits in
    ``max_seconds``. A clip longer than ``max_seconds`` gets a group of its own;
    ``max_seconds <= 0`` puts every clip alone."""
    groups: list[list[int]] = []
    cur: list[int] = []
    length = 0.0
    for i, d in enumerate(durations):
        extra = d + (gap_seconds if cur else 0.0)
        if cur and (max_seconds <= 0 or length + extra > max_seconds):
            groups.append(cur)
            cur, length = [], 0.0
            extra = d
        cur.append(i)
        length += extra
    if cur:
        groups.append(cur)
    return groups


def split_words(words: Sequence[tuple[float, float, str]], spans: Sequence[tuple[float, float]]) -> list[str]:
    """Assign timestamped words to clips.

    words: (start_s, end_s, text) in the joined timeline, text as Whisper
    gives it (a leading space starts a new word; "garden" + "-like" is one
    word); spans: each clip's (start_s, end_s) there, in order. A word belongs
    to the clip whose region holds its midpoint, regions being split at the
    middle of each gap. Returns one string per span (empty where no word landed).
    """
    bounds = [(spans[k][1] + spans[k + 1][0]) / 2 for k in range(len(spans) - 1)]
    out: list[list[str]] = [[] for _ in spans]
    for start, end, text in words:
        k = bisect.bisect_right(bounds, (start + end) / 2)
        out[k].append(text)
    return [" ".join("".join(ws).split()) for ws in out]


@dataclass
class WhisperConfig:
    model: str = "base"  # "base" or "tiny"
    compute_type: str = "int8"
    beam_size: int = 5
    temperature: float = 0.0  # a single temperature: no sampling fallback, runs repeat exactly
    cpu_threads: int = 1
    pack_seconds: float = 24.0  # <= 0: one Whisper call per clip
    gap_seconds: float = 0.6


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
            "pack_seconds": c.pack_seconds,
            "gap_seconds": c.gap_seconds,
        }

    def _run(self, audio: np.ndarray, word_timestamps: bool):
        segments, _info = self._model.transcribe(
            audio,
            language="en",
            task="transcribe",
            beam_size=self.config.beam_size,
            temperature=self.config.temperature,
            # Context from an earlier window would leak between packed clips.
            condition_on_previous_text=False,
            word_timestamps=word_timestamps,
            vad_filter=False,
        )
        return list(segments)  # the generator does the decoding

    def transcribe_one(self, clip: np.ndarray) -> str:
        return " ".join(s.text.strip() for s in self._run(clip, word_timestamps=False)).strip()

    def transcribe_many(self, clips: Sequence[np.ndarray]) -> list[str]:
        c = self.config
        durations = [len(x) / ASR_RATE for x in clips]
        out: list[str] = [""] * len(clips)
        for group in pack(durations, c.pack_seconds, c.gap_seconds):
            if len(group) == 1:
                out[group[0]] = self.transcribe_one(clips[group[0]])
                continue
            joined, spans = join_with_silence([clips[i] for i in group], c.gap_seconds)
            words = [(w.start, w.end, w.word) for seg in self._run(joined, word_timestamps=True) for w in (seg.words or [])]
            for i, text in zip(group, split_words(words, spans)):
                out[i] = text
        return out


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
