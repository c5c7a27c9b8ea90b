"""``statecast bench --load``: many concurrent callers on the websocket service, with Piper and
Kokoro driven by the same harness in the same run.

    statecast bench --load --voices DIR [--levels 1,4,16,32] [--find-max] [--peer SPEC ...]

For each level (concurrent streams) and each engine, callers start spread
uniformly over ``--stagger`` seconds (0 = a burst), each speaking one
voice-agent turn, in waves until at least ``--min-samples`` streams are
measured. Per level the blocks run StateCast first, then each peer, so load
that drifts over minutes hits every engine of a level alike; every block
records the load average when it starts.

* StateCast: ``statecast serve`` in a child process on 127.0.0.1 with one
  inference thread (or ``--server HOST:PORT``, already running); one
  websocket per caller, opened before its wave.
* Peers: a pool of ``--workers`` processes (default: one per core), each with
  one single-threaded engine; the turns queue for them. Kokoro runs at about
  real time per core, so by default it runs at 4 streams at most
  (``--peer-cap kokoro=4``).

Statistics (TTFA, first speech, RTF, underruns and which of them a listener hears) are defined in
:mod:`tts.bench.load_stats`.
``--find-max`` then raises StateCast's concurrency until the first underrun
or error and reports the largest clean level.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import subprocess
import sys
from pathlib import Path

DEFAULT_LEVELS = (1, 4, 16, 32)
DEFAULT_PEERS = ("piper:joe", "kokoro:af_heart")
FIND_MAX_LADDER = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)

# Voice-agent turns of 8 to 30 words: confirmations, questions, a read-back.
SENTENCES = [
    "Sure, I can help you with that right away.",
    "Your appointment is confirmed for Tuesday at three fifteen in the afternoon.",
    "Could you tell me the name on the account, and the postcode you registered with?",
    "I have found two flights that leave before noon, one direct and one with a short stop in Denver.",
    "Thanks for waiting, the refund has gone through and should reach your card within five working days.",
    "Just to confirm, that is a large pepperoni pizza, garlic bread and two lemonades, delivered to the back door.",
    "Sorry about the trouble with your order; I have asked the warehouse to send a replacement today at no charge, and you will get a tracking link by text.",
    "Is there anything else I can do for you today?",
]


def _levels(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return sorted(set(levels))


def _cap(text: str) -> tuple[str, int]:
    family, _, n = text.partition("=")
    if not family or not n.isdigit() or int(n) < 1:
        raise argparse.ArgumentTypeError(f"expected FAMILY=N (e.g. kokoro=4), got {text!r}")
    return family, int(n)


def add_arguments(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--voices", default=None, metavar="DIR", help="voice bundle for the server (default: the server's)")
    g.add_argument("--voice", default=None, metavar="NAME", help="voice to speak with (default: the bundle's)")
    g.add_argument("--server", default=None, metavar="HOST:PORT", help="load an already running server instead")
    g.add_argument("--levels", type=_levels, default=list(DEFAULT_LEVELS), metavar="N,N,...",
                   help="concurrent streams per block (default: 1,4,16,32)")
    g.add_argument("--stagger", type=float, default=0.5, metavar="S",
                   help="callers of a wave start uniformly within S seconds (default 0.5)")
    g.add_argument("--burst", action="store_true", help="all callers of a wave start at once (--stagger 0)")
    g.add_argument("--min-samples", type=int, default=16, metavar="N",
                   help="waves per level until at least N streams are measured (default 16)")
    g.add_argument("--turn-sentences", type=int, default=1, metavar="K", help="sentences per caller turn (default 1)")
    g.add_argument("--max-ahead", type=float, default=None, metavar="S",
                   help="server pacing: seconds a stream may run ahead of real time (0 = unpaced; default: the server's)")
    g.add_argument("--find-max", action="store_true",
                   help="after the levels, raise StateCast's concurrency until the first underrun")
    g.add_argument("--find-max-from", type=int, default=1, metavar="N", help="lowest level --find-max tries (default 1)")
    g.add_argument("--find-max-limit", type=int, default=128, metavar="N", help="highest level --find-max tries (default 128)")
    g.add_argument("--peer", action="append", default=None, metavar="SPEC",
                   help=f"peer engine in the same run (repeat; the first is the ratio reference; default: {' '.join(DEFAULT_PEERS)})")
    g.add_argument("--no-peers", action="store_true", help="StateCast only")
    g.add_argument("--peer-cap", type=_cap, action="append", default=None, metavar="FAMILY=N",
                   help="run a peer family only at levels up to N (default: kokoro=4)")
    g.add_argument("--workers", type=int, default=None, metavar="N", help="peer worker processes (default: CPU count)")
    g.add_argument("--stream-timeout", type=float, default=180.0, metavar="S", help="give up on a stream after S seconds")
    g.add_argument("--seed", type=int, default=0, help="seed of the start offsets")


# ---- plan -------------------------------------------------------------------------------------

def waves_for(level: int, min_samples: int) -> int:
    return max(1, math.ceil(min_samples / level))


def turn_text(index: int, k: int) -> str:
    return " ".join(SENTENCES[(index + j) % len(SENTENCES)] for j in range(k))


def offsets_for(seed: int, level: int, wave: int, stagger: float) -> list[float]:
    """Start offsets of one wave; the same for every engine at a level (a string seed is deterministic)."""
    rng = random.Random(f"{seed}-{level}-{wave}")
    return [rng.uniform(0.0, stagger) if stagger > 0 else 0.0 for _ in range(level)]


def git_commit() -> dict:
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": head or None, "dirty": bool(dirty)}


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---- blocks -----------------------------------------------------------------------------------

async def run_block(engine: str, level: int, args, driver) -> dict:
    """``level`` concurrent callers, ``waves_for`` waves; ``driver(results, texts, offsets)`` runs one wave."""
    from .load_clients import clock
    from .load_stats import StreamResult, summarize

    block = {"engine": engine, "level": level, "loadavg_at_start": loadavg()}
    t_origin = clock()
    records = []
    for w in range(waves_for(level, args.min_samples)):
        idx = [(w * level + i) % len(SENTENCES) for i in range(level)]
        results = [StreamResult(engine, level, w, i, idx[i], 0.0) for i in range(level)]
        await driver(results, [turn_text(j, args.turn_sentences) for j in idx], offsets_for(args.seed, level, w, args.stagger))
        records += [r.record(t_origin) for r in results]
    block["summary"] = summarize(records)
    block["streams"] = records
    return block


class StateCastTarget:
    """Drives the websocket service at ``base_url`` (http://host:port)."""

    def __init__(self, base_url: str, voice: str | None, timeout_s: float):
        self.base_url, self.voice, self.timeout_s = base_url, voice, timeout_s
        self.ws_url = base_url.replace("http://", "ws://", 1) + "/v1/stream"

    async def block(self, level: int, args, name: str = "statecast") -> dict:
        from .load_clients import SocketPool, ws_wave
        from .load_server import compute_rtf, read_counters

        before = read_counters(self.base_url)
        async with SocketPool(self.ws_url, level) as pool:
            block = await run_block(name, level, args, lambda r, t, o: ws_wave(pool, r, t, o, self.voice, self.timeout_s))
        block["server_rtf"] = compute_rtf(before, read_counters(self.base_url))
        return block

    async def warm_up(self) -> None:
        from .load_clients import SocketPool, ws_wave
        from .load_stats import StreamResult

        async with SocketPool(self.ws_url, 1) as pool:
            r = StreamResult("warm-up", 1, -1, 0, 0, 0.0)
            await ws_wave(pool, [r], [SENTENCES[0]], [0.0], self.voice, self.timeout_s)
        if r.error or not r.done:
            from ..errors import StatecastError

            raise StatecastError(f"warm-up stream failed on {self.ws_url}: {r.error or 'no done event'}")


def _peer_pool(spec: str, workers: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from .load_clients import init_peer_worker

    # spawn: a fresh interpreter per worker (no forked torch / onnxruntime thread state)
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init_peer_worker, initargs=(spec,))


async def _start_peer_pool(spec: str, workers: int):
    """A pool whose workers have all loaded and warmed their engine (so the first block is not charged for it)."""
    from concurrent.futures.process import BrokenProcessPool

    from ..errors import StatecastError

    pool = _peer_pool(spec, workers)
    loop = asyncio.get_running_loop()
    # Each worker runs its initializer before taking a task; tasks that outlast the
    # others' start-up make every worker start.
    try:
        await asyncio.gather(*(loop.run_in_executor(pool, _sleep_s, 0.5) for _ in range(2 * workers)))
    except BrokenProcessPool:
        pool.shutdown(cancel_futures=True)
        raise StatecastError(f"the {spec} workers failed to start (see the traceback above; is the teachers "
                             f"extra installed?). Leave the peers out with --no-peers") from None
    return pool


def _sleep_s(s: float) -> None:
    import time

    time.sleep(s)


async def _find_max(target: "StateCastTarget", args, log) -> dict:
    """Climb the ladder until a level has an error or a steady-state underrun.

    Three answers: the largest level below which every level was strictly
    clean (no underrun at all); the largest such level with no gap a listener
    hears (none after the first word began: ``load_stats``); and the largest
    level with no underrun past the second chunk (the hand-over from the
    small first chunk is the usual first casualty of load, and a client's
    jitter buffer of one chunk hides it).
    """
    from .load_stats import is_clean

    ladder = [n for n in FIND_MAX_LADDER if args.find_max_from <= n <= args.find_max_limit]
    tried, strict, speech, steady = [], None, None, None
    strict_broken = speech_broken = False
    for level in ladder:
        log(f"find-max: {level} streams (load {loadavg()})")
        block = await target.block(level, args)
        tried.append(block)
        strict_broken = strict_broken or not is_clean(block["summary"])
        if not strict_broken:
            strict = level
        speech_broken = speech_broken or not is_clean(block["summary"], speech=True)
        if not speech_broken:
            speech = level
        if not is_clean(block["summary"], steady=True):
            break
        steady = level
    return {"ladder": ladder, "largest_clean_level": strict, "largest_speech_clean_level": speech,
            "largest_steady_clean_level": steady,
            "stopped_at": None if steady == tried[-1]["level"] else tried[-1]["level"], "blocks": tried}


# ---- the run ----------------------------------------------------------------------------------

def _voices_info(base_url: str) -> dict:
    from .load_server import get_json

    v = get_json(f"{base_url}/v1/voices")
    fixture = any("fixture" in (x.get("description") or "") for x in v.get("voices", []))
    return {"default": v.get("default"), "sample_rate": v.get("sample_rate"),
            "names": [x["name"] for x in v.get("voices", [])], "fixture_random_weights": fixture}


async def _main(args, log) -> dict:
    from .load_clients import peer_wave
    from .load_server import ServerProcess

    peers = [] if args.no_peers else list(args.peer or DEFAULT_PEERS)
    caps = dict(args.peer_cap if args.peer_cap is not None else [("kokoro", 4)])
    workers = args.workers or os.cpu_count() or 1
    top = max(args.levels + ([args.find_max_limit] if args.find_max else []))
    env = {"STATECAST_MAX_STREAMS": str(max(32, top))}  # admission must not refuse a level; all else as shipped
    if args.max_ahead is not None:
        env["STATECAST_MAX_AHEAD_S"] = str(args.max_ahead)

    report: dict = {"blocks": [], "find_max": None}
    server = None
    if args.server:
        base_url = "http://" + args.server.removeprefix("http://").rstrip("/")
    else:
        log(f"starting statecast serve ({args.voices or 'default voices'}, one inference thread)")
        server = ServerProcess(args.voices, env)
        base_url = server.__enter__()
    pools: dict[str, object] = {}
    try:
        report["voices"] = _voices_info(base_url)
        if report["voices"]["fixture_random_weights"]:
            log("NOTE: the voice bundle is a random-weight fixture: real compute cost, noise for audio")
        target = StateCastTarget(base_url, args.voice, args.stream_timeout)
        await target.warm_up()
        for spec in peers:
            log(f"starting {workers} {spec} workers")
            pools[spec] = await _start_peer_pool(spec, workers)

        for level in args.levels:
            log(f"level {level}: statecast (load {loadavg()})")
            block = await target.block(level, args)
            report["blocks"].append(block)
            for spec in peers:
                cap = caps.get(spec.split(":")[0])
                if cap is not None and level > cap:
                    continue
                log(f"level {level}: {spec} (load {loadavg()})")
                pool = pools[spec]
                report["blocks"].append(await run_block(spec, level, args, lambda r, t, o, p=pool: peer_wave(p, r, t, o)))

        if args.find_max:
            report["find_max"] = await _find_max(target, args, log)
    finally:
        for pool in pools.values():
            pool.shutdown(cancel_futures=True)
        if server is not None:
            server.__exit__(None, None, None)
    report["peers"] = peers
    report["peer_caps"] = caps
    report["workers"] = workers
    report["server_env"] = env if server is not None else None
    return report


def run(args: argparse.Namespace, out: Path) -> dict:
    from ..errors import StatecastError
    from ..eval.results_io import machine_info, package_versions, write_json
    from .load_stats import format_table

    if args.burst:
        args.stagger = 0.0
    if args.stagger < 0 or args.min_samples < 1 or args.turn_sentences < 1 or args.stream_timeout <= 0:
        raise StatecastError("--stagger must be >= 0, and --min-samples, --turn-sentences and --stream-timeout positive")
    if args.find_max and not any(args.find_max_from <= n <= args.find_max_limit for n in FIND_MAX_LADDER):
        raise StatecastError(f"--find-max has no level between {args.find_max_from} and {args.find_max_limit}; "
                             f"it tries {', '.join(map(str, FIND_MAX_LADDER))}")
    from ..engines import TEACHER_FAMILIES as FAMILIES

    bad = [p for p in (args.peer or []) if p.split(":")[0] not in FAMILIES]
    if bad or len(set(args.peer or [])) != len(args.peer or []):
        raise StatecastError(f"--peer takes each of {', '.join(f + ':<voice>' for f in FAMILIES)} once; got {' '.join(args.peer)}")
    if args.workers is not None and args.workers < 1:
        raise StatecastError(f"--workers must be at least 1, got {args.workers}")
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise StatecastError("the load benchmark needs the websockets package (install the server extra)") from None

    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    meta = {**machine_info(), **git_commit(),
            **{"packages": package_versions(["torch", "websockets", "uvicorn", "onnxruntime", "piper-tts", "kokoro-onnx"])}}
    body = asyncio.run(_main(args, log))
    reference = body["peers"][0] if body["peers"] else None
    report = {
        "benchmark": "load",
        "meta": {**meta, "loadavg_at_end": loadavg(), "voices": body["voices"], "voice": args.voice,
                 "levels": args.levels, "stagger_s": args.stagger, "min_samples": args.min_samples,
                 "turn_sentences": args.turn_sentences, "sentences": SENTENCES, "server": args.server or "child process",
                 "server_env": body["server_env"], "max_ahead_s": args.max_ahead, "peers": body["peers"],
                 "peer_caps": body["peer_caps"], "peer_workers": body["workers"], "reference_engine": reference,
                 "notes": "TTFA = request sent -> first chunk received; RTF = request sent -> last chunk / audio seconds "
                          "(a paced server keeps streams <= max_ahead_s ahead of real time, so long turns sit near 1 by "
                          "design; server_rtf = the scheduler's compute seconds per audio second over the block); "
                          "underrun = a chunk arriving after the audio received before it would have finished playing "
                          "(playback starting at the first chunk); first speech = request sent -> the first audible "
                          "5 ms window plays (tts.eval.timing.speech_onset); an underrun 'in speech' comes after that "
                          "point, where a listener hears the gap (one before it only delays the first word). "
                          "Peers: a pool of single-threaded engine processes, one chunk per frontend phrase, timed "
                          "when the worker has it."},
        "blocks": body["blocks"],
        "find_max": body["find_max"],
    }
    write_json(report, out)
    if body["voices"]["fixture_random_weights"]:
        print("StateCast voices: random-weight fixture bundle (real architecture cost; the audio is noise)")
    print(f"load average at start {meta['loadavg_at_start']}, at end {report['meta']['loadavg_at_end']} on "
          f"{meta['cpu_count']} CPUs")
    print(format_table(body["blocks"], reference))
    fm = body["find_max"]
    if fm is not None:
        stop = f"stopped at {fm['stopped_at']}" if fm["stopped_at"] else f"every level up to {fm['ladder'][-1]} passed"
        print(f"find-max (from {fm['ladder'][0]}): largest level with no underrun at all: "
              f"{fm['largest_clean_level'] or 'none'}; with no gap in speech: "
              f"{fm['largest_speech_clean_level'] or 'none'}; with none past the second chunk: "
              f"{fm['largest_steady_clean_level'] or 'none'} ({stop})")
    print(f"wrote {out}")
    return report
