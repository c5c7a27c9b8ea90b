"""Acoustic training data and recipe: token cache alignment, bucketing, resumable training, export."""

import argparse
import json

import numpy as np
import pytest
import torch

from tts.errors import StatecastError
from tts.model import tiny_config
from tts.model.data import (BatchSchedule, bucket_batches, example_from_row, load_examples,
                            write_synthetic_corpus)

torch.set_num_threads(1)
TINY = {"d_text": 32, "text_conv_blocks": 1, "dur_channels": 32, "d_model": 32, "n_layers": 2,
        "head_dim": 16, "d_state": 8}


def kokoro_row(duration=1.0, speaker="joe"):
    return {"id": "clip1", "speaker": speaker, "phonemes": "həlˈoʊ", "durations": [0.05, 0.1, 0.05, 0.025, 0.1, 0.1],
            "lead": 0.3, "trail": 0.275, "duration": duration}


def test_example_lines_up_with_tokens():
    cfg = tiny_config()
    for T in (40, 41, 42, 38):  # within two frames of the clip's 40
        ex = example_from_row(kokoro_row(), np.zeros((2, T), dtype=np.int16), cfg)
        assert ex.frames.sum() == T and len(ex.frames) == len(ex.units) == 8
        assert ex.units[0] == ex.units[-1] == 0 and ex.voice == cfg.voices.index("joe")


@pytest.mark.parametrize("tokens, pattern", [
    (np.zeros((2, 46), dtype=np.int16), "46 token frames but its duration says 40"),
    (np.zeros((3, 40), dtype=np.int16), "expected \\(2, T\\)"),
    (np.full((2, 40), 1000, dtype=np.int16), "tokens outside"),
])
def test_example_rejects_tokens_that_do_not_fit(tokens, pattern):
    with pytest.raises(StatecastError, match=pattern):
        example_from_row(kokoro_row(), tokens, tiny_config())


def test_bucketing_respects_budget_and_covers_everything(tmp_path):
    cfg = tiny_config()
    manifest, tokens = write_synthetic_corpus(tmp_path, 60, cfg, frames_range=(20, 200))
    train, held, counts = load_examples(cfg, manifest, tokens)
    assert counts["train"] + counts["heldout"] == 60
    batches = bucket_batches(train, 600)
    assert sorted(i for b in batches for i in b) == list(range(len(train)))
    for b in batches:
        assert len(b) == 1 or len(b) * max(train[i].n_frames for i in b) <= 600
    a, b = BatchSchedule(train, 600, seed=3), BatchSchedule(train, 600, seed=3)
    for step in (0, 5, len(a) + 2, 7):  # a resumed schedule replays the same batches, any order of asks
        assert torch.equal(a.batch(step)["tokens"], b.batch(step)["tokens"])


def test_missing_tokens_is_a_clear_error(tmp_path):
    cfg = tiny_config()
    manifest, _ = write_synthetic_corpus(tmp_path, 3, cfg)
    with pytest.raises(StatecastError, match="no training clips: 3 manifest rows, 3 without tokens"):
        load_examples(cfg, manifest, tmp_path / "elsewhere")


def train_args(tmp_path, *extra):
    from tts.train import acoustic

    p = argparse.ArgumentParser()
    acoustic.add_arguments(p)
    model = [a for k, v in TINY.items() for a in ("--model", f"{k}={v}")]
    return acoustic, p.parse_args(["--synthetic", str(tmp_path / "synth"), "--synthetic-clips", "100",
                                   "--max-frames", "800", "--no-progress", "--lr", "3e-3", "--warmup", "5",
                                   "--eval-every", "1000", "--ckpt-every", "1000", *model, *extra])


def final_params(run_name):
    from tts.model.training import run_dir
    from tts.train import checkpoint as ckpt

    return ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir(run_name)))


