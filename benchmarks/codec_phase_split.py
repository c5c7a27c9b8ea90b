"""Where the codec loses quality: its magnitudes or its phase.

Usage:
    python benchmarks/resynth_eval_audio.py <takes> /tmp/ceiling_af_heart
    python benchmarks/codec_phase_split.py /tmp/ceiling_af_heart /tmp/split_af_heart
    python benchmarks/eval_codec_resynth.py /tmp/split_af_heart/<variant> --out results/codec_split_<variant>.json

For every ``<index>.orig.wav`` of a resynthesis folder, the codec encodes the
take and its decoder predicts a log magnitude and a phase per frame and bin.
The teacher's own spectrum on the same frame grid (istft.analysis_spectrum)
lets the two halves be swapped before the same overlap-add synthesis:

    codec        codec magnitude + codec phase (the codec as it is)
    cmag_tphase  codec magnitude + teacher phase: what a perfect phase would give
    tmag_cphase  teacher magnitude + codec phase
    resynth      teacher magnitude + teacher phase (checks the grid: ~ the take)
    cmag_glN     with --griffin-lim N: codec magnitude, its phase refined by N
                 Griffin-Lim iterations (does a consistent phase help?)

Each variant gets its own folder with a ``resynth.jsonl`` for
eval_codec_resynth.py, which scores Whisper WER and DNSMOS; its "orig" is the
take where it lies.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import soundfile as sf
import torch

from tts.codec import load_codec
from tts.codec.istft import analysis_spectrum, overlap_add

VARIANTS = ("codec", "cmag_tphase", "tmag_cphase", "resynth")


def griffin_lim(head, log_mag: torch.Tensor, phase: torch.Tensor, iters: int) -> torch.Tensor:
    """Keep the magnitude, replace the phase by that of the re-analysed synthesis, `iters` times."""
    for _ in range(iters):
        pcm, _ = overlap_add(head.frames(log_mag, phase), None, head.hop)
        phase = torch.angle(analysis_spectrum(pcm, head.n_fft, head.hop, log_mag.shape[1]))
    return phase


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("resynth_dir", type=Path, help="folder of <index>.orig.wav from resynth_eval_audio.py")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--weights", type=Path, default=Path("voices/codec"), help="exported codec directory")
    ap.add_argument("--griffin-lim", type=int, default=0, metavar="N",
                    help="also write codec magnitude + N Griffin-Lim iterations from the codec's phase")
    args = ap.parse_args()
    torch.set_num_threads(1)
    codec = load_codec(args.weights).eval()
    cfg, dec = codec.cfg, codec.decoder
    texts = {}
    index = args.resynth_dir / "resynth.jsonl"
    if index.exists():
        texts = {r["id"]: r["text"] for r in map(json.loads, index.read_text().splitlines()) if r}
    takes = sorted(args.resynth_dir.glob("*.orig.wav"))
    if not takes:
        raise SystemExit(f"no <index>.orig.wav takes in {args.resynth_dir}")
    variants = VARIANTS + ((f"cmag_gl{args.griffin_lim}",) if args.griffin_lim else ())
    rows = {v: [] for v in variants}
    for v in variants:
        (args.out_dir / v).mkdir(parents=True, exist_ok=True)
    for path in takes:
        stem = path.name[: -len(".orig.wav")]
        audio, sr = sf.read(path, dtype="float32", always_2d=False)
        with torch.inference_mode():
            latent = codec.quantizer.dequantize(codec.encode(audio, sr)[None])
            _, _, (log_mag, phase) = dec(latent, with_spectrum=True)
            teacher = analysis_spectrum(torch.from_numpy(audio)[None], dec.head.n_fft, dec.head.hop, log_mag.shape[1])
            t_log_mag, t_phase = torch.log(teacher.abs().clamp_min(1e-7)), torch.angle(teacher)
            pairs = {"codec": (log_mag, phase), "cmag_tphase": (log_mag, t_phase),
                     "tmag_cphase": (t_log_mag, phase), "resynth": (t_log_mag, t_phase)}
            if args.griffin_lim:
                pairs[f"cmag_gl{args.griffin_lim}"] = (log_mag, griffin_lim(dec.head, log_mag, phase,
                                                                            args.griffin_lim))
            for v, (lm, ph) in pairs.items():
                pcm, _ = overlap_add(dec.head.frames(lm, ph), None, dec.head.hop)  # the head's own grid (sub-frames)
                out = pcm[0, : audio.shape[0]].clamp(-1.0, 1.0).numpy()
                sf.write(args.out_dir / v / f"{stem}.codec.wav", out, cfg.sample_rate, subtype="PCM_16")
                # The take itself, by absolute path (a path joined to an absolute one is that one).
                rows[v].append({"id": stem, "text": texts.get(stem, ""), "orig": str(path.resolve()),
                                "codec": f"{stem}.codec.wav"})
    for v in variants:
        with open(args.out_dir / v / "resynth.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows[v])
    print(f"wrote {len(takes)} takes x {len(variants)} variants to {args.out_dir}")


if __name__ == "__main__":
    main()
