"""The acoustic model's teacher-forced latents: written per clip, equal to a one-clip forward, resumable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tts.errors import StatecastError
from tts.model import AcousticConfig, AcousticModel
from tts.model.data import collate, load_examples, write_synthetic_corpus

TINY = {"d_text": 32, "text_conv_blocks": 1, "dur_channels": 32, "d_model": 32, "n_layers": 2,
        "head_dim": 16, "d_state": 8}


@pytest.fixture()
def synth(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    cfg = AcousticConfig.from_dict(TINY)
    manifest, tokens = write_synthetic_corpus(tmp_path / "synth", 12, cfg, frames_range=(40, 160))
    torch.manual_seed(0)
    return AcousticModel(cfg).eval(), manifest, tokens


def test_latents_equal_a_one_clip_forward_whatever_the_batching(synth, tmp_path):
    """Bucketed batches pad clips to the longest; the stored latent of each clip must be
    what the model gives that clip alone (padding changes nothing), aligned to its tokens."""
    from tts.train.student_latents import teacher_forced_latents, write_student_latents

    model, manifest, tokens = synth
    out = tmp_path / "lat"
    counts = write_student_latents(model, out, manifest, tokens, source="tiny", max_frames=400, progress=False)
    train, held, _ = load_examples(model.cfg, manifest, tokens)
    assert counts == {"written": len(train) + len(held), "skipped": 0, "total": len(train) + len(held)}
    G = len(model.cfg.levels)
    for ex in train[:4]:
        stored = np.load(out / f"{ex.id}.npy")
        assert stored.dtype == np.float16 and stored.shape == (ex.n_frames, model.cfg.n_codebooks * G)
        alone = teacher_forced_latents(model, collate([ex]))[0]
        assert np.abs(stored.astype(np.float32) - alone).max() < 2e-3  # float16 storage
        assert np.abs(alone).max() <= 1.0
    # the expected latent is not the argmax's grid point where the model is unsure
    ex = train[0]
    digits = model.layout.tokens_to_digits(torch.from_numpy(ex.tokens).T)
    grid = model.layout.latent(digits).numpy()
    assert not np.allclose(np.load(out / f"{ex.id}.npy").astype(np.float32), grid, atol=1e-2)


def test_latents_resume_and_refuse_another_model(synth, tmp_path):
    from tts.train.student_latents import SOURCE_FILE, write_student_latents

    model, manifest, tokens = synth
    out = tmp_path / "lat"
    first = write_student_latents(model, out, manifest, tokens, progress=False)
    (out / next(iter(sorted(p.name for p in out.glob("*.npy"))))).unlink()
    again = write_student_latents(model, out, manifest, tokens, progress=False)
    assert again == {"written": 1, "skipped": first["total"] - 1, "total": first["total"]}
    assert json.loads((out / SOURCE_FILE).read_text())["latent_dim"] == 8
    torch.manual_seed(5)
    other = AcousticModel(model.cfg).eval()
    with pytest.raises(StatecastError, match="latents of another acoustic model"):
        write_student_latents(other, out, manifest, tokens, progress=False)


def test_cli_writes_latents_from_exported_weights(synth, tmp_path):
    import argparse

    from tts.model.weights import save_acoustic
    from tts.train import cli
    from tts.train.student_latents import latents_dir

    model, manifest, tokens = synth
    save_acoustic(model, tmp_path / "exported")
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    args = p.parse_args(["acoustic", "--latents", "mine", "--weights", str(tmp_path / "exported"),
                         "--manifest", str(manifest), "--tokens", str(tokens), "--no-progress"])
    assert cli.run(args) == 0
    rows = [json.loads(line) for line in open(manifest)]
    assert sorted(p.stem for p in latents_dir("mine").glob("*.npy")) == sorted(r["id"] for r in rows)
