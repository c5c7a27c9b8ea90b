"""Shipped codec weights: `<dir>/model.safetensors` + `<dir>/config.json`.

Loading needs only torch and safetensors (core dependencies), never the
training code. The JSON holds the CodecConfig that rebuilds the modules, the
derived numbers a consumer needs (frame rate, vocabulary, bitrate) and
free-form provenance (training steps, data, held-out rule).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import StatecastError
from .codec import Codec
from .config import CodecConfig

FORMAT = "statecast-codec"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_codec(codec: Codec, directory: Path | str, meta: dict | None = None) -> Path:
    """Write weights + config into `directory` (created if needed)."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in codec.state_dict().items()}
    save_file(state, str(d / WEIGHTS), metadata={"format": FORMAT})
    (d / WEIGHTS).chmod(0o644)  # safetensors writes 0600; shipped files are world-readable
    doc = {"format": FORMAT, "version": VERSION, "config": codec.cfg.to_dict(),
           "tokens": codec.cfg.describe(), "meta": meta or {}}
    (d / CONFIG).write_text(json.dumps(doc, indent=2) + "\n")
    return d


def read_config(directory: Path | str) -> tuple[CodecConfig, dict]:
    path = Path(directory) / CONFIG
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise StatecastError(f"no codec config at {path}") from None
    except json.JSONDecodeError as exc:
        raise StatecastError(f"codec config {path} is not valid JSON: {exc}") from None
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise StatecastError(f"{path} is not a {FORMAT} v{VERSION} config")
    return CodecConfig.from_dict(doc["config"]), doc.get("meta", {})


def load_codec(directory: Path | str, device: str | torch.device = "cpu") -> Codec:
    """Rebuild a Codec from `directory`, in eval mode on `device`."""
    from safetensors.torch import load_file

    cfg, _ = read_config(directory)
    path = Path(directory) / WEIGHTS
    if not path.exists():
        raise StatecastError(f"no codec weights at {path}")
    codec = Codec(cfg)
    try:
        missing, unexpected = codec.load_state_dict(load_file(str(path)), strict=False)
    except RuntimeError as exc:  # shape mismatch: first line says which tensor
        raise StatecastError(f"codec weights {path} do not match its config: "
                             f"{str(exc).strip().splitlines()[-1].strip()}") from None
    if missing or unexpected:
        raise StatecastError(
            f"codec weights {path} do not match its config "
            f"(missing {len(missing)}: {missing[:3]}, unexpected {len(unexpected)}: {unexpected[:3]})")
    return codec.to(device).eval()
