"""The `statecast:<voice>` engine that eval and bench drive beside the teachers."""

from __future__ import annotations

import numpy as np
import pytest

from tts.engines import StatecastEngine, get_engine
from tts.errors import StatecastError


@pytest.fixture()
def voices_env(fixture_voices, monkeypatch):
    monkeypatch.setenv("STATECAST_VOICES", str(fixture_voices))
    StatecastEngine._shared.clear()
    yield fixture_voices
    StatecastEngine._shared.clear()


def test_statecast_engine_streams_the_synthesizers_audio(voices_env):
    eng = get_engine("statecast:bf_emma")
    assert eng.name == "statecast:bf_emma" and eng.streaming and eng.sample_rate == 24000
    chunks = list(eng.stream("Good morning, everyone."))
    assert len(chunks) > 1 and all(c.dtype == np.float32 and c.size for c in chunks)
    whole = eng.synthesize("Good morning, everyone.")
    assert np.array_equal(np.concatenate(chunks), whole)  # greedy: the same audio twice


def test_default_voice_mix_and_shared_weights(voices_env):
    default = get_engine("statecast:")
    mix = get_engine("statecast:af_heart=0.5,bm_george=0.5")
    assert default.name == "statecast:af_heart" and mix.voice == {"af_heart": 0.5, "bm_george": 0.5}
    assert default.synth is mix.synth  # one load per voices directory
    a, b = default.synthesize("Hello there."), mix.synthesize("Hello there.")
    assert a.size and b.size and (a.shape != b.shape or not np.array_equal(a, b))  # the mix changes the voice


def test_unknown_voice_fails_at_construction(voices_env):
    with pytest.raises(StatecastError, match="nope"):
        get_engine("statecast:nope")
    with pytest.raises(StatecastError, match="unknown engine"):
        get_engine("espeak:x")
