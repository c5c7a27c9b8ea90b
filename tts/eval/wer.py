"""Word error rate: word-level Levenshtein alignment between a reference and an
ASR hypothesis.

Both sides go through the same normaliser (:func:`wer_normalizer`: the text
frontend's ``normalize_for_wer``, then one spelling per word) so that "$5" and
"five dollars", or "harbour" and "harbor", are the same words; the alignment
itself works on lists of already-normalised words and knows nothing about text.

The aggregate over a sentence set is total errors / total reference words
(:func:`total`), never a mean of per-sentence rates: a mean would let a
two-word "Yes, please." weigh as much as a forty-word sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence


@dataclass(frozen=True)
class WordErrors:
    """Counts from one alignment (or a sum of several)."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_words: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """errors / reference words; an empty reference counts any insertion as 100%."""
        if self.ref_words == 0:
            return 0.0 if self.insertions == 0 else 1.0
        return self.errors / self.ref_words

    def __add__(self, other: "WordErrors") -> "WordErrors":
        return WordErrors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.ref_words + other.ref_words,
        )

    def to_dict(self) -> dict:
        return {
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "errors": self.errors,
            "words": self.ref_words,
            "wer": self.rate,
        }


def align(ref: Sequence[str], hyp: Sequence[str]) -> WordErrors:
    """Minimum-edit alignment of two word lists.

    ref: (R,) words, hyp: (H,) words. O(R*H) time, O(H) memory. Among alignments
    with the same total cost, ties are broken towards substitutions (the usual
    convention of scoring tools), which only changes the S/D/I split, never the
    total.
    """
    # Each cell holds (cost, S, D, I) for ref[:i] vs hyp[:j]. The lowest cost
    # wins; among equal costs the cell with more substitutions (so fewer
    # deletion + insertion pairs) wins, as in the usual scoring tools.
    def key(cell: tuple[int, int, int, int]) -> tuple[int, int]:
        return (cell[0], -cell[1])

    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            c, s, d, n = prev[j - 1]
            if ref[i - 1] == hyp[j - 1]:
                diag = (c, s, d, n)
            else:
                diag = (c + 1, s + 1, d, n)
            c, s, d, n = prev[j]
            up = (c + 1, s, d + 1, n)  # ref word with no hyp word: deletion
            c, s, d, n = cur[j - 1]
            left = (c + 1, s, d, n + 1)  # hyp word with no ref word: insertion
            cur.append(min((diag, up, left), key=key))
        prev = cur
    cost, s, d, n = prev[-1]
    assert cost == s + d + n
    return WordErrors(substitutions=s, deletions=d, insertions=n, ref_words=len(ref))


def join_split_words(ref: Sequence[str], hyp: Sequence[str]) -> list[str]:
    """``hyp`` with its spacing matched to ``ref`` where only spacing differs.

    ASR writes "hay loft" for "hayloft", "e mail" (from "e-mail") for
    "email", "onto" for "on to": the same sounds, counted as two errors each
    by a word alignment. Two adjacent hypothesis words are joined when the
    joined word is a reference word (and not both halves are); a hypothesis
    word is split when it is two adjacent reference words run together. The
    reference is never changed, so its word count (the WER denominator)
    stays the same.
    """
    ref_words = set(ref)
    ref_pairs = {a + b: (a, b) for a, b in zip(ref, ref[1:])}
    out: list[str] = []
    i = 0
    while i < len(hyp):
        w = hyp[i]
        if i + 1 < len(hyp):
            joined = w + hyp[i + 1]
            if joined in ref_words and not (w in ref_words and hyp[i + 1] in ref_words):
                out.append(joined)
                i += 2
                continue
        if w not in ref_words and w in ref_pairs:
            out.extend(ref_pairs[w])
        else:
            out.append(w)
        i += 1
    return out


def align_words(ref: Sequence[str], hyp: Sequence[str]) -> WordErrors:
    """:func:`align` after :func:`join_split_words`: what the scorers use."""
    return align(ref, join_split_words(ref, hyp))


_SPELLINGS: dict[str, str] | None = None


def _spellings() -> dict[str, str]:
    """British -> American word map from Whisper's English normaliser (about
    1,700 words). Whisper writes "harbour" and "metres" for a UK voice and
    "harbor" and "meters" for a US one; neither is a word error."""
    global _SPELLINGS
    if _SPELLINGS is None:
        try:
            from whisper_normalizer.english import EnglishSpellingNormalizer
        except ImportError:
            from ..errors import StatecastError

            raise StatecastError("WER scoring needs whisper-normalizer: pip install -e '.[eval]'") from None
        _SPELLINGS = dict(EnglishSpellingNormalizer().mapping)
    return _SPELLINGS


def wer_normalizer() -> Callable[[str], str]:
    """The scorer's normaliser: text -> lower-case words, one spelling each."""
    # Imported lazily: the normaliser belongs to the text frontend and pulls in
    # num2words; the alignment above must stay usable without it.
    from tts.text.normalize import normalize_for_wer

    spellings = _spellings()

    def normalize(text: str) -> str:
        return " ".join(spellings.get(w, w) for w in normalize_for_wer(text).split())

    return normalize


_REF_TIME = re.compile(r"(?<![\d:.])(\d{1,2}):(\d{2})(?![\d:])")
_REF_DIGIT_LIST = re.compile(r"(?<![\d.,])\d(?:\s*,\s*\d(?!\d|\.\d))+")


def match_ref_numerals(ref_text: str, hyp_text: str) -> str:
    """``hyp_text`` with a numeral written the way ``ref_text`` writes the same words.

    ASR writes a clock time it hears as "six forty-five" as "645", and a
    digit list read out one by one ("7, 4, 9, 2") as "7492". Normalised, those
    become "six hundred forty five" and "seven thousand four hundred ninety
    two": errors of spelling, not of the words heard. Where the reference has
    a time h:mm or a comma-separated digit list, the hypothesis's bare digit
    string of the same digits (and only that string, standing alone) is
    rewritten in the reference's form. The reference is never changed.
    """
    forms = {m.group(1) + m.group(2): m.group(0) for m in _REF_TIME.finditer(ref_text)}
    for m in _REF_DIGIT_LIST.finditer(ref_text):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 3:
            forms[digits] = m.group(0)
    for digits, form in forms.items():
        hyp_text = re.sub(rf"(?<![\d:.,]){digits}(?![\d:]|[.,]\d)", form, hyp_text)
    return hyp_text


def hypothesis_words(ref_text: str, hyp_text: str, normalize: Callable[[str], str]) -> list[str]:
    """An ASR transcript -> the words a scorer aligns against ``ref_text``'s:
    :func:`match_ref_numerals`, then ``normalize``, split on whitespace. Every
    scorer (``score``, the eval harness, ``benchmarks/onset_ab.py``) goes through here."""
    return normalize(match_ref_numerals(ref_text, hyp_text)).split()


def score(ref_text: str, hyp_text: str, normalize: Callable[[str], str] | None = None) -> WordErrors:
    """Normalise both texts with the same function (default :func:`wer_normalizer`;
    the hypothesis through :func:`hypothesis_words`), align (:func:`align_words`)."""
    norm = normalize or wer_normalizer()
    return align_words(norm(ref_text).split(), hypothesis_words(ref_text, hyp_text, norm))


def total(items: Iterable[WordErrors]) -> WordErrors:
    """Sum of counts; ``total(...).rate`` is the corpus-level WER."""
    acc = WordErrors()
    for item in items:
        acc = acc + item
    return acc
