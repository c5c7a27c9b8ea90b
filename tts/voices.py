"""Voice bundles: the directory of weights and voice list a Synthesizer loads.

Layout (one bundle serves every voice; ``voices/README.md`` says the same for
people browsing the repository)::

    <voices_dir>/
        voices.json                  the voice list (below)
        acoustic/model.safetensors   acoustic model weights   (tts.model.weights)
        acoustic/config.json         its AcousticConfig + provenance
        codec/model.safetensors      codec weights            (tts.codec.weights)
        codec/config.json            its CodecConfig + provenance

``voices.json``::

    {
      "format": "statecast-voices", "version": 1,
      "default": "af_heart",
      "voices": [
        {"name": "af_heart", "lang": "en-us", "gender": "female", "accent": "American",
         "description": "warm, clear", "speaker": "af_heart",
         "teacher": "Kokoro-82M v1.0 voice af_heart", "license": "Apache-2.0",
         "attribution": "hexgrad/Kokoro-82M; voice pack from kokoro-js 1.2.1"},
        ...
      ]
    }

``speaker`` names the row of the acoustic model's voice embedding table
(``AcousticConfig.voices``) the voice speaks with; it defaults to ``name``.
Two catalogue entries may share a speaker (for instance a renamed voice).
``teacher`` / ``license`` / ``attribution`` record where the voice was learnt
from: the student is trained on audio a teacher synthesised, so the teacher's
voice licence travels with it.

Which directory: an explicit argument, else ``$STATECAST_VOICES``, else
``<repo>/voices``. The repository ships that directory empty until trained
weights exist; loading it then says so in one line.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import StatecastError
from .paths import REPO_ROOT

FORMAT = "statecast-voices"
VERSION = 1
VOICES_FILE = "voices.json"
ACOUSTIC_DIR = "acoustic"
CODEC_DIR = "codec"
LANGS = ("en-us", "en-gb")
PUBLIC_KEYS = ("name", "lang", "gender", "accent", "description")


@dataclass(frozen=True)
class VoiceInfo:
    """One entry of voices.json."""

    name: str
    lang: str
    gender: str
    accent: str
    description: str
    speaker: str
    teacher: str = ""
    license: str = ""
    attribution: str = ""

    def public(self) -> dict:
        """What ``Synthesizer.voices()`` and the server list."""
        return {k: getattr(self, k) for k in PUBLIC_KEYS}

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def voices_dir(path: str | Path | None = None) -> Path:
    """The bundle directory: ``path``, else ``$STATECAST_VOICES``, else ``<repo>/voices``."""
    if path is None:
        path = os.environ.get("STATECAST_VOICES") or (REPO_ROOT / "voices")
    return Path(path).expanduser()


def read_catalogue(directory: Path) -> tuple[list[VoiceInfo], str]:
    """voices.json -> (voices, default name), checked; a clear error when absent or malformed."""
    path = directory / VOICES_FILE
    if not path.is_file():
        raise StatecastError(f"no voices installed in {directory}: train them (see README) or set STATECAST_VOICES")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StatecastError(f"voice list {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise StatecastError(f"{path} is not a {FORMAT} v{VERSION} voice list")
    entries = doc.get("voices")
    if not isinstance(entries, list) or not entries:
        raise StatecastError(f"voice list {path} has no voices")
    voices = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not e["name"]:
            raise StatecastError(f"voice {i} in {path} has no name")
        known = set(VoiceInfo.__dataclass_fields__)
        unknown = sorted(set(e) - known)
        if unknown:
            raise StatecastError(f"voice {e['name']!r} in {path} has unknown keys: {', '.join(unknown)}")
        if e.get("lang") not in LANGS:
            raise StatecastError(f"voice {e['name']!r} in {path}: lang must be one of {', '.join(LANGS)}")
        fields = {"gender": "", "accent": "", "description": "", "speaker": e["name"], **e}
        voices.append(VoiceInfo(**{k: str(v) for k, v in fields.items()}))
    names = [v.name for v in voices]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise StatecastError(f"voice list {path} names {', '.join(dupes)} more than once")
    default = doc.get("default", names[0])
    if default not in names:
        raise StatecastError(f"default voice {default!r} of {path} is not in its voice list")
    return voices, default


@dataclass
class VoiceBundle:
    """Loaded weights + voice list. ``acoustic``: AcousticModel, ``codec``: Codec (eval mode)."""

    directory: Path
    voices: dict[str, VoiceInfo]
    default: str
    acoustic: object
    codec: object


def load_bundle(path: str | Path | None = None, device: str = "cpu") -> VoiceBundle:
    """Read and cross-check a bundle directory (see the module docstring)."""
    from .codec.weights import load_codec
    from .model.weights import load_acoustic

    directory = voices_dir(path)
    if not directory.is_dir():
        raise StatecastError(f"no voices installed in {directory}: train them (see README) or set STATECAST_VOICES")
    voices, default = read_catalogue(directory)
    acoustic = load_acoustic(directory / ACOUSTIC_DIR, device)
    codec = load_codec(directory / CODEC_DIR, device)
    a, c = acoustic.cfg, codec.cfg
    if tuple(a.levels) != tuple(c.levels) or a.n_codebooks != c.n_codebooks or a.frame_rate != c.frame_rate:
        raise StatecastError(
            f"acoustic model and codec in {directory} disagree on tokens: levels {list(a.levels)} x {a.n_codebooks} "
            f"at {a.frame_rate} Hz vs {list(c.levels)} x {c.n_codebooks} at {c.frame_rate} Hz")
    for v in voices:
        if v.speaker not in a.voices:
            raise StatecastError(f"voice {v.name!r} uses speaker {v.speaker!r}, which the acoustic model in "
                                 f"{directory} does not have ({', '.join(a.voices)})")
    return VoiceBundle(directory, {v.name: v for v in voices}, default, acoustic, codec)


def write_catalogue(directory: str | Path, voices: list[VoiceInfo], default: str) -> Path:
    """Write voices.json (used by the export step and the fixture generator)."""
    path = Path(directory) / VOICES_FILE
    doc = {"format": FORMAT, "version": VERSION, "default": default, "voices": [v.to_dict() for v in voices]}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


def parse_mix(spec: str) -> dict[str, float]:
    """``"af_heart=0.7,bf_emma=0.3"`` (``:`` works too) -> {"af_heart": 0.7, "bf_emma": 0.3}.

    Only the syntax is checked here; names and weights are checked by
    ``Synthesizer.open`` against the installed voices.
    """
    mix: dict[str, float] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, weight = part.replace(":", "=").partition("=")
        name = name.strip()
        if not sep or not name:
            raise StatecastError(f"voice mix part {part!r} must look like NAME=WEIGHT")
        try:
            w = float(weight)
        except ValueError:
            raise StatecastError(f"voice mix weight {weight.strip()!r} for {name!r} is not a number") from None
        if name in mix:
            raise StatecastError(f"voice {name!r} appears twice in the mix")
        mix[name] = w
    if not mix:
        raise StatecastError("a voice mix needs at least one NAME=WEIGHT")
    return mix


def check_mix(mix: dict, voices: dict[str, VoiceInfo]) -> dict[str, float]:
    """Validate a {name: weight} blend against the installed voices; returns weights as floats."""
    if not isinstance(mix, dict) or not mix:
        raise StatecastError("a voice mix needs at least one voice")
    out = {}
    for name, w in mix.items():
        if name not in voices:
            raise StatecastError(f"unknown voice {name!r}; choose one of {', '.join(voices)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise StatecastError(f"voice weight for {name!r} must be a finite number >= 0, got {w!r}")
        out[name] = float(w)
    if sum(out.values()) <= 0:
        raise StatecastError("voice mix weights sum to zero")
    return out
