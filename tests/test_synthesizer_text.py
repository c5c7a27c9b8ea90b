"""Input streaming: text in pieces == text whole (DESIGN invariant 4), and where phrases are cut."""

import numpy as np
import pytest

from tts.synth.segment import TextBuffer, find_boundary, text_phrases

TEXT = ("The total is $42.50, due on 3/14/2025. Dr. Smith said it's fine; call 555-1234 at 9 am! "
        "Is that all? Yes, and thank you.")
ATOL = 1e-5


def boundaries(text, clause_min=48):
    buf = TextBuffer(clause_min)
    return buf.push(text) + buf.flush()


@pytest.mark.parametrize("text, segments", [
    ("Hello there. How are you?", ["Hello there.", "How are you?"]),
    ("Dr. Smith is in. He waits.", ["Dr. Smith is in.", "He waits."]),
    ("It opens at 5 p.m. and closes late. Fine.", ["It opens at 5 p.m. and closes late.", "Fine."]),
    ("See No. 5 now. Then go.", ["See No. 5 now.", "Then go."]),
    ("The U.S. Army came. Then J. R. R. Tolkien.", ["The U.S. Army came.", "Then J. R. R. Tolkien."]),
    ('He said "stop." Then left!', ['He said "stop."', "Then left!"]),
    ("Well, yes. Fine", ["Well, yes.", "Fine"]),
    ("Price $42.50 today.", ["Price $42.50 today."]),
])
def test_segments_cut_only_at_safe_boundaries(text, segments):
    assert boundaries(text) == segments


def test_long_clauses_are_cut_short_ones_are_not():
    long = "This first clause is long enough to be spoken alone, and this is the rest."
    assert boundaries(long) == ["This first clause is long enough to be spoken alone,", "and this is the rest."]
    assert boundaries("Short, then more.") == ["Short, then more."]
    assert find_boundary("Hello.") is None and find_boundary("Hello. ") is None  # wait for the next phrase
    assert find_boundary("Hello. W") == (6, 7)


@pytest.mark.parametrize("cut", ["every_char", "every_7", "words", "phrase_ends"])
def test_pieces_segment_exactly_like_the_whole(cut):
    if cut == "every_char":
        pieces = list(TEXT)
    elif cut == "every_7":
        pieces = [TEXT[i:i + 7] for i in range(0, len(TEXT), 7)]
    elif cut == "words":
        pieces = [w + " " for w in TEXT.split(" ")]
    else:
        pieces = [p + " " for p in TEXT.replace(". ", ".|").replace("! ", "!|").replace("? ", "?|").split("|")]
    buf = TextBuffer()
    got = [seg for p in pieces for seg in buf.push(p)] + buf.flush()
    assert got == boundaries(TEXT)


def test_money_split_mid_token_is_read_whole(synth):
    phrases = text_phrases(synth._frontend("en-us"), "It costs $42.50 today.")
    s = synth.open()
    s.push("It costs $42.")
    assert s.frames_ready == 0  # "$42." could still be "$42.50": nothing is planned yet
    s.push("50 today.")
    s.close()
    chunks = []
    while not s.done:
        chunks.append(s.read(8))
    spoken = [w.word for c in chunks for w in c.words]
    assert spoken == [w.text for p in phrases for w in p.words]
    assert "fifty" in spoken and "cents" in spoken


def _speak_in_pieces(synth, pieces, voice="bf_emma", frames=3):
    """Push pieces one by one, reading a few frames between pushes (the decoder may run dry)."""
    s = synth.open(voice)
    chunks = []
    for piece in pieces:
        s.push(piece)
        c = s.read(frames)
        if c is not None:
            chunks.append(c)
    s.close()
    while not s.done:
        chunks.append(s.read(frames))
    return np.concatenate([c.pcm for c in chunks]), [w for c in chunks for w in c.words]


@pytest.mark.parametrize("cut", ["phrase_ends", "every_5", "words"])
def test_text_in_pieces_sounds_like_text_whole(synth, cut):
    whole, whole_words = synth.synthesize(TEXT, voice="bf_emma")
    if cut == "phrase_ends":
        pieces = [p + " " for p in TEXT.replace(". ", ".|").replace("! ", "!|").replace("? ", "?|").split("|")]
    elif cut == "every_5":
        pieces = [TEXT[i:i + 5] for i in range(0, len(TEXT), 5)]
    else:
        pieces = [w + " " for w in TEXT.split(" ")]
    pcm, words = _speak_in_pieces(synth, pieces)
    assert pcm.shape == whole.shape
    np.testing.assert_allclose(pcm, whole, atol=ATOL)
    assert words == whole_words


def test_flush_speaks_an_unfinished_sentence_now(synth):
    s = synth.open()
    s.push("No full stop here")
    assert s.frames_ready == 0
    s.flush()
    assert s.frames_ready > 0
    s.cancel()


@pytest.mark.parametrize("text, last", [
    ("hello", "ʊ."),              # no final mark: a full stop is added
    ("Is it open?", "?"),          # question and exclamation marks are kept
    ("Wow!", "!"),
    ("Fine.", "."),
])
def test_every_phrase_ends_as_a_sentence(text, last):
    from tts.text.frontend import Frontend

    (phrase,) = text_phrases(Frontend("en-us"), text)
    assert phrase.phonemes.endswith(last)
    assert phrase.phonemes[-2] != " "


def test_a_phrase_cut_at_a_clause_ends_with_a_full_stop_and_keeps_its_word_map():
    from tts.synth.segment import end_as_sentence
    from tts.text.frontend import Frontend, phonemize_phrase

    fe = Frontend("en-us")
    text = "This first clause is long enough to be spoken alone, and this is the rest"
    first, rest = text_phrases(fe, text, clause_min_chars=48)
    raw = phonemize_phrase("This first clause is long enough to be spoken alone,", "en-us")
    assert raw.phonemes.endswith(",")
    assert first.phonemes == raw.phonemes[:-1] + "."
    assert first.words == raw.words
    assert [first.phonemes[w.start:w.end] for w in first.words] == [raw.phonemes[w.start:w.end] for w in raw.words]
    assert rest.phonemes.endswith(".") and rest.words[-1].text == "rest"
    assert end_as_sentence(first) is first  # already ends as a sentence: unchanged


def test_by_default_a_sentence_of_corpus_length_is_one_phrase():
    from tts.text.frontend import Frontend

    text = ("Although the forecast had promised clear skies for the whole weekend, a thick fog rolled in "
            "from the harbor on Saturday morning and did not lift until well after lunch.")
    assert len(text) < 200
    assert len(text_phrases(Frontend("en-us"), text)) == 1
    longer = text[:-1] + ", so the ferry to the island stayed in port all day, and every passenger had to wait."
    first, rest = text_phrases(Frontend("en-us"), longer)  # cut at the first clause mark past 200 characters
    assert first.text.endswith("all day,") and rest.text == "and every passenger had to wait."
