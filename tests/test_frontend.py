"""Frontend: phonemes (golden, inline), word map, phrase splitting, symbol table."""

import pytest

from tts.errors import StatecastError
from tts.text.frontend import Frontend, phonemize_phrase, split_phrases
from tts.text.symbols import PAD, SYMBOL_TO_ID, SYMBOLS, phonemes_to_ids


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("Hello, world!", "en-us", "həlˈoʊ, wˈɜːld!"),
        ("Doctor Smith went to the store.", "en-us", "dˈɑːktɚ smˈɪθ wɛnt tə ðə stˈɔːɹ."),
        ("Doctor Smith went to the store.", "en-gb", "dˈɒktə smˈɪθ wɛnt tə ðə stˈɔː."),
        ("Is it ready?", "en-us", "ɪz ɪt ɹˈɛdi?"),
        ("I read the book; then I slept.", "en-us", "aɪ ɹˈiːd ðə bˈʊk; ðˈɛn aɪ slˈɛpt."),
        ("The quick brown fox jumps over the lazy dog.", "en-us",
         "ðə kwˈɪk bɹˈaʊn fˈɑːks dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ."),
        # Brackets pause like commas; the sentence's own full stop wins at the end.
        ("She sells sea shells (by the shore).", "en-us", "ʃiː sˈɛlz sˈiː ʃˈɛlz, baɪ ðə ʃˈɔːɹ."),
        # Quotes carry no sound and no pause.
        ('He said "yes".', "en-us", "hiː sˈɛd jˈɛs."),
    ],
)
def test_golden_phonemes(text, lang, expected):
    assert phonemize_phrase(text, lang).phonemes == expected


def test_word_map_covers_every_word_in_order():
    p = phonemize_phrase("Hello there, this is a quick test of the teacher voice.")
    assert [w.text for w in p.words] == "Hello there this is a quick test of the teacher voice".split()
    spans = [(w.start, w.end) for w in p.words]
    assert all(a < b for a, b in spans)
    assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:]))
    assert p.phonemes[spans[0][0]:spans[0][1]] == "həlˈoʊ"
    assert p.phonemes[spans[-1][0]:spans[-1][1]] == "vˈɔɪs"


def test_word_map_survives_espeak_merging_words():
    # espeak reads "of the" as one word (ʌvðə); the map must still name both,
    # and "a" must keep its in-context reading (ɐ), not the letter name (eɪ).
    p = phonemize_phrase("This is a test of the system.")
    words = {w.text: p.phonemes[w.start:w.end] for w in p.words}
    assert [w.text for w in p.words] == ["This", "is", "a", "test", "of", "the", "system"]
    assert words["of"] + words["the"] == "ʌvðə"
    assert words["a"] == "ɐ"


def test_repeated_words_get_distinct_spans():
    p = phonemize_phrase("the the of the the")
    assert len(p.words) == 5
    assert len({(w.start, w.end) for w in p.words}) == 5


def test_phonemes_only_use_the_symbol_table():
    p = phonemize_phrase("Naïve café owners say: jalapeño — très bien… ok?")
    ids = p.ids()
    assert len(ids) == len(p.phonemes)
    assert all(0 < i < len(SYMBOLS) for i in ids)


def test_symbol_table_is_stable_and_rejects_unknown():
    assert SYMBOLS[0] == PAD and SYMBOL_TO_ID[PAD] == 0
    assert len(SYMBOLS) == len(set(SYMBOLS))
    assert phonemes_to_ids("ə ") == [SYMBOL_TO_ID["ə"], SYMBOL_TO_ID[" "]]
    with pytest.raises(StatecastError, match="not in the symbol table"):
        phonemes_to_ids("a\u4e2d")


def test_split_phrases_respects_limit_and_keeps_every_word():
    text = "One. Two three, four five six; seven eight nine ten. " + "word " * 200
    phrases = split_phrases(text.strip(), max_chars=40)
    assert all(len(p) <= 40 for p in phrases)
    assert " ".join(phrases).split() == text.split()
    assert phrases[0] == "One."


def test_split_phrases_cuts_a_giant_word():
    phrases = split_phrases("x" * 1000, max_chars=300)
    assert [len(p) for p in phrases] == [300, 300, 300, 100]


def test_frontend_rejects_empty_and_unknown_language():
    with pytest.raises(StatecastError, match="nothing to speak"):
        Frontend().phrases("   ")
    with pytest.raises(StatecastError, match="unsupported language"):
        Frontend("fr-fr")


def test_frontend_phrases_for_long_text():
    text = "This is the first sentence. And here is the second one, which is a little longer! Third?"
    phrases = Frontend().phrases(text)
    assert len(phrases) == 3
    assert phrases[-1].phonemes.endswith("?")


def test_pathological_input_stays_linear():
    """No catastrophic behaviour: 100k characters, floods of punctuation, emoji,
    control characters and one giant word all finish well inside a generous
    budget (measured ~2.5 s for the 100k case on a busy 2-core machine)."""
    import random
    import time

    rng = random.Random(0)
    words = "the quick brown fox jumps over lazy dog and 42 cats paid $3.50 at 3pm".split()
    mixed = " ".join(rng.choice(words) + rng.choice(["", ",", ".", "", ""]) for _ in range(20000))
    cases = {
        "100k mixed": mixed[:100_000],
        "10k punctuation": "!?.," * 2500 + " hello",
        "emoji and control": "😀" * 5000 + " hi \x00\x07\x1b there",
        "one giant word": "a" * 100_000,
    }
    frontend = Frontend()
    for name, text in cases.items():
        start = time.perf_counter()
        phrases = frontend.phrases(text)
        elapsed = time.perf_counter() - start
        assert elapsed < 30.0, f"{name} took {elapsed:.1f}s"
        assert phrases and all(len(p.text) <= frontend.max_phrase_chars for p in phrases)
        assert all(p.ids() for p in phrases)
