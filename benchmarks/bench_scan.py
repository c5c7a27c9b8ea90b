"""Benchmark the selective-scan implementations on the CPU.

Three measurements, each comparing implementations inside the same run (the
machine is shared, so ratios are more trustworthy than absolute times):

1. scan: forward and forward+backward of ``selective_scan_ref`` vs
   ``selective_scan_chunked`` (several chunk sizes) at the training shape
   class: B=8, L=512, d_inner 512 as H=8 heads of P=64, N in {16, 64};
2. step: one ``selective_state_update_ref`` call (one layer, one frame) at
   batch 1 and 16, the inference hot path;
3. model: a full training step (forward, backward, AdamW) of an 8-layer stack
   of a minimal Mamba-2 block (in_proj, causal depthwise conv, scan, gate,
   out_proj), d_model 256, expand 2, over B=8 x L=512, to set against the
   5.3 s/step measured for the sequential Mamba-1 loop (DESIGN.md).

    python benchmarks/bench_scan.py                 # all, 2 threads
    python benchmarks/bench_scan.py --threads 1 --skip-model
    python benchmarks/bench_scan.py --quick         # smoke run, small shapes

Prints a table and writes JSON (default results/bench_scan.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kernels import selective_scan, selective_state_update_ref  # noqa: E402
from kernels.inputs import ScanShape, random_scan_inputs, step_inputs  # noqa: E402


def timed(fn, repeats: int, warmup: int = 1) -> dict:
    """Median and min wall time of ``fn()`` over ``repeats`` runs after ``warmup``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": repeats}


# ---------------------------------------------------------------- scan


def bench_scan(shape: ScanShape, impl: str, chunk: int, repeats: int) -> dict:
    inp = random_scan_inputs(shape, seed=0)
    grads_of = ("x", "dt", "A", "Bm", "Cm", "D")

    def forward():
        with torch.no_grad():
            selective_scan(**inp, impl=impl, chunk_size=chunk)

    def forward_backward():
        leaves = {k: (v.detach().requires_grad_() if k in grads_of else v) for k, v in inp.items()}
        y, h = selective_scan(**leaves, impl=impl, chunk_size=chunk)
        (y.square().mean() + h.square().mean()).backward()

    return {"fwd": timed(forward, repeats), "fwd_bwd": timed(forward_backward, repeats)}


# ---------------------------------------------------------------- step


def bench_step(shape: ScanShape, iters: int) -> dict:
    inp = random_scan_inputs(shape, seed=0)
    args = step_inputs(inp, 0)
    state = inp["initial_state"].clone()

    def run():
        for _ in range(iters):
            selective_state_update_ref(state, **args, inplace=True, check=False)

    t = timed(run, repeats=5)
    return {"us_per_call": 1e6 * t["median_s"] / iters, "us_per_call_min": 1e6 * t["min_s"] / iters}


# ---------------------------------------------------------------- model


