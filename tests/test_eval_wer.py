"""Word error rate: alignment counts, aggregation, normalisation."""

import functools
import random

import pytest

from tts.eval.wer import WordErrors, align, score, total


def edit_distance_ref(ref, hyp):
    """Plain recursive Levenshtein distance: the slow reference for align()."""
    ref, hyp = tuple(ref), tuple(hyp)

    @functools.lru_cache(maxsize=None)
    def d(i, j):
        if i == 0:
            return j
        if j == 0:
            return i
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (ref[i - 1] != hyp[j - 1]))

    return d(len(ref), len(hyp))


def test_exact_match_has_no_errors():
    e = align("the cat sat".split(), "the cat sat".split())
    assert (e.substitutions, e.deletions, e.insertions, e.ref_words) == (0, 0, 0, 3)
    assert e.rate == 0.0


def test_substitution():
    e = align("the cat sat".split(), "the bat sat".split())
    assert (e.substitutions, e.deletions, e.insertions) == (1, 0, 0)
    assert e.rate == pytest.approx(1 / 3)


def test_deletion():
    e = align("the black cat sat".split(), "the cat sat".split())
    assert (e.substitutions, e.deletions, e.insertions) == (0, 1, 0)
    assert e.rate == pytest.approx(1 / 4)


def test_insertion():
    e = align("the cat sat".split(), "the cat sat down".split())
    assert (e.substitutions, e.deletions, e.insertions) == (0, 0, 1)


def test_mixed_errors():
    # ref:  a b c d e f
    # hyp:  a x c e f g   -> b->x (S), d deleted (D), g inserted (I); the
    # all-substitution alignment would cost 4
    e = align("a b c d e f".split(), "a x c e f g".split())
    assert (e.substitutions, e.deletions, e.insertions) == (1, 1, 1)
    assert e.errors == 3


def test_empty_hypothesis_is_all_deletions():
    e = align("call me back tomorrow".split(), [])
    assert (e.substitutions, e.deletions, e.insertions, e.ref_words) == (0, 4, 0, 4)
    assert e.rate == 1.0


def test_empty_reference():
    assert align([], []).rate == 0.0
    e = align([], ["uh"])
    assert e.insertions == 1 and e.rate == 1.0


def test_wer_can_exceed_one():
    e = align(["yes"], "yes yes yes".split())
    assert e.insertions == 2 and e.rate == 2.0


def test_align_matches_reference_on_random_word_lists():
    rng = random.Random(0)
    vocab = ["a", "b", "c", "d"]
    for _ in range(300):
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 7))]
        hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 7))]
        e = align(ref, hyp)
        assert e.errors == edit_distance_ref(ref, hyp), (ref, hyp)
        # Every counted edit is consistent with the two lengths.
        assert len(ref) - e.deletions + e.insertions == len(hyp)


def test_total_is_errors_over_words_not_mean_of_rates():
    long = align("one two three four five six seven eight nine ten".split(),
                 "one two three four five six seven eight nine ten".split())
    short = align("yes please".split(), ["yes"])
    t = total([long, short])
    assert t.errors == 1 and t.ref_words == 12
    assert t.rate == pytest.approx(1 / 12)  # a mean of rates would say 25%
    assert (long.rate + short.rate) / 2 == pytest.approx(0.25)


def test_score_applies_the_same_normaliser_to_both_sides():
    lower = lambda s: s.lower().replace(",", "")  # noqa: E731
    e = score("Hello, World", "hello world", normalize=lower)
    assert e.errors == 0 and e.ref_words == 2


def test_to_dict_round_numbers():
    d = WordErrors(1, 2, 3, 10).to_dict()
    assert d == {"substitutions": 1, "deletions": 2, "insertions": 3, "errors": 6, "words": 10, "wer": 0.6}


def test_project_normaliser_makes_currency_equal_to_words():
    normalize = pytest.importorskip("tts.text.normalize")
    assert normalize.normalize_for_wer("$5") == normalize.normalize_for_wer("five dollars")
    assert score("It costs $5.", "it costs five dollars").errors == 0


def test_wer_normalizer_makes_british_and_american_spellings_one_word():
    from tts.eval.wer import wer_normalizer

    norm = wer_normalizer()
    assert norm("The harbour centre, grey metres of labour.") == norm("The harbor center, gray meters of labor.")
    assert score("Drive to the harbour.", "Drive to the harbor.").errors == 0
    assert score("Drive to the harbour.", "Drive to the harbour master.").errors == 1
    # A real substitution is still one.
    assert score("the colour red", "the collar red").errors == 1


def test_wer_normalizer_without_whisper_normalizer_says_what_to_install(monkeypatch):
    import sys

    from tts.errors import StatecastError
    from tts.eval import wer

    monkeypatch.setattr(wer, "_SPELLINGS", None)
    monkeypatch.setitem(sys.modules, "whisper_normalizer.english", None)
    with pytest.raises(StatecastError, match="whisper-normalizer"):
        wer.wer_normalizer()


@pytest.mark.parametrize("ref,hyp,want", [
    ("we climbed through the hayloft", "we climbed through the hay loft", 0),  # joined
    ("update your email address", "update your e mail address", 0),
    ("turn left on to oak road", "turn left onto oak road", 0),  # split
    ("turn left on to oak road", "turn left into oak road", 2),  # not a spacing difference
    ("a b ab", "a b a b", 2),  # both halves are reference words: no join (a substitution, an insertion)
])
def test_align_words_forgives_spacing_only(ref, hyp, want):
    from tts.eval.wer import align_words, join_split_words

    r, h = ref.split(), hyp.split()
    assert align_words(r, h).errors == want
    assert align_words(r, h).ref_words == len(r)  # the reference is never rewritten
    assert align_words(r, r).errors == 0 and join_split_words(r, r) == r


@pytest.mark.parametrize("ref, hyp, want", [
    ("departs at 6:45 in the morning", "departs at 645 in the morning", "departs at 6:45 in the morning"),
    ("from 10 AM to 11:15 AM", "from 10am to 1115am", "from 10am to 11:15am"),
    ("kilo, 7, 4, 9, 2.", "kilo, 7492.", "kilo, 7, 4, 9, 2."),
    # only the same digits, standing alone, are rewritten
    ("at 6:45", "at 6450, 645.5 or 1645", "at 6450, 645.5 or 1645"),
    ("at 6:45", "at 745", "at 745"),
    # a two-digit list, or a decimal at its end, is not a digit list
    ("1, 2 and 3.5", "12 and 35", "12 and 35"),
    ("flight 287 leaves", "flight 287 leaves", "flight 287 leaves"),
])
def test_match_ref_numerals_rewrites_only_the_references_own_numerals(ref, hyp, want):
    from tts.eval.wer import match_ref_numerals

    assert match_ref_numerals(ref, hyp) == want


def test_a_clock_time_or_digit_list_written_as_one_number_is_no_word_error():
    pytest.importorskip("tts.text.normalize")
    pytest.importorskip("whisper_normalizer")
    ref = "Your flight departs at 6:45 from gate 12; code 7, 4, 9, 2."
    assert score(ref, "Your flight departs at 645 from gate 12; code 7492.").errors == 0
    # a different time is still an error
    assert score(ref, "Your flight departs at 745 from gate 12; code 7492.").errors >= 1
