"""Acoustic model configuration: one dataclass, saved beside the weights.

The codec's token layout (K codebooks, FSQ levels per codebook, frame rate)
is copied into this config rather than imported from the codec at run time:
a trained acoustic model is tied to the token vocabulary it was trained on,
and its checkpoint must rebuild itself without the codec's code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config_dict import config_from_dict, config_to_dict
from ..errors import StatecastError

# Speakers of the teacher corpus, in the order of the voice embedding table.
DEFAULT_VOICES = ("af_heart", "am_michael", "bf_emma", "bm_george", "joe")


@dataclass(frozen=True)
class AcousticConfig:
    # ---- token interface (copied from the codec config the tokens came from) ----
    levels: tuple[int, ...] = (8, 5, 5, 5)  # FSQ levels of one codebook
    n_codebooks: int = 2  # K
    frame_rate: float = 40.0  # frames per second
    # Frame t's tokens describe audio centred this many frames after t/frame_rate
    # (codec: n_fft/2 / hop = 1200/600); conditioning frame t therefore carries
    # the phoneme sounding at (t + shift) / frame_rate.
    cond_shift_frames: float = 2.0
    codec_id: str = "default"  # which token cache the model was trained on
    # ---- text side ----
    n_symbols: int = 0  # 0: the size of tts.text.symbols.SYMBOLS at construction
    d_text: int = 192
    text_conv_blocks: int = 3
    text_kernel: int = 5
    text_attn_layers: int = 1
    text_heads: int = 2
    dur_channels: int = 192
    dur_kernel: int = 3
    # ---- voices ----
    voices: tuple[str, ...] = DEFAULT_VOICES
    # ---- SSM decoder (Mamba-2 style) ----
    d_model: int = 256
    n_layers: int = 6
    expand: int = 2  # d_inner = expand * d_model
    head_dim: int = 64  # P
    d_state: int = 32  # N
    n_groups: int = 1  # G of the Bm/Cm projections
    d_conv: int = 4  # causal depthwise conv width
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    norm_eps: float = 1e-5
    # ---- inference ranges ----
    speed_min: float = 0.5
    speed_max: float = 2.0
    extra: dict = field(default_factory=dict)  # free-form provenance

    def __post_init__(self):
        object.__setattr__(self, "levels", tuple(int(v) for v in self.levels))
        object.__setattr__(self, "voices", tuple(str(v) for v in self.voices))
        if self.n_symbols == 0:
            from ..text.symbols import SYMBOLS

            object.__setattr__(self, "n_symbols", len(SYMBOLS))
        if not self.levels or any(v < 2 for v in self.levels):
            raise StatecastError(f"FSQ levels must all be >= 2, got {self.levels}")
        if self.d_inner % self.head_dim:
            raise StatecastError(f"d_inner {self.d_inner} is not a multiple of head_dim {self.head_dim}")
        if self.n_heads % self.n_groups:
            raise StatecastError(f"{self.n_heads} heads do not split into {self.n_groups} groups")
        if self.d_text % self.text_heads:
            raise StatecastError(f"d_text {self.d_text} is not a multiple of text_heads {self.text_heads}")
        if not self.voices or len(set(self.voices)) != len(self.voices):
            raise StatecastError(f"voices must be distinct names, got {self.voices}")
        if self.d_conv < 1 or self.text_kernel % 2 == 0 or self.dur_kernel % 2 == 0:
            raise StatecastError("d_conv >= 1 and odd text/duration kernels are required")

    # ---- derived sizes ----
    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def n_heads(self) -> int:
        return self.d_inner // self.head_dim

    @property
    def conv_channels(self) -> int:
        """Channels through the causal conv: x, Bm and Cm (Mamba-2 convolves all three)."""
        return self.d_inner + 2 * self.n_groups * self.d_state

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    @property
    def n_digits(self) -> int:
        """FSQ dims over all codebooks: K * len(levels)."""
        return self.n_codebooks * len(self.levels)

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AcousticConfig":
        return config_from_dict(cls, d, "acoustic")


def tiny_config(**overrides) -> AcousticConfig:
    """A few-thousand-parameter model for tests: the same structure, seconds on a CPU."""
    base = dict(d_text=32, text_conv_blocks=1, text_attn_layers=1, text_heads=2, dur_channels=32,
                d_model=32, n_layers=2, expand=2, head_dim=16, d_state=8, d_conv=4)
    base.update(overrides)
    return AcousticConfig(**base)


def small_config(**overrides) -> AcousticConfig:
    """The first real training size for this CPU: 6 layers x 256 (the defaults)."""
    return AcousticConfig(**overrides)
