"""Component configs <-> JSON-ready dicts (saved beside weights and in checkpoints).

Every component has one frozen dataclass config; these two functions are the
whole of its serialisation, so the codec and the acoustic model read and
write theirs the same way.
"""

from __future__ import annotations

import dataclasses

from .errors import StatecastError


def config_to_dict(cfg) -> dict:
    """dataclasses.asdict, with tuple fields as lists (what JSON gives back)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def config_from_dict(cls, d: dict, what: str):
    """cls(**d), refusing keys cls does not have: "unknown <what> config keys: a, b"."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise StatecastError(f"unknown {what} config keys: {', '.join(unknown)}")
    return cls(**d)
