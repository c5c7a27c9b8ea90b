"""`statecast train TARGET ...`: one sub-subcommand per model to train.

Each target module exposes `add_arguments(parser)` (light: no torch import)
and `run(args) -> int`, like the top-level commands; adding a model is one
more line in TARGETS.
"""

from __future__ import annotations

import argparse
import importlib

from ..cli import add_subcommands

# target -> (module, one-line help)
TARGETS: dict[str, tuple[str, str]] = {
    "codec": ("tts.train.codec_cli", "train, resume or export the streaming neural codec"),
    "acoustic": ("tts.train.acoustic", "train, resume or export the selective-SSM acoustic model"),
    "voices": ("tts.train.voices_cli", "pack trained checkpoints into the shipped voice bundle (voices/)"),
    "average": ("tts.train.average_cli", "average the weights of checkpoints of one model into a new checkpoint"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subcommands(parser, TARGETS, dest="train_target", metavar="TARGET", module_attr="_train_module")


def run(args) -> int:
    if not getattr(args, "train_target", None):
        print("statecast train: choose a target: " + ", ".join(TARGETS))
        return 2
    return int(importlib.import_module(args._train_module).run(args) or 0)
