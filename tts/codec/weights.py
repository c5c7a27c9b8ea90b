"""Shipped codec weights: `<dir>/model.safetensors` + `<dir>/config.json`.

Loading needs only torch and safetensors (core dependencies), never the
training code. The JSON holds the CodecConfig that rebuilds the modules, the
derived numbers a consumer needs (frame rate, vocabulary, bitrate) and
free-form provenance (training steps, data, held-out rule). The file
mechanics are shared with the acoustic model (tts/weights_io.py).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..weights_io import CONFIG, WEIGHTS, WeightsFormat  # noqa: F401  (re-exported names)
from .codec import Codec
from .config import CodecConfig

_FORMAT = WeightsFormat("statecast-codec", config_noun="codec config", weights_noun="codec weights")
FORMAT = _FORMAT.format
VERSION = _FORMAT.version


def save_codec(codec: Codec, directory: Path | str, meta: dict | None = None,
               dtype: torch.dtype = torch.float32) -> Path:
    """Write weights + config into `directory` (created if needed)."""
    return _FORMAT.save(codec, directory, {"tokens": codec.cfg.describe()}, meta, dtype)


def read_config(directory: Path | str) -> tuple[CodecConfig, dict]:
    return _FORMAT.read_config(directory, CodecConfig)


def load_codec(directory: Path | str, device: str | torch.device = "cpu") -> Codec:
    """Rebuild a Codec from `directory`, in eval mode on `device`."""
    return _FORMAT.load(directory, CodecConfig, Codec, device)
