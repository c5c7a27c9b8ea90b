"""Benchmark the whole Synthesizer: text in -> PCM out, one thread.

Bundles timed (each loaded with ``Synthesizer.load(threads=1)``):
  * ``fixture-tiny``: the test fixture (tiny random models): plumbing overhead;
  * ``fixture-full``: the shipped architectures with random weights (6 x 256
    acoustic model, 8 x 256 codec), which is what the trained voices will cost;
  * ``real``: voices/ (or --voices-dir), when trained voices are installed.

Measurements (wall and this thread's CPU time; the box is shared, so CPU time
is the fairer "compute only" number):
  1. time to first audio: ``open`` + ``push(sentence)`` + ``flush`` + ``read(2)``
     (text in -> first 2-frame PCM chunk out), split into frontend (normalise +
     G2P), plan (text encoder + durations + conditioning) and first chunk
     (2 decoder steps + codec, plus the opening silence decoded but not sent,
     ``unsent_lead_frames``, see ``Synthesizer.lead_send_frames``);
     "model compute" = plan + first chunk;
  2. real-time factor of one stream (a ~10 s paragraph through ``stream()``,
     2-frame first chunk then 8-frame chunks; frontend and planning included);
  3. continuous batching: N = 1, 4, 16 streams stepped together by
     ``step_streams`` in 8-frame ticks (text planned beforehand): compute per
     second of audio per stream, and per tick.

    python benchmarks/bench_synth.py                    # writes results/bench_synth.json
    python benchmarks/bench_synth.py --bundles fixture-full --batches 1,16
    python benchmarks/bench_synth.py --compile          # also with the torch.compile'd decoder step
    python benchmarks/bench_synth.py --native           # also with the native (C) decoder step

``--native`` swaps the loaded synthesizer's decoder step for
``tts.model.native_step.make_stepper`` (the C step, built on first use),
which is what ``Synthesizer.load`` should do once it takes a ``native`` flag.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tts import Synthesizer  # noqa: E402
from tts.synth.segment import segment_phrases  # noqa: E402
from tts.voices import VOICES_FILE, voices_dir  # noqa: E402

SENTENCE = "Your table for four is booked at seven thirty tonight."
PARAGRAPH = ("Thanks for calling. Your table for four is booked at 7:30 tonight, under the name Smith. "
             "The total deposit is $42.50, and it is refundable until noon tomorrow. "
             "Is there anything else I can help you with?")
AGENT_LINES = [
    "Sure, I can help with that.", "Your order number is 4 8 1 5.", "The next train leaves at 9:15 am.",
    "That will be $12.99, including tax.", "I have moved your appointment to Tuesday.",
    "Sorry, I did not catch that. Could you repeat it?", "The weather tomorrow is sunny, around 22 degrees.",
    "Please hold while I check the booking.",
]


def clock():
    return time.perf_counter(), time.thread_time()


def since(t):
    w, c = clock()
    return (w - t[0]) * 1e3, (c - t[1]) * 1e3


def p50(xs):
    return round(statistics.median(xs), 3)


def unsent_lead(synth) -> int:
    """Frames of SENTENCE's opening silence the first read decodes but does not send (default voice)."""
    s = synth.open()
    s.push(SENTENCE)
    s.flush()
    n = s._skip_frames
    s.cancel()
    return n


def bench_ttfa(synth, repeats: int) -> dict:
    rows = {k: [] for k in ("total_wall", "total_cpu", "frontend_cpu", "plan_cpu", "first_chunk_cpu")}
    frontend = synth._frontend("en-us")
    for _ in range(repeats):
        # End to end, as a caller sees it.
        t = clock()
        s = synth.open()
        s.push(SENTENCE)
        s.flush()
        chunk = s.read(2)
        w, c = since(t)
        assert chunk is not None and chunk.pcm.shape[0] == 2 * synth.hop
        s.cancel()
        rows["total_wall"].append(w)
        rows["total_cpu"].append(c)
        # The same work in its three parts.
        t = clock()
        phrases = segment_phrases(frontend, SENTENCE)
        rows["frontend_cpu"].append(since(t)[1])
        s = synth.open()
        vec = s._voice_vec
        t = clock()
        plan = synth.plan_phrase(phrases[0].ids(), vec)
        rows["plan_cpu"].append(since(t)[1])
        s._push_plan(plan)  # as push() queues it: the first phrase's unsent lead is decoded on the first read
        t = clock()
        s.read(2)
        rows["first_chunk_cpu"].append(since(t)[1])
        s.cancel()
    out = {f"{k}_ms_p50": p50(v) for k, v in rows.items()}
    out["model_compute_cpu_ms_p50"] = round(out["plan_cpu_ms_p50"] + out["first_chunk_cpu_ms_p50"], 3)
    return out


def bench_single(synth, repeats: int) -> dict:
    rtf_w, rtf_c, seconds = [], [], 0.0
    for _ in range(repeats):
        t = clock()
        n = sum(c.pcm.shape[0] for c in synth.stream(PARAGRAPH, first_chunk_frames=2, chunk_frames=8))
        w, c = since(t)
        seconds = n / synth.sample_rate
        rtf_w.append(w / 1e3 / seconds)
        rtf_c.append(c / 1e3 / seconds)
    return {"audio_s": round(seconds, 2), "rtf_wall_p50": round(statistics.median(rtf_w), 4),
            "rtf_cpu_p50": round(statistics.median(rtf_c), 4)}


