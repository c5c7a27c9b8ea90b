"""The codec: encoder -> grouped FSQ -> streaming decoder.

Public, checked entry points (inference mode, reject bad input):
    encode(audio, sample_rate) -> tokens (B, K, T), or (K, T) for 1-D audio
    decode(tokens)             -> pcm (B, T*H), or (T*H,) for (K, T) tokens
    init_state(batch)          -> DecoderState
    decode_step(tokens, state) -> (pcm (B, n*H), state)   tokens (B, K, n)

forward(pcm) is the unchecked training path: (B, N) -> (pcm_hat (B, T*H),
tokens (B, K, T)).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import StatecastError
from .checks import check_audio, check_tokens
from .config import CodecConfig
from .decoder import Decoder, DecoderState
from .encoder import Encoder
from .fsq import GroupedFSQ


class Codec(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = GroupedFSQ(cfg.levels, cfg.n_codebooks)
        self.decoder = Decoder(cfg)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_frames(self, n_samples: int) -> int:
        return self.encoder.num_frames(n_samples)

    # ---- training path -------------------------------------------------
    def forward(self, pcm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pcm (B, N) -> (pcm_hat (B, T*H) float32, tokens (B, K, T)), T = ceil(N / H)."""
        latent_q, tokens = self.quantizer(self.encoder(pcm))
        pcm_hat, _ = self.decoder(latent_q)
        return pcm_hat, tokens

    # ---- checked inference API -------------------------------------------
    @torch.inference_mode()
    def encode(self, audio, sample_rate: int) -> torch.Tensor:
        x, was_1d = check_audio(audio, sample_rate, self.cfg.sample_rate)
        _, tokens = self.quantizer(self.encoder(x.to(self.device)))
        return tokens[0] if was_1d else tokens

    @torch.inference_mode()
    def decode(self, tokens) -> torch.Tensor:
        t, was_2d = check_tokens(tokens, self.cfg.n_codebooks, self.cfg.codebook_size)
        pcm, _ = self.decoder(self.quantizer.dequantize(t.to(self.device)))
        return pcm[0] if was_2d else pcm

    def init_state(self, batch: int) -> DecoderState:
        return self.decoder.init_state(batch, self.device)

    @torch.inference_mode()
    def decode_step(self, tokens, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """tokens (B, K, n) for the next n frames -> (pcm (B, n*H), state'). n may be 0."""
        t, _ = check_tokens(tokens, self.cfg.n_codebooks, self.cfg.codebook_size, allow_empty=True)
        if t.shape[0] != state.batch_size:
            raise StatecastError(f"tokens batch {t.shape[0]} != stream state batch {state.batch_size}")
        return self.decoder(self.quantizer.dequantize(t.to(self.device)), state)

    def parameter_counts(self) -> dict[str, int]:
        def count(m):
            return sum(p.numel() for p in m.parameters())

        return {"encoder": count(self.encoder), "decoder": count(self.decoder), "total": count(self)}
