"""Writing results files: output-path checks made before any slow work starts,
atomic JSON writes, and a description of the machine the numbers came from."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..errors import StatecastError
from ..paths import writable_dir


def check_output_path(path: Path | str) -> Path:
    """Fail now, in one line, if ``path`` cannot be written later (after an
    hour of synthesis is the wrong time to find out)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise StatecastError(f"output path {path} is a directory; give a file name such as {path / 'eval.json'}")
    writable_dir(path.parent, "output directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise StatecastError(f"cannot write to output file {path}: permission denied")
    return path


def _clean(obj):
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(obj: dict, path: Path | str) -> Path:
    """Write ``obj`` as indented JSON through a temp file and a rename."""
    path = Path(path).expanduser()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(_clean(obj), indent=2, allow_nan=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StatecastError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def package_versions(names: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def machine_info() -> dict:
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": load,
    }


def fmt_num(x: float | None, spec: str = ".3f", unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:{spec}}{unit}"
