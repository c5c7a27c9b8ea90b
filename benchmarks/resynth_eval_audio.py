"""The codec's ceiling on the public sentences: teacher audio -> codec tokens -> audio.

Usage:
    statecast eval --engine kokoro:af_heart --engine piper:joe --save-audio /tmp/eval_audio --out /tmp/t.json
    python benchmarks/resynth_eval_audio.py /tmp/eval_audio/kokoro_af_heart /tmp/ceiling_af_heart
    python benchmarks/eval_codec_resynth.py /tmp/ceiling_af_heart --out results/codec_ceiling_af_heart.json

The first argument is one engine's folder of ``<index>.wav`` takes, in the
order of the sentence set. Each take is resampled to the codec's rate,
encoded and decoded offline with the shipped codec (or ``--weights``), and
written as ``<index>.orig.wav`` / ``<index>.codec.wav`` with a
``resynth.jsonl`` that ``eval_codec_resynth.py`` scores. A student voice can
be no better than its teacher's audio through this codec: the score is the
ceiling the acoustic model works under.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import soundfile as sf
import torch

from tts.codec import load_codec
from tts.data.corpus import resample
from tts.eval.sentences import load_sentences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("takes_dir", type=Path, help="one engine's <index>.wav folder from statecast eval --save-audio")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--weights", type=Path, default=Path("voices/codec"), help="exported codec directory")
    ap.add_argument("--sentences", help="sentence file the takes were made from (default: the public set)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    codec = load_codec(args.weights)
    sentences = load_sentences(args.sentences).sentences
    takes = sorted(args.takes_dir.glob("[0-9][0-9][0-9].wav"))
    if len(takes) != len(sentences):
        raise SystemExit(f"{args.takes_dir} holds {len(takes)} takes for {len(sentences)} sentences")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rate = codec.cfg.sample_rate
    with open(args.out_dir / "resynth.jsonl", "w") as index:
        for path, text in zip(takes, sentences):
            audio, sr = sf.read(path, dtype="float32", always_2d=False)
            if sr != rate:
                audio = resample(audio, sr, rate)
            pcm = codec.decode(codec.encode(audio, rate))[: audio.shape[0]].clamp(-1.0, 1.0)
            stem = path.stem
            sf.write(args.out_dir / f"{stem}.orig.wav", audio, rate, subtype="PCM_16")
            sf.write(args.out_dir / f"{stem}.codec.wav", pcm.numpy(), rate, subtype="PCM_16")
            index.write(json.dumps({"id": stem, "text": text, "orig": f"{stem}.orig.wav",
                                    "codec": f"{stem}.codec.wav"}) + "\n")
    print(f"wrote {len(takes)} pairs to {args.out_dir}")


if __name__ == "__main__":
    main()
