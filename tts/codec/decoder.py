"""Streaming decoder: dequantised latent -> PCM, strictly causal.

    latent (B, T, K*G) -> causal conv (k_in) -> LayerNorm -> D causal ConvNeXt
    blocks -> LayerNorm -> iSTFT head -> PCM (B, T*H)

Every layer is causal, so the decoder's lookahead is 0 frames: the audio of
hop span t leaves as soon as frame t's tokens arrive. The streaming state is
explicit and fixed-size (it does not grow with the stream), so the server can
stack the states of many streams into one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import CodecConfig
from .istft import ISTFTHead
from .layers import CausalConv, ConvNeXtBlock


@dataclass
class DecoderState:
    """Everything a stream needs between two decode steps.

    in_conv: (B, k_in - 1, K*G)  last latent frames seen by the input conv
    blocks:  D x (B, k - 1, C)   last inputs of each block's depthwise conv
    tail:    (B, n_fft/S - H/S)  overlap-add samples still awaiting later frames (S: head_subframes)
    frames:  frames decoded so far (same for every row of the batch)
    """

    in_conv: torch.Tensor
    blocks: list[torch.Tensor]
    tail: torch.Tensor
    frames: int = 0

    @property
    def batch_size(self) -> int:
        return self.tail.shape[0]

    def nbytes(self) -> int:
        ts = [self.in_conv, self.tail, *self.blocks]
        return sum(t.numel() * t.element_size() for t in ts)

    def select(self, index) -> "DecoderState":
        """Rows `index` of the batch (an int list or a LongTensor)."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.tail.device)
        return DecoderState(self.in_conv[idx], [b[idx] for b in self.blocks], self.tail[idx], self.frames)

    @staticmethod
    def cat(states: list["DecoderState"]) -> "DecoderState":
        """Stack streams into one batch (their frame counters may differ; the
        result keeps the first's, which only diagnostics read)."""
        return DecoderState(
            torch.cat([s.in_conv for s in states]),
            [torch.cat(bs) for bs in zip(*(s.blocks for s in states))],
            torch.cat([s.tail for s in states]),
            states[0].frames,
        )


class Decoder(nn.Module):
    """forward(latent (B, T, K*G), state | None) -> (pcm (B, T*H), state').

    A None state starts a stream; offline decoding is one call over the whole
    sequence from a fresh state, so streaming and offline share one code path.
    """

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.inp = CausalConv(cfg.latent_dim, cfg.dec_dim, cfg.dec_in_kernel)
        self.norm_in = nn.LayerNorm(cfg.dec_dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(cfg.dec_dim, cfg.dec_kernel, cfg.mlp_ratio, causal=True)
            for _ in range(cfg.dec_blocks)
        )
        self.norm_out = nn.LayerNorm(cfg.dec_dim, eps=1e-6)
        self.head = ISTFTHead(cfg.dec_dim, cfg.head_n_fft, cfg.head_hop, cfg.max_log_mag, cfg.head_subframes)

    def init_state(self, batch: int, device=None) -> DecoderState:
        dtype = torch.float32
        return DecoderState(
            in_conv=self.inp.init_state(batch, device, dtype),
            blocks=[b.init_state(batch, device, dtype) for b in self.blocks],
            tail=self.head.init_state(batch, device),
        )

    def forward(self, latent: torch.Tensor, state: DecoderState | None = None, with_spectrum: bool = False):
        """with_spectrum (diagnostics): also return the head's (log_mag, phase), each (B, T*S, F)."""
        if state is None:
            state = self.init_state(latent.shape[0], latent.device)
        if latent.shape[1] == 0:  # an empty chunk: nothing to emit, nothing changes
            return latent.new_zeros(latent.shape[0], 0, dtype=torch.float32), state
        h, in_conv = self.inp(latent, state.in_conv)
        h = self.norm_in(h)
        new_blocks = []
        for block, s in zip(self.blocks, state.blocks):
            h, s = block(h, s)
            new_blocks.append(s)
        pcm, tail, *spectrum = self.head(self.norm_out(h), state.tail, with_spectrum)
        # Keep the state in float32 even under bf16 autocast: it outlives the step.
        new_state = DecoderState(in_conv.float(), [b.float() for b in new_blocks], tail,
                                 state.frames + latent.shape[1])
        return (pcm, new_state, spectrum[0]) if with_spectrum else (pcm, new_state)
