"""``statecast bench --peers``: time to first audio (TTFA) and real-time factor
(RTF) of several engines, measured on the same machine in the same run.

Fairness to noise on a shared machine:

* every engine is warmed up first (one untimed synthesis);
* runs are interleaved: repeat r, sentence s, then every engine, with the
  engine order rotated each time, so neither background load that drifts over
  minutes nor "whoever runs right after a cache-cold neighbour" favours one
  engine;
* we report medians and 90th percentiles, never means, and the ratio of each
  engine's median to the first engine's.

TTFA is measured through ``stream()``: for sentence-level engines (Piper,
Kokoro) that is the whole first phrase's synthesis time, which is what a
caller of those engines waits before hearing anything. First speech adds
what the listener then waits through: the silence each engine opens with
(``tts.eval.timing``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Piper first (the ratios are to it), then the slower teacher, then ours with its default voice.
DEFAULT_ENGINES = ["piper:joe", "kokoro:af_heart", "statecast"]

# (label, text): a greeting, a typical agent turn, a long paragraph-like turn.
DEFAULT_CASES: list[tuple[str, str]] = [
    ("short", "Hi there, how can I help?"),
    ("medium", "Your table for two is booked for Friday at seven thirty, and a confirmation is on its way to your phone."),
    ("long", "Before we finish, let me read the order back to you: one large vegetable soup, two slices of sourdough "
             "bread with butter, a lemon tart for dessert and a pot of mint tea, all delivered to the side entrance "
             "of the building after six o'clock this evening."),
]


def add_arguments(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--engine", action="append", default=None, metavar="SPEC",
                   help=f"engine to time (repeat; the first is the reference for ratios; default: {' '.join(DEFAULT_ENGINES)})")
    g.add_argument("--sentences", type=Path, default=None, metavar="FILE",
                   help="sentence file to time instead of the built-in short/medium/long cases")


def _cases(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.sentences is None:
        return list(DEFAULT_CASES)
    from ..eval.sentences import load_sentences

    return [(f"s{i}", s) for i, s in enumerate(load_sentences(args.sentences).sentences)]


def measure(engines, cases: list[tuple[str, str]], repeats: int, warmup: bool = True, progress=None) -> list[dict]:
    """Interleaved timed runs; returns one record per (repeat, case, engine)."""
    from ..eval.timing import timed_stream

    if warmup:
        for engine in engines:
            timed_stream(engine, cases[0][1])
    records = []
    n = len(engines)
    for r in range(repeats):
        for ci, (label, text) in enumerate(cases):
            shift = (r * len(cases) + ci) % n
            for engine in engines[shift:] + engines[:shift]:
                take = timed_stream(engine, text)
                records.append({
                    "engine": engine.name, "case": label, "repeat": r, "ttfa_s": take.ttfa_s,
                    "first_speech_s": take.first_speech_s, "synth_s": take.synth_s, "duration_s": take.duration_s, "rtf": take.rtf, "chunks": take.chunks,
                })
            if progress:
                progress(f"repeat {r + 1}/{repeats} case {label} done")
    return records


def summarize(engine_names: list[str], case_labels: list[str], records: list[dict]) -> dict:
    """Per engine: medians/p90 overall and per case, plus ratios of medians to the first engine."""
    from ..eval.timing import median, percentile

    def stats(rows: list[dict]) -> dict:
        ttfa = [x["ttfa_s"] for x in rows]
        rtf = [x["rtf"] for x in rows]
        speech = [x.get("first_speech_s", float("nan")) for x in rows]
        return {
            "runs": len(rows),
            "ttfa_median_s": median(ttfa), "ttfa_p90_s": percentile(ttfa, 90),
            "first_speech_median_s": median(speech), "first_speech_p90_s": percentile(speech, 90),
            "rtf_median": median(rtf), "rtf_p90": percentile(rtf, 90),
            "audio_s_median": median([x["duration_s"] for x in rows]),
        }

    out: dict = {}
    for name in engine_names:
        mine = [x for x in records if x["engine"] == name]
        out[name] = {"overall": stats(mine), "cases": {c: stats([x for x in mine if x["case"] == c]) for c in case_labels}}
    ref = out[engine_names[0]]["overall"]
    for name in engine_names:
        o = out[name]["overall"]
        o["ttfa_ratio"] = o["ttfa_median_s"] / ref["ttfa_median_s"] if ref["ttfa_median_s"] else float("nan")
        o["first_speech_ratio"] = (o["first_speech_median_s"] / ref["first_speech_median_s"]
                                   if ref["first_speech_median_s"] else float("nan"))
        o["rtf_ratio"] = o["rtf_median"] / ref["rtf_median"] if ref["rtf_median"] else float("nan")
    return out


def format_table(summary: dict, case_labels: list[str]) -> str:
    from ..eval.results_io import fmt_num

    header = ["engine", "case", "TTFA med", "TTFA p90", "speech med", "RTF med", "RTF p90", "TTFA x", "speech x",
              "RTF x"]
    rows = [header]
    for name, s in summary.items():
        for label in case_labels:
            c = s["cases"][label]
            rows.append([name, label, fmt_num(c["ttfa_median_s"], ".3f", " s"), fmt_num(c["ttfa_p90_s"], ".3f", " s"),
                         fmt_num(c["first_speech_median_s"], ".3f", " s"),
                         fmt_num(c["rtf_median"], ".3f"), fmt_num(c["rtf_p90"], ".3f"), "", "", ""])
        o = s["overall"]
        rows.append([name, "all", fmt_num(o["ttfa_median_s"], ".3f", " s"), fmt_num(o["ttfa_p90_s"], ".3f", " s"),
                     fmt_num(o["first_speech_median_s"], ".3f", " s"),
                     fmt_num(o["rtf_median"], ".3f"), fmt_num(o["rtf_p90"], ".3f"),
                     fmt_num(o["ttfa_ratio"], ".2f", "x"), fmt_num(o["first_speech_ratio"], ".2f", "x"),
                     fmt_num(o["rtf_ratio"], ".2f", "x")])
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace, out: Path) -> dict:
    from ..errors import StatecastError
    from ..eval.cli import load_engines
    from ..eval.results_io import machine_info, write_json
    from ..eval.timing import ONSET_DBFS

    specs = args.engine or list(DEFAULT_ENGINES)
    if len(set(specs)) != len(specs):
        raise StatecastError(f"each engine may be given once; got {' '.join(specs)}")
    cases = _cases(args)
    engines = load_engines(specs)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    meta = machine_info()
    records = measure(engines, cases, args.repeats, progress=log)
    labels = [c[0] for c in cases]
    summary = summarize([e.name for e in engines], labels, records)
    report = {
        "benchmark": "peers",
        "meta": {**meta, "repeats": args.repeats, "reference_engine": engines[0].name,
                 "engines": [{"engine": e.name, "sample_rate": e.sample_rate, "streaming": bool(e.streaming)} for e in engines],
                 "cases": [{"label": l, "text": t} for l, t in cases],
                 "notes": "interleaved runs with rotated engine order after one warm-up each; TTFA = stream() call to "
                          "first chunk; first speech = stream() call to the first sample above "
                          f"{ONSET_DBFS:g} dBFS playing (a player starting on the first chunk); RTF = synthesis wall time / audio duration; ratios are median / reference median"},
        "summary": summary,
        "runs": records,
    }
    write_json(report, out)
    print(format_table(summary, labels))
    print(f"wrote {out}")
    return report
