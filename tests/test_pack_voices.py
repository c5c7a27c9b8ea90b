"""`statecast train voices`: checkpoints -> a bundle the synthesizer loads, guarded by the token check."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from tts.errors import StatecastError

TINY = {"d_text": 32, "text_conv_blocks": 1, "dur_channels": 32, "d_model": 32, "n_layers": 2,
        "head_dim": 16, "d_state": 8}


def _codec_checkpoint(run: str, seed: int):
    """A tiny codec saved the way CodecTrainer saves it (no training needed for packing)."""
    from tts.codec import Codec, tiny_config
    from tts.train import checkpoint as ckpt
    from tts.train.codec import run_dir

    torch.manual_seed(seed)
    codec = Codec(tiny_config()).eval()
    payload = {"kind": "statecast-codec-train", "step": 1, "codec_config": codec.cfg.to_dict(),
               "train_config": {"run": run}, "model": codec.state_dict(), "stats": {}}
    run_dir(run).mkdir(parents=True)
    return codec, ckpt.save_checkpoint(run_dir(run), 1, payload)


def _record_token_cache(codec, codec_id: str):
    from tts.train.codec_tokens import ID_FILE, codec_identity, token_dir

    d = token_dir(codec_id)
    d.mkdir(parents=True)
    (d / ID_FILE).write_text(json.dumps(codec_identity(codec, "test")))


def _parse(*argv):
    from tts.train import cli

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return cli, p.parse_args(list(argv))


@pytest.fixture()
def runs(tmp_path, monkeypatch):
    """An acoustic run trained 2 steps on tokens 'tc', made by codec run 'good'; codec run 'other' differs."""
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    good, _ = _codec_checkpoint("good", 0)
    _codec_checkpoint("other", 1)
    _record_token_cache(good, "tc")
    model = [a for k, v in TINY.items() for a in ("--model", f"{k}={v}")]
    cli, args = _parse("acoustic", "--run", "a", "--synthetic", str(tmp_path / "synth"), "--synthetic-clips", "8",
                       "--max-frames", "400", "--max-steps", "2", "--no-progress", "--codec-id", "tc", *model)
    assert cli.run(args) == 0
    return tmp_path


def test_pack_writes_a_bundle_the_synthesizer_speaks_with(runs):
    from tts.synth import Synthesizer
    from tts.voices import load_bundle

    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--out", str(runs / "v16"))
    assert cli.run(args) == 0
    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--out", str(runs / "v32"), "--fp32")
    assert cli.run(args) == 0

    b16, b32 = load_bundle(runs / "v16"), load_bundle(runs / "v32")
    assert sorted(b16.voices) == ["af_heart", "am_michael", "bf_emma", "bm_george", "joe"]
    assert b16.default == "af_heart" and b16.voices["joe"].license == "CC0-1.0"
    size = {d: (runs / d / "acoustic" / "model.safetensors").stat().st_size for d in ("v16", "v32")}
    assert size["v16"] < 0.6 * size["v32"]  # float16 storage
    for k, v in b32.acoustic.state_dict().items():  # loads back as float32, within fp16 rounding
        w = b16.acoustic.state_dict()[k]
        assert w.dtype == v.dtype and torch.allclose(w, v, rtol=1e-3, atol=1e-4), k

    synth = Synthesizer.load(runs / "v16", warm=False, native=False)
    audio = np.concatenate([c.pcm for c in synth.stream("Hello there.", voice="bm_george")])
    assert audio.size > 0 and np.isfinite(audio).all()


def test_pack_refuses_a_codec_that_tokenises_differently(runs):
    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "other", "--out", str(runs / "v"))
    with pytest.raises(StatecastError, match="does not make the tokens the acoustic model was trained on"):
        cli.run(args)
    assert not (runs / "v").exists()  # refused before writing anything


def test_pack_needs_the_token_cache_or_an_explicit_skip(runs):
    import shutil

    from tts.train.codec_tokens import token_dir

    shutil.rmtree(token_dir("tc"))
    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--out", str(runs / "v"))
    with pytest.raises(StatecastError, match="cannot check that this codec matches"):
        cli.run(args)
    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--out", str(runs / "v"),
                       "--skip-token-check")
    assert cli.run(args) == 0


def test_pack_errors_name_the_missing_run(runs):
    cli, args = _parse("voices", "--acoustic-run", "nope", "--codec-run", "good")
    with pytest.raises(StatecastError, match="run 'nope' has no checkpoint"):
        cli.run(args)
    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--default", "zz",
                       "--out", str(runs / "v"))
    with pytest.raises(StatecastError, match="default voice 'zz'"):
        cli.run(args)


def test_keep_codec_swaps_the_acoustic_model_only_for_the_same_token_cache(runs):
    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--out", str(runs / "v"))
    assert cli.run(args) == 0
    codec_bytes = (runs / "v/codec/model.safetensors").read_bytes()
    # A second acoustic run on the same tokens replaces the acoustic model; the codec file is untouched.
    model = [a for k, v in TINY.items() for a in ("--model", f"{k}={v}")]
    cli, args = _parse("acoustic", "--run", "b", "--synthetic", str(runs / "synth2"), "--synthetic-clips", "8",
                       "--max-frames", "400", "--max-steps", "1", "--no-progress", "--codec-id", "tc",
                       "--seed", "3", *model)
    assert cli.run(args) == 0
    before = (runs / "v/acoustic/model.safetensors").read_bytes()
    cli, args = _parse("voices", "--acoustic-run", "b", "--keep-codec", "--out", str(runs / "v"))
    assert cli.run(args) == 0
    assert (runs / "v/codec/model.safetensors").read_bytes() == codec_bytes
    assert (runs / "v/acoustic/model.safetensors").read_bytes() != before
    assert json.loads((runs / "v/acoustic/config.json").read_text())["meta"]["run"] == "b"
    # An acoustic model of another token cache is refused, and nothing is written.
    cli, args = _parse("acoustic", "--run", "c", "--synthetic", str(runs / "synth3"), "--synthetic-clips", "8",
                       "--max-frames", "400", "--max-steps", "1", "--no-progress", "--codec-id", "elsewhere", *model)
    assert cli.run(args) == 0
    cli, args = _parse("voices", "--acoustic-run", "c", "--keep-codec", "--out", str(runs / "v"))
    with pytest.raises(StatecastError, match="trained on token cache 'elsewhere'"):
        cli.run(args)
    assert json.loads((runs / "v/acoustic/config.json").read_text())["meta"]["run"] == "b"
    cli, args = _parse("voices", "--acoustic-run", "b", "--keep-codec", "--out", str(runs / "empty"))
    with pytest.raises(StatecastError, match="--keep-codec needs a packed bundle"):
        cli.run(args)


def test_keep_acoustic_swaps_the_codec_only_for_one_with_the_packed_encoder(runs):
    from tts.train import checkpoint as ckpt
    from tts.train.codec import run_dir

    cli, args = _parse("voices", "--acoustic-run", "a", "--codec-run", "good", "--out", str(runs / "v"))
    assert cli.run(args) == 0
    acoustic_bytes = (runs / "v/acoustic/model.safetensors").read_bytes()
    codec_before = (runs / "v/codec/model.safetensors").read_bytes()
    # A decoder fine-tuned from the packed codec: same encoder and quantizer, other decoder weights.
    payload = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir("good")))
    payload["model"] = {k: v + 0.01 if k.startswith("decoder.") and v.is_floating_point() else v
                        for k, v in payload["model"].items()}
    payload["train_config"] = {"run": "tuned"}
    run_dir("tuned").mkdir(parents=True)
    ckpt.save_checkpoint(run_dir("tuned"), 2, payload)

    cli, args = _parse("voices", "--codec-run", "tuned", "--keep-acoustic", "--out", str(runs / "v"))
    assert cli.run(args) == 0
    assert (runs / "v/acoustic/model.safetensors").read_bytes() == acoustic_bytes
    assert (runs / "v/codec/model.safetensors").read_bytes() != codec_before
    assert json.loads((runs / "v/codec/config.json").read_text())["meta"]["run"] == "tuned"
    # A codec with another encoder would change what the packed model's tokens mean: refused, nothing written.
    after = (runs / "v/codec/model.safetensors").read_bytes()
    cli, args = _parse("voices", "--codec-run", "other", "--keep-acoustic", "--out", str(runs / "v"))
    with pytest.raises(StatecastError, match="its encoder differs"):
        cli.run(args)
    assert (runs / "v/codec/model.safetensors").read_bytes() == after
    for bad, pattern in ((["--keep-acoustic", "--out", str(runs / "empty")], "--keep-acoustic needs a packed"),
                         (["--keep-acoustic", "--keep-codec", "--out", str(runs / "v")], "would pack nothing")):
        cli, args = _parse("voices", "--codec-run", "tuned", *bad)
        with pytest.raises(StatecastError, match=pattern):
            cli.run(args)
