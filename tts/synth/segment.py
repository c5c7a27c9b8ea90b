"""Input streaming: raw text pieces -> complete segments, cut only where it is safe.

A voice agent's LLM sends text in arbitrary pieces ("$4", "2.", "50 to"...).
The normaliser reads whole tokens and sometimes their neighbours ("$42.50",
"Dr. Smith", "No. 5", "9 am"), so text is never normalised piece by piece.
Instead the raw text is buffered and cut at *phrase boundaries*:

* a sentence mark ``. ! ? …`` (optionally followed by closing quotes or
  brackets), then whitespace, then the first character of the next phrase;
* a clause mark ``, ; : —`` likewise, once the segment is at least
  ``clause_min_chars`` (200) long. Shorter clauses stay with their
  sentence: each segment is planned with silence at both edges and spoken
  as a sentence of its own, and the teacher corpus's sentences are up to
  218 characters long (99% within 167), so a sentence of that length is
  what the model reads best whole. On the 22 multi-phrase sentences of the
  two sentence sets, cutting at clauses from 48 characters on made 85
  Whisper word errors over five voices, keeping sentences whole 78.

A "." is not a boundary after a known abbreviation ("Dr.", "approx."), an
initial or initialism ("J.", "U.S."), or before a lowercase letter or digit
("5 p.m. and", "No. 5").

Why this gives invariant 4 (pieces == whole). Whether position i is a
boundary depends only on the text of the current segment up to i and on the
one non-space character after the whitespace, and a boundary is taken only
once that character has arrived. So however the text is cut into pieces,
the segments taken are exactly those of the whole text; only ``flush()``
(the caller saying "speak what you have") can cut elsewhere.

Segments are then normalised and phonemised whole (``segment_phrases``),
which may split them further into sentences.

Every phrase ends with a sentence mark. The acoustic model learnt from
teacher clips that are each one sentence ending in ``.``, ``?`` or ``!``
(all but 13 of 5,504), and a phrase is planned the same way, with silence
at both edges. A phrase cut at a clause mark, or text with no final
punctuation ("hello"), otherwise ends on something the model never saw
end a clip: it did not wind down there, and word errors rose on exactly
those sentences (README, "Phrase edges"). So the phrase's last mark
becomes ``.`` (``?`` and ``!`` are kept), or a ``.`` is added.
"""

from __future__ import annotations

import dataclasses
import re

from ..text.frontend import Frontend, Phrase, phonemize_phrase, split_phrases
from ..text.normalize import ABBREVIATIONS
from ..text.symbols import PHRASE_END_MARKS, PUNCTUATION

SENTENCE_MARKS = ".!?…"
CLAUSE_MARKS = ",;:—"
CLAUSE_MIN_CHARS = 200
_BOUNDARY = re.compile(r"([" + re.escape(SENTENCE_MARKS + CLAUSE_MARKS) + r"])([\"')\]”’»]*)(\s+)(?=(\S))")
_ABBR_LOWER = {a.lower() for a in ABBREVIATIONS}


def _dot_ends_sentence(text: str, mark_at: int, next_char: str) -> bool:
    """Is the '.' at ``text[mark_at]`` a full stop (not an abbreviation or initial)?"""
    if next_char.islower() or next_char.isdigit():
        return False
    token = text[:mark_at].rsplit(None, 1)[-1] if text[:mark_at].strip() else ""
    token = token.lstrip("\"'([“‘«")
    if not token:
        return True
    if "." in token or (len(token) == 1 and token.isalpha()):
        return False  # "U.S.", "p.m.", "e.g.", "J."
    return token.lower() not in _ABBR_LOWER


def find_boundary(text: str, clause_min_chars: int = CLAUSE_MIN_CHARS) -> tuple[int, int] | None:
    """The first phrase boundary of ``text``: (end of the segment, start of the rest), or None."""
    for m in _BOUNDARY.finditer(text):
        mark, seg_end, nxt = m.group(1), m.end(2), m.group(4)
        if mark in CLAUSE_MARKS:
            if len(text[:seg_end].strip()) >= clause_min_chars:
                return seg_end, m.end(3)
        elif mark != "." or _dot_ends_sentence(text, m.start(1), nxt):
            return seg_end, m.end(3)
    return None


class TextBuffer:
    """Raw text waiting for a phrase boundary."""

    def __init__(self, clause_min_chars: int = CLAUSE_MIN_CHARS):
        self.clause_min_chars = clause_min_chars
        self._text = ""

    def push(self, piece: str) -> list[str]:
        """Append a piece; returns the segments it completed (possibly none)."""
        self._text += piece
        out = []
        while (cut := find_boundary(self._text, self.clause_min_chars)) is not None:
            seg_end, rest = cut
            seg = self._text[:seg_end].strip()
            self._text = self._text[rest:]
            if seg:
                out.append(seg)
        return out

    def flush(self) -> list[str]:
        """Everything buffered, as a final segment (or nothing if it is blank)."""
        seg, self._text = self._text.strip(), ""
        return [seg] if seg else []

    def __len__(self) -> int:
        return len(self._text)


def end_as_sentence(phrase: Phrase) -> Phrase:
    """The phrase with its phonemes ending in . ? or ! (see the module docstring).

    A final clause mark (``, ; : — …``) is replaced by ``.``; no mark at all
    gets a ``.`` appended. Word spans index the phonemes before that last
    character, so the word map is unchanged.
    """
    ph = phrase.phonemes
    if not ph or ph[-1] in PHRASE_END_MARKS:
        return phrase
    if ph[-1] in PUNCTUATION:
        ph = ph[:-1]
    return dataclasses.replace(phrase, phonemes=ph + ".")


def segment_phrases(frontend: Frontend, segment: str) -> list[Phrase]:
    """A raw segment -> its phrases (normalised, phonemised, ending as sentences); [] if silent."""
    normalized = frontend.normalize(segment)
    phrases = [phonemize_phrase(p, frontend.lang) for p in split_phrases(normalized, frontend.max_phrase_chars)]
    return [end_as_sentence(p) for p in phrases if p.words]


def text_phrases(frontend: Frontend, text: str, clause_min_chars: int = CLAUSE_MIN_CHARS) -> list[Phrase]:
    """All phrases of a whole text, segmented exactly as a stream would segment it."""
    buf = TextBuffer(clause_min_chars)
    segments = buf.push(text) + buf.flush()
    return [p for seg in segments for p in segment_phrases(frontend, seg)]
