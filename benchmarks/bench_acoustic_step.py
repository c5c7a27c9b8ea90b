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
2b. the same step beside a causal Transformer decoder of the same width and
   depth with a KV cache (``benchmarks/kv_baseline.py``), its cache prefilled
   with random keys/values to frames 50, 1000 and 5000: ms per step, the cost
   ratio frame 5000 / frame 50 and bytes of state/cache per stream, for
   both decoders in one table (``constant_cost`` in the JSON);
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

sys.path.insert(0, str(REPO / "benchmarks"))
from kv_baseline import KVDecoder, KVDecoderConfig  # noqa: E402

SENTENCE = "Your table for four is booked at seven thirty tonight."


def per_step(step, state, cond, n: int) -> dict:
    """Mean wall and thread-CPU milliseconds per call over n calls."""
    w0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(n):
        step(state, cond)
    return {"wall_ms": (time.perf_counter() - w0) / n * 1e3, "cpu_ms": (time.thread_time() - c0) / n * 1e3}


def bench_steps(model, paths: dict, batches: list[int], near: int, far: int, n: int,
                mid: int | None = None) -> list[dict]:
    rows = []
    for name, step in paths.items():
        for B in batches:
            state = model.init_state(B)
            cond = torch.randn(B, model.cfg.d_model)
            for _ in range(near):  # reach frame `near` (also the warm-up)
                step(state, cond)
            at_near = per_step(step, state, cond, n)
            at_mid = None
            if mid is not None and near < mid < far:  # on the way to `far` anyway
                while int(state.frame[0]) < mid:
                    step(state, cond)
                at_mid = per_step(step, state, cond, n)
            while int(state.frame[0]) < far:
                step(state, cond)
            at_far = per_step(step, state, cond, n)
            rows.append({"path": name, "batch": B, "frame_near": near, "frame_far": far,
                         "near_cpu_ms": round(at_near["cpu_ms"], 4), "near_wall_ms": round(at_near["wall_ms"], 4),
                         "far_cpu_ms": round(at_far["cpu_ms"], 4), "far_wall_ms": round(at_far["wall_ms"], 4),
                         "far_over_near_cpu": round(at_far["cpu_ms"] / at_near["cpu_ms"], 3),
                         "cpu_ms_per_stream_near": round(at_near["cpu_ms"] / B, 4)})
            if at_mid is not None:
                rows[-1].update({"frame_mid": mid, "mid_cpu_ms": round(at_mid["cpu_ms"], 4),
                                 "mid_wall_ms": round(at_mid["wall_ms"], 4)})
            print(f"  {name:9s} B={B:<3d} frame {near}: {at_near['cpu_ms']:.3f} ms cpu ({at_near['wall_ms']:.3f} wall)"
                  f" | frame {far}: {at_far['cpu_ms']:.3f} ms cpu ({at_far['wall_ms']:.3f} wall)", flush=True)
    return rows


def bench_kv(kv: KVDecoder, batches: list[int], frames: list[int], n: int) -> list[dict]:
    """The Transformer step at each cache length in ``frames``, for each batch size.

    The cache is prefilled with random keys/values to length t (stepping 5000
    times would only cost time); every timed call then writes position t and
    attends over t + 1 entries, resetting the length so all n calls see the
    same frame.
    """
    rows = []
    g = torch.Generator().manual_seed(0)
    for B in batches:
        x = torch.randn(B, kv.cfg.d_model, generator=g)
        for t in frames:
            cache = kv.init_cache(B, capacity=t + 1)
            cache.fill_random(t, generator=g)

            def step(cache, x, t=t):
                cache.length = t
                kv.step(x, cache)

            for _ in range(5):  # warm-up
                step(cache, x)
            m = per_step(step, cache, x, n)
            cache.length = t
            rows.append({"path": "transformer_kv", "batch": B, "frame": t, "cpu_ms": round(m["cpu_ms"], 4),
                         "wall_ms": round(m["wall_ms"], 4), "cache_bytes_per_stream": cache.nbytes_per_stream()})
            print(f"  {'kv':9s} B={B:<3d} frame {t}: {m['cpu_ms']:.3f} ms cpu ({m['wall_ms']:.3f} wall), "
                  f"cache {cache.nbytes_per_stream() / 2**20:.2f} MiB/stream", flush=True)
            del cache
    return rows


def constant_cost_table(ssm_rows: list[dict], kv_rows: list[dict], state_bytes: int, frames: list[int]) -> list[dict]:
    """One row per (decoder path, batch): cpu ms per step and bytes per stream at each frame, and the ratio last/first."""
    table = []
    for r in ssm_rows:
        ms = {r["frame_near"]: r["near_cpu_ms"], r["frame_far"]: r["far_cpu_ms"]}
        if "frame_mid" in r:
            ms[r["frame_mid"]] = r["mid_cpu_ms"]
        table.append({"decoder": "ssm", "path": r["path"], "batch": r["batch"],
                      "cpu_ms": {str(t): ms[t] for t in sorted(ms)},
                      "bytes_per_stream": {str(t): state_bytes for t in sorted(ms)}})
    for B in sorted({r["batch"] for r in kv_rows}):
        rs = sorted((r for r in kv_rows if r["batch"] == B), key=lambda r: r["frame"])
        table.append({"decoder": "transformer_kv", "path": "sdpa", "batch": B,
                      "cpu_ms": {str(r["frame"]): r["cpu_ms"] for r in rs},
                      "bytes_per_stream": {str(r["frame"]): r["cache_bytes_per_stream"] for r in rs}})
    lo, hi = str(min(frames)), str(max(frames))
    for row in table:
        ms = row["cpu_ms"]
        row["ratio_far_over_near"] = round(ms[hi] / ms[lo], 3) if lo in ms and hi in ms else None
        row["ratio_frames"] = f"{hi}/{lo}"
    return table


