"""Arguments of `statecast train codec` (kept free of torch so --help is instant).

    statecast train codec [--run NAME] [--max-steps N] [--device auto|cpu|cuda] ...
    statecast train codec --export voices/codec [--run NAME | --checkpoint PATH]
    statecast train codec --resynth OUT_DIR [--count 20] [--weights DIR | --run NAME | --checkpoint PATH]
    statecast train codec --tokenize [--codec-id ID] [--weights DIR | --run NAME | --checkpoint PATH]

Training resumes from the newest checkpoint of --run unless --restart.
"""

from __future__ import annotations

import argparse
import json

from .cli_args import add_after_training_group, add_model_argument, add_run_group, chosen_checkpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = add_run_group(p, "codec")
    g.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    g = p.add_argument_group("optimisation")
    g.add_argument("--batch", type=int, default=8)
    g.add_argument("--segment", type=float, default=1.0, help="scored seconds per crop")
    g.add_argument("--lr", type=float, default=5e-4)
    g.add_argument("--warmup", type=int, default=200)
    g.add_argument("--mel-weight", type=float, default=1.0)
    g.add_argument("--stft-weight", type=float, default=1.0)
    g.add_argument("--adv-weight", type=float, default=0.0,
                   help="> 0 turns on the spectrogram discriminator (GPU runs; try 0.05)")
    g.add_argument("--fm-weight", type=float, default=0.1, help="feature matching, with --adv-weight")
    g.add_argument("--disc-channels", type=int, default=32, help="discriminator width (cost ~ its square)")
    g.add_argument("--disc", choices=("mrd", "mpd", "mpd+mrd"), default="mrd",
                   help="mrd: spectrogram magnitudes at 3 resolutions; mpd: waveform folded by periods 2-11 "
                        "(sees phase); mpd+mrd: both")
    g.add_argument("--disc-seconds", type=float, help="random window of each crop the discriminator sees (default: all)")
    g.add_argument("--init-from", metavar="CKPT",
                   help="start a fresh run from this codec checkpoint's weights (or an exported codec directory, "
                        "e.g. voices/codec)")
    g.add_argument("--freeze-encoder", action="store_true",
                   help="train the decoder only: tokens of the encoder stay valid (decoder fine-tuning)")
    g.add_argument("--latents", metavar="DIR",
                   help="with --freeze-encoder: a share of each batch decodes the acoustic model's own latents "
                        "of the clip (statecast train acoustic --latents NAME writes <cache>/latents/NAME)")
    g.add_argument("--latent-share", type=float, default=0.5, help="share of each batch from --latents (0..1)")
    g.add_argument("--adv-start", type=int, default=0, help="step at which adversarial losses start")
    add_model_argument(g, "CodecConfig", "--model dec_dim=192 --model levels=[8,5,5,5]")
    g = add_after_training_group(p)
    g.add_argument("--resynth", metavar="DIR", help="encode+decode held-out clips into DIR and exit")
    g.add_argument("--count", type=int, default=20, help="clips for --resynth")
    g.add_argument("--tokenize", action="store_true",
                   help="encode the whole corpus into <cache>/tokens/CODEC_ID/<clip id>.npy and exit")
    g.add_argument("--codec-id", help="token cache name for --tokenize (default: the run name)")
    g.add_argument("--weights", metavar="DIR", help="--resynth / --tokenize with an exported codec (e.g. voices/codec) instead of a checkpoint")


def run(args) -> int:
    from pathlib import Path

    from .codec import (CodecTrainConfig, CodecTrainer, codec_from_checkpoint, export_checkpoint, resynthesize,
                        run_dir)

    import torch

    # Export / resynthesis / tokenising run on the CPU too: same thread rule as training
    # (two threads on a busy two-core box were 30x slower than one, measured).
    torch.set_num_threads(max(1, args.threads))

    def codec_and_source():
        if args.weights:
            from ..codec import load_codec

            return load_codec(args.weights), str(args.weights)
        path = chosen_checkpoint(args, run_dir)
        return codec_from_checkpoint(path), str(path)

    if args.export:
        path = chosen_checkpoint(args, run_dir)
        out = export_checkpoint(path, Path(args.export))
        print(f"exported {path.name} -> {out}/model.safetensors + config.json")
    if args.resynth:
        from .audio_data import load_clips

        codec, _ = codec_and_source()
        _, held = load_clips(args.manifest, codec.cfg.sample_rate)
        index = resynthesize(codec, held, Path(args.resynth), args.count)
        print(f"resynthesised {min(args.count, len(held))} held-out clips -> {index}")
    if args.tokenize:
        from .codec_tokens import token_dir, tokenize_corpus

        codec, source = codec_and_source()
        out = token_dir(args.codec_id or args.run)
        counts = tokenize_corpus(codec, out, args.manifest, source, progress=not args.no_progress)
        print(f"tokens -> {out}: {counts['written']} written, {counts['skipped']} already there")
    if args.export or args.resynth or args.tokenize:
        return 0

    if not 0.0 <= args.latent_share <= 1.0:
        from ..errors import StatecastError

        raise StatecastError(f"--latent-share must be in [0, 1], got {args.latent_share}")
    cfg = CodecTrainConfig(
        run=args.run, manifest=args.manifest, device=args.device, threads=args.threads,
        batch=args.batch, segment=args.segment, lr=args.lr, warmup=args.warmup,
        max_steps=args.max_steps, mel_weight=args.mel_weight, stft_weight=args.stft_weight,
        adv_weight=args.adv_weight, fm_weight=args.fm_weight, adv_start=args.adv_start,
        disc_channels=args.disc_channels, disc=args.disc, disc_seconds=args.disc_seconds,
        log_every=args.log_every, eval_every=args.eval_every, ckpt_every=args.ckpt_every,
        workers=args.workers, seed=args.seed, time_limit_min=args.time_limit,
        progress=not args.no_progress, model=dict(args.model),
        init_from=args.init_from, freeze_encoder=args.freeze_encoder,
        latents=args.latents, latent_share=args.latent_share,
    )
    trainer = CodecTrainer(cfg, resume_from=Path(args.checkpoint) if args.checkpoint else None,
                           restart=args.restart)
    summary = trainer.train()
    print(json.dumps(summary, indent=2))
    return 0
