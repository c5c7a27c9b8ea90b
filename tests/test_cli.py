"""Every command answers bad input with one clear line and exit code 2, never a traceback."""

import os
import subprocess
import sys

import pytest

from tts.errors import MissingExtraError, require


def statecast(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tts.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def assert_one_line_error(proc, pattern):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and pattern in lines[0], proc.stderr


def test_help_lists_commands():
    proc = statecast("--help")
    assert proc.returncode == 0
    for name in ("corpus", "eval", "bench", "phonemize"):
        assert name in proc.stdout


def test_phonemize_prints_phonemes():
    proc = statecast("phonemize", "Dr. Smith paid $5.")
    assert proc.returncode == 0, proc.stderr
    assert "dˈɑːktɚ smˈɪθ" in proc.stdout and "dollars" in proc.stdout


def test_phonemize_empty_text():
    assert_one_line_error(statecast("phonemize", "   "), "nothing to speak")


def test_corpus_unknown_voice():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("scipy")
    assert_one_line_error(statecast("corpus", "build", "--kokoro-voices", "af_nobody"), "unknown Kokoro voice")


def test_corpus_unwritable_cache(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("scipy")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    proc = statecast("corpus", "build", "--max-clips", "1", env={"STATECAST_CACHE": str(blocker / "cache")})
    assert_one_line_error(proc, "cannot write")


def test_corpus_stats_without_corpus(tmp_path):
    assert_one_line_error(statecast("corpus", "stats", "--dir", str(tmp_path)), "no corpus manifest")


def test_missing_extra_names_the_extra():
    with pytest.raises(MissingExtraError, match=r"the 'teachers' extra .*pip install -e '\.\[teachers\]'"):
        require("statecast_no_such_module", "teachers")