def print_constant_cost(table: list[dict], frames: list[int]) -> None:
    cols = [str(t) for t in frames]
    head = " ".join(f"{'ms@' + c:>9s}" for c in cols) + " " + " ".join(f"{'KiB@' + c:>10s}" for c in cols)
    print(f"{'decoder':15s} {'path':7s} {'B':>3s} {head} {'ratio ' + cols[-1] + '/' + cols[0]:>15s}")
    for row in table:
        ms = " ".join(f"{row['cpu_ms'].get(c, float('nan')):9.3f}" for c in cols)
        kib = " ".join(f"{row['bytes_per_stream'].get(c, float('nan')) / 1024:10.1f}" for c in cols)
        ratio = row["ratio_far_over_near"]
        print(f"{row['decoder']:15s} {row['path']:7s} {row['batch']:3d} {ms} {kib} "
              f"{'-' if ratio is None else f'{ratio:.3f}':>15s}")


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
    ap.add_argument("--mid", type=int, default=1000, help="also time the SSM paths here on the way to --far")
    ap.add_argument("--no-kv", action="store_true", help="skip the Transformer/KV-cache baseline")
    ap.add_argument("--kv-mlp-ratio", type=int, default=4, help="MLP width of the Transformer baseline, x d_model")
    ap.add_argument("--kv-n", type=int, default=100, help="timed Transformer steps per measurement")
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
    load_start = round(os.getloadavg()[0], 2)
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

    with torch.no_grad():
        rows = bench_steps(model, paths, batches, args.near, args.far, args.n, mid=args.mid)
    kv_frames = sorted({args.near, args.mid, args.far})
    kv_doc = kv_rows = None
    if not args.no_kv:
        torch.manual_seed(0)
        kv_cfg = KVDecoderConfig(**{**KVDecoderConfig.like(cfg).__dict__, "mlp_ratio": args.kv_mlp_ratio})
        kv = KVDecoder(kv_cfg).eval()
        print(f"  transformer baseline: {kv_cfg.n_layers} x {kv_cfg.d_model}, {kv_cfg.n_heads} heads, "
              f"mlp x{kv_cfg.mlp_ratio}, {kv.parameter_count()} params (SSM decoder: "
              f"{model.parameter_counts()['decoder']})", flush=True)
        with torch.no_grad():
            kv_rows = bench_kv(kv, batches, kv_frames, args.kv_n)
        kv_doc = {"config": dict(kv_cfg.__dict__), "parameters": kv.parameter_count(),
                  "attention": "F.scaled_dot_product_attention, one query over the cache",
                  "cache": "preallocated (B, H, t, Dh) per layer, prefilled with random keys/values",
                  "steps": kv_rows}
    fastest = min(paths, key=lambda p: next(r["near_cpu_ms"] for r in rows if r["path"] == p and r["batch"] == batches[0]))
    first = bench_first_frame(model, paths[fastest], args.reps)
    first["step_path"] = fastest
    state_bytes = model.init_state(1).nbytes_per_stream()
    b1 = {r["path"]: r for r in rows if r["batch"] == 1}
    rtf = {p: round(r["near_cpu_ms"] / (1000 / cfg.frame_rate), 4) for p, r in b1.items()}
    print(f"  state per stream: {state_bytes} bytes ({state_bytes / 1024:.1f} KiB); conditioning queue: "
          f"{cfg.d_model * 4} bytes per queued frame")
    print(f"  acoustic-only real-time factor at batch 1 (cpu): {rtf}")
    constant_cost = constant_cost_table(rows, kv_rows or [], state_bytes, kv_frames)
    train = [bench_train(cfg, int(t), args.train_batch, args.train_frames, args.train_steps)
             for t in args.train_threads.split(",")] if args.train else None

    print()
    print(f"{'path':9s} {'B':>3s} {'cpu ms @near':>13s} {'cpu ms @far':>12s} {'far/near':>9s} {'ms/stream':>10s} {'wall ms':>8s}")
    for r in rows:
        print(f"{r['path']:9s} {r['batch']:3d} {r['near_cpu_ms']:13.3f} {r['far_cpu_ms']:12.3f} "
              f"{r['far_over_near_cpu']:9.3f} {r['cpu_ms_per_stream_near']:10.4f} {r['near_wall_ms']:8.3f}")
    print()
    print(f"constant cost per frame (thread cpu ms per step; state/cache KiB per stream; load {os.getloadavg()[0]:.1f}):")
    print_constant_cost(constant_cost, kv_frames)

    doc = {"benchmark": "bench_acoustic_step", "host": platform.node(), "cpu_count": os.cpu_count(),
           "load_avg_1m": round(os.getloadavg()[0], 2), "torch": torch.__version__, "threads": 1,
           "config": cfg.to_dict(), "parameters": model.parameter_counts(), "compile_seconds": compile_s, "native_ready_seconds": native_s,
           "steps": rows, "state_bytes_per_stream": state_bytes,
           "cond_bytes_per_queued_frame": cfg.d_model * 4, "first_frame": first,
           "acoustic_rtf_batch1_cpu": rtf, "train": train,
           "kv_baseline": kv_doc, "constant_cost": constant_cost, "load_avg_1m_start": load_start,
           "note": "cpu_ms = thread CPU time per call (excludes waiting for a core on this shared machine)"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
