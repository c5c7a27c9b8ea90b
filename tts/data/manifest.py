"""The corpus manifest: one JSON object per line, appended as clips finish.

Fields: id, teacher, speaker, lang, text (as prompted), normalized, phonemes,
durations (seconds per phoneme character, from the teacher's own duration
predictor), lead / trail (seconds of silence the teacher put before / after),
audio (path relative to the corpus directory; 24 kHz mono 16-bit FLAC),
duration (seconds), sample_rate.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from ..errors import StatecastError
from ..paths import cache_root

MANIFEST = "manifest.jsonl"


def corpus_dir() -> Path:
    return cache_root() / "corpus"


def read_manifest(path: Path | str | None = None) -> list[dict]:
    """All rows of a manifest (file, or corpus directory holding ``manifest.jsonl``).

    A torn last line (the builder was killed mid-write) is skipped, not fatal.
    """
    path = Path(path) if path else corpus_dir()
    if path.is_dir():
        path = path / MANIFEST
    if not path.exists():
        raise StatecastError(f"no corpus manifest at {path}: run 'statecast corpus build' first")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def is_heldout(clip_id: str, modulus: int = 50) -> bool:
    """Deterministic evaluation split: about 1 clip in ``modulus`` is never trained on."""
    return zlib.crc32(clip_id.encode()) % modulus == 0


def audio_path(row: dict, root: Path | None = None) -> Path:
    return (root or corpus_dir()) / row["audio"]
