"""Where StateCast keeps things outside the repository.

Corpus audio, teacher model files and training checkpoints are large and are
never committed; they live under one cache root, ``$STATECAST_CACHE`` or
``~/.cache/statecast``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import StatecastError

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets"


def cache_root() -> Path:
    root = os.environ.get("STATECAST_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "statecast"


def writable_dir(path: Path | str, what: str = "directory") -> Path:
    """Create ``path`` if needed and check that we can write there.

    Raises a one-line :class:`StatecastError` instead of a PermissionError
    traceback deep inside a worker.
    """
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A unique probe name: several worker processes check the same directory.
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StatecastError(f"cannot write to {what} {path}: {exc.strerror or exc}") from None
    return path
