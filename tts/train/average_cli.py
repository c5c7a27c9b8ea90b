"""`statecast train average A.pt B.pt [...] --out AVG.pt`: one checkpoint from several.

A uniform average of model weights (checkpoint.average_checkpoints): of the
last checkpoints of a run, or of runs fine-tuned from one start. The result
packs (`statecast train voices --acoustic-checkpoint AVG.pt`), exports, or
starts a new run (`--init-from AVG.pt`); it carries no optimiser state, so it
does not resume one.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoints", nargs="+", help="checkpoint files of one model (two or more)")
    p.add_argument("--out", required=True, help="file to write the averaged checkpoint to")


def run(args) -> int:
    from .checkpoint import average_checkpoints, save_payload

    payload = average_checkpoints(args.checkpoints)
    out = save_payload(args.out, payload)
    print(f"averaged {len(args.checkpoints)} {payload.get('kind')} checkpoints -> {out}")
    return 0
