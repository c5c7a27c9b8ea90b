"""`statecast train acoustic`: train, resume or export the selective-SSM acoustic model.

    statecast train acoustic [--run NAME] [--max-steps N] [--device auto|cpu|cuda] ...
    statecast train acoustic --export voices/acoustic [--run NAME | --checkpoint PATH]
    statecast train acoustic --synthetic DIR --max-steps 50     # no corpus needed: smoke test
    statecast train acoustic --latents NAME [--weights voices/acoustic | --run NAME | --checkpoint PATH]

Data: the corpus manifest plus codec tokens cached per clip as
<cache>/tokens/<codec-id>/<clip id>.npy ((K, T) int16). Training resumes
from the newest checkpoint of --run unless --restart. This module only
parses arguments (no torch import); the loop is tts/model/training.py.
"""

from __future__ import annotations

import argparse
import json

from ..errors import StatecastError
from .cli_args import add_after_training_group, add_model_argument, add_run_group, chosen_checkpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = add_run_group(p, "acoustic")
    g.add_argument("--tokens", help="token cache directory (default <cache>/tokens/CODEC_ID)")
    g.add_argument("--codec-id", default="default", help="which codec's token cache to train on")
    g.add_argument("--synthetic", metavar="DIR",
                   help="write a synthetic corpus (random phonemes, learnable tokens) to DIR and train on it")
    g.add_argument("--synthetic-clips", type=int, default=256)
    g.add_argument("--stop-at", type=int, help="stop (and checkpoint) at this step; the lr schedule still "
                   "runs to --max-steps, so a later run resumes it unchanged")
    g = p.add_argument_group("optimisation")
    g.add_argument("--max-frames", type=int, default=4096, help="batch budget: clips x longest clip, in frames")
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--warmup", type=int, default=300)
    g.add_argument("--dur-weight", type=float, default=0.5, help="weight of the duration loss")
    g.add_argument("--jitter", type=float, default=0.0,
                   help="share of previous-frame input digits moved one level (exposure-bias noise), 0..0.5")
    g.add_argument("--self-feed", type=float, default=0.0,
                   help="share of previous-frame inputs taken from the model's own greedy output of a first, "
                        "gradient-free pass (scheduled sampling), 0..0.9")
    g.add_argument("--self-feed-voices", metavar="V1,V2",
                   help="only these voices' clips self-feed (default: all); e.g. bf_emma,bm_george")
    g.add_argument("--lead-trim", type=float, default=0.0,
                   help="share of clips whose leading silence is cut by a random number of frames, 0..1")
    g.add_argument("--onset-weight", type=float, default=1.0,
                   help="weight of the token loss on the frames around each clip's first sound, 1..10 (1: off)")
    g.add_argument("--short-repeat", type=int, default=1,
                   help="times each clip of at most 2 s (one- to four-word replies) appears per epoch, 1..20")
    g.add_argument("--init-from", metavar="CKPT",
                   help="start a fresh run from this acoustic checkpoint's weights, or an exported model "
                        "directory such as voices/acoustic (new optimiser and schedule)")
    g.add_argument("--scan-impl", default="auto", help="selective scan: auto, chunked, ref, triton")
    add_model_argument(g, "AcousticConfig", "--model d_model=192 --model n_layers=8")
    g = add_after_training_group(p)
    g.add_argument("--latents", metavar="NAME",
                   help="write the model's teacher-forced expected latents of every clip with tokens to "
                        "<cache>/latents/NAME (what a codec decoder fine-tune reads with --latents) and exit")
    g.add_argument("--weights", metavar="DIR", help="--latents with an exported model (e.g. voices/acoustic)")


def run(args) -> int:
    from pathlib import Path

    from ..model.training import AcousticTrainConfig, AcousticTrainer, export_checkpoint, run_dir

    if args.export:
        path = chosen_checkpoint(args, run_dir)
        out = export_checkpoint(path, Path(args.export))
        print(f"exported {path.name} -> {out}/model.safetensors + config.json")
        return 0

    if args.latents:
        return write_latents(args)

    manifest, tokens = args.manifest, args.tokens
    model = dict(args.model)
    if args.synthetic:
        from ..model.config import AcousticConfig
        from ..model.data import write_synthetic_corpus

        if args.synthetic_clips < 1:
            raise StatecastError("--synthetic-clips must be at least 1")
        manifest, tokens = write_synthetic_corpus(args.synthetic, args.synthetic_clips,
                                                  AcousticConfig.from_dict(model), seed=args.seed)
        manifest, tokens = str(manifest), str(tokens)
    if not 0.0 <= args.jitter <= 0.5:
        raise StatecastError(f"--jitter must be in [0, 0.5], got {args.jitter}")
    if not 0.0 <= args.lead_trim <= 1.0:
        raise StatecastError(f"--lead-trim must be in [0, 1], got {args.lead_trim}")
    if not 1.0 <= args.onset_weight <= 10.0:
        raise StatecastError(f"--onset-weight must be in [1, 10], got {args.onset_weight}")
    if not 1 <= args.short_repeat <= 20:
        raise StatecastError(f"--short-repeat must be in [1, 20], got {args.short_repeat}")
    if not 0.0 <= args.self_feed <= 0.9:
        raise StatecastError(f"--self-feed must be in [0, 0.9], got {args.self_feed}")
    cfg = AcousticTrainConfig(
        run=args.run, manifest=manifest, tokens_dir=tokens, codec_id=args.codec_id, device=args.device,
        threads=args.threads, max_frames=args.max_frames, lr=args.lr, warmup=args.warmup,
        max_steps=args.max_steps, dur_weight=args.dur_weight, log_every=args.log_every,
        eval_every=args.eval_every, ckpt_every=args.ckpt_every, seed=args.seed,
        time_limit_min=args.time_limit, stop_at=args.stop_at, progress=not args.no_progress, scan_impl=args.scan_impl, model=model,
        jitter=args.jitter, self_feed=args.self_feed, init_from=args.init_from,
        self_feed_voices=_voice_list(args.self_feed_voices), lead_trim=args.lead_trim,
        onset_weight=args.onset_weight, short_repeat=args.short_repeat,
    )
    trainer = AcousticTrainer(cfg, resume_from=Path(args.checkpoint) if args.checkpoint else None,
                              restart=args.restart)
    summary = trainer.train()
    print(json.dumps(summary, indent=2))
    return 0


def _voice_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise StatecastError("--self-feed-voices needs at least one voice name")
    return names


def write_latents(args) -> int:
    from pathlib import Path

    import torch

    from ..model.training import model_from_checkpoint, run_dir
    from ..model.weights import load_acoustic
    from .student_latents import latents_dir, write_student_latents

    torch.set_num_threads(max(1, args.threads))
    if args.weights:
        model, source = load_acoustic(args.weights), str(args.weights)
    else:
        path = chosen_checkpoint(args, run_dir)
        model, source = model_from_checkpoint(path), str(path)
    out = latents_dir(args.latents)
    counts = write_student_latents(model, out, args.manifest, args.tokens, source, progress=not args.no_progress)
    print(f"latents -> {out}: {counts['written']} written, {counts['skipped']} already there")
    return 0
