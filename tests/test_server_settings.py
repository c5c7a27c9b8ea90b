"""Settings from the environment and ``statecast serve`` flags (without starting a server)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from server.settings import Settings
from tts.errors import StatecastError


def test_env_overrides_and_types():
    env = {"STATECAST_MAX_STREAMS": "7", "STATECAST_API_KEY": "abc", "STATECAST_CORS_ORIGINS": "https://a, https://b",
           "STATECAST_MAX_AHEAD_S": "0.5", "STATECAST_WARMUP": "no", "STATECAST_VOICES": "/v", "STATECAST_PORT": "9001"}
    s = Settings.from_env(env)
    assert (s.max_streams, s.api_key, s.cors_origins, s.max_ahead_s, s.warmup, s.voices, s.port) == \
        (7, "abc", ("https://a", "https://b"), 0.5, False, "/v", 9001)
    assert Settings.from_env(env, max_streams=3).max_streams == 3  # explicit beats environment
    assert Settings.from_env({}).api_key is None


@pytest.mark.parametrize("env", [{"STATECAST_MAX_STREAMS": "many"}, {"STATECAST_WARMUP": "maybe"},
                                 {"STATECAST_MAX_STREAMS": "0"}, {"STATECAST_LEAD_SEND_FRAMES": "-2"},
                                 {"STATECAST_LEAD_SEND_FRAMES": "41"}])
def test_bad_settings_are_clear_errors(env):
    with pytest.raises(StatecastError):
        Settings.from_env(env)


def test_serve_flags():
    from server import serve_cli

    p = argparse.ArgumentParser()
    serve_cli.add_arguments(p)
    args = p.parse_args(["--port", "9000", "--max-streams", "4", "--cors-origins", "*", "--no-warmup",
                         "--api-key", "k"])
    s = serve_cli.settings_from_args(args)
    assert (s.port, s.max_streams, s.cors_origins, s.warmup, s.api_key) == (9000, 4, ("*",), False, "k")
    assert serve_cli.settings_from_args(p.parse_args([])).warmup is True
    assert serve_cli.settings_from_args(p.parse_args(["--lead-send-frames", "-1"])).lead_send_frames == -1


@pytest.mark.parametrize("value, expected", [(-1, None), (0, 0), (2, 2)])
def test_lead_send_frames_reaches_the_synthesizer(fixture_voices, value, expected):
    """-1 sends a stream's whole opening silence (Synthesizer lead_send_frames=None)."""
    from fastapi.testclient import TestClient

    from server.app import create_app

    app = create_app(Settings(voices=str(fixture_voices), warmup=False, lead_send_frames=value))
    with TestClient(app):
        assert app.state.services.synth.lead_send_frames == expected


def test_serve_module_imports_light():
    """`statecast --help` imports every command module: serve's must not drag in FastAPI, numpy or torch."""
    code = ("import sys, server.serve_cli; "
            "print(sorted(m for m in ('fastapi', 'numpy', 'torch', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
