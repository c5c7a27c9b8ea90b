"""Arguments every `statecast train TARGET` shares (no torch import: --help stays instant).

Each target adds its own arguments to the groups these return, so the
common ones are spelled, defaulted and explained once.
"""

from __future__ import annotations

import argparse
import json

from ..errors import StatecastError


def model_override(text: str) -> tuple[str, object]:
    """'key=value' -> (key, JSON value, or the raw string when it is not JSON)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got '{text}'")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def add_run_group(p: argparse.ArgumentParser, target: str):
    """The "run" group: which run, where to resume, device, step budget, logging cadence."""
    g = p.add_argument_group("run")
    g.add_argument("--run", default="default", help=f"run name: checkpoints in <cache>/train/{target}/RUN")
    g.add_argument("--restart", action="store_true", help="ignore existing checkpoints of this run")
    g.add_argument("--checkpoint", help="resume from / export this checkpoint file instead of the run's newest")
    g.add_argument("--manifest", help="corpus manifest (default <cache>/corpus/manifest.jsonl)")
    g.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda[:N]; bf16 autocast on GPU")
    g.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    g.add_argument("--max-steps", type=int, default=20000)
    g.add_argument("--time-limit", type=float, help="stop (and checkpoint) after this many minutes")
    g.add_argument("--no-progress", action="store_true", help="no progress bar (logs still written)")
    g.add_argument("--log-every", type=int, default=10)
    g.add_argument("--eval-every", type=int, default=250)
    g.add_argument("--ckpt-every", type=int, default=250)
    g.add_argument("--seed", type=int, default=0)
    return g


def add_model_argument(g, config_name: str, example: str) -> None:
    """Repeatable --model KEY=VALUE: config overrides for a new run."""
    g.add_argument("--model", action="append", type=model_override, default=[], metavar="KEY=VALUE",
                   help=f"{config_name} override for a new run, e.g. {example}")


def add_after_training_group(p: argparse.ArgumentParser):
    """The "after training" group, starting with --export."""
    g = p.add_argument_group("after training")
    g.add_argument("--export", metavar="DIR", help="write model.safetensors + config.json to DIR and exit")
    return g


def chosen_checkpoint(args, run_dir):
    """--checkpoint if given, else the newest checkpoint of --run; a clear error when there is none.

    run_dir: the target's `run_dir(run) -> Path`.
    """
    return checkpoint_of(run_dir, args.run, args.checkpoint)


def checkpoint_of(run_dir, run: str, given: str | None = None):
    """``given`` if set, else the newest checkpoint of ``run``; a clear error when there is none."""
    from pathlib import Path

    from .checkpoint import latest_checkpoint

    path = Path(given) if given else latest_checkpoint(run_dir(run))
    if path is None:
        raise StatecastError(f"run '{run}' has no checkpoint yet ({run_dir(run)})")
    return path
