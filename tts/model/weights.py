"""Shipped acoustic weights: `<dir>/model.safetensors` + `<dir>/config.json`.

The JSON holds the AcousticConfig that rebuilds the model (token layout,
voices and sizes included), its parameter counts and free-form provenance
(steps, data, codec id). The file mechanics are shared with the codec
(tts/weights_io.py). Loading needs torch and safetensors only, never the
training code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..weights_io import CONFIG, WEIGHTS, WeightsFormat  # noqa: F401  (re-exported names)
from .acoustic import AcousticModel
from .config import AcousticConfig

_FORMAT = WeightsFormat("statecast-acoustic", config_noun="acoustic model config", weights_noun="acoustic weights")
FORMAT = _FORMAT.format
VERSION = _FORMAT.version


def save_acoustic(model: AcousticModel, directory: Path | str, meta: dict | None = None,
                  dtype: torch.dtype = torch.float32) -> Path:
    """Write weights + config into `directory` (created if needed)."""
    return _FORMAT.save(model, directory, {"parameters": model.parameter_counts()}, meta, dtype)


def read_config(directory: Path | str) -> tuple[AcousticConfig, dict]:
    return _FORMAT.read_config(directory, AcousticConfig)


def load_acoustic(directory: Path | str, device: str | torch.device = "cpu") -> AcousticModel:
    """Rebuild an AcousticModel from `directory`, in eval mode on `device`."""
    return _FORMAT.load(directory, AcousticConfig, AcousticModel, device)
