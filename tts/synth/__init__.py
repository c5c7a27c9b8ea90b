"""Streaming synthesis: the ``Synthesizer`` API the server and the CLI share.

Modules: ``synthesizer`` (load, open, batched ``step_streams``), ``stream``
(per-stream state and text input), ``segment`` (safe phrase boundaries for
text arriving in pieces), ``chunks`` (AudioChunk, WordTimestamp),
``reference`` (the plain offline path the tests hold the rest equal to).
Voice bundles: ``tts.voices``.
"""

from .chunks import AudioChunk, WordTimestamp
from .stream import SynthesisStream
from .synthesizer import Synthesizer

__all__ = ["AudioChunk", "SynthesisStream", "Synthesizer", "WordTimestamp"]
