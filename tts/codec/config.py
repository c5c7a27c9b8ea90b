"""Codec configuration: one dataclass, saved beside the weights.

Glossary used in every docstring of this package:

    B  batch                       N  audio samples
    T  codec frames (40 Hz)        H  hop: samples per frame (600)
    K  codebooks (token streams)   G  FSQ dims per codebook (len(levels))
    C  channels of a conv stack    F  n_fft // 2 + 1 frequency bins

A frame's tokens are K integers, each in [0, codebook_size). Codebook k
quantises its own slice of the latent (grouped FSQ, not residual), so all K
tokens of a frame are equally important and are predicted side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config_dict import config_from_dict, config_to_dict
from ..errors import StatecastError


# Fields that shape only the decoder: two codecs that differ in nothing else
# make the same tokens (a decoder fine-tuned on a frozen encoder).
DECODER_FIELDS = ("dec_dim", "dec_blocks", "dec_kernel", "dec_in_kernel", "max_log_mag", "head_subframes")
# Of those, the ones a fine-tune may change while keeping the decoder's trunk:
# head_subframes reshapes only the iSTFT head; dec_blocks may only grow, and
# the new blocks start as identities (tts.train.codec.load_init_weights).
FINETUNE_FIELDS = ("head_subframes", "dec_blocks")


@dataclass(frozen=True)
class CodecConfig:
    sample_rate: int = 24000
    hop: int = 600  # samples per frame: 24000 / 600 = 40 frames per second
    # Synthesis window of the iSTFT head. Must be a multiple of hop: frame t's
    # window covers samples [t*hop, t*hop + n_fft), so hop span t is final as
    # soon as frame t is decoded (no emission delay; see istft.py).
    n_fft: int = 2400
    # FSQ levels of one codebook; prod(levels) = codebook size.
    levels: tuple[int, ...] = (8, 5, 5, 5)
    n_codebooks: int = 2
    # Encoder (offline only, non-causal): log-mel sub-frames stacked per frame.
    enc_mels: int = 80
    enc_subframes: int = 4  # sub-frames per frame (sub-hop = hop / 4 = 150)
    enc_win: int = 600  # analysis window of a sub-frame (25 ms)
    enc_dim: int = 256
    enc_blocks: int = 4
    enc_kernel: int = 7
    # Decoder (streaming, strictly causal: lookahead 0 frames).
    dec_dim: int = 256
    dec_blocks: int = 8
    dec_kernel: int = 7  # causal depthwise conv: 6 frames of left context per block
    dec_in_kernel: int = 3  # causal conv from the dequantised latent
    mlp_ratio: int = 3
    max_log_mag: float = 6.0  # clamp on the predicted log magnitude (exp(6) ~ 400)
    # iSTFT head sub-frames per frame (S). S = 1: one spectrum per frame, window
    # n_fft. S > 1: S spectra per frame at hop H/S with window n_fft/S (same
    # overlap R), placed at the start of the frame's span, so nothing is
    # delayed. Shorter windows ask the decoder for a phase that only has to
    # stay coherent over H/S samples instead of H (see tts/codec/README.md).
    # Only the decoder depends on it: the encoder and its tokens do not.
    head_subframes: int = 1
    extra: dict = field(default_factory=dict)  # free-form notes (training rule, data)

    def __post_init__(self):
        # Tuples, even when rebuilt from JSON lists.
        object.__setattr__(self, "levels", tuple(int(v) for v in self.levels))
        if self.n_fft % self.hop:
            raise StatecastError(f"codec n_fft ({self.n_fft}) must be a multiple of hop ({self.hop})")
        if self.head_subframes < 1 or self.hop % self.head_subframes:
            raise StatecastError(f"codec hop ({self.hop}) must be divisible by head_subframes ({self.head_subframes})")
        if self.hop % self.enc_subframes:
            raise StatecastError(f"codec hop ({self.hop}) must be divisible by enc_subframes")
        if any(v < 2 for v in self.levels) or not self.levels:
            raise StatecastError(f"FSQ levels must all be >= 2, got {self.levels}")
        if self.n_codebooks < 1:
            raise StatecastError("codec needs at least one codebook")

    # ---- derived quantities (what the acoustic model and the README need) ----
    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    @property
    def latent_dim(self) -> int:
        return self.n_codebooks * len(self.levels)

    @property
    def bits_per_frame(self) -> float:
        return self.n_codebooks * math.log2(self.codebook_size)

    @property
    def bitrate(self) -> float:
        """Bits per second of the token stream."""
        return self.bits_per_frame * self.frame_rate

    @property
    def overlap_frames(self) -> int:
        """R: frames whose synthesis windows overlap any one sample."""
        return self.n_fft // self.hop

    @property
    def head_hop(self) -> int:
        """Hop of the iSTFT head's spectra: H / S."""
        return self.hop // self.head_subframes

    @property
    def head_n_fft(self) -> int:
        """Synthesis window of the iSTFT head: n_fft / S (overlap R is the same)."""
        return self.n_fft // self.head_subframes

    @property
    def tail_samples(self) -> int:
        """Overlap-add samples still owed after the last frame (flushed at the end of a stream)."""
        return self.head_n_fft - self.head_hop

    @property
    def lookahead_frames(self) -> int:
        """Future frames the decoder needs before it can emit a frame's audio."""
        return 0

    @property
    def frame_center_offset(self) -> int:
        """Frame t's tokens describe audio centred on sample t*hop + this (n_fft / 2).

        An acoustic model aligned on phoneme times should give frame t the
        phoneme sounding at that sample (istft.py explains the placement).
        """
        return self.n_fft // 2

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CodecConfig":
        return config_from_dict(cls, d, "codec")

    def describe(self) -> dict:
        """The numbers a consumer of the tokens needs, in one place."""
        return {
            "sample_rate": self.sample_rate,
            "frame_rate_hz": self.frame_rate,
            "hop_samples": self.hop,
            "n_codebooks": self.n_codebooks,
            "codebook_size": self.codebook_size,
            "fsq_levels": list(self.levels),
            "bits_per_frame": round(self.bits_per_frame, 3),
            "bitrate_bps": round(self.bitrate, 1),
            "lookahead_frames": self.lookahead_frames,
            "synthesis_window_samples": self.head_n_fft,
            "synthesis_hop_samples": self.head_hop,
            "frame_center_offset_samples": self.frame_center_offset,
        }


def tiny_config(**overrides) -> CodecConfig:
    """A small codec for tests: same structure, a fraction of the compute."""
    base = dict(enc_dim=32, enc_blocks=1, dec_dim=32, dec_blocks=2, enc_mels=16, mlp_ratio=2)
    base.update(overrides)
    return CodecConfig(**base)
