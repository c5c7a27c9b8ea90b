"""Pieces every training loop here shares: lr schedule, JSONL log, progress bar,
the between-log-lines window, periodic eval / checkpoint, save on Ctrl-C, and
opening a run (device, directory, the checkpoint to resume).

Each recipe keeps its own loop (what a batch is, what a step returns, what
throughput means differ); these helpers are the parts that must behave the
same in all of them. A trainer passed in has `step`, `cfg` (with eval_every
and ckpt_every), `evaluate() -> dict`, `save() -> Path` and `log(record)`.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass
class RunSetup:
    """Where a training run lives and what it resumes from (``payload`` None: a fresh start)."""

    device: "torch.device"
    dir: Path
    resume: Path | None
    payload: dict | None

    @property
    def log_path(self) -> Path:
        return self.dir / "log.jsonl"


def open_run(device: str, threads: int, directory: Path, kind: str, noun: str,
             resume_from: Path | None = None, restart: bool = False) -> RunSetup:
    """Device + threads, the run directory, and the checkpoint to resume (checked to be a ``kind`` one).

    The newest checkpoint of the run unless ``restart``; ``resume_from`` wins
    over both. A checkpoint of another kind is refused by name rather than
    failing later on a missing key.
    """
    from ..paths import writable_dir
    from . import checkpoint as ckpt
    from .runtime import configure, resolve_device

    dev = resolve_device(device)
    configure(dev, threads)
    d = writable_dir(directory, "checkpoint directory")
    resume = resume_from or (None if restart else ckpt.latest_checkpoint(d))
    payload = ckpt.load_checkpoint_of_kind(resume, kind, noun) if resume else None
    return RunSetup(dev, d, resume, payload)


def lr_factor(step: int, warmup: int, max_steps: int, min_ratio: float) -> float:
    """Linear warmup, then cosine from 1 down to min_ratio at max_steps."""
    if step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, max_steps - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def progress_bar(enabled: bool, total: int, initial: int, desc: str):
    """A tqdm bar, or None when progress is off (logs are written either way)."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True)


def time_limit_reached(limit_min: float | None, t_start: float, step: int) -> bool:
    """True (and says so) once `limit_min` minutes have passed since t_start (time.monotonic)."""
    if limit_min and time.monotonic() - t_start > limit_min * 60:
        print(f"time limit of {limit_min} min reached at step {step}")
        return True
    return False


class Window:
    """Sums over the steps since the last log line: their results, compute time and work done."""

    def __init__(self):
        self.n, self.time, self.amount, self.sums = 0, 0.0, 0, {}

    def add(self, parts: dict, dt: float, amount: float) -> None:
        """parts: one step's float results; dt: its seconds; amount: its work (frames, audio seconds)."""
        self.n += 1
        self.time += dt
        self.amount += amount
        for k, v in parts.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def record(self, step: int, lr: float, rate_key: str, rate_digits: int) -> dict:
        """The log line: step, mean of each result, lr, sec_per_step, rate_key = amount / time."""
        return {"step": step, **{k: round(v / self.n, 5) for k, v in self.sums.items()},
                "lr": lr, "sec_per_step": round(self.time / self.n, 4),
                rate_key: round(self.amount / self.time, rate_digits)}


def eval_and_checkpoint(trainer, last: dict) -> None:
    """After a step: held-out losses every eval_every steps (logged, merged into `last`),
    a checkpoint every ckpt_every steps."""
    if trainer.step % trainer.cfg.eval_every == 0:
        val = trainer.evaluate()
        if val:
            trainer.log({"step": trainer.step, **val})
            last.update(val)
    if trainer.step % trainer.cfg.ckpt_every == 0:
        trainer.save()


def finish(trainer, last: dict, **throughput) -> dict:
    """End of a run: a last held-out evaluation and checkpoint, then the
    summary (the last log record, the final step, the checkpoint path and the
    recipe's throughput figures), logged and returned."""
    last.update(trainer.evaluate())
    path = trainer.save()
    summary = {**last, "step": trainer.step, "checkpoint": str(path), **throughput}
    trainer.log({"summary": summary})
    return summary


@contextlib.contextmanager
def checkpoint_on_interrupt(trainer, bar):
    """Ctrl-C inside saves a checkpoint before it propagates; the bar is closed either way."""
    try:
        yield
    except KeyboardInterrupt:
        trainer.save()
        raise
    finally:
        if bar is not None:
            bar.close()
