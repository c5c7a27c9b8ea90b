"""Score codec resynthesis against the original teacher audio: Whisper WER and DNSMOS.

Usage:
    statecast train codec --run main --resynth /tmp/resynth --count 16
    python benchmarks/eval_codec_resynth.py /tmp/resynth [--out results/eval_codec_resynth.json]

The resynth directory holds held-out clips (never trained on) as
``<id>.orig.wav`` / ``<id>.codec.wav`` and ``resynth.jsonl`` with their texts.
The codec's targets: WER <= 1.1x the original's, DNSMOS OVRL within 0.3.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import soundfile as sf

from tts.eval.asr import WhisperASR
from tts.eval.audio import to_16k
from tts.eval.dnsmos import DnsMos
from tts.eval.wer import score, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("resynth_dir", type=Path)
    ap.add_argument("--out", type=Path, default=Path("results/eval_codec_resynth.json"))
    args = ap.parse_args()
    rows = [json.loads(line) for line in (args.resynth_dir / "resynth.jsonl").read_text().splitlines() if line]
    if not rows:
        raise SystemExit(f"no clips listed in {args.resynth_dir / 'resynth.jsonl'}")
    asr, mos = WhisperASR(), DnsMos()
    report = {"clips": len(rows), "dir": str(args.resynth_dir)}
    for kind in ("orig", "codec"):
        clips = []
        for r in rows:
            audio, sr = sf.read(args.resynth_dir / r[kind], dtype="float32")
            clips.append(to_16k(audio, sr))
        hyps = asr.transcribe_many(clips)
        per_clip = [score(r["text"], h) for r, h in zip(rows, hyps)]
        errors = total(per_clip)
        ovrl = [mos.score(c)["ovrl"] for c in clips]
        report[kind] = {"wer": round(errors.rate, 4), "errors": errors.errors,
                        "dnsmos_ovrl": round(float(np.nanmean(ovrl)), 3),
                        # Kept so that a change of WER normaliser can rescore without resynthesis.
                        "rows": [{"text": r["text"], "hypothesis": h, "errors": e.errors, "dnsmos_ovrl": m}
                                 for r, h, e, m in zip(rows, hyps, per_clip, ovrl)]}
    o, c = report["orig"], report["codec"]
    report["wer_ratio"] = round(c["wer"] / o["wer"], 2) if o["wer"] else math.inf
    report["dnsmos_drop"] = round(o["dnsmos_ovrl"] - c["dnsmos_ovrl"], 3)
    print(f"{'audio':<8} {'WER':>7} {'DNSMOS OVRL':>12}")
    for kind in ("orig", "codec"):
        print(f"{kind:<8} {report[kind]['wer']:>7.1%} {report[kind]['dnsmos_ovrl']:>12.2f}")
    print(f"WER ratio {report['wer_ratio']} (target <= 1.1), DNSMOS drop {report['dnsmos_drop']} (target <= 0.3)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
