"""``statecast corpus build|stats``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="synthesise teacher audio until the targets are met (resumable)")
    b.add_argument("--dir", type=Path, default=None, help="corpus directory (default: <cache>/corpus)")
    b.add_argument("--kokoro-hours", type=float, default=3.0, help="total Kokoro hours, split over its voices")
    b.add_argument("--piper-hours", type=float, default=8.0, help="total Piper hours")
    b.add_argument("--kokoro-voices", default="af_heart,am_michael,bf_emma,bm_george")
    b.add_argument("--piper-voices", default="joe")
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (one per core)")
    b.add_argument("--max-clips", type=int, default=None, help="stop after this many new clips")
    b.add_argument("--prompts", choices=("main", "short"), default="main",
                   help="main: fortunes + voice-agent sentences; short: one- to four-word replies "
                        "(the hours then count only those clips; each voice reads the list at most once)")
    b.add_argument("--no-progress", action="store_true")
    s = sub.add_parser("stats", help="hours and clips per speaker")
    s.add_argument("--dir", type=Path, default=None)
    s.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..errors import StatecastError, require
    from .manifest import corpus_dir

    root = args.dir or corpus_dir()
    if args.action == "stats":
        from .corpus import corpus_stats

        stats = corpus_stats(root)
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            print(f"{'speaker':<12} {'teacher':<8} {'clips':>7} {'hours':>7}")
            for speaker, s in sorted(stats.items()):
                print(f"{speaker:<12} {s['teacher']:<8} {s['clips']:>7} {s['hours']:>7.2f}")
            print(f"{'total':<21} {sum(s['clips'] for s in stats.values()):>7} "
                  f"{sum(s['hours'] for s in stats.values()):>7.2f}")
        return 0

    # Fail fast, in the parent, on a missing extra or unknown voice.
    require("onnxruntime", "teachers")
    require("scipy.signal", "teachers")
    from ..teachers.kokoro import KOKORO_VOICES
    from ..teachers.piper import PIPER_VOICES
    from .corpus import BuildConfig, CorpusBuilder, default_targets
    from .prompts import prompt_list, short_replies

    kokoro = [v for v in args.kokoro_voices.split(",") if v]
    piper = [v for v in args.piper_voices.split(",") if v]
    for v in kokoro:
        if v not in KOKORO_VOICES:
            raise StatecastError(f"unknown Kokoro voice {v!r}; English voices: {', '.join(KOKORO_VOICES)}")
    for v in piper:
        if v not in PIPER_VOICES:
            raise StatecastError(f"unknown Piper voice {v!r}; known: {', '.join(PIPER_VOICES)}")
    if args.workers < 1:
        raise StatecastError("--workers must be at least 1")
    targets = {}
    if kokoro and args.kokoro_hours > 0:
        targets.update(default_targets(args.kokoro_hours, 0, kokoro, ["_"]))
    if piper and args.piper_hours > 0:
        targets.update(default_targets(0, args.piper_hours, ["_"], piper))
    targets = {k: v for k, v in targets.items() if k != "_" and v > 0}
    if not targets:
        raise StatecastError("nothing to build: every target is zero")
    prompts = short_replies() if args.prompts == "short" else prompt_list()
    builder = CorpusBuilder(BuildConfig(root=root, targets=targets, workers=args.workers,
                                        max_clips=args.max_clips, only_listed=args.prompts == "short"), prompts)
    done = builder.run(progress=not args.no_progress)
    for speaker, seconds in done.items():
        print(f"{speaker}: {seconds / 3600:.2f} h of {targets[speaker] / 3600:.2f} h")
    return 0