def bench_batch(synth, n_streams: int, chunk: int = 8) -> dict:
    voices = [v["name"] for v in synth.voices()]
    streams = []
    for i in range(n_streams):
        s = synth.open(voices[i % len(voices)])
        s.push(" ".join(AGENT_LINES[(i + k) % len(AGENT_LINES)] for k in range(3)))
        s.close()
        streams.append(s)
    samples, ticks, frames = 0, [], 0
    t = clock()
    while True:
        live = [s for s in streams if not s.done]
        if not live:
            break
        tick = clock()
        out = synth.step_streams(live, [chunk] * len(live))
        ticks.append(since(tick)[1])
        for c in out:
            if c is not None:
                samples += c.pcm.shape[0]
                frames += c.pcm.shape[0] // synth.hop
    w, c = since(t)
    audio = samples / synth.sample_rate
    return {"streams": n_streams, "audio_s_total": round(audio, 2),
            "rtf_per_stream_wall": round(w / 1e3 / audio, 4), "rtf_per_stream_cpu": round(c / 1e3 / audio, 4),
            "realtime_streams_cpu": round(audio / (c / 1e3), 1),
            "tick_cpu_ms_p50": p50(ticks), "tick_frames": chunk}


def load_maker():
    path = REPO / "tests" / "fixtures" / "make_fixture_voices.py"
    spec = importlib.util.spec_from_file_location("make_fixture_voices", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundles", default="fixture-tiny,fixture-full,real")
    p.add_argument("--voices-dir", help="real voices (default: $STATECAST_VOICES or voices/)")
    p.add_argument("--batches", default="1,4,16")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--compile", action="store_true", help="also time each bundle with Synthesizer.load(compile=True)")
    p.add_argument("--native", action="store_true", help="also time each bundle with the native (C) decoder step")
    p.add_argument("--native-weights", default="fp32", help="native step matmul weights: fp32, bf16 or fp32,bf16")
    p.add_argument("--only-native", action="store_true", help="time only the native decoder step")
    p.add_argument("--lead-send", default="default",
                   help="Synthesizer(lead_send_frames=...): frames of a stream's opening silence sent, "
                        "'all', or 'default' (the Synthesizer's)")
    p.add_argument("--out", default=str(REPO / "results" / "bench_synth.json"))
    args = p.parse_args(argv)
    lead_kw = {} if args.lead_send == "default" else {
        "lead_send_frames": None if args.lead_send == "all" else int(args.lead_send)}
    torch.set_num_threads(1)
    batches = [int(b) for b in args.batches.split(",")]
    results = {"benchmark": "bench_synth", "host": platform.node(), "cpu_count": os.cpu_count(),
               "load_avg_1m": round(os.getloadavg()[0], 2), "torch": torch.__version__, "threads": 1,
               "sentence": SENTENCE, "paragraph": PARAGRAPH, "bundles": {}}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {}
        for name in args.bundles.split(","):
            if name.startswith("fixture-"):
                size = name.split("-", 1)[1]
                dirs[name] = load_maker().make_fixture_voices(Path(tmp) / size, size=size)
            elif name == "real":
                real = voices_dir(args.voices_dir)
                if (real / VOICES_FILE).exists():
                    dirs[name] = real
                else:
                    print(f"real: no voices installed in {real}, skipped")
        runs = [] if args.only_native else [(name, d, "lean") for name, d in dirs.items()]
        if args.native or args.only_native:
            for w in args.native_weights.split(","):
                runs += [(name + "+native" + ("" if w == "fp32" else "-" + w), d, "native-" + w) for name, d in dirs.items()]
        if args.compile:
            runs += [(name + "+compile", d, "compile") for name, d in dirs.items() if name != "fixture-tiny"]
        for name, d, step in runs:
            synth = Synthesizer.load(d, threads=1, compile=step == "compile", **lead_kw)
            if step.startswith("native"):
                from tts.model.native_step import NativeStepper
                synth._stepper = NativeStepper(synth.model, weights=step.split("-", 1)[1])  # raises if it cannot be built: no silent fallback here
                synth._warm()
            row = {"parameters": {"acoustic": synth.model.parameter_counts()["total"],
                                  "codec_decoder": synth.codec.parameter_counts()["decoder"]},
                   "state_bytes_per_stream": synth.open().state_nbytes(),
                   "lead_send_frames": synth.lead_send_frames, "unsent_lead_frames": unsent_lead(synth)}
            row["ttfa"] = bench_ttfa(synth, args.repeats)
            row["single_stream"] = bench_single(synth, max(1, args.repeats // 3))
            # Each batch size twice, the second pass reported: a compiled step specialises
            # on new batch sizes once, which a long-running server pays only at its start.
            row["batched"] = [(bench_batch(synth, b), bench_batch(synth, b))[1] for b in batches]
            results["bundles"][name] = row
            t, s = row["ttfa"], row["single_stream"]
            print(f"{name}: first audio {t['total_cpu_ms_p50']:.1f} ms cpu ({t['total_wall_ms_p50']:.1f} wall; "
                  f"frontend {t['frontend_cpu_ms_p50']:.1f}, model {t['model_compute_cpu_ms_p50']:.1f}), "
                  f"RTF {s['rtf_cpu_p50']:.4f} cpu / {s['rtf_wall_p50']:.4f} wall")
            for b in row["batched"]:
                print(f"  batch {b['streams']:>2}: RTF per stream {b['rtf_per_stream_cpu']:.4f} cpu, "
                      f"{b['realtime_streams_cpu']:.0f} real-time streams per core, tick {b['tick_cpu_ms_p50']:.1f} ms")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
