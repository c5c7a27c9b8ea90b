"""Audio crops from the corpus for codec training.

Training rows are every manifest row that is not held out
(`tts.data.manifest.is_heldout`: crc32(id) % 50 == 0 is never trained on).
A batch is B random crops, clips drawn in proportion to their duration, each
crop read straight from its FLAC with a seek (no full decode). Clips shorter
than a crop are zero-padded: silence is real data for a TTS codec.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.manifest import corpus_dir, is_heldout, read_manifest
from ..errors import StatecastError, require

HELDOUT_RULE = "zlib.crc32(id) % 50 == 0 is held out (tts.data.manifest.is_heldout)"


@dataclass
class Clip:
    id: str
    path: Path
    frames: int  # samples
    text: str = ""


def load_clips(manifest: Path | str | None, sample_rate: int) -> tuple[list[Clip], list[Clip]]:
    """-> (train clips, held-out clips), both sorted by id so runs are reproducible."""
    rows = read_manifest(manifest)
    path = Path(manifest) if manifest else corpus_dir()
    root = path if path.is_dir() else path.parent
    train, held = [], []
    for r in sorted(rows, key=lambda r: r["id"]):
        if int(r.get("sample_rate", sample_rate)) != sample_rate:
            raise StatecastError(f"clip {r['id']} is {r['sample_rate']} Hz; the codec trains on {sample_rate} Hz")
        clip = Clip(r["id"], root / r["audio"], int(round(float(r["duration"]) * sample_rate)), r.get("text", ""))
        (held if is_heldout(r["id"]) else train).append(clip)
    if not train:
        raise StatecastError(f"no training clips in the manifest ({len(rows)} rows, all held out or none)")
    return train, held


def read_crop(path: Path, start: int, length: int) -> np.ndarray:
    """Samples [start, start+length) of a mono file as float32, zero-padded past its end."""
    sf = require("soundfile", "train")
    data, _ = sf.read(str(path), start=start, frames=length, dtype="float32", always_2d=True)
    out = np.zeros(length, dtype=np.float32)
    out[: data.shape[0]] = data[:, 0]
    return out


class CropSampler(torch.utils.data.IterableDataset):
    """Endless batches (B, crop) float32 of random crops with random gain.

    Seeded by (seed, start_step, worker id), so a resumed run draws fresh
    crops instead of replaying the ones it already saw.
    """

    def __init__(self, clips: list[Clip], crop: int, batch: int, seed: int, start_step: int = 0,
                 gain_db: tuple[float, float] = (-6.0, 3.0)):
        self.clips, self.crop, self.batch = clips, crop, batch
        self.seed, self.start_step, self.gain_db = seed, start_step, gain_db
        self.weights = [max(c.frames, 1) for c in clips]

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info else 0
        rng = random.Random(self.seed * 1_000_003 + self.start_step * 101 + wid)
        while True:
            picks = rng.choices(self.clips, weights=self.weights, k=self.batch)
            crops = []
            for c in picks:
                start = rng.randint(0, max(c.frames - self.crop, 0))
                x = read_crop(c.path, start, self.crop)
                x *= 10 ** (rng.uniform(*self.gain_db) / 20)
                peak = float(np.abs(x).max())
                if peak > 0.99:  # gain must not clip: rescale instead
                    x *= 0.99 / peak
                crops.append(x)
            yield torch.from_numpy(np.stack(crops))


def fixed_eval_batch(clips: list[Clip], crop: int, count: int) -> torch.Tensor | None:
    """(count, crop): the first `count` held-out clips, each from its start. Same every run."""
    if not clips:
        return None
    return torch.from_numpy(np.stack([read_crop(c.path, 0, crop) for c in clips[:count]]))


class LatentCropSampler(CropSampler):
    """Endless batches mixing encoder crops with crops paired with given latents.

    Yields (x (B, crop) float32, latents (B, crop // hop, D) float32, use (B,) bool).
    Item b with use[b] is a crop that starts on a frame boundary of a clip
    with a latent file (``<latents_dir>/<id>.npy``, (T, D), frame t <-> samples
    [t*hop, (t+1)*hop)), read at its recorded level: no random gain, since
    the latents encode the clip's loudness as it was. It lies wholly inside
    the clip (a latent past the end would be a made-up input), so clips
    shorter than a crop are not drawn for it. The other items are the plain
    random crops of ``CropSampler`` (their latent rows are zeros, unused).
    A share ``share`` of each batch, rounded, is of the first kind.
    """

    def __init__(self, clips: list[Clip], crop: int, batch: int, seed: int, start_step: int,
                 latents_dir: Path, hop: int, share: float, gain_db: tuple[float, float] = (-6.0, 3.0)):
        super().__init__(clips, crop, batch, seed, start_step, gain_db)
        if crop % hop:
            raise StatecastError(f"crop {crop} is not a whole number of {hop}-sample frames")
        self.latents_dir, self.hop = Path(latents_dir), hop
        self.n_paired = int(round(share * batch))
        self.frames = crop // hop
        self.paired = [c for c in clips if c.frames >= crop and (self.latents_dir / f"{c.id}.npy").exists()]
        if self.n_paired and not self.paired:
            raise StatecastError(f"no clip of at least {crop} samples has latents in {self.latents_dir}")
        first = np.load(self.latents_dir / f"{self.paired[0].id}.npy", mmap_mode="r") if self.paired else None
        self.dim = int(first.shape[1]) if first is not None else 0
        self.paired_weights = [c.frames for c in self.paired]

    def paired_crop(self, clip: Clip, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
        """-> (audio (crop,), latents (crop // hop, D)) from a random frame-aligned start."""
        lat = np.load(self.latents_dir / f"{clip.id}.npy", mmap_mode="r")
        last = min(lat.shape[0], clip.frames // self.hop) - self.frames
        f0 = rng.randint(0, max(last, 0))
        x = read_crop(clip.path, f0 * self.hop, self.crop)
        return x, np.asarray(lat[f0:f0 + self.frames], dtype=np.float32)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info else 0
        rng = random.Random(self.seed * 1_000_003 + self.start_step * 101 + wid + 7)
        plain = super().__iter__()
        while True:
            x = next(plain)
            lat = torch.zeros(self.batch, self.frames, self.dim)
            use = torch.zeros(self.batch, dtype=torch.bool)
            picks = rng.choices(self.paired, weights=self.paired_weights, k=self.n_paired) if self.n_paired else []
            for b, clip in enumerate(picks):
                audio, latent = self.paired_crop(clip, rng)
                x[b] = torch.from_numpy(audio)
                lat[b, :latent.shape[0]] = torch.from_numpy(latent)
                use[b] = True
            yield x, lat, use


def fixed_latent_eval_batch(clips: list[Clip], latents_dir: Path, crop: int, hop: int, count: int):
    """(x (n, crop), latents (n, crop // hop, D)): the first `count` held-out clips at least a crop
    long that have latents, each from its start; None when there are none. Same every run."""
    picked = [c for c in clips if c.frames >= crop and (Path(latents_dir) / f"{c.id}.npy").exists()][:count]
    if not picked:
        return None
    x = np.stack([read_crop(c.path, 0, crop) for c in picked])
    lat = np.stack([np.asarray(np.load(Path(latents_dir) / f"{c.id}.npy")[: crop // hop], dtype=np.float32)
                    for c in picked])
    return torch.from_numpy(x), torch.from_numpy(lat)
