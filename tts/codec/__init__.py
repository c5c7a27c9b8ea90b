"""Streaming neural codec: 24 kHz PCM <-> K tokens per 40 Hz frame.

See README.md in this directory for the architecture and its numbers.
"""

from .codec import Codec
from .config import CodecConfig, tiny_config
from .decoder import DecoderState
from .weights import load_codec, save_codec

__all__ = ["Codec", "CodecConfig", "DecoderState", "load_codec", "save_codec", "tiny_config"]
