"""The selective-SSM acoustic model: phonemes + voice -> codec tokens, frame by frame.

Start with ``acoustic.py`` (glossary, pipeline). Pieces: ``config`` (one
dataclass, saved with the weights), ``tokens`` (factorised FSQ digits),
``text_encoder`` and ``durations`` (text side, teacher alignment, length
regulator), ``ssm`` (Mamba-2 block), ``state`` (per-stream decoder state),
``stream`` (per-stream conditioning queue), ``fast_step`` (lean CPU step),
``weights`` (safetensors + config.json), ``data`` (corpus + token cache).
"""

from .acoustic import AcousticModel, PhrasePlan
from .config import AcousticConfig, small_config, tiny_config
from .state import DecoderState
from .stream import ConditioningQueue, next_conds

__all__ = [
    "AcousticConfig",
    "AcousticModel",
    "ConditioningQueue",
    "DecoderState",
    "PhrasePlan",
    "next_conds",
    "small_config",
    "tiny_config",
]
