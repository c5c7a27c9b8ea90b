"""Codec decode speed on one CPU thread: real-time factor and first-chunk latency.

    python benchmarks/bench_codec.py [--weights voices/codec] [--seconds 10] [--out results/bench_codec.json]

Measures, at batch 1 unless said otherwise:
  * offline decode of a whole utterance (x real time),
  * streaming decode in chunks of 1, 2, 3, 7 frames (x real time, per-chunk p50/p95 ms),
  * first-chunk latency: a fresh stream decoding its first chunk (1 and 3 frames),
  * batched streaming (16 streams stepped together, chunk 1 and 3): x real time per stream,
  * offline encode (x real time; it tokenises the corpus),
  * parameters, state bytes per stream, bitrate and token vocabulary.

Timings are best-of-repeats for throughput and medians for latency. The
clock is this thread's CPU time by default (`--clock cpu`; torch runs on the
calling thread with one thread), so other jobs sharing the cores inflate the
numbers only through cache and memory contention, not through preemption;
`--clock wall` measures elapsed time instead. The load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tts.codec import Codec, CodecConfig, load_codec  # noqa: E402


CLOCK = time.thread_time


def _tokens(codec: Codec, batch: int, frames: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, codec.cfg.codebook_size, (batch, codec.cfg.n_codebooks, frames), generator=g)


def bench_offline(codec: Codec, tokens: torch.Tensor, repeats: int) -> float:
    """-> best seconds to decode `tokens` in one call."""
    codec.decode(tokens)
    best = float("inf")
    for _ in range(repeats):
        t = CLOCK()
        codec.decode(tokens)
        best = min(best, CLOCK() - t)
    return best


def bench_stream(codec: Codec, tokens: torch.Tensor, chunk: int, repeats: int) -> tuple[float, list[float]]:
    """-> (best total seconds, per-chunk seconds of the best run)."""
    best, best_chunks = float("inf"), []
    for _ in range(repeats + 1):  # first run warms up
        state = codec.init_state(tokens.shape[0])
        chunks = []
        t0 = CLOCK()
        for i in range(0, tokens.shape[2], chunk):
            t = CLOCK()
            _, state = codec.decode_step(tokens[:, :, i:i + chunk], state)
            chunks.append(CLOCK() - t)
        total = CLOCK() - t0
        if total < best:
            best, best_chunks = total, chunks
    return best, best_chunks


def bench_first_chunk(codec: Codec, chunk: int, trials: int) -> float:
    """-> median seconds for a fresh stream's first decode_step (state creation included)."""
    tokens = _tokens(codec, 1, chunk)
    times = []
    for _ in range(trials + 3):
        t = CLOCK()
        state = codec.init_state(1)
        codec.decode_step(tokens, state)
        times.append(CLOCK() - t)
    return statistics.median(times[3:])


def bench_encode(codec: Codec, seconds: float, repeats: int) -> float:
    sr = codec.cfg.sample_rate
    x = 0.1 * torch.randn(int(seconds * sr), generator=torch.Generator().manual_seed(0))
    codec.encode(x, sr)
    best = float("inf")
    for _ in range(repeats):
        t = CLOCK()
        codec.encode(x, sr)
        best = min(best, CLOCK() - t)
    return best


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="codec directory (safetensors + config.json); default: random init")
    ap.add_argument("--seconds", type=float, default=10.0, help="audio length per measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu: this thread's CPU time (robust on a shared box); wall: elapsed time")
    ap.add_argument("--out", default="results/bench_codec.json")
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter

    torch.set_num_threads(args.threads)
    codec = load_codec(args.weights) if args.weights else Codec(CodecConfig()).eval()
    cfg = codec.cfg
    frames = int(round(args.seconds * cfg.frame_rate))
    audio_s = frames / cfg.frame_rate
    tokens = _tokens(codec, 1, frames)
    load_before = os.getloadavg()[0]

    rows = []  # (name, x real time, note)
    t_off = bench_offline(codec, tokens, args.repeats)
    rows.append(("offline decode", audio_s / t_off, f"{t_off / audio_s * 1e3:.1f} ms per s of audio"))
    stream = {}
    for chunk in (1, 2, 3, 7):
        total, per = bench_stream(codec, tokens, chunk, args.repeats)
        stream[chunk] = {"x_realtime": audio_s / total, "chunk_ms_p50": statistics.median(per) * 1e3,
                         "chunk_ms_p95": pct(per, 0.95) * 1e3, "chunk_audio_ms": chunk * 1e3 / cfg.frame_rate}
        rows.append((f"stream, chunk {chunk}", audio_s / total,
                     f"chunk p50 {stream[chunk]['chunk_ms_p50']:.2f} ms, p95 {stream[chunk]['chunk_ms_p95']:.2f} ms"))
    first = {c: bench_first_chunk(codec, c, 30) * 1e3 for c in (1, 3)}
    batched = {}
    for chunk in (1, 3):
        b_tokens = _tokens(codec, 16, frames // 2)
        total, _ = bench_stream(codec, b_tokens, chunk, max(1, args.repeats - 1))
        batched[chunk] = 16 * (frames // 2) / cfg.frame_rate / total
        rows.append((f"16 streams, chunk {chunk}", batched[chunk], "x real time per stream"))
    t_enc = bench_encode(codec, args.seconds, args.repeats)
    rows.append(("offline encode", args.seconds / t_enc, "tokenising the corpus"))

    result = {
        "config": cfg.describe(),
        "params": codec.parameter_counts(),
        "state_bytes_per_stream": codec.init_state(1).nbytes(),
        "weights": args.weights or "random init",
        "threads": args.threads,
        "clock": args.clock,
        "audio_seconds": audio_s,
        "offline_decode_x_realtime": audio_s / t_off,
        "stream": {str(k): v for k, v in stream.items()},
        "first_chunk_ms": {str(k): v for k, v in first.items()},
        "batched16_x_realtime_per_stream": {str(k): v for k, v in batched.items()},
        "encode_x_realtime": args.seconds / t_enc,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                    "loadavg_1min_before": load_before, "loadavg_1min_after": os.getloadavg()[0]},
    }
    d = cfg.describe()
    print(f"codec: {d['frame_rate_hz']:g} Hz frames, {d['n_codebooks']} x {d['codebook_size']} codes "
          f"(FSQ {d['fsq_levels']}), {d['bitrate_bps']} bit/s, lookahead {d['lookahead_frames']} frames; "
          f"params {result['params']}; state {result['state_bytes_per_stream']} B/stream")
    print(f"clock: {args.clock} time, {args.threads} thread(s)")
    print(f"{'measurement':<22} {'x real time':>12}  note")
    for name, x, note in rows:
        print(f"{name:<22} {x:>12.1f}  {note}")
    for c, ms in first.items():
        print(f"{'first chunk, ' + str(c) + ' fr':<22} {ms:>9.2f} ms  fresh stream, state creation included")
    print(f"load average (1 min): {load_before:.2f} before, {result['machine']['loadavg_1min_after']:.2f} after")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
