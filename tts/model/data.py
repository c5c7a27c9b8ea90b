"""Training data for the acoustic model: corpus manifest + cached codec tokens.

Tokens are computed once per clip by the codec and cached as
``<cache>/tokens/<codec_id>/<clip_id>.npy``, (K, T) int16. The T frames line
up with ``lead + sum(durations) + trail`` at the frame rate; a clip whose
token count is off by more than ``MAX_FRAME_MISMATCH`` frames is an error
(the tokens belong to some other audio), not something to pad over.
Alignment comes from the teacher durations in the manifest
(``durations.frames_from_teacher``).

Batches are bucketed by length under a frame budget (B x longest T <= max_frames),
so little compute goes to padding; their order is a pure function of
(seed, epoch), which makes a resumed run see exactly the batches it would
have seen.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.manifest import is_heldout, read_manifest
from ..errors import StatecastError
from ..paths import cache_root
from ..text.symbols import SYMBOLS, phonemes_to_ids
from .acoustic import PAD_ID
from .config import AcousticConfig
from .durations import frames_from_teacher

MAX_FRAME_MISMATCH = 2


def token_cache_dir(codec_id: str = "default") -> Path:
    return cache_root() / "tokens" / codec_id


@dataclass
class Example:
    """One clip: units (S,) incl. edge PADs, frames (S,), voice index, tokens (K, T)."""

    id: str
    units: np.ndarray
    frames: np.ndarray
    voice: int
    tokens: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.tokens.shape[1])


def example_from_row(row: dict, tokens: np.ndarray, cfg: AcousticConfig) -> Example:
    """A manifest row + its cached tokens (K, T) -> Example, or a StatecastError saying what is off."""
    cid = row["id"]
    if tokens.ndim != 2 or tokens.shape[0] != cfg.n_codebooks:
        raise StatecastError(f"tokens of clip {cid} have shape {tokens.shape}, expected ({cfg.n_codebooks}, T)")
    T = int(tokens.shape[1])
    expected = math.ceil(round(float(row["duration"]) * cfg.frame_rate, 6))
    if abs(expected - T) > MAX_FRAME_MISMATCH:
        raise StatecastError(f"clip {cid}: {T} token frames but its duration says {expected} "
                             f"(> {MAX_FRAME_MISMATCH} off: tokens from other audio?)")
    ids = phonemes_to_ids(row["phonemes"])
    if len(ids) != len(row["durations"]):
        raise StatecastError(f"clip {cid}: {len(ids)} phonemes but {len(row['durations'])} durations")
    frames = frames_from_teacher(row["durations"], float(row["lead"]), float(row["trail"]), T,
                                 cfg.frame_rate, cfg.cond_shift_frames)
    if int(tokens.min(initial=0)) < 0 or int(tokens.max(initial=0)) >= cfg.codebook_size:
        raise StatecastError(f"clip {cid}: tokens outside [0, {cfg.codebook_size})")
    return Example(id=cid, units=np.array([PAD_ID, *ids, PAD_ID], dtype=np.int64),
                   frames=np.array(frames, dtype=np.int64), voice=cfg.voices.index(row["speaker"]),
                   tokens=tokens.astype(np.int64))


def load_examples(cfg: AcousticConfig, manifest: str | Path | None = None,
                  tokens_dir: str | Path | None = None) -> tuple[list[Example], list[Example], dict]:
    """(train, held-out, counts) from the manifest rows that have cached tokens and a known voice."""
    rows = read_manifest(manifest)
    tdir = Path(tokens_dir) if tokens_dir else token_cache_dir(cfg.codec_id)
    train, held = [], []
    counts = {"rows": len(rows), "no_tokens": 0, "unknown_voice": 0}
    for row in rows:
        if row["speaker"] not in cfg.voices:
            counts["unknown_voice"] += 1
            continue
        path = tdir / f"{row['id']}.npy"
        if not path.exists():
            counts["no_tokens"] += 1
            continue
        ex = example_from_row(row, np.load(path), cfg)
        (held if is_heldout(row["id"]) else train).append(ex)
    if not train:
        raise StatecastError(f"no training clips: {counts['rows']} manifest rows, {counts['no_tokens']} without "
                             f"tokens in {tdir}, {counts['unknown_voice']} with a voice the model lacks")
    counts.update(train=len(train), heldout=len(held))
    return train, held, counts


def manifest_speakers(manifest: str | Path | None = None) -> list[str]:
    return sorted({row["speaker"] for row in read_manifest(manifest)})


def trim_lead(ex: Example, k: int) -> Example:
    """The clip with its first ``k`` frames cut (all from the leading silence unit, which keeps >= 1)."""
    k = max(0, min(int(k), int(ex.frames[0]) - 1))
    if k == 0:
        return ex
    frames = ex.frames.copy()
    frames[0] -= k
    return Example(id=ex.id, units=ex.units, frames=frames, voice=ex.voice, tokens=ex.tokens[:, k:])


def collate(batch: list[Example]) -> dict[str, torch.Tensor]:
    """Examples -> padded tensors: ids / id_mask / frames (B, S), voice (B,), tokens (B, K, T), token_mask (B, T)."""
    B = len(batch)
    S = max(len(ex.units) for ex in batch)
    T = max(ex.n_frames for ex in batch)
    K = batch[0].tokens.shape[0]
    ids = torch.zeros(B, S, dtype=torch.long)
    frames = torch.zeros(B, S, dtype=torch.long)
    id_mask = torch.zeros(B, S, dtype=torch.bool)
    tokens = torch.zeros(B, K, T, dtype=torch.long)
    token_mask = torch.zeros(B, T, dtype=torch.bool)
    for b, ex in enumerate(batch):
        s, t = len(ex.units), ex.n_frames
        ids[b, :s] = torch.from_numpy(ex.units)
        frames[b, :s] = torch.from_numpy(ex.frames)
        id_mask[b, :s] = True
        tokens[b, :, :t] = torch.from_numpy(ex.tokens)
        token_mask[b, :t] = True
    voice = torch.tensor([ex.voice for ex in batch], dtype=torch.long)
    return {"ids": ids, "id_mask": id_mask, "frames": frames, "voice": voice, "tokens": tokens,
            "token_mask": token_mask}


SHORT_CLIP_FRAMES = 80  # 2 s at 40 Hz: one- to four-word replies, lead and trail included


def repeat_short(examples: list[Example], times: int, max_frames: int = SHORT_CLIP_FRAMES) -> list[Example]:
    """``examples`` plus ``times - 1`` more copies of each clip of at most ``max_frames`` frames.

    Copies land in the same length buckets as their originals, so a batch of
    short clips may hold one clip several times: the same as weighting it.
    """
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise StatecastError(f"short clip repeat must be a positive integer, got {times!r}")
    short = [ex for ex in examples if ex.n_frames <= max_frames]
    return examples + short * (times - 1)


def bucket_batches(examples: list[Example], max_frames: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, each with B x longest T <= max_frames."""
    order = sorted(range(len(examples)), key=lambda i: examples[i].n_frames)
    batches, current, longest = [], [], 0
    for i in order:
        t = examples[i].n_frames
        if current and max(longest, t) * (len(current) + 1) > max_frames:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, t)
    if current:
        batches.append(current)
    return batches


