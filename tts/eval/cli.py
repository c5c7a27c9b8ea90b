"""``statecast eval``: synthesize a sentence set with one or more engines and
score WER (Whisper, optionally pocketsphinx), DNSMOS, real-time factor and
time to first audio.

    statecast eval --engine kokoro:af_heart --engine piper:joe --out results/eval.json
    statecast eval --rescore results/eval.json --out results/eval_rescored.json

``--rescore`` scores the transcripts an earlier run stored again with the
current WER normaliser, without synthesising or transcribing anything.

Checks that can fail fast (output path, sentence file, engines, scorer models)
all run before the first sentence is synthesized.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import StatecastError

DEFAULT_OUT = Path("results/eval.json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", action="append", default=None, metavar="SPEC",
                   help="engine to evaluate, e.g. kokoro:af_heart or piper:joe (repeat for several)")
    p.add_argument("--sentences", type=Path, default=None, metavar="FILE",
                   help="sentence file, one per line, '#' comments (default: the public set)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N sentences")
    p.add_argument("--asr", choices=["base", "tiny", "none"], default="base",
                   help="Whisper model for WER (default: base)")
    p.add_argument("--asr-threads", type=int, default=1, metavar="N",
                   help="CTranslate2 threads; fixed so runs repeat (default: 1)")
    p.add_argument("--pocketsphinx", action="store_true", help="also score WER with pocketsphinx")
    p.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS")
    p.add_argument("--save-audio", type=Path, default=None, metavar="DIR", help="write every clip as a WAV under DIR")
    p.add_argument("--rescore", type=Path, default=None, metavar="FILE",
                   help="score the transcripts stored in an earlier results JSON again (no synthesis)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE", help=f"results JSON (default: {DEFAULT_OUT})")


def load_engines(specs: list[str]):
    try:
        from tts.engines import get_engine
    except ModuleNotFoundError as exc:
        if exc.name != "tts.engines":
            raise
        raise StatecastError("tts.engines is not available in this install") from None
    return [get_engine(spec) for spec in specs]


def build_scorers(args: argparse.Namespace):
    """Load the requested scorers now, so a missing extra fails before synthesis."""
    whisper = sphinx = dnsmos = None
    if args.asr != "none":
        from .asr import WhisperASR, WhisperConfig

        if args.asr_threads < 1:
            raise StatecastError(f"--asr-threads must be at least 1, got {args.asr_threads}")
        whisper = WhisperASR(WhisperConfig(model=args.asr, cpu_threads=args.asr_threads))
    if args.pocketsphinx:
        from .asr import SphinxASR

        sphinx = SphinxASR()
    if not args.no_dnsmos:
        from .dnsmos import DnsMos

        dnsmos = DnsMos()
    normalize = None
    if whisper or sphinx:
        normalize = _normalizer()
    return whisper, sphinx, dnsmos, normalize


def _normalizer():
    try:
        from .wer import wer_normalizer
    except ImportError:
        raise StatecastError("the WER text normaliser (tts.text.normalize) is not available") from None
    return wer_normalizer()


def rescore(args: argparse.Namespace) -> int:
    import json

    from .harness import format_table, rescore_report
    from .results_io import check_output_path, write_json

    if args.engine:
        raise StatecastError("--rescore takes no --engine: it scores the engines stored in the file")
    src = Path(args.rescore).expanduser()
    out = check_output_path(args.out)
    try:
        report = json.loads(src.read_text())
    except OSError as exc:
        raise StatecastError(f"cannot read {src}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise StatecastError(f"{src} is not JSON: {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("engines"), list):
        raise StatecastError(f"{src} is not a statecast eval results file (no 'engines' list)")
    new = rescore_report(report, _normalizer())
    write_json(new, out)
    for res in new["engines"]:
        before = (res["aggregate"].get("rescored_from") or {}).get("whisper_errors") or {}
        after = res["aggregate"].get("whisper_errors") or {}
        if before or after:
            print(f"{res['engine']}: {_errs(before)} -> {_errs(after)} word errors")
    print(format_table(new))
    print(f"wrote {out}")
    return 0


def _errs(d: dict) -> str:
    return "-" if not d else str(d.get("errors", "-"))


def run(args: argparse.Namespace) -> int:
    if args.rescore is not None:
        return rescore(args)
    if not args.engine:
        raise StatecastError("give at least one --engine (e.g. --engine statecast:am_michael), or --rescore FILE")
    from .harness import evaluate, format_table
    from .results_io import check_output_path, write_json
    from .sentences import load_sentences

    out = check_output_path(args.out)
    sentence_set = load_sentences(args.sentences, args.limit)
    if args.save_audio is not None:
        from ..paths import writable_dir

        writable_dir(args.save_audio, "audio directory")
    whisper, sphinx, dnsmos, normalize = build_scorers(args)
    engines = load_engines(args.engine)
    report = evaluate(engines, sentence_set, whisper, sphinx, dnsmos, normalize, save_audio=args.save_audio)
    write_json(report, out)
    print(format_table(report))
    print(f"wrote {out}")
    return 0
