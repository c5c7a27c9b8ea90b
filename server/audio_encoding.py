"""Sample encodings for the wire: PCM s16le / f32le, G.711 mu-law, WAV headers, files.

Float audio in [-1, 1] comes from the synthesizer; what leaves the server is
one of these. The sample encoders here are stateless per sample, so
encoding chunk by chunk equals encoding the whole. Compressed files are
written here in one piece (``encode_file``); piece by piece they are
stream_encoder.py's.
"""

from __future__ import annotations

import io
import struct

import numpy as np

from tts.errors import StatecastError

WS_ENCODINGS = ("pcm_s16le", "pcm_f32le", "mulaw")

# HTTP response_format -> (libsndfile format, subtype, media type). libsndfile encodes these
# (stream_encoder.py streams them); wav and pcm are ours.
FILE_FORMATS = {
    "flac": ("FLAC", "PCM_16", "audio/flac"),
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
    "opus": ("OGG", "OPUS", "audio/ogg"),
}
PCM_FORMATS = {"wav": "audio/wav", "pcm": "audio/pcm"}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)

_MULAW_BIAS = 0x84  # 132 (16-bit scale): makes each segment start at a power of two
_MULAW_BIAS14 = 0x21  # the same bias on the 14-bit scale
_MULAW_CLIP14 = 8159  # largest 14-bit magnitude that still fits the top segment after the bias


def float_to_s16(x: np.ndarray) -> np.ndarray:
    """(N,) float -> (N,) int16, clipped, round-to-nearest."""
    x = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    return np.round(x * 32767.0).astype(np.int16)


def mulaw_encode(pcm16: np.ndarray) -> np.ndarray:
    """G.711 mu-law: (N,) int16 -> (N,) uint8 codes (bits inverted, as on the wire).

    Works on the 14-bit linear value, as the ITU reference does (G.191): an
    arithmetic shift by 2, then the magnitude (so negatives round toward
    larger magnitude), clip, add the bias 33; the top set bit of the biased
    value (above bit 5) is the segment, the four bits below it the mantissa.
    """
    v = np.asarray(pcm16, dtype=np.int32) >> 2
    sign = np.where(v < 0, 0x80, 0x00)
    # the clip lands exactly on 2**13; the top code (segment 7, mantissa 15) covers it
    mag = np.minimum(np.minimum(np.abs(v), _MULAW_CLIP14) + _MULAW_BIAS14, 0x1FFF)
    exponent = np.zeros_like(mag)
    for e in range(1, 8):  # exponent = floor(log2(mag)) - 5 for mag in [33, 8192]
        exponent = np.where(mag >= (1 << (e + 5)), e, exponent)
    mantissa = (mag >> (exponent + 1)) & 0x0F
    code = sign | (exponent << 4) | mantissa
    return (~code & 0xFF).astype(np.uint8)


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """G.711 mu-law: (N,) uint8 -> (N,) int16 (the standard expansion)."""
    c = ~np.asarray(codes, dtype=np.int32) & 0xFF
    sign = c & 0x80
    exponent = (c >> 4) & 0x07
    mantissa = c & 0x0F
    mag = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def encode_samples(x: np.ndarray, encoding: str) -> bytes:
    """(N,) float32 -> wire bytes in one of WS_ENCODINGS."""
    if encoding == "pcm_s16le":
        return float_to_s16(x).astype("<i2").tobytes()
    if encoding == "pcm_f32le":
        return np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0).astype("<f4").tobytes()
    if encoding == "mulaw":
        return mulaw_encode(float_to_s16(x)).tobytes()
    raise StatecastError(f"unknown encoding {encoding!r}; supported: {', '.join(WS_ENCODINGS)}")


def wav_header(sample_rate: int, n_samples: int | None = None) -> bytes:
    """44-byte mono 16-bit PCM RIFF header.

    n_samples=None writes the streaming convention (RIFF and data sizes
    0xFFFFFFFF): the length is unknown while audio is still being made, and
    players read to the end of the stream.
    """
    if n_samples is None:
        data_size = riff_size = 0xFFFFFFFF
    else:
        data_size = 2 * n_samples
        riff_size = 36 + data_size
    return (
        b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16)
        + b"data" + struct.pack("<I", data_size)
    )


def file_formats_available() -> dict[str, bool]:
    """Which of FILE_FORMATS this libsndfile can encode."""
    import soundfile as sf

    formats = sf.available_formats()
    out = {}
    for name, (fmt, subtype, _) in FILE_FORMATS.items():
        out[name] = fmt in formats and subtype in sf.available_subtypes(fmt)
    return out


def supported_response_formats() -> list[str]:
    return ["wav", "pcm"] + [k for k, ok in file_formats_available().items() if ok]


def encode_file(x: np.ndarray, sample_rate: int, response_format: str) -> bytes:
    """Whole utterance (N,) float32 -> a complete flac / mp3 / opus file.

    Written to a seekable buffer, so the headers that can only be filled in at
    the end are there: FLAC's total samples and MD5, mp3's LAME info frame
    (so VBR, and decoders trim the encoder delay).
    """
    import soundfile as sf

    if response_format not in FILE_FORMATS or not file_formats_available()[response_format]:
        raise StatecastError(
            f"response_format {response_format!r} is not available here; supported: "
            + ", ".join(supported_response_formats())
        )
    fmt, subtype, _ = FILE_FORMATS[response_format]
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", samplerate=sample_rate, channels=1, format=fmt, subtype=subtype) as f:
        f.write(np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0))
    return buf.getvalue()