def test_recipe_trains_resumes_and_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    from tts.model.weights import load_acoustic

    acoustic, args = train_args(tmp_path, "--run", "straight", "--max-steps", "16")
    assert acoustic.run(args) == 0
    log = [json.loads(line) for line in open(tmp_path / "cache/train/acoustic/straight/log.jsonl")]
    steps = [r for r in log if "tokens" in r and "summary" not in r]
    assert steps[-1]["tokens"] < steps[0]["tokens"]  # it learns the synthetic phoneme -> token map
    assert log[-1]["summary"]["train_frames_per_s"] > 0 and "val_tokens" in log[-1]["summary"]

    # Same run in two halves: stop at 8, then resume to 16. Must land on the same weights.
    _, args = train_args(tmp_path, "--run", "halves", "--max-steps", "16", "--stop-at", "8")
    acoustic.run(args)
    _, args = train_args(tmp_path, "--run", "halves", "--max-steps", "16")
    acoustic.run(args)
    a, b = final_params("straight"), final_params("halves")
    assert a["step"] == b["step"] == 16
    for k in a["model"]:
        assert torch.allclose(a["model"][k], b["model"][k], atol=1e-6), k

    _, args = train_args(tmp_path, "--run", "straight", "--export", str(tmp_path / "voice"))
    assert acoustic.run(args) == 0
    model = load_acoustic(tmp_path / "voice")
    assert model.cfg.d_model == 32 and model.cfg.voices[-1] == "joe"
    for k, v in model.state_dict().items():
        assert torch.equal(v, a["model"][k].float()), k

    # An average of the run's last checkpoints exports too, and says what it averaged.
    from tts.train.checkpoint import average_checkpoints, list_checkpoints, save_payload

    last = list_checkpoints(tmp_path / "cache/train/acoustic/halves")[-2:]  # steps 8 and 16
    avg = save_payload(tmp_path / "soup" / "avg.pt", average_checkpoints(last))
    _, args = train_args(tmp_path, "--run", "straight", "--checkpoint", str(avg), "--export", str(tmp_path / "avg_voice"))
    assert acoustic.run(args) == 0
    meta = json.loads((tmp_path / "avg_voice" / "config.json").read_text())["meta"]
    assert len(last) == 2 and meta["averaged_from"] == [f"halves/{p.name}" for p in last]
    # Named after itself, with each source's own recipe rather than the last source's.
    assert meta["run"] == "soup"
    assert [s["checkpoint"] for s in meta["sources"]] == meta["averaged_from"]
    assert all(s["recipe"]["max_steps"] == 16 for s in meta["sources"]) and "recipe" not in meta


