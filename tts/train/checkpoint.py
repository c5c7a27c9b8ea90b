"""Checkpoints of a training run: `<run dir>/step-0001234.pt`, newest wins.

A checkpoint is one torch-saved dict holding everything needed to resume
(model, optimiser and scheduler states, step, RNG states) and to rebuild the
model (its config dict). Writes are atomic (temp file + rename), so a run
killed mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import StatecastError

_NAME = re.compile(r"^step-(\d{7,})\.pt$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / f"step-{step:07d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1] if ckpts else None


def save_checkpoint(run_dir: Path, step: int, payload: dict, keep: int = 3) -> Path:
    """Write payload as step `step`; keep only the newest `keep` checkpoints."""
    path = save_payload(checkpoint_path(run_dir, step), payload)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint_of_kind(path: Path | str, kind: str, noun: str) -> dict:
    """``load_checkpoint`` that refuses, by name, a checkpoint of another kind (noun: "a codec")."""
    payload = load_checkpoint(path)
    if payload.get("kind") != kind:
        raise StatecastError(f"{path} is not {noun} training checkpoint")
    return payload


def load_checkpoint(path: Path | str, map_location="cpu") -> dict:
    path = Path(path)
    if not path.exists():
        raise StatecastError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # a torn or foreign file: say which, not a pickle traceback
        raise StatecastError(f"cannot read checkpoint {path}: {exc}") from None


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def average_checkpoints(paths: list[Path | str]) -> dict:
    """Uniform average of the model weights of checkpoints of one model -> a payload.

    All must be of one kind with the same model config and weight names and
    shapes (e.g. the last checkpoints of a run, or two runs fine-tuned from
    one start). Floating-point weights are averaged in float32 and stored in
    their own dtype; others (counters) come from the last checkpoint, as does
    everything else in the payload but the optimiser state, which belongs to
    no average (so the result initialises, exports or packs, but does not
    resume a run).
    """
    if len(paths) < 2:
        raise StatecastError("averaging needs at least two checkpoints")
    payloads = [load_checkpoint(p) for p in paths]
    first = payloads[0]
    for path, p in zip(paths[1:], payloads[1:]):
        if p.get("kind") != first.get("kind"):
            raise StatecastError(f"{path} is a {p.get('kind')} checkpoint, {paths[0]} a {first.get('kind')} one")
        for key in ("model_config", "codec_config"):
            if p.get(key) != first.get(key):
                raise StatecastError(f"{path} has another {key.replace('_', ' ')} than {paths[0]}")
        if {k: tuple(v.shape) for k, v in p["model"].items()} != {k: tuple(v.shape) for k, v in first["model"].items()}:
            raise StatecastError(f"{path} has other weights than {paths[0]}")
    model = {}
    for name, last in payloads[-1]["model"].items():
        if last.is_floating_point():
            model[name] = (sum(p["model"][name].float() for p in payloads) / len(payloads)).to(last.dtype)
        else:
            model[name] = last
    out = {k: v for k, v in payloads[-1].items() if k not in ("opt", "opt_d", "disc")}
    # Each source's own training config: sibling fine-tunes averaged into one model
    # may have had different recipes, and the last one's alone would misreport them.
    out.update(model=model, averaged_from=[str(p) for p in paths],
               averaged_train_configs=[dict(p.get("train_config", {})) for p in payloads])
    return out


def save_payload(path: Path | str, payload: dict) -> Path:
    """Write one payload to `path` atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def init_payload(path: Path | str, kind: str, noun: str, config_key: str, weights_module) -> dict:
    """What --init-from names -> {config_key: config dict, "model": state dict, "step": ...}.

    A training checkpoint of ``kind``, or an exported weights directory (safetensors +
    config.json, e.g. voices/codec) whose config ``weights_module.read_config`` checks:
    float16 weights are widened to float32. So a fine-tune can start from
    the shipped weights on a machine that lacks the training run's cache.
    """
    path = Path(path)
    if not path.is_dir():
        return load_checkpoint_of_kind(path, kind, noun)
    from safetensors.torch import load_file

    from ..weights_io import WEIGHTS

    cfg, meta = weights_module.read_config(path)
    if not (path / WEIGHTS).is_file():
        raise StatecastError(f"no weights at {path / WEIGHTS}")
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path / WEIGHTS)).items()}
    return {config_key: cfg.to_dict(), "model": state, "step": f"{meta.get('step')} of exported run {meta.get('run')}"}
