"""The acoustic model's own latents for the corpus: what the codec decoder is fed in synthesis.

At synthesis time the codec decoder never sees the encoder's quantised
latent. It sees ``TokenLayout.mean_latent`` of the acoustic model's logits:
per FSQ dim, the expected level under the model's distribution, which lies
between the grid points wherever the model is unsure (held-out cross-entropy
is about 0.68 nats per digit, so that is most frames). A decoder trained only
on grid points renders those in-between inputs as it happens to extrapolate.

This module runs the acoustic model teacher-forced over every clip that has
cached tokens (the teacher's durations and previous tokens, as in training)
and stores the expected latent of each frame, aligned frame for frame with
the clip's tokens and so with its audio (frame t <-> samples [t*H, (t+1)*H)).
A decoder fine-tuned on (these latents -> the clip's audio) learns to render
what the acoustic model actually says; the same idea as training a vocoder on
a spectrogram model's ground-truth-aligned outputs (Tacotron 2).

Written as ``<cache>/latents/<name>/<clip id>.npy``, (T, K*G) float16, with
``source.json`` naming the acoustic model and token cache. Resumable: clips
whose file exists are skipped; a second run from another model into the same
directory is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import StatecastError
from ..paths import cache_root, writable_dir

SOURCE_FILE = "source.json"


def latents_dir(name: str) -> Path:
    return cache_root() / "latents" / name


def _identity(model, source: str, tokens_dir: Path) -> dict:
    from .codec_tokens import weights_sha256

    return {"acoustic": source, "weights_sha256": weights_sha256(model.state_dict()), "codec_id": model.cfg.codec_id,
            "tokens_dir": str(tokens_dir), "latent_dim": model.cfg.n_codebooks * len(model.cfg.levels)}


@torch.no_grad()
def teacher_forced_latents(model, batch: dict) -> list[np.ndarray]:
    """One collated batch (``tts.model.data.collate``) -> per clip the expected latent (T_i, K*G) float32."""
    logits, _, _ = model(batch["ids"], batch["id_mask"], batch["frames"], batch["voice"], batch["tokens"])
    lat = model.layout.mean_latent(logits)  # (B, T, K*G)
    lengths = batch["token_mask"].sum(1).tolist()
    return [lat[b, :n].float().cpu().numpy() for b, n in enumerate(lengths)]


def write_student_latents(model, out_dir: Path, manifest: str | Path | None = None,
                          tokens_dir: str | Path | None = None, source: str = "", max_frames: int = 8192,
                          progress: bool = True) -> dict:
    """Write the expected latent of every clip with tokens not yet in out_dir. -> counts."""
    from ..model.data import bucket_batches, collate, load_examples, token_cache_dir

    model = model.eval()
    tdir = Path(tokens_dir) if tokens_dir else token_cache_dir(model.cfg.codec_id)
    out_dir = writable_dir(out_dir, "latent cache")
    ident = _identity(model, source, tdir)
    id_path = out_dir / SOURCE_FILE
    if id_path.exists():
        old = json.loads(id_path.read_text())
        if old.get("weights_sha256") != ident["weights_sha256"]:
            raise StatecastError(f"{out_dir} holds latents of another acoustic model ({old.get('acoustic')}); "
                                 "use another name or delete that directory")
    else:
        id_path.write_text(json.dumps(ident, indent=2) + "\n")
    train, held, _ = load_examples(model.cfg, manifest, tdir)
    examples = [ex for ex in train + held if not (out_dir / f"{ex.id}.npy").exists()]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(examples), desc=f"latents -> {out_dir.name}", unit="clip", dynamic_ncols=True)
    for group in bucket_batches(examples, max_frames) if examples else []:
        batch = [examples[i] for i in group]
        dev = model.device
        tensors = {k: v.to(dev) for k, v in collate(batch).items()}
        for ex, lat in zip(batch, teacher_forced_latents(model, tensors)):
            tmp = out_dir / f"{ex.id}.tmp.npy"
            np.save(tmp, lat.astype(np.float16))
            tmp.replace(out_dir / f"{ex.id}.npy")
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    total = len(train) + len(held)
    return {"written": len(examples), "skipped": total - len(examples), "total": total}
