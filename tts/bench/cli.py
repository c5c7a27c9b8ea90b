"""``statecast bench``: timing benchmarks, one flag per benchmark.

    statecast bench --peers [--engine SPEC ...] [--repeats N] [--out FILE]
    statecast bench --load --voices DIR [--levels 1,4,16,32] [--find-max] [--out FILE]

Each benchmark is a module listed in :data:`BENCHMARKS` that exposes
``add_arguments(group)`` (its own options; stdlib imports only) and
``run(args, out) -> dict`` (the results it wrote to ``out``). Adding the codec,
acoustic-model or server-load benchmark later is one entry here plus its
module; options shared by several benchmarks live below.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from ..errors import StatecastError

# flag -> (module, help). Selected benchmarks run in this order.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "peers": ("tts.bench.peers", "time to first audio and real-time factor of engines side by side (Piper, Kokoro, StateCast)"),
    "load": ("tts.bench.load", "concurrent websocket streams: TTFA percentiles, RTF and underruns at 1-32 streams, peers alike"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_argument_group("benchmarks (choose at least one)")
    for name, (_module, help_text) in BENCHMARKS.items():
        which.add_argument(f"--{name}", action="store_true", help=help_text)
    common = p.add_argument_group("common options")
    common.add_argument("--repeats", type=int, default=3, metavar="N", help="timed runs per case (default: 3)")
    common.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="results JSON (default: results/bench_<benchmark>.json; only with one benchmark)")
    for name, (module, _help) in BENCHMARKS.items():
        mod = importlib.import_module(module)
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p.add_argument_group(f"--{name} options"))


def run(args: argparse.Namespace) -> int:
    selected = [name for name in BENCHMARKS if getattr(args, name, False)]
    if not selected:
        raise StatecastError("choose a benchmark: " + " ".join(f"--{n}" for n in BENCHMARKS))
    if args.out is not None and len(selected) > 1:
        raise StatecastError("--out names one file; run one benchmark at a time to use it")
    if args.repeats < 1:
        raise StatecastError(f"--repeats must be at least 1, got {args.repeats}")
    from ..eval.results_io import check_output_path

    outs = {name: check_output_path(args.out or Path(f"results/bench_{name}.json")) for name in selected}
    for name in selected:
        importlib.import_module(BENCHMARKS[name][0]).run(args, outs[name])
    return 0
