"""A causal Transformer decoder with a KV cache: the baseline the SSM decoder is timed against.

The acoustic model's claim is that its per-frame cost and per-stream memory
are flat in utterance length. That claim only means something beside the
usual alternative, so this module builds that alternative at the same width
and depth (d_model, n_layers of the acoustic config) and nothing else: pre-norm
blocks of multi-head self-attention and a GELU MLP, sinusoidal positions added
at the input, and a per-layer key/value cache that grows by one entry a frame.
It is a benchmark baseline, never trained or shipped.

Dimension letters: B batch (streams), T frames, D d_model, H heads,
Dh head_dim (D = H * Dh), t frames already in the cache.

Two paths, held equal by tests/test_kv_baseline.py:

* ``forward(x)`` (B, T, D): the whole sequence at once with an explicit
  masked softmax (the reference, no fused kernels);
* ``step(x, cache)`` (B, D): one frame, attending over the cache with
  ``F.scaled_dot_product_attention`` (the fastest eager path on the CPU).

The cache is preallocated and grown by doubling, so appending a frame is an
in-place write, not a ``torch.cat`` copy of the whole history; what grows per
step is therefore only the attention itself (the honest lower bound for the
Transformer: a cat-based cache would add an O(t) copy on top).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class KVDecoderConfig:
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4  # head_dim 64, as the SSM decoder's heads
    mlp_ratio: int = 4  # the standard Transformer MLP width
    norm_eps: float = 1e-5

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def like(cls, acoustic_cfg) -> "KVDecoderConfig":
        """Same width, depth and head size as an ``AcousticConfig``'s SSM decoder."""
        d = acoustic_cfg.d_model
        heads = max(1, d // acoustic_cfg.head_dim)
        return cls(d_model=d, n_layers=acoustic_cfg.n_layers, n_heads=heads, norm_eps=acoustic_cfg.norm_eps)


class KVCache:
    """Per-layer keys and values for B streams, all at the same length t.

    ``k[i]``, ``v[i]``: (B, H, capacity, Dh) buffers; the first ``length``
    positions are live (``keys(i)`` / ``values(i)`` are (B, H, t, Dh) views).
    """

    def __init__(self, cfg: KVDecoderConfig, batch: int, capacity: int = 64, dtype=torch.float32, device=None):
        self.cfg = cfg
        shape = (batch, cfg.n_heads, max(1, capacity), cfg.head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(cfg.n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(cfg.n_layers)]
        self.length = 0

    @property
    def batch_size(self) -> int:
        return self.k[0].shape[0]

    @property
    def capacity(self) -> int:
        return self.k[0].shape[2]

    def reserve(self, n: int) -> None:
        """Make room for n positions (doubling, so appends are amortised O(1))."""
        if n <= self.capacity:
            return
        new = max(n, 2 * self.capacity)
        for buf in (self.k, self.v):
            for i, old in enumerate(buf):
                grown = old.new_zeros(old.shape[0], old.shape[1], new, old.shape[3])
                grown[:, :, : self.length] = old[:, :, : self.length]
                buf[i] = grown

    def keys(self, layer: int) -> torch.Tensor:
        return self.k[layer][:, :, : self.length]

    def values(self, layer: int) -> torch.Tensor:
        return self.v[layer][:, :, : self.length]

    def fill_random(self, length: int, generator: torch.Generator | None = None) -> None:
        """Pretend ``length`` frames were already decoded (benchmarks: no 5000 real steps)."""
        self.reserve(length + 1)
        for buf in (self.k, self.v):
            for b in buf:
                b[:, :, :length] = torch.randn(b[:, :, :length].shape, generator=generator, dtype=b.dtype)
        self.length = length

    def nbytes_per_stream(self) -> int:
        """Bytes of live keys and values one stream holds at the current length."""
        per_layer = 2 * self.cfg.n_heads * self.length * self.cfg.head_dim * self.k[0].element_size()
        return per_layer * self.cfg.n_layers


def sinusoid(positions: torch.Tensor, d: int) -> torch.Tensor:
    """(T,) integer positions -> (T, d) sinusoidal embeddings."""
    half = d // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    ang = positions.to(torch.float32)[:, None] * freq[None, :]
    out = torch.zeros(positions.shape[0], d)
    out[:, 0 : 2 * half : 2] = ang.sin()
    out[:, 1 : 2 * half : 2] = ang.cos()
    return out


class Block(nn.Module):
    """Pre-norm: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: KVDecoderConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.norm1 = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.mlp_ratio * d), nn.GELU(), nn.Linear(cfg.mlp_ratio * d, d))

    def _heads(self, x: torch.Tensor):
        """(B, T, D) -> q, k, v each (B, H, T, Dh)."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.cfg.n_heads, self.cfg.head_dim).permute(2, 0, 3, 1, 4)
        return q, k, v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reference: (B, T, D) -> (B, T, D) with an explicit causal softmax."""
        B, T, D = x.shape
        q, k, v = self._heads(self.norm1(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.cfg.head_dim)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        att = scores.masked_fill(future, float("-inf")).softmax(-1) @ v  # (B, H, T, Dh)
        x = x + self.proj(att.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp(self.norm2(x))

    def step(self, x: torch.Tensor, cache: KVCache, layer: int) -> torch.Tensor:
        """Fast path: (B, D) one frame -> (B, D); writes this frame's k, v at cache.length.

        The caller advances ``cache.length`` once all layers have written.
        """
        B, D = x.shape
        q, k, v = self._heads(self.norm1(x)[:, None])  # (B, H, 1, Dh)
        t = cache.length
        cache.k[layer][:, :, t : t + 1] = k
        cache.v[layer][:, :, t : t + 1] = v
        keys, vals = cache.k[layer][:, :, : t + 1], cache.v[layer][:, :, : t + 1]
        att = F.scaled_dot_product_attention(q, keys, vals)  # one query sees the whole past: no mask
        x = x + self.proj(att.reshape(B, D))
        return x + self.mlp(self.norm2(x))


class KVDecoder(nn.Module):
    """A stack of ``n_layers`` blocks and a final norm; see the module docstring."""

    def __init__(self, cfg: KVDecoderConfig):
        super().__init__()
        self.cfg = cfg
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm_f = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)

    def init_cache(self, batch: int = 1, capacity: int = 64) -> KVCache:
        """An empty cache for ``batch`` new streams, with room for ``capacity`` frames."""
        p = next(self.parameters())
        return KVCache(self.cfg, batch, capacity, dtype=p.dtype, device=p.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reference: (B, T, D) frames from position 0 -> (B, T, D)."""
        x = x + sinusoid(torch.arange(x.shape[1]), self.cfg.d_model).to(x)
        for block in self.blocks:
            x = block(x)
        return self.norm_f(x)

    @torch.no_grad()
    def step(self, x: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """One frame for B streams: x (B, D) -> (B, D); the cache grows by one in place."""
        if x.shape != (cache.batch_size, self.cfg.d_model):
            raise ValueError(f"x must be (B, D) = {(cache.batch_size, self.cfg.d_model)}, got {tuple(x.shape)}")
        cache.reserve(cache.length + 1)
        x = x + sinusoid(torch.tensor([cache.length]), self.cfg.d_model).to(x)
        for i, block in enumerate(self.blocks):
            x = block.step(x, cache, i)
        cache.length += 1
        return self.norm_f(x)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
