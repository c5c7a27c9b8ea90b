"""Loading a sentence set: one sentence per line, ``#`` starts a comment line,
blank lines ignored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import StatecastError
from ..paths import ASSETS

PUBLIC_SENTENCES = ASSETS / "sentences_public.txt"


@dataclass(frozen=True)
class SentenceSet:
    path: Path
    sentences: tuple[str, ...]
    sha256: str  # of the file as read, so results name exactly what was spoken

    def describe(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "count": len(self.sentences)}


def parse_sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def load_sentences(path: Path | str | None = None, limit: int | None = None) -> SentenceSet:
    """Read a sentence file (default: the public set); ``limit`` keeps the first N."""
    path = Path(path) if path is not None else PUBLIC_SENTENCES
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StatecastError(f"cannot read sentence file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StatecastError(f"sentence file {path} is not UTF-8 text") from None
    sentences = parse_sentences(text)
    if limit is not None:
        if limit < 1:
            raise StatecastError(f"--limit must be at least 1, got {limit}")
        sentences = sentences[:limit]
    if not sentences:
        raise StatecastError(f"sentence file {path} has no sentences")
    return SentenceSet(path, tuple(sentences), hashlib.sha256(raw).hexdigest())
