"""Shipped weights of one component: `<dir>/model.safetensors` + `<dir>/config.json`.

The codec and the acoustic model ship the same way (a weights file plus a JSON
document naming its format, version and the config that rebuilds the module),
so the mechanics live here once; each package keeps its own public
`save_*` / `read_config` / `load_*` and only says what its JSON adds.
Loading needs torch and safetensors only, never the training code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import StatecastError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


@dataclass(frozen=True)
class WeightsFormat:
    """One component's on-disk format and the nouns its errors use.

    config_noun / weights_noun start the messages: "no <config_noun> at PATH",
    "<weights_noun> PATH do not match its config ...".
    """

    format: str  # e.g. "statecast-codec"; stored in config.json and the safetensors metadata
    config_noun: str  # e.g. "codec config"
    weights_noun: str  # e.g. "codec weights"
    version: int = 1

    def save(self, module: torch.nn.Module, directory: Path | str, fields: dict, meta: dict | None,
             dtype: torch.dtype = torch.float32) -> Path:
        """Write module's weights + a config.json of format, version, module.cfg, `fields`, meta.

        dtype=float16 halves a shipped bundle (the repository stays lean); loading
        casts back to the module's float32 parameters.
        """
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        state = {k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).cpu().contiguous()
                 for k, v in module.state_dict().items()}
        save_file(state, str(d / WEIGHTS), metadata={"format": self.format})
        (d / WEIGHTS).chmod(0o644)  # safetensors writes 0600; shipped files are world-readable
        doc = {"format": self.format, "version": self.version, "config": module.cfg.to_dict(),
               **fields, "meta": meta or {}}
        (d / CONFIG).write_text(json.dumps(doc, indent=2) + "\n")
        return d

    def read_config(self, directory: Path | str, config_cls):
        """(config_cls.from_dict(doc["config"]), doc["meta"]) after checking format and version."""
        path = Path(directory) / CONFIG
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise StatecastError(f"no {self.config_noun} at {path}") from None
        except json.JSONDecodeError as exc:
            raise StatecastError(f"{self.config_noun} {path} is not valid JSON: {exc}") from None
        if doc.get("format") != self.format or doc.get("version") != self.version:
            raise StatecastError(f"{path} is not a {self.format} v{self.version} config")
        return config_cls.from_dict(doc["config"]), doc.get("meta", {})

    def load(self, directory: Path | str, config_cls, module_cls, device: str | torch.device = "cpu"):
        """module_cls(config) with the saved weights, in eval mode on `device`."""
        from safetensors.torch import load_file

        cfg, _ = self.read_config(directory, config_cls)
        path = Path(directory) / WEIGHTS
        if not path.exists():
            raise StatecastError(f"no {self.weights_noun} at {path}")
        module = module_cls(cfg)
        try:
            missing, unexpected = module.load_state_dict(load_file(str(path)), strict=False)
        except RuntimeError as exc:  # shape mismatch: the last line names the tensor
            raise StatecastError(f"{self.weights_noun} {path} do not match its config: "
                                 f"{str(exc).strip().splitlines()[-1].strip()}") from None
        if missing or unexpected:
            raise StatecastError(
                f"{self.weights_noun} {path} do not match its config "
                f"(missing {len(missing)}: {missing[:3]}, unexpected {len(unexpected)}: {unexpected[:3]})")
        return module.to(device).eval()
