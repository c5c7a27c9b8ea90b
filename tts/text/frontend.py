"""Text -> phrases of phonemes, with a word <-> phoneme map.

Pipeline (each stage pure and separately testable):
    raw text -> normalize_text -> split_phrases -> phonemize each phrase

A :class:`Phrase` carries the phoneme string the acoustic model reads and, for
every spoken word, the span of phonemes it produced; the acoustic model's
per-phoneme durations turn those spans into word timestamps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import StatecastError
from .espeak import SUPPORTED_LANGUAGES, espeak
from .normalize import normalize_text
from .symbols import PUNCTUATION, SYMBOL_TO_ID, phonemes_to_ids

# A word is a run of anything that is neither space nor prosodic punctuation.
_TOKEN = re.compile(r"[^\s" + re.escape(PUNCTUATION) + r"]+|[" + re.escape(PUNCTUATION) + r"]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—])\s+")

MAX_PHRASE_CHARS = 300
# Marks that are read as another mark (brackets pause like commas) or not at all.
_PAUSE_FOR = {"(": ",", ")": ",", '"': "", "“": "", "”": ""}


@dataclass(frozen=True)
class WordSpan:
    """One spoken word: its text and the phonemes ``phonemes[start:end]`` it produced."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Phrase:
    """A unit of synthesis: a sentence or clause, already normalised."""

    text: str
    phonemes: str
    words: tuple[WordSpan, ...]
    lang: str

    def ids(self) -> list[int]:
        return phonemes_to_ids(self.phonemes)


def split_phrases(text: str, max_chars: int = MAX_PHRASE_CHARS) -> list[str]:
    """Split normalised text into phrases for streaming synthesis.

    Sentences first; a sentence longer than ``max_chars`` is split at clause
    punctuation, and a clause still too long at the last space before the
    limit, so no phrase ever exceeds ``max_chars``.
    """
    phrases: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            phrases.append(sentence)
            continue
        current = ""
        for clause in _CLAUSE_END.split(sentence):
            for piece in _hard_wrap(clause, max_chars):
                if current and len(current) + 1 + len(piece) > max_chars:
                    phrases.append(current)
                    current = piece
                else:
                    current = f"{current} {piece}" if current else piece
        if current:
            phrases.append(current)
    return phrases


def _hard_wrap(text: str, max_chars: int) -> list[str]:
    pieces = []
    while len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        if cut <= 0:
            cut = max_chars  # one giant "word": cut it anyway
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def phonemize_phrase(text: str, lang: str = "en-us") -> Phrase:
    """Phonemise one already-normalised phrase, keeping punctuation and a word map.

    espeak is called once per clause (the text between punctuation marks), so
    cross-word effects inside a clause ("the apple" -> ðɪ) are kept. When
    espeak merges or splits words so that its output no longer lines up with
    ours, that clause is redone word by word: the map must be exact.
    """
    if lang not in SUPPORTED_LANGUAGES:
        raise StatecastError(f"unsupported language {lang!r}; choose one of {', '.join(SUPPORTED_LANGUAGES)}")
    engine = espeak()
    out: list[str] = []
    length = 0
    words: list[WordSpan] = []

    def emit(piece: str) -> None:
        nonlocal length
        out.append(piece)
        length += len(piece)

    clause: list[str] = []

    def flush_clause() -> None:
        if not clause:
            return
        spoken = _known(engine.phonemes(" ".join(clause), lang)).split()
        if not spoken:
            clause.clear()
            return
        if len(spoken) == len(clause):
            isolated = None
            groups = [(i, 1, (ph,)) for i, ph in enumerate(spoken)]
        else:
            # espeak joined ("of the" -> ʌvðə) or split words: keep its
            # in-context reading and find which words went where.
            isolated = [_known(engine.phonemes(w, lang)).replace(" ", "") for w in clause]
            groups = _align_words(isolated, spoken)
        if out and not out[-1].endswith(" "):
            emit(" ")
        region_start = length
        emit(" ".join(ph for _, _, group in groups for ph in group))
        cursor = region_start
        for first, count, group_phonemes in groups:
            span = len(" ".join(group_phonemes))
            words.extend(_share_span(clause, isolated, first, count, cursor, cursor + span))
            cursor += span + 1
        clause.clear()

    for token in _TOKEN.findall(text):
        if len(token) == 1 and token in PUNCTUATION:
            flush_clause()
            mark = _PAUSE_FOR.get(token, token)
            if not mark or not out:
                continue  # quotes carry no pause; nothing to pause after yet
            last = out[-1][-1:]
            if last not in PUNCTUATION:
                emit(mark)
            elif last == "," and mark in ".!?…;:":
                # "(by the shore)." ends the sentence, not a clause: the
                # stronger mark replaces the bracket's comma (same length).
                out[-1] = out[-1][:-1] + mark
        else:
            clause.append(token)
    flush_clause()
    phonemes = "".join(out).strip()
    return Phrase(text=text, phonemes=phonemes, words=tuple(words), lang=lang)


