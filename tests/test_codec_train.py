"""Codec training recipe: losses go down, checkpoints resume, export loads.

Runs a tiny codec on a synthetic corpus (harmonic tones written as FLAC with
a manifest like the corpus builder's) inside a temporary cache root.
"""

from __future__ import annotations

import argparse
import json
import zlib

import numpy as np
import pytest
import torch

from tts.codec import load_codec
from tts.errors import StatecastError

sf = pytest.importorskip("soundfile")

torch.set_num_threads(1)
SR = 24000
TINY = {"enc_dim": 32, "enc_blocks": 1, "dec_dim": 32, "dec_blocks": 2, "enc_mels": 16, "mlp_ratio": 2}


def _write_corpus(root, n_clips: int = 8) -> str:
    rng = np.random.default_rng(0)
    (root / "audio").mkdir(parents=True)
    rows, i = [], 0
    held = False
    while len(rows) < n_clips or not held:
        cid = f"clip{i:04d}"
        i += 1
        is_held = zlib.crc32(cid.encode()) % 50 == 0
        if len(rows) >= n_clips and not is_held:
            continue
        held = held or is_held
        t = np.arange(int(SR * 1.2)) / SR
        f0 = rng.uniform(90, 260)
        x = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) for k in range(1, 6))
        x = (x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
        sf.write(root / "audio" / f"{cid}.flac", x, SR, subtype="PCM_16")
        rows.append({"id": cid, "teacher": "synthetic", "speaker": "tone", "lang": "en-us", "text": "tone",
                     "audio": f"audio/{cid}.flac", "duration": t.size / SR, "sample_rate": SR})
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(manifest)


@pytest.fixture()
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("STATECAST_CACHE", str(tmp_path / "cache"))
    return _write_corpus(tmp_path / "corpus")


def _cfg(manifest, **kw):
    from tts.train.codec import CodecTrainConfig

    base = dict(run="t", manifest=manifest, device="cpu", threads=1, batch=2, segment=0.25, warmup=2,
                max_steps=4, log_every=2, eval_every=2, ckpt_every=2, eval_clips=2, eval_seconds=0.25,
                progress=False, model=TINY)
    base.update(kw)
    return CodecTrainConfig(**base)


def test_lr_schedule_warms_up_then_decays():
    from tts.train.codec import lr_factor

    assert lr_factor(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(10, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(55, 10, 100, 0.1) == pytest.approx(0.55)


def test_heldout_clips_are_never_trained_on(corpus):
    from tts.train.audio_data import load_clips

    train, held = load_clips(corpus, SR)
    assert held and train
    assert all(zlib.crc32(c.id.encode()) % 50 == 0 for c in held)
    assert not any(zlib.crc32(c.id.encode()) % 50 == 0 for c in train)


def test_loss_goes_down_on_a_fixed_batch(corpus):
    from tts.train.audio_data import CropSampler
    from tts.train.codec import CodecTrainer

    trainer = CodecTrainer(_cfg(corpus, lr=3e-3, warmup=1, max_steps=1000))
    x = next(iter(CropSampler(trainer.train_clips, trainer.crop, 2, seed=0)))
    losses = [trainer.train_step(x)[0]["loss"] for _ in range(30)]
    assert all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:3])


def test_train_checkpoint_resume_and_export(corpus, tmp_path):
    from tts.train import checkpoint as ckpt
    from tts.train.codec import CodecTrainer, export_checkpoint, run_dir

    summary = CodecTrainer(_cfg(corpus)).train()
    assert summary["step"] == 4 and summary["total_audio_s_per_compute_s"] > 0
    d = run_dir("t")
    assert [p.name for p in ckpt.list_checkpoints(d)] == ["step-0000002.pt", "step-0000004.pt"]
    log = [json.loads(line) for line in (d / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert [r["step"] for r in steps] == [2, 4]
    assert all(np.isfinite(r["mel"]) and r["audio_s_per_s"] > 0 for r in steps)
    assert any("val_mel" in r for r in log)

    # resume: same weights as saved, then continues to the new max_steps
    resumed = CodecTrainer(_cfg(corpus, max_steps=6))
    assert resumed.step == 4
    saved = ckpt.load_checkpoint(d / "step-0000004.pt")["model"]
    for k, v in resumed.model.state_dict().items():
        assert torch.equal(v, saved[k]), k
    assert resumed.train()["step"] == 6

    # --restart ignores the checkpoints
    assert CodecTrainer(_cfg(corpus), restart=True).step == 0

    out = export_checkpoint(d / "step-0000006.pt", tmp_path / "export")
    codec = load_codec(out)
    tokens = torch.randint(0, codec.cfg.codebook_size, (1, codec.cfg.n_codebooks, 5))
    resumed.model.eval()
    assert torch.allclose(codec.decode(tokens), resumed.model.decode(tokens), atol=1e-6)
    assert json.loads((out / "config.json").read_text())["meta"]["step"] == 6


@pytest.mark.parametrize("kind, seconds", [("mrd", None), ("mpd", 0.25), ("mpd+mrd", 0.25)])
def test_adversarial_step_runs(corpus, kind, seconds):
    from tts.train.codec import CodecTrainer
    from tts.train.discriminator import MultiPeriodDiscriminator, MultiResolutionDiscriminator

    trainer = CodecTrainer(_cfg(corpus, adv_weight=0.1, max_steps=2, run=f"adv-{kind}", disc_channels=8,
                                disc=kind, disc_seconds=seconds))
    from tts.train.discriminator import DiscriminatorSet

    expect = {"mrd": MultiResolutionDiscriminator, "mpd": MultiPeriodDiscriminator,
              "mpd+mrd": DiscriminatorSet}[kind]
    assert isinstance(trainer.disc, expect)
    assert trainer.disc.discs[0].convs[0].out_channels == 8
    assert len(trainer.disc.discs) == {"mrd": 3, "mpd": 5, "mpd+mrd": 8}[kind]
    assert len(trainer.disc(torch.randn(2, 6000))) == len(trainer.disc.discs)
    summary = trainer.train()
    assert summary["step"] == 2
    for key in ("disc", "adv", "fm"):
        assert np.isfinite(summary[key])


def test_discriminator_window_is_shared_and_sized(corpus):
    from tts.train.codec import CodecTrainer

    trainer = CodecTrainer(_cfg(corpus, run="win", disc_seconds=0.1))
    y = torch.arange(24000.0).expand(2, -1)
    a, b = trainer._disc_window(y, y + 0.5)
    assert a.shape == (2, 2400) and torch.equal(b, a + 0.5)
    trainer.cfg.disc_seconds = None
    assert trainer._disc_window(y, y)[0] is y


def test_period_discriminator_folds_by_its_period():
    from tts.train.discriminator import PeriodDiscriminator, make_discriminator

    d = PeriodDiscriminator(period=5, channels=4)
    for n in (1000, 1003):  # 1003 is padded up to a multiple of 5
        logits, feats = d(torch.randn(2, n))
        assert logits.shape[0] == 2 and logits.shape[-1] == 5
        assert all(f.shape[-1] == 5 for f in feats)
    with pytest.raises(ValueError, match="discriminator must be one of"):
        make_discriminator("wavenet", 8)


def test_cli_parses_and_reports_missing_run(corpus):
    from tts.train import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["codec", "--run", "nope", "--export", "x", "--model", "dec_dim=64"])
    assert args.model == [("dec_dim", 64)]
    with pytest.raises(StatecastError, match="run 'nope' has no checkpoint"):
        cli.run(args)


def test_tokenize_corpus_writes_resumable_token_cache(corpus, tmp_path):
    from tts.codec import Codec, tiny_config
    from tts.train.codec_tokens import token_dir, tokenize_corpus

    torch.manual_seed(0)
    codec = Codec(tiny_config()).eval()
    out = token_dir("tiny")
    counts = tokenize_corpus(codec, out, corpus, source="test", progress=False)
    rows = [json.loads(line) for line in open(corpus)]
    assert counts == {"written": len(rows), "skipped": 0, "total": len(rows)}
    row = rows[0]
    tokens = np.load(out / f"{row['id']}.npy")
    audio, _ = sf.read(str(tmp_path / "corpus" / row["audio"]), dtype="float32")
    assert tokens.dtype == np.int16
    assert tokens.shape == (codec.cfg.n_codebooks, -(-audio.size // codec.cfg.hop))
    assert np.array_equal(tokens, codec.encode(audio, SR).numpy())
    assert tokenize_corpus(codec, out, corpus, progress=False)["skipped"] == len(rows)
    torch.manual_seed(1)
    other = Codec(tiny_config()).eval()
    with pytest.raises(StatecastError, match="tokens of another codec"):
        tokenize_corpus(other, out, corpus, progress=False)


def test_decoder_only_finetune_keeps_tokens_valid(corpus):
    """--init-from + --freeze-encoder: encoder/quantizer bit-identical, decoder trained,
    the old token cache stays accepted, and a resume keeps the encoder frozen."""
    from tts.train import checkpoint as ckpt
    from tts.train.codec import CodecTrainer, run_dir
    from tts.train.codec_tokens import encoder_identity, token_dir, tokenize_corpus

    CodecTrainer(_cfg(corpus, run="base", max_steps=2)).train()
    base_path = ckpt.latest_checkpoint(run_dir("base"))
    base = CodecTrainer(_cfg(corpus, run="base", max_steps=2)).model.eval()
    tokenize_corpus(base, token_dir("base"), corpus, progress=False)

    dec = CodecTrainer(_cfg(corpus, run="dec", max_steps=3, lr=3e-3, init_from=str(base_path),
                            freeze_encoder=True))
    for k, v in base.state_dict().items():
        assert torch.equal(dec.model.state_dict()[k], v), k  # starts from the base weights
    dec.train()
    trained = dec.model.eval()
    assert encoder_identity(trained) == encoder_identity(base)
    assert any(not torch.equal(trained.decoder.state_dict()[k], v) for k, v in base.decoder.state_dict().items())
    # same tokens -> the cache made by the base codec is accepted for the fine-tuned one
    assert tokenize_corpus(trained, token_dir("base"), corpus, progress=False)["written"] == 0

    resumed = CodecTrainer(_cfg(corpus, run="dec", max_steps=4))  # flag not passed again
    assert resumed.cfg.freeze_encoder and resumed.step == 3
    resumed.train()
    assert encoder_identity(resumed.model) == encoder_identity(base)


def test_init_from_with_a_finer_head_keeps_encoder_and_trunk(corpus):
    """--init-from + --model head_subframes=4: the run takes the checkpoint's
    config but a 4-sub-frame head; everything but the head's projection is
    copied, the encoder stays frozen and its token cache stays valid."""
    from tts.train import checkpoint as ckpt
    from tts.train.codec import CodecTrainer, run_dir
    from tts.train.codec_tokens import encoder_identity, token_dir, tokenize_corpus

    CodecTrainer(_cfg(corpus, run="base1", max_steps=2)).train()
    base_path = ckpt.latest_checkpoint(run_dir("base1"))
    base = CodecTrainer(_cfg(corpus, run="base1", max_steps=2)).model.eval()
    tokenize_corpus(base, token_dir("base1"), corpus, progress=False)

    fine = CodecTrainer(_cfg(corpus, run="fine", max_steps=2, init_from=str(base_path), freeze_encoder=True,
                             model={"head_subframes": 4}))
    assert fine.codec_cfg.head_subframes == 4 and fine.codec_cfg.enc_dim == base.cfg.enc_dim
    new = fine.model.state_dict()
    for k, v in base.state_dict().items():
        if k.startswith("decoder.head.proj."):
            bins = fine.codec_cfg.head_n_fft // 2 + 1  # per sub-frame: log magnitude and phase
            assert new[k].shape[0] == 4 * 2 * bins != v.shape[0]
        else:
            assert torch.equal(new[k], v), k
    fine.train()
    assert encoder_identity(fine.model) == encoder_identity(base)
    assert tokenize_corpus(fine.model.eval(), token_dir("base1"), corpus, progress=False)["written"] == 0
    # an override that would change the encoder is not taken from the command line
    other = CodecTrainer(_cfg(corpus, run="fine2", max_steps=1, init_from=str(base_path),
                              model={"enc_dim": 48}))
    assert other.codec_cfg.enc_dim == base.cfg.enc_dim
    # --model dec_blocks=N grows the trunk: the run trains, the old blocks start as they were
    deeper = CodecTrainer(_cfg(corpus, run="deeper", max_steps=2, init_from=str(base_path), freeze_encoder=True,
                               model={"dec_blocks": base.cfg.dec_blocks + 1}))
    assert deeper.codec_cfg.dec_blocks == base.cfg.dec_blocks + 1
    assert torch.equal(deeper.model.decoder.blocks[0].pw1.weight, base.decoder.blocks[0].pw1.weight)
    deeper.train()
    assert float(deeper.model.decoder.blocks[-1].gamma.detach().abs().max()) > 0  # training opened it
    assert encoder_identity(deeper.model) == encoder_identity(base)


def test_init_from_rejects_a_non_codec_checkpoint(corpus, tmp_path):
    from tts.train.codec import CodecTrainer

    bad = tmp_path / "bad.pt"
    torch.save({"kind": "statecast-acoustic-train"}, bad)
    with pytest.raises(StatecastError, match="not a codec training checkpoint"):
        CodecTrainer(_cfg(corpus, run="x", init_from=str(bad)))


def test_resuming_from_a_foreign_checkpoint_names_it(corpus, tmp_path):
    from tts.train.codec import CodecTrainer

    bad = tmp_path / "acoustic.pt"
    torch.save({"kind": "statecast-acoustic-train", "step": 3}, bad)
    with pytest.raises(StatecastError, match="is not a codec training checkpoint"):
        CodecTrainer(_cfg(corpus, run="x"), resume_from=bad)


def test_resume_keeps_the_discriminator_it_was_started_with(corpus):
    from tts.train.codec import CodecTrainer

    CodecTrainer(_cfg(corpus, run="g", max_steps=2, adv_weight=0.1, fm_weight=0.5, disc_channels=8,
                      disc="mpd", disc_seconds=0.3)).train()
    resumed = CodecTrainer(_cfg(corpus, run="g", max_steps=3))  # no GAN flags on the command line
    assert resumed.step == 2 and resumed.disc is not None
    assert (resumed.cfg.adv_weight, resumed.cfg.fm_weight, resumed.cfg.disc_channels) == (0.1, 0.5, 8)
    assert (resumed.cfg.disc, resumed.cfg.disc_seconds) == ("mpd", 0.3)
    assert "adv" in resumed.train()


def test_subframe_head_init_keeps_a_steady_partial():
    """A 1-sub-frame head whose bias alone makes a steady partial (bin 4j of
    its 2400-sample window), mapped to 4 sub-frames, makes the same partial:
    same amplitude, same phase, once the windows overlap fully."""
    import dataclasses

    from tts.codec import CodecConfig
    from tts.codec.istft import ISTFTHead
    from tts.train.codec import subframe_head_init

    old_cfg = CodecConfig()
    new_cfg = dataclasses.replace(old_cfg, head_subframes=4)
    C, T, j = 8, 12, 7
    old = ISTFTHead(C, old_cfg.head_n_fft, old_cfg.head_hop, old_cfg.max_log_mag)
    new = ISTFTHead(C, new_cfg.head_n_fft, new_cfg.head_hop, new_cfg.max_log_mag, subframes=4)
    F = old.n_bins
    with torch.no_grad():
        old.proj.weight.normal_()
        old.proj.bias.fill_(-30.0)  # silent bins
        old.proj.bias[4 * j] = 3.0  # log magnitude of the partial at 4j * 10 Hz
        old.proj.bias[F:] = 0.9  # its phase (and the silent bins')
        w, b = subframe_head_init(old.proj.weight, old.proj.bias, old_cfg, new_cfg)
        assert w.shape == new.proj.weight.shape and b.shape == new.proj.bias.shape
        new.proj.weight.copy_(w)
        new.proj.bias.copy_(b)
        x = torch.zeros(1, T, C)  # features zero: the bias speaks
        y_old, _ = old(x)
        y_new, _ = new(x)
    R = old_cfg.overlap_frames
    steady = slice(R * old_cfg.hop, T * old_cfg.hop)
    assert float(y_old[0, steady].abs().max()) > 1e-3
    torch.testing.assert_close(y_new[0, steady], y_old[0, steady], atol=1e-4, rtol=1e-3)
    with pytest.raises(StatecastError, match="sub-frame"):
        subframe_head_init(w, b, new_cfg, new_cfg)


def test_load_init_weights_refuses_what_does_not_fit():
    """Only the iSTFT head may change shape; a missing or extra tensor, or a
    resized trunk layer, is an error rather than a silently partial start."""
    import dataclasses

    from tts.codec import Codec, tiny_config
    from tts.train.codec import load_init_weights

    base = Codec(tiny_config())
    state = base.state_dict()
    finer = Codec(dataclasses.replace(tiny_config(), head_subframes=4))
    assert load_init_weights(finer, state, base.cfg) == []  # head mapped, nothing left fresh
    assert torch.equal(finer.decoder.blocks[0].gamma, base.decoder.blocks[0].gamma)
    with pytest.raises(StatecastError, match="has extra"):
        load_init_weights(Codec(tiny_config()), {**state, "decoder.stray": torch.zeros(1)}, base.cfg)
    with pytest.raises(StatecastError, match="lacks"):
        load_init_weights(Codec(tiny_config()), {k: v for k, v in state.items() if "blocks.0." not in k}, base.cfg)
    with pytest.raises(StatecastError, match="does not fit"):
        load_init_weights(Codec(tiny_config(dec_dim=48)), state, base.cfg)


def test_a_deeper_decoder_starts_as_the_old_one_and_then_trains():
    """dec_blocks may grow in a fine-tune: the new blocks go last with a zero
    layer scale, so the grown codec decodes exactly as the old one; their
    weights are trainable, and shrinking the decoder is refused."""
    import dataclasses

    from tts.codec import Codec, tiny_config
    from tts.train.codec import load_init_weights

    torch.manual_seed(0)
    base = Codec(tiny_config()).eval()
    deeper_cfg = dataclasses.replace(tiny_config(), dec_blocks=tiny_config().dec_blocks + 2)
    deeper = Codec(deeper_cfg).eval()
    new = load_init_weights(deeper, base.state_dict(), base.cfg)
    n_old = base.cfg.dec_blocks
    assert new and all(k.startswith((f"decoder.blocks.{n_old}.", f"decoder.blocks.{n_old + 1}.")) for k in new)
    assert float(deeper.decoder.blocks[n_old].gamma.detach().abs().max()) == 0.0
    # the grown blocks' other weights are the fresh module's, not zeros: they can learn
    assert float(deeper.decoder.blocks[n_old].pw1.weight.detach().abs().max()) > 0
    latent = torch.randn(2, 12, base.cfg.latent_dim)
    with torch.no_grad():
        torch.testing.assert_close(deeper.decoder(latent)[0], base.decoder(latent)[0], atol=0, rtol=0)
    with pytest.raises(StatecastError, match="not remove"):
        load_init_weights(base, deeper.state_dict(), deeper_cfg)


def _write_latents(corpus, directory, dim: int, hop: int, encode_frame: bool = True):
    """Latent files for every clip: dim 0 holds frame index / 1000 (so a crop's latents say where
    in the clip they come from), the rest a slow ramp; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for row in map(json.loads, open(corpus)):
        T = -(-int(round(row["duration"] * SR)) // hop)
        lat = np.tile(np.linspace(-0.5, 0.5, T, dtype=np.float32)[:, None], (1, dim))
        if encode_frame:
            lat[:, 0] = np.arange(T) / 1000
        np.save(directory / f"{row['id']}.npy", lat.astype(np.float16))
    return directory


def test_latent_crops_are_frame_aligned_unscaled_and_inside_the_clip(corpus, tmp_path):
    from tts.train.audio_data import LatentCropSampler, load_clips, read_crop

    hop, crop = 600, 12000  # 20 frames of a 1.2 s clip (48 frames)
    train, _ = load_clips(corpus, SR)
    lat_dir = _write_latents(corpus, tmp_path / "lat", 8, hop)
    sampler = LatentCropSampler(train, crop, batch=4, seed=0, start_step=0, latents_dir=lat_dir, hop=hop,
                                share=0.5)
    by_id = {c.id: c for c in train}
    seen_starts = set()
    for _, (x, lat, use) in zip(range(6), sampler):
        assert x.shape == (4, crop) and lat.shape == (4, crop // hop, 8)
        assert use.tolist() == [True, True, False, False]
        assert not lat[~use].any()
        for b in range(2):
            f0 = int(round(float(lat[b, 0, 0]) * 1000))
            assert np.allclose(lat[b, :, 0].numpy() * 1000, np.arange(f0, f0 + crop // hop), atol=0.6)
            assert (f0 + crop // hop) * hop <= by_id[train[0].id].frames  # wholly inside (all clips 1.2 s)
            # the audio is the clip's own samples at that frame, not rescaled
            match = [c for c in train if np.array_equal(read_crop(c.path, f0 * hop, crop), x[b].numpy())]
            assert match, "paired crop is not the clip's audio at the latents' frame"
            seen_starts.add(f0)
    assert len(seen_starts) > 3  # random starts, not always 0
    none = LatentCropSampler(train, crop, batch=4, seed=0, start_step=0, latents_dir=lat_dir, hop=hop, share=0.0)
    assert not next(iter(none))[2].any()
    with pytest.raises(StatecastError, match="has latents"):
        LatentCropSampler(train, crop, 4, 0, 0, tmp_path / "empty", hop, 0.5)


def test_decoder_finetune_on_given_latents(corpus, tmp_path):
    """--latents: given latents replace the encoder's for the items that use them (the decoder
    renders exactly those), the encoder stays frozen, held-out loss on them is logged, and the
    recipe refuses them without a frozen encoder."""
    from tts.train import checkpoint as ckpt
    from tts.train.audio_data import fixed_latent_eval_batch
    from tts.train.codec import CodecTrainer, run_dir
    from tts.train.codec_tokens import encoder_identity

    CodecTrainer(_cfg(corpus, run="base", max_steps=1)).train()
    base_path = ckpt.latest_checkpoint(run_dir("base"))
    base = CodecTrainer(_cfg(corpus, run="base", max_steps=1)).model.eval()
    dim = base.cfg.n_codebooks * len(base.cfg.levels)
    lat_dir = _write_latents(corpus, tmp_path / "lat", dim, base.cfg.hop, encode_frame=False)

    with pytest.raises(StatecastError, match="needs --freeze-encoder"):
        CodecTrainer(_cfg(corpus, run="g0", init_from=str(base_path), latents=str(lat_dir)))
    t = CodecTrainer(_cfg(corpus, run="g", max_steps=3, init_from=str(base_path), freeze_encoder=True,
                          latents=str(lat_dir), latent_share=0.5))
    assert t.latent_eval_batch is not None
    x, lat = fixed_latent_eval_batch(t.train_clips, lat_dir, t.crop, base.cfg.hop, 3)
    t.model.eval()
    use = torch.tensor([True] + [False] * (x.shape[0] - 1))
    with torch.no_grad():
        _, y_hat, _, _ = t._recon(x, (lat, use))
        own, _ = t.model.decoder(lat[:1])
        enc, _ = t.model.decoder(t.model.quantizer(t.model.encoder(x[1:]))[0])
    lo = t.margin
    assert torch.allclose(y_hat[:1], own[:, lo:lo + y_hat.shape[1]], atol=1e-5)
    assert torch.allclose(y_hat[1:], enc[:, lo:lo + y_hat.shape[1]], atol=1e-5)
    t.train()
    assert encoder_identity(t.model) == encoder_identity(base)
    log = [json.loads(line) for line in (run_dir("g") / "log.jsonl").read_text().splitlines()]
    assert any(np.isfinite(r.get("val_latents_mel", np.nan)) for r in log)
    resumed = CodecTrainer(_cfg(corpus, run="g", max_steps=4))  # no --latents on the command line
    assert resumed.step == 3 and resumed.cfg.freeze_encoder
    assert (resumed.cfg.latents, resumed.cfg.latent_share) == (str(lat_dir), 0.5)


def test_init_from_an_exported_codec_directory(corpus, tmp_path):
    """A fine-tune can start from shipped weights (voices/codec) when no training run is cached."""
    from tts.codec.weights import save_codec
    from tts.train.codec import CodecTrainer

    base = CodecTrainer(_cfg(corpus, run="base", max_steps=1)).model.eval()
    save_codec(base, tmp_path / "exported", {"step": 7, "run": "base"}, dtype=torch.float16)
    t = CodecTrainer(_cfg(corpus, run="from-dir", init_from=str(tmp_path / "exported"), freeze_encoder=True))
    for k, v in base.state_dict().items():
        w = t.model.state_dict()[k]
        assert w.dtype == torch.float32 and torch.equal(w, v.half().float()), k