class MiniMamba2Block(nn.Module):
    """Pre-norm residual Mamba-2-style block: u (B, L, d_model) -> (B, L, d_model)."""

    def __init__(self, d_model: int, expand: int, head_dim: int, d_state: int, d_conv: int, impl: str, chunk: int):
        super().__init__()
        self.d_inner = expand * d_model
        self.heads, self.head_dim, self.d_state = self.d_inner // head_dim, head_dim, d_state
        self.impl, self.chunk = impl, chunk
        conv_dim = self.d_inner + 2 * d_state
        self.norm = nn.RMSNorm(d_model)
        self.in_proj = nn.Linear(d_model, self.d_inner + conv_dim + self.heads, bias=False)  # z, xBC, dt
        self.conv = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, padding=d_conv - 1)
        dt = torch.exp(torch.rand(self.heads) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        self.A_log = nn.Parameter(torch.log(torch.rand(self.heads) * 15 + 1))
        self.D = nn.Parameter(torch.ones(self.heads))
        self.out_norm = nn.RMSNorm(self.d_inner)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        b, length, _ = u.shape
        z, xbc, dt = self.in_proj(self.norm(u)).split([self.d_inner, self.d_inner + 2 * self.d_state, self.heads], -1)
        xbc = F.silu(self.conv(xbc.transpose(1, 2))[..., :length].transpose(1, 2))  # causal: drop the right pad
        x, Bm, Cm = xbc.split([self.d_inner, self.d_state, self.d_state], -1)
        y, _ = selective_scan(
            x.reshape(b, length, self.heads, self.head_dim),
            F.softplus(dt + self.dt_bias),
            -torch.exp(self.A_log),
            Bm.reshape(b, length, 1, self.d_state),
            Cm.reshape(b, length, 1, self.d_state),
            self.D,
            impl=self.impl,
            chunk_size=self.chunk,
        )
        y = self.out_norm(y.reshape(b, length, self.d_inner) * F.silu(z))
        return u + self.out_proj(y)


def bench_model(impl: str, args, steps: int) -> dict:
    torch.manual_seed(0)
    blocks = nn.Sequential(
        *[
            MiniMamba2Block(args.d_model, 2, args.head_dim, args.model_state, 4, impl, args.chunk)
            for _ in range(args.layers)
        ]
    )
    opt = torch.optim.AdamW(blocks.parameters(), lr=1e-4)
    u = torch.randn(args.batch, args.length, args.d_model)
    target = torch.randn(args.batch, args.length, args.d_model)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(blocks(u), target)
        loss.backward()
        opt.step()

    t = timed(step, repeats=steps)
    t["params"] = sum(p.numel() for p in blocks.parameters())
    t["steps_per_hour"] = 3600 / t["median_s"]
    return t


# ---------------------------------------------------------------- main


def run_suite(args, threads: int) -> dict:
    """All measurements at one thread count; prints the table as it goes."""
    torch.set_num_threads(threads)
    heads = 2 * args.d_model // args.head_dim
    out: dict = {"threads": threads, "loadavg_start": os.getloadavg(), "scan": [], "step": [], "model": {}}
    print(f"\n=== threads={threads} load={out['loadavg_start']}")
    print(f"scan fwd / fwd+bwd, B={args.batch} L={args.length} H={heads} P={args.head_dim} (median s)")
    print(f"{'N':>4} {'impl':>12} {'fwd':>9} {'fwd+bwd':>9} {'x vs ref':>9}")
    for n in args.states:
        shape = ScanShape(B=args.batch, L=args.length, H=heads, P=args.head_dim, G=1, N=n)
        ref = bench_scan(shape, "ref", 0, args.ref_repeats)
        rows = [("ref", None, ref)] + [("chunked", q, bench_scan(shape, "chunked", q, args.repeats)) for q in args.chunks]
        for impl, q, r in rows:
            speedup = ref["fwd_bwd"]["median_s"] / r["fwd_bwd"]["median_s"]
            label = impl if q is None else f"{impl} Q={q}"
            print(f"{n:>4} {label:>12} {r['fwd']['median_s']:9.3f} {r['fwd_bwd']['median_s']:9.3f} {speedup:8.1f}x")
            out["scan"].append({"shape": str(shape), "impl": impl, "chunk": q, **r, "fwd_bwd_speedup_vs_ref": speedup})

    print(f"step (torch, one layer H={heads} P={args.head_dim}, in place), microseconds per call")
    for b in (1, 16):
        for n in args.states:
            r = bench_step(ScanShape(B=b, L=1, H=heads, P=args.head_dim, G=1, N=n), iters=200)
            print(f"  B={b:<3} N={n:<3} {r['us_per_call']:8.1f} us")
            out["step"].append({"batch": b, "N": n, **r})

    if not args.skip_model:
        print(f"model training step: {args.layers} x MiniMamba2Block(d_model {args.d_model}, expand 2, "
              f"N {args.model_state}, Q {args.chunk}), B={args.batch} L={args.length}, AdamW")
        impls = ["chunked"] + ([] if args.skip_ref_model else ["ref"])
        for impl in impls:
            r = bench_model(impl, args, steps=args.repeats if impl == "chunked" else args.ref_repeats)
            out["model"][impl] = r
            print(f"  {impl:>8}: {r['median_s']:.2f} s/step (min {r['min_s']:.2f}), "
                  f"{r['steps_per_hour']:.0f} steps/h, {r['params'] / 1e6:.2f}M params")
        if "ref" in out["model"]:
            ratio = out["model"]["ref"]["median_s"] / out["model"]["chunked"]["median_s"]
            out["model"]["chunked_speedup_vs_ref"] = ratio
            print(f"  chunked is {ratio:.1f}x faster than the sequential reference per training step")
    out["loadavg_end"] = os.getloadavg()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[2], help="torch.set_num_threads values (default 2)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--length", type=int, default=512)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--states", type=int, nargs="+", default=[16, 64], help="N values for the scan benchmark")
    p.add_argument("--chunks", type=int, nargs="+", default=[32, 64, 128], help="chunk sizes Q to try")
    p.add_argument("--chunk", type=int, default=64, help="chunk size Q in the model benchmark")
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--model-state", type=int, default=64, help="N in the model benchmark")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per chunked measurement")
    p.add_argument("--ref-repeats", type=int, default=2, help="timed runs per reference measurement (slow)")
    p.add_argument("--skip-model", action="store_true")
    p.add_argument("--skip-ref-model", action="store_true", help="skip the (slow) reference model step")
    p.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    p.add_argument("--out", type=Path, default=REPO / "results" / "bench_scan.json")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.length, args.layers, args.states, args.chunks = 2, 64, 2, [16], [32]
        args.repeats = args.ref_repeats = 1

    results = {
        "env": {
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "malloc_env": {k: os.environ.get(k) for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")},
            "caveat": "shared machine (background corpus job and other work running): "
            "compare ratios within one run, not absolute times across runs",
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "baseline_design_md_s_per_step": 5.3,
        "runs": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for threads in args.threads:  # written after each thread count, so a killed run keeps what it measured
        results["runs"].append(run_suite(args, threads))
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