class BatchSchedule:
    """Step -> batch, deterministic in (seed, epoch): resuming at step s replays the same order."""

    def __init__(self, examples: list[Example], max_frames: int, seed: int = 0, lead_trim: float = 0.0):
        self.examples = examples
        self.batches = bucket_batches(examples, max_frames)
        self.seed = seed
        # Share of clips whose leading silence is cut short by a random number of frames, so
        # the model starts speaking when the conditioning says so rather than after the lead
        # length it saw most (a Kokoro voice whose lead was planned shorter lost its first word).
        self.lead_trim = float(lead_trim)
        self._epoch, self._order = -1, []

    def __len__(self) -> int:
        return len(self.batches)

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        epoch, pos = divmod(step, len(self.batches))
        if epoch != self._epoch:
            self._order = list(range(len(self.batches)))
            random.Random(self.seed * 1_000_003 + epoch).shuffle(self._order)
            self._epoch = epoch
        batch = [self.examples[i] for i in self.batches[self._order[pos]]]
        if self.lead_trim > 0:
            rng = random.Random(self.seed * 1_000_003 + step * 7 + 1)
            batch = [trim_lead(ex, rng.randint(0, max(0, int(ex.frames[0]) - 1)))
                     if rng.random() < self.lead_trim else ex for ex in batch]
        return collate(batch)


def write_synthetic_corpus(directory: str | Path, n_clips: int, cfg: AcousticConfig, seed: int = 0,
                           frames_range: tuple[int, int] = (60, 400)) -> tuple[Path, Path]:
    """A corpus of random phonemes, durations and *learnable* tokens, for tests and throughput runs.

    Each phoneme id maps to a fixed token pair (plus 10% noise), so a model that
    learns anything lowers the loss. Writes ``manifest.jsonl`` and
    ``tokens/<id>.npy``; returns (manifest path, tokens dir).
    """
    d = Path(directory)
    tdir = d / "tokens"
    tdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    letters = [i for i, s in enumerate(SYMBOLS) if s.isalpha()]
    code_of = rng.integers(0, cfg.codebook_size, size=(len(SYMBOLS), cfg.n_codebooks))
    rows = []
    for n in range(n_clips):
        target = int(rng.integers(*frames_range))
        frames = []
        while sum(frames) < target - 8:
            frames.append(int(rng.integers(1, 7)))
        ids = rng.choice(letters, size=len(frames))
        lead, trail = 4, 4
        T = lead + sum(frames) + trail
        tokens = np.zeros((cfg.n_codebooks, T), dtype=np.int16)
        unit_codes = [code_of[0]] + [code_of[i] for i in ids] + [code_of[0]]
        unit_frames = [lead - int(cfg.cond_shift_frames)] + frames + [trail + int(cfg.cond_shift_frames)]
        t = 0
        for code, f in zip(unit_codes, unit_frames):
            tokens[:, t:t + f] = np.asarray(code)[:, None]
            t += f
        noise = rng.random(tokens.shape) < 0.1
        tokens[noise] = rng.integers(0, cfg.codebook_size, size=int(noise.sum()))
        cid = f"synth{seed:02d}{n:06d}"
        np.save(tdir / f"{cid}.npy", tokens)
        rows.append({"id": cid, "teacher": "synthetic", "speaker": cfg.voices[n % len(cfg.voices)],
                     "phonemes": "".join(SYMBOLS[i] for i in ids),
                     "durations": [f / cfg.frame_rate for f in frames], "lead": lead / cfg.frame_rate,
                     "trail": trail / cfg.frame_rate, "duration": T / cfg.frame_rate,
                     "audio": f"audio/{cid}.flac", "sample_rate": 24000})
    manifest = d / "manifest.jsonl"
    with open(manifest, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return manifest, tdir
