"""Shared fixtures: a complete random-weight voice bundle (tiny models) and a Synthesizer on it.

``fixture_voices`` is built once per session into a temporary directory by
``tests/fixtures/make_fixture_voices.py`` (about a second); any test (the
synthesizer's, the CLI's, the server's) can load it, or point
STATECAST_VOICES at it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_MAKER = Path(__file__).resolve().parent / "fixtures" / "make_fixture_voices.py"


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_fixture_voices", _MAKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fixture_voices(tmp_path_factory) -> Path:
    """Path of a voice bundle with five random-weight voices (default af_heart)."""
    return _load_maker().make_fixture_voices(tmp_path_factory.mktemp("voices"), size="tiny", seed=0)


@pytest.fixture(scope="session")
def synth(fixture_voices):
    """A Synthesizer loaded from ``fixture_voices`` on the CPU, one thread."""
    import torch

    from tts import Synthesizer

    torch.set_num_threads(1)
    return Synthesizer.load(fixture_voices, threads=1)
