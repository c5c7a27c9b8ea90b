"""`statecast say`: writes valid audio at the synthesizer's rate; bad input is one line, exit code 2."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tts import cli

SAY = ("tts.say_cli", "speak text into an audio file with the installed voices")


@pytest.fixture
def say(monkeypatch, capsys):
    """Run `statecast say ARGS` in-process (registered here until tts/cli.py lists it)."""
    monkeypatch.setitem(cli.COMMANDS, "say", SAY)

    def run(*args):
        code = cli.main(["say", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_say_writes_a_wav_of_the_right_rate(say, fixture_voices, tmp_path):
    import soundfile as sf

    out = tmp_path / "hi.wav"
    code, _, err = say("Hello there, general.", "-o", str(out), "--voices-dir", str(fixture_voices),
                       "--voice", "bm_george", "--speed", "1.2", "--words")
    assert code == 0, err
    audio, rate = sf.read(out, dtype="float32")
    info = sf.info(out)
    assert rate == 24000 and info.channels == 1 and info.subtype == "PCM_16" and info.format == "WAV"
    assert audio.ndim == 1 and len(audio) > 0.3 * rate and np.abs(audio).max() > 0.01
    assert "wrote" in err and "24000 Hz" in err
    assert [ln.split("\t")[2] for ln in err.splitlines() if "\t" in ln] == ["Hello", "there", "general"]


def test_say_flac_and_raw_match_the_synthesizer(say, synth, fixture_voices, tmp_path):
    import soundfile as sf

    expected, _ = synth.synthesize("A mix of two.", voice={"af_heart": 0.7, "bf_emma": 0.3})
    for name in ("mix.flac", "mix.raw"):
        code, _, err = say("A mix of two.", "-o", str(tmp_path / name), "--voices-dir", str(fixture_voices),
                           "--mix", "af_heart=0.7,bf_emma=0.3")
        assert code == 0, err
    flac, rate = sf.read(tmp_path / "mix.flac", dtype="float32")
    raw = np.frombuffer((tmp_path / "mix.raw").read_bytes(), dtype="<i2").astype(np.float32) / 32767
    assert rate == 24000 and flac.shape == raw.shape == expected.shape
    np.testing.assert_allclose(raw, expected, atol=1 / 32767 + 1e-6)
    np.testing.assert_allclose(flac, raw, atol=1 / 32767 + 1e-6)


@pytest.mark.parametrize("args, pattern", [
    (["Hi.", "-o", "X", "--voice", "nobody"], "unknown voice 'nobody'"),
    (["Hi.", "-o", "X", "--mix", "af_heart"], "NAME=WEIGHT"),
    (["Hi.", "-o", "X", "--speed", "9"], "speed"),
    (["", "-o", "X"], "empty text"),
    (["Hi."], "no output"),
    (["-o", "X"], "say what"),
    (["Hi.", "-o", "/nonexistent-dir/x.wav"], "cannot write"),
])
def test_say_bad_input_is_one_line(say, fixture_voices, tmp_path, args, pattern):
    args = [a.replace("X", str(tmp_path / "x.wav")) if a == "X" else a for a in args]
    code, _, err = say(*args, "--voices-dir", str(fixture_voices))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and pattern in lines[0] and lines[0].startswith("statecast say: error:"), err


def test_say_without_voices_is_one_line(say, tmp_path):
    code, _, err = say("Hi.", "-o", str(tmp_path / "x.wav"), "--voices-dir", str(tmp_path / "none"))
    assert code == 2 and err.count("\n") == 1 and "no voices installed in" in err and "STATECAST_VOICES" in err


def test_say_lists_voices(say, fixture_voices):
    code, out, _ = say("--list-voices", "--voices-dir", str(fixture_voices))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 5 and lines[0].startswith("* af_heart") and "en-gb" in lines[2]


def test_say_streams_raw_pcm_to_stdout(fixture_voices, synth):
    """A real process: `-o -` writes s16le PCM to stdout and nothing else."""
    code = ("import sys; from tts import cli; cli.COMMANDS['say'] = %r; sys.exit(cli.main(sys.argv[1:]))" % (SAY,))
    proc = subprocess.run([sys.executable, "-c", code, "say", "Piped out.", "-o", "-"], capture_output=True,
                          env={**os.environ, "STATECAST_VOICES": str(fixture_voices)}, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    expected, _ = synth.synthesize("Piped out.")
    pcm = np.frombuffer(proc.stdout, dtype="<i2")
    assert pcm.shape == expected.shape
    np.testing.assert_allclose(pcm / 32767, expected, atol=1 / 32767 + 1e-6)
