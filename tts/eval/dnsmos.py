"""DNSMOS (P.835 SIG / BAK / OVRL, plus P.808) from the models in the
``speechmos`` wheel.

DNSMOS was trained on noisy, processed speech and predicts what listeners
would say about signal distortion (SIG), background noise (BAK) and overall
quality (OVRL), each on a 1-5 scale. It is a weak signal for TTS: read it side
by side with the teacher, never as an absolute.

The model wants 16 kHz input and scores 9.01 s windows; speechmos repeats a
shorter clip until it fills one window, so a one-word clip is scored as that
word said several times. That is the published procedure, kept as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import require
from .audio import ASR_RATE


class DnsMos:
    """Scores (T,) float32 clips at 16 kHz; onnxruntime is pinned to ``threads``
    threads so timings elsewhere in the run are not disturbed."""

    name = "dnsmos"

    def __init__(self, threads: int = 1):
        mod = require("speechmos.dnsmos", "eval")
        ort = require("onnxruntime", "eval")
        models = Path(mod.__file__).resolve().parent / "dnsmos_models"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1

        class _Pinned(mod.DNSMOS):
            # speechmos' constructor builds sessions with default threading;
            # build them ourselves and keep its feature and scoring code.
            def __init__(self, primary: str, p808: str):
                self.primary_model_path = primary
                self.onnx_sess = ort.InferenceSession(primary, opts, providers=["CPUExecutionProvider"])
                self.p808_onnx_sess = ort.InferenceSession(p808, opts, providers=["CPUExecutionProvider"])

        self._model = _Pinned(str(models / "sig_bak_ovr.onnx"), str(models / "model_v8.onnx"))

    def describe(self) -> dict:
        return {"name": self.name, "package": "speechmos==0.0.1.1", "personalized": False}

    def score(self, clip: np.ndarray) -> dict[str, float]:
        """clip: (T,) float32 in [-1, 1] at 16 kHz -> {"ovrl", "sig", "bak", "p808"}."""
        if clip.size == 0 or not np.any(clip):
            # Silence has no speech quality to rate, and the model's mel
            # normalisation divides by the peak.
            return {"ovrl": float("nan"), "sig": float("nan"), "bak": float("nan"), "p808": float("nan")}
        res = self._model(np.clip(clip, -1.0, 1.0).astype(np.float32), ASR_RATE, False)
        return {
            "ovrl": float(res["ovrl_mos"]),
            "sig": float(res["sig_mos"]),
            "bak": float(res["bak_mos"]),
            "p808": float(res["p808_mos"]),
        }

    def score_many(self, clips: Sequence[np.ndarray]) -> list[dict[str, float]]:
        return [self.score(c) for c in clips]
