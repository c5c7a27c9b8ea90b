"""Benchmark the acoustic model's inference step (and, with --train, a training step) on the CPU.

Measurements, each comparing paths inside the same run (the machine is shared,
so ratios are more trustworthy than absolute times; CPU time of this thread is
reported beside wall time because it excludes time spent waiting for a core):

1. step latency per frame, at batch 1 and 16, at frame 50 and at frame 5000
   (the SSM's cost must be flat in utterance length), for three paths:
   ``ref`` (``AcousticModel.step``: module calls, checked kernel step),
   ``lean`` (``fast_step.LeanStepper``: folded weights, ~20 ops per layer),
   ``native`` (``native_step.NativeStepper``: the lean math as one C call,
   built with gcc on first use) and ``compiled`` (the lean step through
   ``torch.compile``);
2. state bytes per stream;
3. time to first frame: plan a phrase (encoder + durations + conditioning)
   and take the first decoder step;
4. (--train) training frames per second: forward + backward + AdamW on
   B=8 x 512 frames of synthetic data, to set against the 5.3 s/step of the
   sequential Mamba-1 baseline at 8 x 256 (DESIGN.md).

    python benchmarks/bench_acoustic_step.py                  # small config, all paths
    python benchmarks/bench_acoustic_step.py --no-compile --far 1000
    python benchmarks/bench_acoustic_step.py --train --train-threads 1,2

Prints a table and writes JSON (default results/bench_acoustic_step.json).
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tts.model import AcousticModel, small_config, tiny_config  # noqa: E402
from tts.model.fast_step import LeanStepper  # noqa: E402
from tts.model.native_step import NativeStepper  # noqa: E402

SENTENCE = "Your table for four is booked at seven thirty tonight."


def per_step(step, state, cond, n: int) -> dict:
    """Mean wall and thread-CPU milliseconds per call over n calls."""
    w0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(n):
        step(state, cond)
    return {"wall_ms": (time.perf_counter() - w0) / n * 1e3, "cpu_ms": (time.thread_time() - c0) / n * 1e3}


def bench_steps(model, paths: dict, batches: list[int], near: int, far: int, n: int) -> list[dict]:
    rows = []
    for name, step in paths.items():
        for B in batches:
            state = model.init_state(B)
            cond = torch.randn(B, model.cfg.d_model)
            for _ in range(near):  # reach frame `near` (also the warm-up)
                step(state, cond)
            at_near = per_step(step, state, cond, n)
            while int(state.frame[0]) < far:
                step(state, cond)
            at_far = per_step(step, state, cond, n)
            rows.append({"path": name, "batch": B, "frame_near": near, "frame_far": far,
                         "near_cpu_ms": round(at_near["cpu_ms"], 4), "near_wall_ms": round(at_near["wall_ms"], 4),
                         "far_cpu_ms": round(at_far["cpu_ms"], 4), "far_wall_ms": round(at_far["wall_ms"], 4),
                         "far_over_near_cpu": round(at_far["cpu_ms"] / at_near["cpu_ms"], 3),
                         "cpu_ms_per_stream_near": round(at_near["cpu_ms"] / B, 4)})
            print(f"  {name:9s} B={B:<3d} frame {near}: {at_near['cpu_ms']:.3f} ms cpu ({at_near['wall_ms']:.3f} wall)"
                  f" | frame {far}: {at_far['cpu_ms']:.3f} ms cpu ({at_far['wall_ms']:.3f} wall)", flush=True)
    return rows


def phrase_ids(model) -> tuple[list[int], str]:
    try:
        from tts.text.frontend import Frontend

        phrases = Frontend("en-us").phrases(SENTENCE)
        return phrases[0].ids(), phrases[0].phonemes
    except Exception as exc:  # no espeak here: a phrase of the same length
        print(f"  (frontend unavailable: {exc}; using 40 random ids)")
        g = torch.Generator().manual_seed(0)
        return torch.randint(4, model.cfg.n_symbols, (40,), generator=g).tolist(), ""


def bench_first_frame(model, step, reps: int) -> dict:
    ids, phonemes = phrase_ids(model)
    voice = model.voice_vector("af_heart")
    plan_ms, first_ms = [], []
    for _ in range(reps + 2):
        c0 = time.thread_time()
        plan = model.plan_phrase(ids, voice)
        c1 = time.thread_time()
        state = model.init_state(1)
        step(state, plan.cond[:1])
        c2 = time.thread_time()
        plan_ms.append((c1 - c0) * 1e3)
        first_ms.append((c2 - c1) * 1e3)
    plan_ms, first_ms = plan_ms[2:], first_ms[2:]
    out = {"phonemes": len(ids), "planned_frames": plan.n_frames, "plan_cpu_ms": round(statistics.median(plan_ms), 3),
           "first_step_cpu_ms": round(statistics.median(first_ms), 3),
           "first_frame_cpu_ms": round(statistics.median([a + b for a, b in zip(plan_ms, first_ms)]), 3)}
    print(f"  first frame: plan {out['plan_cpu_ms']} ms ({len(ids)} phonemes {phonemes[:30]!r}...) + "
          f"init + step {out['first_step_cpu_ms']} ms = {out['first_frame_cpu_ms']} ms cpu", flush=True)
    return out


def bench_train(cfg, threads: int, batch: int, frames: int, steps: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AcousticModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    S = frames // 5
    g = torch.Generator().manual_seed(0)
    b = {"ids": torch.randint(4, cfg.n_symbols, (batch, S), generator=g),
         "id_mask": torch.ones(batch, S, dtype=torch.bool),
         "frames": torch.full((batch, S), 5, dtype=torch.long),
         "voice": torch.arange(batch) % len(cfg.voices),
         "tokens": torch.randint(0, cfg.codebook_size, (batch, cfg.n_codebooks, frames), generator=g),
         "token_mask": torch.ones(batch, frames, dtype=torch.bool)}
    times = []
    for i in range(steps + 1):
        w0 = time.perf_counter()
        parts = model.losses(b)
        loss = parts["tokens"] + 0.5 * parts["duration"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i:  # the first step pays for allocations
            times.append(time.perf_counter() - w0)
        print(f"  train step {i}: {time.perf_counter() - w0:.2f} s", flush=True)
    sec = statistics.median(times)
    out = {"threads": threads, "batch": batch, "frames": frames, "sec_per_step": round(sec, 3),
           "frames_per_s": round(batch * frames / sec, 1),
           "vs_sequential_mamba1_8x256_5.3s": round(5.3 / sec * (batch * frames) / (8 * 256), 2)}
    print(f"  training: {sec:.2f} s/step for {batch} x {frames} frames = {out['frames_per_s']} frames/s", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=("small", "tiny"), default="small")
    ap.add_argument("--model", action="append", default=[], metavar="KEY=VALUE", help="config override (ints)")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--near", type=int, default=50)
    ap.add_argument("--far", type=int, default=5000)
    ap.add_argument("--n", type=int, default=300, help="timed steps per measurement")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--paths", default="ref,lean,native,compiled")
    ap.add_argument("--reps", type=int, default=20, help="repetitions of the first-frame measurement")
    ap.add_argument("--train", action="store_true", help="also time a training step (B x frames)")
    ap.add_argument("--train-threads", default="1,2", help="thread counts to time training at")
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--train-frames", type=int, default=512)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "results" / "bench_acoustic_step.json"))
    args = ap.parse_args()

    torch.set_num_threads(1)
    overrides = {k: int(v) for k, v in (kv.split("=", 1) for kv in args.model)}
    cfg = (small_config if args.config == "small" else tiny_config)(**overrides)
    torch.manual_seed(0)
    model = AcousticModel(cfg).eval()
    batches = [int(b) for b in args.batches.split(",")]
    wanted = [p for p in args.paths.split(",") if p and not (p == "compiled" and args.no_compile)]
    print(f"acoustic step benchmark: {args.config} {cfg.n_layers} x {cfg.d_model}, N={cfg.d_state}, "
          f"params {model.parameter_counts()} | load {os.getloadavg()[0]:.1f}", flush=True)

    paths, compile_s = {}, None
    if "ref" in wanted:
        paths["ref"] = lambda s, c: model.step(s, c)
    if "lean" in wanted:
        paths["lean"] = LeanStepper(model).step
    native_s = None
    if "native" in wanted:
        t0 = time.perf_counter()
        paths["native"] = NativeStepper(model).step  # raises if gcc cannot build it
        native_s = round(time.perf_counter() - t0, 2)
        print(f"  native step ready in {native_s} s (a build on first use, then a cached load)", flush=True)
    if "compiled" in wanted:
        compiled = LeanStepper(model, compile=True)
        t0 = time.perf_counter()
        for B in batches:  # compile (dynamic shapes) before timing anything
            s = model.init_state(B)
            for _ in range(3):
                compiled.step(s, torch.randn(B, cfg.d_model))
        compile_s = round(time.perf_counter() - t0, 1)
        print(f"  torch.compile of the lean step: {compile_s} s", flush=True)
        paths["compiled"] = compiled.step

    rows = bench_steps(model, paths, batches, args.near, args.far, args.n)
    fastest = min(paths, key=lambda p: next(r["near_cpu_ms"] for r in rows if r["path"] == p and r["batch"] == batches[0]))
    first = bench_first_frame(model, paths[fastest], args.reps)
    first["step_path"] = fastest
    state_bytes = model.init_state(1).nbytes_per_stream()
    b1 = {r["path"]: r for r in rows if r["batch"] == 1}
    rtf = {p: round(r["near_cpu_ms"] / (1000 / cfg.frame_rate), 4) for p, r in b1.items()}
    print(f"  state per stream: {state_bytes} bytes ({state_bytes / 1024:.1f} KiB); conditioning queue: "
          f"{cfg.d_model * 4} bytes per queued frame")
    print(f"  acoustic-only real-time factor at batch 1 (cpu): {rtf}")
    train = [bench_train(cfg, int(t), args.train_batch, args.train_frames, args.train_steps)
             for t in args.train_threads.split(",")] if args.train else None

    print()
    print(f"{'path':9s} {'B':>3s} {'cpu ms @near':>13s} {'cpu ms @far':>12s} {'far/near':>9s} {'ms/stream':>10s} {'wall ms':>8s}")
    for r in rows:
        print(f"{r['path']:9s} {r['batch']:3d} {r['near_cpu_ms']:13.3f} {r['far_cpu_ms']:12.3f} "
              f"{r['far_over_near_cpu']:9.3f} {r['cpu_ms_per_stream_near']:10.4f} {r['near_wall_ms']:8.3f}")

    doc = {"benchmark": "bench_acoustic_step", "host": platform.node(), "cpu_count": os.cpu_count(),
           "load_avg_1m": round(os.getloadavg()[0], 2), "torch": torch.__version__, "threads": 1,
           "config": cfg.to_dict(), "parameters": model.parameter_counts(), "compile_seconds": compile_s, "native_ready_seconds": native_s,
           "steps": rows, "state_bytes_per_stream": state_bytes,
           "cond_bytes_per_queued_frame": cfg.d_model * 4, "first_frame": first,
           "acoustic_rtf_batch1_cpu": rtf, "train": train,
           "note": "cpu_ms = thread CPU time per call (excludes waiting for a core on this shared machine)"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
