"""Test helper: decode every sample of an encoded response, streamed or whole, with libsndfile."""

from __future__ import annotations

import io

import numpy as np

UNKNOWN_LENGTH = 2**63 - 1  # libsndfile's frame count for a stream that does not declare its length


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Encoded bytes -> ((N,) float32, sample rate), read block by block to the end.

    A streamed FLAC declares an unknown length (STREAMINFO total samples 0,
    as any FLAC written to a pipe). libsndfile decodes it, but python-soundfile
    cannot size ``read()``'s buffer from that length, and its position
    bookkeeping (a seek after every read) fails at the end of the data.
    Marking the file unseekable skips the bookkeeping. That is a private
    field, so only this helper touches it.
    """
    import soundfile as sf

    with sf.SoundFile(io.BytesIO(data)) as f:
        rate = f.samplerate
        if f.frames != UNKNOWN_LENGTH:
            return f.read(dtype="float32"), rate
        f._info.seekable = 0
        parts = []
        while True:
            block = f.read(4096, dtype="float32")
            if not len(block):
                break
            parts.append(block)
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), rate


def mp3_frame(sample_rate: int) -> int:
    """Samples per mp3 frame: 1152 for MPEG-1 (32 kHz and up), else 576."""
    return 1152 if sample_rate >= 32000 else 576
