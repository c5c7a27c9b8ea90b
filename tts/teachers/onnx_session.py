"""One-thread ONNX Runtime sessions: corpus workers run one per core."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import require


@lru_cache(maxsize=None)
def session(path: Path, threads: int = 1):
    """One session per graph and process, shared by all voices of a teacher."""
    ort = require("onnxruntime", "teachers")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # the patched graphs warn about untyped extra outputs
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
