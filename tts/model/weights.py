"""Shipped acoustic weights: `<dir>/model.safetensors` + `<dir>/config.json`.

The JSON holds the AcousticConfig that rebuilds the model (token layout,
voices and sizes included) and free-form provenance (steps, data, codec id).
Loading needs torch and safetensors only, never the training code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import StatecastError
from .acoustic import AcousticModel
from .config import AcousticConfig

FORMAT = "statecast-acoustic"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_acoustic(model: AcousticModel, directory: Path | str, meta: dict | None = None) -> Path:
    """Write weights + config into `directory` (created if needed)."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(d / WEIGHTS), metadata={"format": FORMAT})
    (d / WEIGHTS).chmod(0o644)  # safetensors writes 0600; shipped files are world-readable
    doc = {"format": FORMAT, "version": VERSION, "config": model.cfg.to_dict(),
           "parameters": model.parameter_counts(), "meta": meta or {}}
    (d / CONFIG).write_text(json.dumps(doc, indent=2) + "\n")
    return d


def read_config(directory: Path | str) -> tuple[AcousticConfig, dict]:
    path = Path(directory) / CONFIG
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise StatecastError(f"no acoustic model config at {path}") from None
    except json.JSONDecodeError as exc:
        raise StatecastError(f"acoustic model config {path} is not valid JSON: {exc}") from None
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise StatecastError(f"{path} is not a {FORMAT} v{VERSION} config")
    return AcousticConfig.from_dict(doc["config"]), doc.get("meta", {})


def load_acoustic(directory: Path | str, device: str | torch.device = "cpu") -> AcousticModel:
    """Rebuild an AcousticModel from `directory`, in eval mode on `device`."""
    from safetensors.torch import load_file

    cfg, _ = read_config(directory)
    path = Path(directory) / WEIGHTS
    if not path.exists():
        raise StatecastError(f"no acoustic weights at {path}")
    model = AcousticModel(cfg)
    try:
        missing, unexpected = model.load_state_dict(load_file(str(path)), strict=False)
    except RuntimeError as exc:  # shape mismatch: the last line names the tensor
        raise StatecastError(f"acoustic weights {path} do not match its config: "
                             f"{str(exc).strip().splitlines()[-1].strip()}") from None
    if missing or unexpected:
        raise StatecastError(f"acoustic weights {path} do not match its config "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(device).eval()
