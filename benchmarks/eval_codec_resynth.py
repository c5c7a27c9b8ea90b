"""Score codec resynthesis against the original teacher audio: Whisper WER and DNSMOS.

Usage:
    statecast train codec --run main --resynth /tmp/resynth --count 16
    python benchmarks/eval_codec_resynth.py /tmp/resynth [--out results/eval_codec_resynth.json]
    python benchmarks/eval_codec_resynth.py --rescore results/eval_codec_resynth.json --out FILE
        (the stored transcripts scored again with the current WER normaliser)

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
    ap.add_argument("resynth_dir", type=Path, nargs="?")
    ap.add_argument("--out", type=Path, default=Path("results/eval_codec_resynth.json"))
    ap.add_argument("--rescore", type=Path, default=None, metavar="FILE",
                    help="score the transcripts stored in FILE again (no ASR, no DNSMOS)")
    args = ap.parse_args()
    if args.rescore is not None:
        report = json.loads(args.rescore.read_text())
        for kind in ("orig", "codec"):
            if "rows" not in report.get(kind, {}):
                raise SystemExit(f"{args.rescore} keeps no transcripts ({kind}.rows); run the benchmark again")
            per_clip = [score(r["text"], r["hypothesis"]) for r in report[kind]["rows"]]
            for r, e in zip(report[kind]["rows"], per_clip):
                r["errors"] = e.errors
            errors = total(per_clip)
            report[kind].update(wer=round(errors.rate, 4), errors=errors.errors)
        finish(report, args.out)
        return
    if args.resynth_dir is None:
        ap.error("give the resynth directory, or --rescore FILE")
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
    finish(report, args.out)


def finish(report: dict, out: Path) -> None:
    """Ratios, a printed table, and the JSON file."""
    o, c = report["orig"], report["codec"]
    report["wer_ratio"] = round(c["wer"] / o["wer"], 2) if o["wer"] else math.inf
    report["dnsmos_drop"] = round(o["dnsmos_ovrl"] - c["dnsmos_ovrl"], 3)
    print(f"{'audio':<8} {'WER':>7} {'DNSMOS OVRL':>12}")
    for kind in ("orig", "codec"):
        print(f"{kind:<8} {report[kind]['wer']:>7.1%} {report[kind]['dnsmos_ovrl']:>12.2f}")
    print(f"WER ratio {report['wer_ratio']} (target <= 1.1), DNSMOS drop {report['dnsmos_drop']} (target <= 0.3)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
