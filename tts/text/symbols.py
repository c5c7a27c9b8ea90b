"""The phoneme symbol table: one id per character the frontend can emit.

The acoustic model embeds these ids, so the table is append-only: a symbol's
id never changes once weights have been trained on it. It is the union of the
IPA the espeak-ng English voices produce and the punctuation that shapes
prosody; every symbol here is also in the Kokoro teacher's vocabulary, so the
student reads exactly what the teacher was fed.
"""

from __future__ import annotations

from ..errors import StatecastError

PAD = "_"  # id 0: padding, also the silence symbol at utterance edges
BOS = "^"
EOS = "$"
SPACE = " "
PUNCTUATION = ',.!?;:—…"()“”'
# The marks a phrase ends with: every corpus prompt ends in one (tts.data.prompts),
# so the acoustic model only ever learnt to end a clip after one of them.
PHRASE_END_MARKS = ".?!"

# Letters espeak-ng's en-us / en-gb voices emit in IPA mode, plus the rest of
# Kokoro's Latin/IPA vocabulary so foreign words read by espeak still map.
_LETTERS = (
    "abcdefhijklmnopqrstuvwxyz"
    "æçðøŋœɐɑɒɔɕɖəɚɛɜɟɡɣɤɥɨɪɯɰɲɳɴɸɹɻɽɾʁʂʃʈʊʋʌʎʒʔʝʣʤʥʦʧʨʰʲ"
    "βθχᵊᵻ"
)
_STRESS_AND_LENGTH = "ˈˌː̃"

SYMBOLS: tuple[str, ...] = (PAD, BOS, EOS, SPACE, *PUNCTUATION, *_STRESS_AND_LENGTH, *_LETTERS)
SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}
assert len(SYMBOL_TO_ID) == len(SYMBOLS), "duplicate symbol in the table"


def phonemes_to_ids(phonemes: str) -> list[int]:
    """Map a phoneme string to ids, one per character.

    Raises :class:`StatecastError` naming the first unknown symbol: silently
    dropping it would make the audio disagree with the word timestamps.
    """
    ids = []
    for i, ch in enumerate(phonemes):
        sid = SYMBOL_TO_ID.get(ch)
        if sid is None:
            raise StatecastError(f"phoneme {ch!r} (U+{ord(ch):04X}) at position {i} is not in the symbol table")
        ids.append(sid)
    return ids


def is_known(ch: str) -> bool:
    return ch in SYMBOL_TO_ID
