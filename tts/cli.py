"""The ``statecast`` command.

Each subcommand lives in its own module that exposes ``add_arguments(parser)``
and ``run(args) -> int``; modules are imported only when their subcommand runs,
so ``statecast --help`` stays fast and a missing optional extra only matters to
the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import StatecastError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "corpus": ("tts.data.corpus_cli", "build or inspect the teacher training corpus"),
    "eval": ("tts.eval.cli", "synthesize a sentence set and score WER / DNSMOS / RTF / TTFA"),
    "bench": ("tts.bench.cli", "time first audio and real-time factor, side by side with peers"),
    "phonemize": ("tts.text.cli", "show what the text frontend makes of some text"),
    "serve": ("server.serve_cli", "run the HTTP + websocket speech service (uvicorn)"),
    "say": ("tts.say_cli", "speak text into an audio file (or stdout) with the installed voices"),
    "train": ("tts.train.cli", "train a model: the codec now, the acoustic model next"),
}


def add_subcommands(parser: argparse.ArgumentParser, registry: dict[str, tuple[str, str]], dest: str,
                    metavar: str, module_attr: str) -> None:
    """One subparser per `registry` entry (name -> (module, help)), filled by the module's add_arguments.

    The chosen name lands in args.<dest> and its module in args.<module_attr>
    (distinct per level, so a nested registry does not overwrite its parent's).
    """
    sub = parser.add_subparsers(dest=dest, metavar=metavar)
    for name, (module, help_text) in registry.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(**{module_attr: module})
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as exc:
            # Only the entry's own module may be absent (still being built);
            # anything else it fails to import is a real bug and must surface.
            if exc.name != module:
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statecast", description="StateCast: streaming text-to-speech on a selective state-space backbone."
    )
    add_subcommands(parser, COMMANDS, dest="command", metavar="COMMAND", module_attr="_module")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except StatecastError as exc:
        print(f"statecast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"statecast {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
