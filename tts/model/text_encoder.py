"""Text encoder and duration predictor: phoneme ids of one phrase -> encodings and log-durations.

Shapes (letters as in ``acoustic.py``):

    ids        (B, S)        phoneme ids, PAD (0) past each phrase's length
    mask       (B, S) bool   True on real phonemes
    h          (B, S, E)     encodings, E = d_text
    voice      (B, W)        voice vectors (embeddings or blends of them)
    log_dur    (B, S)        predicted log(1 + frames) per phoneme

Non-causal over the phrase: input streaming hands the model one phrase at
a time, and a phrase is short (<= 300 characters), so seeing all of it
costs nothing in latency and gives prosody its context. Padding is zeroed
before every convolution and masked out of attention, so a phrase encoded
inside a padded batch gets exactly the encoding it gets alone (tested):
training batches and single-phrase inference agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AcousticConfig


class ConvBlock(nn.Module):
    """ConvNeXt-style block: depthwise conv (same padding) -> LayerNorm -> MLP -> residual."""

    def __init__(self, dim: int, kernel: int, mult: int = 2):
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, mult * dim)
        self.down = nn.Linear(mult * dim, dim)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """h (B, S, E), mask (B, S) -> (B, S, E)."""
        h = h * mask.unsqueeze(-1)  # zero pads, so the conv sees what a lone phrase sees
        y = self.dw(h.transpose(1, 2)).transpose(1, 2)
        return h + self.down(F.gelu(self.up(self.norm(y))))


class AttentionBlock(nn.Module):
    """Pre-norm self-attention + MLP over the phrase, padding keys masked out."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, 2 * dim)
        self.down = nn.Linear(2 * dim, dim)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, S, E = h.shape
        q, k, v = self.qkv(self.norm1(h)).view(B, S, 3, self.heads, E // self.heads).permute(2, 0, 3, 1, 4)
        keep = mask[:, None, None, :]  # (B, 1, 1, S): attend to real phonemes only
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        h = h + self.proj(a.transpose(1, 2).reshape(B, S, E))
        return h + self.down(F.gelu(self.up(self.norm2(h))))


class TextEncoder(nn.Module):
    """ids (B, S), mask (B, S) -> encodings (B, S, E)."""

    def __init__(self, cfg: AcousticConfig):
        super().__init__()
        self.embed = nn.Embedding(cfg.n_symbols, cfg.d_text)
        self.convs = nn.ModuleList(ConvBlock(cfg.d_text, cfg.text_kernel) for _ in range(cfg.text_conv_blocks))
        self.attns = nn.ModuleList(AttentionBlock(cfg.d_text, cfg.text_heads) for _ in range(cfg.text_attn_layers))
        self.norm = nn.LayerNorm(cfg.d_text)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.embed(ids)
        for block in self.convs:
            h = block(h, mask)
        for block in self.attns:
            h = block(h, mask)
        return self.norm(h) * mask.unsqueeze(-1)


class DurationPredictor(nn.Module):
    """(h (B, S, E), voice (B, W), mask (B, S)) -> log(1 + frames) (B, S).

    Conditioned on the voice: the teachers speak at different rates (Piper's
    joe is faster than Kokoro's voices). Reads a detached copy of the
    encodings, as in Glow-TTS/VITS, so the duration loss cannot bend the
    features the decoder relies on.
    """

    def __init__(self, cfg: AcousticConfig, d_voice: int):
        super().__init__()
        c, k = cfg.dur_channels, cfg.dur_kernel
        self.voice = nn.Linear(d_voice, cfg.d_text)
        self.conv1 = nn.Conv1d(cfg.d_text, c, k, padding=k // 2)
        self.norm1 = nn.LayerNorm(c)
        self.conv2 = nn.Conv1d(c, c, k, padding=k // 2)
        self.norm2 = nn.LayerNorm(c)
        self.out = nn.Linear(c, 1)

    def forward(self, h: torch.Tensor, voice: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(h.dtype)
        x = (h.detach() + self.voice(voice).unsqueeze(1)) * m
        x = self.norm1(F.relu(self.conv1(x.transpose(1, 2)).transpose(1, 2))) * m
        x = self.norm2(F.relu(self.conv2(x.transpose(1, 2)).transpose(1, 2))) * m
        return self.out(x).squeeze(-1) * mask
