"""Quick A/B of codec weights by DNSMOS alone: the same teacher takes through each.

Usage:
    python benchmarks/codec_dnsmos_ab.py voices/codec <cache>/train/codec/RUN/step-N.pt ... \\
        --takes /tmp/ceiling_af_heart --takes /tmp/ceiling_joe --count 16 --out results/codec_ab.json

Each codec is an exported directory or a training checkpoint. Takes are the
``<index>.orig.wav`` files of resynth_eval_audio.py's folders. No ASR, so a
comparison of a few checkpoints takes minutes; confirm a winner with
eval_codec_resynth.py, which also scores Whisper WER.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from tts.eval.audio import to_16k
from tts.eval.dnsmos import DnsMos
from tts.train.codec import codec_from_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("codecs", nargs="+", type=Path, help="exported codec dirs or codec training checkpoints")
    ap.add_argument("--takes", type=Path, action="append", required=True, help="folder of <index>.orig.wav")
    ap.add_argument("--count", type=int, default=16, help="takes per folder")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    mos = DnsMos()
    report = {"count": args.count, "takes": [str(t) for t in args.takes], "codecs": {}}
    for src in args.codecs:
        codec = codec_from_path(src).eval()
        row = {}
        for folder in args.takes:
            scores = []
            for path in sorted(folder.glob("*.orig.wav"))[: args.count]:
                audio, sr = sf.read(path, dtype="float32", always_2d=False)
                with torch.inference_mode():
                    pcm = codec.decode(codec.encode(audio, sr))[: audio.shape[0]].clamp(-1.0, 1.0).numpy()
                scores.append(mos.score(to_16k(pcm, codec.cfg.sample_rate)))
            row[folder.name] = {k: round(float(np.nanmean([s[k] for s in scores])), 3) for k in ("ovrl", "sig", "bak")}
        report["codecs"][str(src)] = row
        print(src, json.dumps(row), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
