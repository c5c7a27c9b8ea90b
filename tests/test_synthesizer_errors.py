"""Bad input and broken bundles raise one clear StatecastError; voice bundles load and list."""

import json
import math
import shutil

import pytest

from tts import Synthesizer
from tts.errors import StatecastError
from tts.voices import parse_mix


def test_voices_lists_the_bundle(synth):
    voices = synth.voices()
    assert [v["name"] for v in voices] == ["af_heart", "am_michael", "bf_emma", "bm_george", "joe"]
    assert all(set(v) == {"name", "lang", "gender", "accent", "description"} for v in voices)
    assert {v["lang"] for v in voices} == {"en-us", "en-gb"}
    assert synth.default_voice == "af_heart" and synth.sample_rate == 24000
    assert synth.open().voice == "af_heart"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(synth, text):
    with pytest.raises(StatecastError, match="empty text"):
        synth.stream(text)


def test_text_with_nothing_to_speak(synth):
    with pytest.raises(StatecastError, match="nothing to speak"):
        synth.stream("... !!! ---")
    s = synth.open()
    s.push("?!")
    with pytest.raises(StatecastError, match="nothing to speak"):
        s.close()
    assert s.done and s.state_nbytes() == 0


@pytest.mark.parametrize("voice, pattern", [
    ("nobody", "unknown voice 'nobody'"),
    ({"af_heart": 0.5, "nobody": 0.5}, "unknown voice 'nobody'"),
    ({}, "at least one voice"),
    ({"af_heart": -1.0}, ">= 0"),
    ({"af_heart": math.nan}, ">= 0"),
    ({"af_heart": "half"}, ">= 0"),
    ({"af_heart": True}, ">= 0"),
    ({"af_heart": 0.0, "bf_emma": 0}, "sum to zero"),
    (42, "name or a"),
])
def test_bad_voice(synth, voice, pattern):
    with pytest.raises(StatecastError, match=pattern):
        synth.open(voice)
    with pytest.raises(StatecastError, match=pattern):
        synth.stream("Hello.", voice=voice)


@pytest.mark.parametrize("speed", [0.1, 0.49, 2.01, 10, math.nan, math.inf, "fast", None])
def test_speed_out_of_range(synth, speed):
    with pytest.raises(StatecastError, match="speed"):
        synth.open(speed=speed)


@pytest.mark.parametrize("temperature", [-0.1, 3.0, math.nan, "hot"])
def test_bad_temperature(synth, temperature):
    with pytest.raises(StatecastError, match="temperature"):
        synth.open(temperature=temperature)


def test_push_after_close_and_non_string_text(synth):
    s = synth.open()
    s.push("Hello.")
    s.close()
    with pytest.raises(StatecastError, match="closed"):
        s.push("more")
    with pytest.raises(StatecastError, match="closed"):
        s.flush()
    s.close()  # closing twice is harmless
    with pytest.raises(StatecastError, match="string"):
        synth.open().push(b"bytes")
    s.cancel()


def test_bad_chunk_sizes(synth):
    with pytest.raises(StatecastError, match="chunk sizes"):
        synth.stream("Hello.", first_chunk_frames=0)


@pytest.mark.parametrize("spec, expected", [
    ("af_heart=0.7,bf_emma=0.3", {"af_heart": 0.7, "bf_emma": 0.3}),
    ("af_heart:1, joe:2", {"af_heart": 1.0, "joe": 2.0}),
])
def test_parse_mix(spec, expected):
    assert parse_mix(spec) == expected


@pytest.mark.parametrize("spec, pattern", [("af_heart", "NAME=WEIGHT"), ("a=x", "not a number"),
                                           ("a=1,a=2", "twice"), (",", "at least one")])
def test_parse_mix_errors(spec, pattern):
    with pytest.raises(StatecastError, match=pattern):
        parse_mix(spec)


# ---- bundles -------------------------------------------------------------------------------

def test_empty_voices_dir_says_how_to_get_voices(tmp_path, monkeypatch):
    with pytest.raises(StatecastError, match=r"no voices installed in .*train them \(see README\) or set STATECAST_VOICES"):
        Synthesizer.load(tmp_path)
    monkeypatch.setenv("STATECAST_VOICES", str(tmp_path / "missing"))
    with pytest.raises(StatecastError, match="no voices installed in .*missing"):
        Synthesizer.load()


def test_env_var_points_at_a_bundle(fixture_voices, monkeypatch):
    monkeypatch.setenv("STATECAST_VOICES", str(fixture_voices))
    assert Synthesizer.load(warm=False).default_voice == "af_heart"


def _copy(fixture_voices, tmp_path):
    d = tmp_path / "bundle"
    shutil.copytree(fixture_voices, d)
    return d, json.loads((d / "voices.json").read_text())


@pytest.mark.parametrize("edit, pattern", [
    (lambda doc: doc.update(default="nobody"), "default voice 'nobody'"),
    (lambda doc: doc["voices"][0].update(speaker="ghost"), "speaker 'ghost'"),
    (lambda doc: doc["voices"][1].update(name="af_heart"), "more than once"),
    (lambda doc: doc["voices"][0].update(lang="fr-fr"), "lang must be"),
    (lambda doc: doc["voices"][0].update(pitch=3), "unknown keys: pitch"),
    (lambda doc: doc.update(voices=[]), "no voices"),
    (lambda doc: doc.update(format="other"), "not a statecast-voices"),
])
def test_broken_voice_list(fixture_voices, tmp_path, edit, pattern):
    d, doc = _copy(fixture_voices, tmp_path)
    edit(doc)
    (d / "voices.json").write_text(json.dumps(doc))
    with pytest.raises(StatecastError, match=pattern):
        Synthesizer.load(d, warm=False)


def test_missing_or_mismatched_weights(fixture_voices, tmp_path):
    d, _ = _copy(fixture_voices, tmp_path)
    (d / "acoustic" / "model.safetensors").unlink()
    with pytest.raises(StatecastError, match="no acoustic weights"):
        Synthesizer.load(d, warm=False)
    d2 = tmp_path / "b2"
    shutil.copytree(fixture_voices, d2)
    cfg = json.loads((d2 / "codec" / "config.json").read_text())
    cfg["config"]["levels"] = [5, 5, 5, 5]
    (d2 / "codec" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(StatecastError, match="disagree on tokens"):
        Synthesizer.load(d2, warm=False)
    (d2 / "voices.json").write_text("{not json")
    with pytest.raises(StatecastError, match="not valid JSON"):
        Synthesizer.load(d2, warm=False)


def test_load_arguments(fixture_voices):
    with pytest.raises(StatecastError, match="threads"):
        Synthesizer.load(fixture_voices, threads=0)
    with pytest.raises(StatecastError, match="device"):
        Synthesizer.load(fixture_voices, device="nonsense")
