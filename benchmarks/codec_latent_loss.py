"""Held-out loss of codec decoders on what they are fed: encoder tokens and the acoustic model's latents.

Usage:
    statecast train acoustic --latents jit --weights voices/acoustic        # <cache>/latents/jit
    python benchmarks/codec_latent_loss.py voices/codec <cache>/train/codec/gta/step-N.pt \\
        --latents <cache>/latents/jit --count 48 --out results/codec_latent_loss.json

For the first ``count`` held-out clips (never trained on by the codec or the
acoustic model) that have latents, each codec decodes (a) the dequantised
tokens of its own encoder and (b) the acoustic model's teacher-forced expected
latents (``tts.train.student_latents``), whole clip from zero state, and the
log-mel L1 to the clip's audio is averaged over clips (the training loss's
mel term; the first three frames, which lack overlap, are left out as in
training). (b) minus (a) is how much worse a decoder renders what synthesis
gives it than what its encoder gives it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from tts.train.audio_data import load_clips, read_crop
from tts.train.codec import codec_from_path
from tts.train.losses import MelLoss


@torch.no_grad()
def clip_losses(codec, clips, latents_dir: Path, mel: MelLoss) -> dict[str, float]:
    skip = (codec.cfg.overlap_frames - 1) * codec.cfg.hop
    out = {"tokens": [], "latents": []}
    for c in clips:
        lat = torch.from_numpy(np.load(latents_dir / f"{c.id}.npy").astype(np.float32))[None]  # (1, T, D)
        n = lat.shape[1] * codec.cfg.hop
        x = torch.from_numpy(read_crop(c.path, 0, n))[None]
        enc, _ = codec.quantizer(codec.encoder(x))
        for name, z in (("tokens", enc), ("latents", lat)):
            y, _ = codec.decoder(z)
            out[name].append(float(mel(y[:, skip:n], x[:, skip:])))
    return {k: round(float(np.mean(v)), 4) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("codecs", nargs="+", type=Path, help="exported codec dirs or codec training checkpoints")
    ap.add_argument("--latents", type=Path, required=True, help="directory of <clip id>.npy latents")
    ap.add_argument("--manifest", help="corpus manifest (default <cache>/corpus/manifest.jsonl)")
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--out", type=Path, default=Path("results/codec_latent_loss.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    codecs = [(path, codec_from_path(path).eval()) for path in args.codecs]
    sr = codecs[0][1].cfg.sample_rate
    _, held = load_clips(args.manifest, sr)
    clips = [c for c in held if (args.latents / f"{c.id}.npy").exists()][: args.count]
    if not clips:
        raise SystemExit(f"no held-out clip has latents in {args.latents}")
    mel = MelLoss(sr)
    rows = []
    for path, codec in codecs:
        r = {"codec": str(path), "clips": len(clips), **clip_losses(codec, clips, args.latents, mel)}
        r["gap"] = round(r["latents"] - r["tokens"], 4)
        rows.append(r)
        print(f"{str(path)[-60:]:<60} mel L1 tokens {r['tokens']:.4f}  latents {r['latents']:.4f}  gap {r['gap']:+.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"latents": str(args.latents), "clip_ids": [c.id for c in clips],
                                    "results": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
