"""Durations in frames: from the teachers (training), from the predictor (inference), and the
length regulator that expands phoneme encodings to frames.

Alignment for training comes from the teachers, not from an aligner. Every
corpus row carries per-phoneme durations from the teacher's own duration
predictor (the exact durations it rendered the audio with: Kokoro's are
whole 40 Hz frames, Piper's whole 256-sample hops at 22.05 kHz), plus the
silence before and after. That is ground truth for the audio in the row,
so it beats monotonic alignment search (which would have to rediscover it
from a half-trained model, and is the usual source of skipped or doubled
phonemes early in training). MAS would only be needed for a corpus
without teacher timings; none is planned.

Frame placement. A phrase is read as units ``[PAD] + phonemes + [PAD]``:
the edge PADs carry the lead / trail silence. Codec frame t describes the
audio centred ``shift`` frames after ``t / frame_rate`` (the codec's
synthesis window), so conditioning frame t gets the unit sounding at time
``(t + shift) / frame_rate``. Unit boundaries are rounded cumulatively
(never per unit), so totals match the token count exactly and no rounding
error builds up over a long clip.
"""

from __future__ import annotations

import math

import torch

from ..errors import StatecastError


def frames_from_teacher(durations: list[float], lead: float, trail: float, n_frames: int,
                        frame_rate: float, shift: float) -> list[int]:
    """Frames per unit ``[lead] + durations + [trail]`` for a clip of ``n_frames`` codec frames.

    Frame t belongs to the unit whose span holds ``(t + shift) / frame_rate``;
    frames past the end of the trail stay with the trail. Returns S + 2 ints
    summing to ``n_frames``.
    """
    bounds = [lead]
    for d in durations:
        bounds.append(bounds[-1] + d)
    starts = [0]
    for b in bounds:
        pos = round((b * frame_rate - shift), 6)  # first frame whose centre is at or past b
        starts.append(min(max(math.ceil(pos), 0), n_frames))
    starts.append(n_frames)
    return [starts[i + 1] - starts[i] for i in range(len(starts) - 1)]


def frames_from_log(log_dur: torch.Tensor, mask: torch.Tensor, speed: float = 1.0) -> torch.Tensor:
    """Predicted log(1 + frames) (B, S) -> integer frames (B, S), scaled by 1 / speed.

    Rounded cumulatively, so a phrase's total is the rounded total of its
    continuous durations rather than the sum of S rounding errors.
    """
    cont = torch.expm1(log_dur.float()).clamp_min(0) * mask / speed
    ends = torch.round(torch.cumsum(cont, dim=-1))
    frames = torch.diff(ends, dim=-1, prepend=torch.zeros_like(ends[..., :1]))
    return frames.long() * mask


def check_speed(speed: float, lo: float, hi: float) -> float:
    if not isinstance(speed, (int, float)) or not math.isfinite(speed) or not lo <= speed <= hi:
        raise StatecastError(f"speed {speed!r} is outside the supported range [{lo}, {hi}]")
    return float(speed)


def position_features(frames: torch.Tensor) -> torch.Tensor:
    """Within-unit position of every frame, from frames per unit (S,) long -> (T, 3).

    Features: fraction through the unit ((j + 0.5) / n), log(1 + n), log(1 + j).
    They tell the decoder where it is inside a phoneme, so transitions land
    where the durations put them.
    """
    n = torch.repeat_interleave(frames, frames).float()
    unit_start = torch.repeat_interleave(torch.cumsum(frames, 0) - frames, frames)
    j = (torch.arange(int(n.numel()), device=frames.device) - unit_start).float()
    return torch.stack([(j + 0.5) / n, torch.log1p(n) / 3, torch.log1p(j) / 3], dim=-1)


def length_regulate(h: torch.Tensor, frames: torch.Tensor, n_frames: int | None = None):
    """Repeat each unit's encoding by its frame count.

    h (B, S, E), frames (B, S) long (0 on padding) -> (hf (B, T, E), pos (B, T, 3),
    frame_mask (B, T) bool) with T = n_frames or the longest total; frames past a
    row's total are zero.
    """
    B, S, E = h.shape
    totals = frames.sum(-1)
    T = int(totals.max()) if n_frames is None else n_frames
    if n_frames is not None and int(totals.max()) > n_frames:
        raise ValueError(f"durations total {int(totals.max())} frames > n_frames {n_frames}")
    hf = h.new_zeros(B, T, E)
    pos = h.new_zeros(B, T, 3)
    for b in range(B):  # B is a batch of phrases; the work inside is vectorised
        tb = int(totals[b])
        hf[b, :tb] = torch.repeat_interleave(h[b], frames[b], dim=0)
        pos[b, :tb] = position_features(frames[b]).to(h.dtype)
    frame_mask = torch.arange(T, device=h.device)[None, :] < totals[:, None]
    return hf, pos, frame_mask


def length_regulate_ref(h: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference for one phrase, one frame at a time: h (S, E), frames (S,) -> (T, E), (T, 3)."""
    rows, feats = [], []
    for s in range(h.shape[0]):
        n = int(frames[s])
        for j in range(n):
            rows.append(h[s])
            feats.append(torch.tensor([(j + 0.5) / n, math.log1p(n) / 3, math.log1p(j) / 3]))
    if not rows:
        return h.new_zeros(0, h.shape[1]), h.new_zeros(0, 3)
    return torch.stack(rows), torch.stack(feats).to(h.dtype)
