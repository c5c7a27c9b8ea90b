"""``statecast phonemize``: what the frontend makes of some text."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", nargs="?", help="text to process (default: read stdin)")
    p.add_argument("--lang", default="en-us", help="en-us or en-gb")
    p.add_argument("--json", action="store_true", help="print phrases with their word maps as JSON")


def run(args: argparse.Namespace) -> int:
    from .frontend import Frontend

    text = args.text if args.text is not None else sys.stdin.read()
    frontend = Frontend(args.lang)
    phrases = frontend.phrases(text)
    if args.json:
        print(json.dumps([
            {"text": p.text, "phonemes": p.phonemes,
             "words": [{"word": w.text, "phonemes": p.phonemes[w.start:w.end], "start": w.start, "end": w.end}
                       for w in p.words]}
            for p in phrases], ensure_ascii=False, indent=2))
    else:
        for p in phrases:
            print(p.text)
            print(f"  {p.phonemes}")
    return 0