def _align_words(isolated: list[str], spoken: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Monotone alignment of our words to espeak's output words.

    Words whose isolated reading equals espeak's output at either end of the
    clause are matched one to one first; the rest goes through a small dynamic
    programme in which each step joins 1-3 of our words with 1-2 of espeak's
    (espeak fuses function words: "of the" -> ʌvðə), or one of ours with up to
    8 of espeak's ("2676" alone can become six words), scored by the edit
    distance between isolated readings and espeak's in-context output (stress
    marks ignored). Returns groups of (index of our first word, how many of
    our words, espeak's words).
    """
    n, m = len(isolated), len(spoken)
    head = 0
    while head < min(n, m) and _bare(isolated[head]) == _bare(spoken[head]):
        head += 1
    tail = 0
    while (tail < min(n, m) - head
           and _bare(isolated[n - 1 - tail]) == _bare(spoken[m - 1 - tail])):
        tail += 1
    middle = _align_middle(isolated[head:n - tail], spoken[head:m - tail])
    if middle is None:
        # No monotone grouping fits (extreme splits): one group for the clause.
        return [(0, n, tuple(spoken))]
    return ([(i, 1, (spoken[i],)) for i in range(head)]
            + [(head + i, a, group) for i, a, group in middle]
            + [(n - tail + k, 1, (spoken[m - tail + k],)) for k in range(tail)])


def _align_middle(isolated: list[str], spoken: list[str]) -> list[tuple[int, int, tuple[str, ...]]] | None:
    n, m = len(isolated), len(spoken)
    if n == 0 or m == 0:
        return [] if n == m == 0 else None
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if cost[i][j] == inf:
                continue
            for a, b in _STEPS:
                if i + a > n or j + b > m:
                    continue
                c = cost[i][j] + _distance("".join(isolated[i:i + a]), "".join(spoken[j:j + b])) + 0.5 * (a + b - 2)
                if c < cost[i + a][j + b]:
                    cost[i + a][j + b] = c
                    back[i + a][j + b] = (a, b)
    if cost[n][m] == inf:
        return None
    groups = []
    i, j = n, m
    while i or j:
        a, b = back[i][j]
        groups.append((i - a, a, tuple(spoken[j - b:j])))
        i, j = i - a, j - b
    return groups[::-1]


# (our words, espeak words) per alignment step: fusions of up to three of our
# words, or one of ours read as up to eight of espeak's.
_STEPS = tuple([(1, b) for b in range(1, 9)] + [(2, 1), (2, 2), (3, 1), (3, 2)])


def _bare(phonemes: str) -> str:
    return phonemes.replace("ˈ", "").replace("ˌ", "")


@lru_cache(maxsize=8192)
def _distance(a: str, b: str) -> int:
    a, b = _bare(a), _bare(b)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _share_span(
    clause: list[str], isolated: list[str] | None, first: int, count: int, start: int, end: int
) -> list[WordSpan]:
    """Spans for ``clause[first:first + count]`` over phonemes [start, end).

    Several words read as one espeak word share its span in proportion to
    their isolated reading's length: approximate inside the group, exact at
    its edges, which is what word timestamps need.
    """
    if count == 1 or isolated is None:
        return [WordSpan(clause[first], start, end)]
    weights = [max(1, len(isolated[first + k])) for k in range(count)]
    total = sum(weights)
    spans, cursor, acc = [], start, 0
    for k, wgt in enumerate(weights):
        acc += wgt
        stop = end if acc == total else start + round((end - start) * acc / total)
        spans.append(WordSpan(clause[first + k], cursor, max(cursor, stop)))
        cursor = stop
    return spans


def _known(phonemes: str) -> str:
    return "".join(ch for ch in phonemes if ch in SYMBOL_TO_ID)


class Frontend:
    """Raw user text -> phrases ready for the acoustic model."""

    def __init__(self, lang: str = "en-us", max_phrase_chars: int = MAX_PHRASE_CHARS):
        if lang not in SUPPORTED_LANGUAGES:
            raise StatecastError(f"unsupported language {lang!r}; choose one of {', '.join(SUPPORTED_LANGUAGES)}")
        self.lang = lang
        self.max_phrase_chars = max_phrase_chars

    def normalize(self, text: str) -> str:
        return normalize_text(text)

    def phrases(self, text: str) -> list[Phrase]:
        """All phrases of ``text``; raises on text with nothing to say."""
        normalized = normalize_text(text)
        phrases = [phonemize_phrase(p, self.lang) for p in split_phrases(normalized, self.max_phrase_chars)]
        phrases = [p for p in phrases if p.words]
        if not phrases:
            raise StatecastError("text has nothing to speak (empty after normalisation)")
        return phrases

    def phonemize(self, text: str) -> Phrase:
        """The whole of ``text`` as one phrase (used by the corpus builder)."""
        phrase = phonemize_phrase(normalize_text(text), self.lang)
        if not phrase.words:
            raise StatecastError("text has nothing to speak (empty after normalisation)")
        return phrase
