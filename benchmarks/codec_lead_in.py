"""Does the codec's cold start cost words? Resynthesise with a lead-in of digital silence.

Usage:
    statecast train codec --weights voices/codec --resynth /tmp/resynth --count 48
    python benchmarks/codec_lead_in.py /tmp/resynth /tmp/resynth_lead3 --frames 3
    python benchmarks/eval_codec_resynth.py /tmp/resynth_lead3 --out results/eval_codec_resynth_lead3.json

Training never scores the first ``overlap_frames - 1`` hops of a crop, so
a decoder that starts from its zero state has never been taught those
samples. Here each original clip gets ``--frames`` hops of zeros in front,
goes through encode + decode, and loses those hops again; everything else
(clips, texts, scorer) is the resynthesis directory's own, so the two runs
differ only in the start state.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from tts.codec import load_codec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("resynth_dir", type=Path, help="a directory written by statecast train codec --resynth")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--frames", type=int, default=3, help="hops of digital silence before each clip")
    ap.add_argument("--weights", type=Path, default=Path("voices/codec"), help="exported codec directory")
    args = ap.parse_args()
    if args.frames < 0:
        raise SystemExit("--frames must be 0 or more")
    torch.set_num_threads(1)
    codec = load_codec(args.weights)
    pad = args.frames * codec.cfg.hop
    rows = [json.loads(line) for line in (args.resynth_dir / "resynth.jsonl").read_text().splitlines() if line]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with open(args.out_dir / "resynth.jsonl", "w") as index:
        for r in rows:
            audio, sr = sf.read(args.resynth_dir / r["orig"], dtype="float32")
            if sr != codec.cfg.sample_rate:
                raise SystemExit(f"{r['orig']}: {sr} Hz, the codec wants {codec.cfg.sample_rate}")
            padded = np.concatenate([np.zeros(pad, np.float32), audio])
            pcm = codec.decode(codec.encode(padded, sr))[pad: pad + len(audio)].clamp(-1.0, 1.0)
            shutil.copy(args.resynth_dir / r["orig"], args.out_dir / r["orig"])
            sf.write(args.out_dir / r["codec"], pcm.numpy(), sr)
            index.write(json.dumps(r) + "\n")
    print(f"wrote {len(rows)} pairs with a {args.frames}-hop lead-in to {args.out_dir}")


if __name__ == "__main__":
    main()
