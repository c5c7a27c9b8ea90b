"""flac / mp3 / opus encoded piece by piece, so an HTTP response can stream them.

libsndfile writes into a file it believes is seekable (:class:`DrainBuffer`);
after every write the handler takes the bytes that are ready and sends them.
The concatenation of everything taken is one valid stream. What a seekable
file would have had and a stream cannot (found by logging libsndfile 1.2's
seeks and writes):

* FLAC: on close libFLAC seeks back to fill STREAMINFO's total samples,
  frame sizes and MD5. Those bytes have left, so they keep the "unknown"
  zeros a pipe gets. libFLAC and ffmpeg read such a stream to its end.
  python-soundfile's ``read()`` does not: it sizes its buffer from the
  (unknown) length.
* mp3: LAME reserves its first frame for an info tag (delay, padding, VBR
  seek table) and fills it in on close. Streamed, that frame stays empty and
  decodes as one frame of silence. The encoder delay is not trimmed either.
  The bitrate is constant because a VBR stream without the tag has no usable
  length: libsndfile's decoder guesses it from the first frame and stops
  early.
* opus (Ogg): pages are cut every ``OPUS_PAGE_MS`` of audio. libsndfile's
  default cuts them about every second, so nothing would leave in between.

Decoded audio never depends on how the samples were split into writes: the
codecs buffer to their own frame sizes.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from tts.errors import StatecastError

from .audio_encoding import FILE_FORMATS, file_formats_available, supported_response_formats

log = logging.getLogger("statecast.http")

OPUS_PAGE_MS = 50.0  # libsndfile accepts 50 to 1600. Each page costs about 30 bytes of header.
_SFC_SET_OGG_PAGE_LATENCY_MS = 0x1302  # sndfile.h; python-soundfile has no wrapper for it
# Constant mp3 bitrates (kbps) for mono speech: MPEG-1 (32-48 kHz), MPEG-2 (16-24 kHz), MPEG-2.5 (8-12 kHz).
MP3_KBPS = {"mpeg1": 96, "mpeg2": 64, "mpeg25": 32}


class DrainBuffer:
    """The file libsndfile writes into. Bytes pile up until :meth:`take` hands them out.

    ``taken`` bytes have left, and ``pending`` holds the bytes from offset
    ``taken`` onwards. A write behind ``taken`` (a header patched on close)
    cannot reach the client any more and is dropped. ``dropped`` counts its
    bytes.
    """

    def __init__(self):
        self.taken = 0
        self.pending = bytearray()
        self.pos = 0
        self.dropped = 0

    # --- the virtual-IO calls libsndfile makes (through python-soundfile)
    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        n = len(data)
        if self.pos < self.taken:
            skip = min(n, self.taken - self.pos)
            self.dropped += skip
            data, self.pos = data[skip:], self.pos + skip
        at = self.pos - self.taken
        end = at + len(data)
        if end > len(self.pending):
            self.pending.extend(bytes(end - len(self.pending)))
        self.pending[at:end] = data
        self.pos += len(data)
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self.pos, self.taken + len(self.pending))[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        # Writers seldom read back. If one does, it can only see what has not left yet.
        at = self.pos - self.taken
        if at < 0:
            return b""
        out = bytes(self.pending[at:] if n < 0 else self.pending[at:at + n])
        self.pos += len(out)
        return out

    # --- ours
    def take(self) -> bytes:
        out = bytes(self.pending)
        self.taken += len(out)
        self.pending.clear()
        return out


def _mp3_compression_level(sample_rate: int) -> float:
    """The libsndfile compression level that gives a constant MP3_KBPS bitrate.

    For constant bitrate libsndfile maps the level ``c`` in [0, 1] to
    ``int(top - c * (top - bottom))`` kbps. The range depends on the MPEG
    version, which the sample rate decides. LAME then picks the nearest
    legal bitrate.
    """
    if sample_rate >= 32000:
        top, bottom, kbps = 320.0, 32.0, MP3_KBPS["mpeg1"]
    elif sample_rate >= 16000:
        top, bottom, kbps = 160.0, 8.0, MP3_KBPS["mpeg2"]
    else:
        top, bottom, kbps = 64.0, 8.0, MP3_KBPS["mpeg25"]
    return (top - kbps - 0.5) / (top - bottom)  # the half survives the int() truncation


class StreamingFileEncoder:
    """(N,) float32 pieces in, the bytes of one flac / mp3 / opus stream out.

    ``write`` returns the bytes that are ready. That is often b"": codecs emit
    whole frames (FLAC 4096 samples, mp3 576 or 1152) or whole Ogg pages.
    ``close`` returns the rest. ``abort`` frees the codec without a tail, for
    a client that left. State: the libsndfile handle, its DrainBuffer, and
    the counts below.

    Encoding costs up to a few ms per 200 ms of audio, so the HTTP handler
    runs ``write`` and ``close`` on a worker thread. A lock orders them with
    ``abort``: a cancelled handler may abort while its last write still runs
    there, and libsndfile must not be closed under that write.
    """

    def __init__(self, response_format: str, sample_rate: int):
        import soundfile as sf

        if response_format not in FILE_FORMATS or not file_formats_available()[response_format]:
            raise StatecastError(
                f"response_format {response_format!r} is not available here; supported: "
                + ", ".join(supported_response_formats())
            )
        fmt, subtype, self.media_type = FILE_FORMATS[response_format]
        self.response_format = response_format
        self.sample_rate = sample_rate
        self.samples_in = 0
        self.bytes_out = 0
        self.buffer = DrainBuffer()
        self._lock = threading.Lock()
        options = {}
        if response_format == "mp3":
            options = {"compression_level": _mp3_compression_level(sample_rate), "bitrate_mode": "CONSTANT"}
        self._file = sf.SoundFile(self.buffer, "w", samplerate=sample_rate, channels=1, format=fmt,
                                  subtype=subtype, **options)
        if response_format == "opus":
            self._set_opus_page_latency(OPUS_PAGE_MS)

    def _set_opus_page_latency(self, ms: float) -> None:
        from soundfile import _ffi, _snd  # no public wrapper for this command

        value = _ffi.new("double[1]", [ms])
        if _snd.sf_command(self._file._file, _SFC_SET_OGG_PAGE_LATENCY_MS, value, _ffi.sizeof(value)) != 0:
            # Still a valid stream, but its pages come about once a second.
            log.warning("libsndfile refused an Ogg page latency of %g ms; opus pages will be coarse", ms)

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, x: np.ndarray) -> bytes:
        """(N,) float in [-1, 1] -> the encoded bytes that are now complete (maybe b"")."""
        x = np.clip(np.asarray(x, dtype=np.float32).reshape(-1), -1.0, 1.0)
        with self._lock:
            if self._file is None:
                raise StatecastError("the encoder is closed")
            if x.size:
                self._file.write(x)
                self.samples_in += x.size
            return self._take()

    def close(self) -> bytes:
        """Flush the codec and return the stream's last bytes. After this, b""."""
        with self._lock:
            if self._file is None:
                return b""
            f, self._file = self._file, None
            f.close()
            return self._take()

    def abort(self) -> None:
        """Free the codec. Nothing more will be sent."""
        with self._lock:
            if self._file is None:
                return
            f, self._file = self._file, None
            try:
                f.close()
            except Exception:  # the tail is unwanted anyway; never mask why we are aborting
                log.debug("closing an aborted %s encoder failed", self.response_format, exc_info=True)
            self.buffer.pending.clear()

    def _take(self) -> bytes:
        out = self.buffer.take()
        self.bytes_out += len(out)
        return out