def test_init_from_starts_a_fresh_run_from_weights_and_resume_keeps_jitter(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    from tts.model.training import AcousticTrainConfig, AcousticTrainer, run_dir
    from tts.train import checkpoint as ckpt

    acoustic, args = train_args(tmp_path, "--run", "base", "--max-steps", "6")
    acoustic.run(args)
    base = final_params("base")
    src = ckpt.latest_checkpoint(run_dir("base"))
    # --model is ignored: the checkpoint's config wins; the optimiser and schedule start over.
    _, args = train_args(tmp_path, "--run", "tuned", "--max-steps", "4", "--init-from", str(src),
                         "--jitter", "0.2", "--stop-at", "2")
    acoustic.run(args)
    tuned = final_params("tuned")
    assert tuned["step"] == 2 and tuned["train_config"]["jitter"] == 0.2
    assert tuned["model_config"] == base["model_config"]
    # Two small steps from the base weights: close to them, not equal, far closer than a fresh model.
    fresh = AcousticTrainer(AcousticTrainConfig(run="fresh", manifest=str(tmp_path / "synth/manifest.jsonl"),
                                                tokens_dir=str(tmp_path / "synth/tokens"),
                                                model=dict(base["model_config"])))
    k = "head.weight"
    near = (tuned["model"][k] - base["model"][k]).abs().max()
    far = (fresh.model.state_dict()[k] - base["model"][k]).abs().max()
    assert 0 < near < far / 3
    # Resuming without --jitter keeps the run's noise.
    _, args = train_args(tmp_path, "--run", "tuned", "--max-steps", "4")
    acoustic.run(args)
    assert final_params("tuned")["train_config"]["jitter"] == 0.2
    # An exported model directory starts a run as its checkpoint would (float16 weights widened),
    # and --self-feed is kept on resume like --jitter.
    from tts.model.training import export_checkpoint

    export_checkpoint(src, tmp_path / "exported", torch.float16)
    _, args = train_args(tmp_path, "--run", "fed", "--max-steps", "4", "--init-from", str(tmp_path / "exported"),
                         "--self-feed", "0.5", "--stop-at", "1")
    acoustic.run(args)
    _, args = train_args(tmp_path, "--run", "fed", "--max-steps", "4", "--stop-at", "2")
    acoustic.run(args)
    fed = final_params("fed")
    assert fed["step"] == 2 and fed["train_config"]["self_feed"] == 0.5
    assert fed["model_config"] == base["model_config"]
    near = (fed["model"][k] - base["model"][k].half().float()).abs().max()
    assert 0 < near < far / 3
    # --self-feed-voices: only those voices' rows self-feed, and a resume keeps the list
    _, args = train_args(tmp_path, "--run", "fedv", "--max-steps", "4", "--init-from", str(tmp_path / "exported"),
                         "--self-feed", "0.5", "--self-feed-voices", "bf_emma", "--stop-at", "1")
    acoustic.run(args)
    _, args = train_args(tmp_path, "--run", "fedv", "--max-steps", "4", "--stop-at", "2")
    acoustic.run(args)
    assert final_params("fedv")["train_config"]["self_feed_voices"] == ["bf_emma"]
    from types import SimpleNamespace

    from tts.model.config import AcousticConfig
    from tts.model.training import AcousticTrainConfig, AcousticTrainer

    voices = list(fed["model_config"]["voices"])
    trainer = SimpleNamespace(cfg=AcousticTrainConfig(run="x", self_feed=0.5, self_feed_voices=["bf_emma"]),
                              model_cfg=AcousticConfig.from_dict(fed["model_config"]), device=torch.device("cpu"))
    share = AcousticTrainer.self_feed_share(trainer, torch.tensor([voices.index("bf_emma"), voices.index("joe")]))
    assert share.tolist() == [0.5, 0.0]
    trainer.cfg.self_feed_voices = None
    assert AcousticTrainer.self_feed_share(trainer, torch.tensor([0, 1])) == 0.5
    with pytest.raises(StatecastError, match="not among the model's voices"):
        _, args = train_args(tmp_path, "--run", "y", "--init-from", str(tmp_path / "exported"),
                             "--self-feed", "0.5", "--self-feed-voices", "nobody")
        acoustic.run(args)
    with pytest.raises(StatecastError, match="--self-feed must be in"):
        _, args = train_args(tmp_path, "--run", "x", "--self-feed", "0.95")
        acoustic.run(args)
    with pytest.raises(StatecastError, match="--jitter must be in"):
        _, args = train_args(tmp_path, "--run", "x", "--jitter", "0.9")
        acoustic.run(args)


def test_recipe_errors_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    acoustic, args = train_args(tmp_path, "--export", str(tmp_path / "out"), "--run", "never")
    with pytest.raises(StatecastError, match="has no checkpoint yet"):
        acoustic.run(args)
    acoustic, args = train_args(tmp_path, "--model", "bogus=1", "--max-steps", "1")
    with pytest.raises(StatecastError, match="unknown acoustic config keys: bogus"):
        acoustic.run(args)


def test_cli_module_is_light():
    import subprocess
    import sys

    code = "import sys, tts.train.acoustic; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_statecast_train_acoustic_bad_input_is_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from tts.train.cli import TARGETS

    if "acoustic" not in TARGETS:
        pytest.skip("'statecast train acoustic' is not registered in tts/train/cli.py yet")
    env = {**os.environ, "STATECAST_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "tts.cli", "train", "acoustic", "--synthetic", str(tmp_path / "s"),
                           "--synthetic-clips", "4", "--model", "bogus=1"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown acoustic config keys: bogus" in proc.stderr.strip().splitlines()[-1]


def test_lead_trim_cuts_only_the_leading_silence_and_is_deterministic():
    from tts.model.data import Example, trim_lead

    tokens = np.arange(2 * 20).reshape(2, 20)
    ex = Example(id="c", units=np.array([0, 5, 6, 0]), frames=np.array([8, 4, 6, 2]), voice=1, tokens=tokens)
    cut = trim_lead(ex, 5)
    assert cut.frames.tolist() == [3, 4, 6, 2] and np.array_equal(cut.tokens, tokens[:, 5:])
    assert cut.frames.sum() == cut.n_frames  # frames still add up to the clip's tokens
    assert trim_lead(ex, 99).frames[0] == 1  # the lead keeps one frame
    assert trim_lead(ex, 0) is ex
    examples = [Example(id=str(i), units=np.array([0, 5, 0]), frames=np.array([10, 6, 4] if i else [0, 6, 14]), voice=0,
                        tokens=np.zeros((2, 20), dtype=np.int64)) for i in range(12)]
    plain = BatchSchedule(examples, 80, seed=1)
    trimmed = BatchSchedule(examples, 80, seed=1, lead_trim=1.0)
    again = BatchSchedule(examples, 80, seed=1, lead_trim=1.0)
    a, b, c = plain.batch(3), trimmed.batch(3), again.batch(3)
    long_lead = a["frames"][:, 0] == 10  # one clip has no lead at all: nothing to cut, no error
    assert (a["frames"][:, 0] != 10).sum() <= 1 and (b["frames"][long_lead, 0] < 10).any()
    assert torch.equal(b["frames"], c["frames"]) and torch.equal(b["token_mask"], c["token_mask"])
    assert torch.equal(b["frames"][:, 1:], a["frames"][:, 1:])
    assert torch.equal(b["token_mask"].sum(1), b["frames"].sum(1))


def test_onset_weights_cover_the_first_sound_and_weigh_the_token_loss():
    from tts.model.acoustic import ONSET_AFTER, ONSET_BEFORE, onset_frame_weights
    from tts.model.tokens import TokenLayout

    w = onset_frame_weights(torch.tensor([5, 0]), 20, 3.0)
    assert w.shape == (2, 20)
    assert torch.nonzero(w[0] == 3.0).flatten().tolist() == list(range(5 - ONSET_BEFORE, 5 + ONSET_AFTER))
    assert torch.nonzero(w[1] == 3.0).flatten().tolist() == list(range(0, ONSET_AFTER))  # no lead: from frame 0
    assert set(w.unique().tolist()) == {1.0, 3.0}
    assert torch.equal(onset_frame_weights(torch.tensor([5]), 20, 1.0), torch.ones(1, 20))
    # The weighted loss is the weighted mean of the per-frame losses, padding still excluded.
    layout = TokenLayout((8, 5, 5, 5), 2)
    torch.manual_seed(0)
    B, T = 2, 20
    logits = torch.randn(B, T, 2, 4, 8)
    digits = torch.randint(0, 5, (B, T, 2, 4))
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 15:] = False
    plain = layout.loss(logits, digits, mask)
    assert torch.allclose(layout.loss(logits, digits, mask, torch.ones(B, T)), plain)
    weighted = layout.loss(logits, digits, mask, w)
    ce = torch.nn.functional.cross_entropy(logits.flatten(0, -2), digits.flatten(), reduction="none")
    ce = ce.view(B, T, 2, 4).mean((-1, -2))
    m = mask.float() * w
    assert torch.allclose(weighted, (ce * m).sum() / m.sum())
    assert not torch.allclose(weighted, plain)


def test_onset_weight_is_checked_recorded_and_kept_on_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    acoustic, args = train_args(tmp_path, "--run", "ow", "--max-steps", "4", "--onset-weight", "3", "--stop-at", "1",
                                "--log-every", "1")
    acoustic.run(args)
    _, args = train_args(tmp_path, "--run", "even", "--max-steps", "4", "--stop-at", "1", "--log-every", "1")
    acoustic.run(args)

    def first_loss(run):
        rows = [json.loads(line) for line in open(tmp_path / f"cache/train/acoustic/{run}/log.jsonl")]
        return next(r["tokens"] for r in rows if r.get("step") == 1 and "tokens" in r)

    # Same seed, same first batch, same initial weights: only the weighting differs.
    assert first_loss("ow") != pytest.approx(first_loss("even"), rel=1e-6)
    _, args = train_args(tmp_path, "--run", "ow", "--max-steps", "4", "--stop-at", "2")
    acoustic.run(args)
    payload = final_params("ow")
    assert payload["step"] == 2 and payload["train_config"]["onset_weight"] == 3.0
    for bad in ("0.5", "11"):
        with pytest.raises(StatecastError, match="--onset-weight must be in"):
            _, args = train_args(tmp_path, "--run", "x", "--onset-weight", bad)
            acoustic.run(args)


def test_repeat_short_adds_copies_of_short_clips_only(tmp_path):
    from tts.model.data import SHORT_CLIP_FRAMES, repeat_short

    cfg = tiny_config()
    manifest, tokens = write_synthetic_corpus(tmp_path, 40, cfg, frames_range=(30, 200))
    train, _, _ = load_examples(cfg, manifest, tokens)
    short = [ex.id for ex in train if ex.n_frames <= SHORT_CLIP_FRAMES]
    assert 0 < len(short) < len(train)  # the corpus has both kinds
    assert repeat_short(train, 1) == train
    tripled = repeat_short(train, 3)
    assert len(tripled) == len(train) + 2 * len(short)
    counts = {ex.id: sum(e.id == ex.id for e in tripled) for ex in train}
    assert all(counts[i] == (3 if i in short else 1) for i in counts)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(StatecastError, match="positive integer"):
            repeat_short(train, bad)


def test_short_repeat_is_checked_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    acoustic, args = train_args(tmp_path, "--run", "sr", "--max-steps", "2", "--short-repeat", "4", "--stop-at", "1")
    assert acoustic.run(args) == 0
    assert final_params("sr")["train_config"]["short_repeat"] == 4
    for bad in ("0", "21"):
        with pytest.raises(StatecastError, match="--short-repeat must be in"):
            _, args = train_args(tmp_path, "--run", "x", "--short-repeat", bad)
            acoustic.run(args)
