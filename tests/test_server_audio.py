"""Wire-format pieces of the server: resampler, mu-law, PCM, WAV headers, files (whole and streamed), metrics text."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest

from audio_decode import decode, mp3_frame
from server.audio_encoding import (OPUS_RATES, encode_file, encode_samples, file_formats_available, float_to_s16,
                                   mulaw_decode, mulaw_encode, wav_header)
from server.metrics import Registry, Counter, Histogram, ServerMetrics
from server.resample import StreamingResampler, resample_ref
from server.settings import SAMPLE_RATES
from server.stream_encoder import MP3_KBPS, DrainBuffer, StreamingFileEncoder
from tts.errors import StatecastError

RATE_PAIRS = [(24000, r) for r in SAMPLE_RATES] + [(16000, 44100), (22050, 8000)]


def _chunked(x, r: StreamingResampler, sizes):
    out, i = [], 0
    for n in sizes:
        out.append(r.process(x[i:i + n]))
        i += n
    out.append(r.process(x[i:]))
    out.append(r.flush())
    return np.concatenate(out)


@pytest.mark.parametrize("in_rate,out_rate", RATE_PAIRS)
def test_resampler_chunked_equals_whole_equals_reference(in_rate, out_rate):
    x = np.random.default_rng(in_rate + out_rate).standard_normal(1203).astype(np.float32) * 0.3
    whole = _chunked(x, StreamingResampler(in_rate, out_rate), [])
    for sizes in ([1, 1, 2, 3, 5, 8], [600, 1], [7] * 50, [0, 1200]):
        np.testing.assert_array_equal(_chunked(x, StreamingResampler(in_rate, out_rate), sizes), whole)
    ref = resample_ref(x, in_rate, out_rate)
    assert whole.shape == ref.shape == (-(-1203 * out_rate // in_rate),)
    np.testing.assert_allclose(whole, ref, atol=1e-6)


@pytest.mark.parametrize("out_rate", [8000, 16000, 22050, 44100, 48000])
def test_resampler_keeps_a_sine_a_sine(out_rate):
    """In-band tone: the output is the same tone sampled at the new rate (edges aside)."""
    sr, f = 24000, 1000.0
    x = np.sin(2 * np.pi * f * np.arange(sr) / sr).astype(np.float32)
    y = _chunked(x, StreamingResampler(sr, out_rate), [480] * 49)
    expect = np.sin(2 * np.pi * f * np.arange(y.size) / out_rate)
    edge = out_rate // 50
    assert np.abs(y - expect)[edge:-edge].max() < 1e-3


def test_resampler_removes_what_the_output_cannot_carry():
    """A 6 kHz tone at 24 kHz has no place at 8 kHz (Nyquist 4 kHz): it must be filtered, not aliased."""
    x = np.sin(2 * np.pi * 6000 * np.arange(24000) / 24000).astype(np.float32)
    y = _chunked(x, StreamingResampler(24000, 8000), [1000] * 23)
    assert np.sqrt(np.mean(y[200:-200] ** 2)) < 1e-3


def test_resampler_identity_passes_samples_through():
    x = np.random.default_rng(1).standard_normal(100).astype(np.float32)
    r = StreamingResampler(24000, 24000)
    np.testing.assert_array_equal(np.concatenate([r.process(x[:30]), r.process(x[30:]), r.flush()]), x)


def test_mulaw_decode_table_matches_the_g711_formula():
    """Every code expands to ((2*mantissa + 33) << exponent) - 33 on the 14-bit scale, times 4."""
    codes = np.arange(256, dtype=np.uint8)
    out = mulaw_decode(codes).astype(np.int64)
    for c in range(256):
        inv = ~c & 0xFF
        sign, exp, mant = inv & 0x80, (inv >> 4) & 7, inv & 0x0F
        mag14 = ((2 * mant + 33) << exp) - 33
        assert out[c] == (-4 * mag14 if sign else 4 * mag14)


def test_mulaw_encode_inverts_decode_and_follows_the_continuous_law():
    codes = np.arange(256, dtype=np.uint8)
    back = mulaw_encode(mulaw_decode(codes))
    # 0x7F ("negative zero") decodes to 0, which encodes to 0xFF: the only code that does not round-trip.
    assert [c for c in range(256) if back[c] != c] == [0x7F]
    x = np.arange(-32768, 32768, 7, dtype=np.int16)
    y = mulaw_decode(mulaw_encode(x)).astype(np.float64) / 32768
    # Segment quantisation error stays within the mu-law step at that level: about 1/16 of |x| (+ a floor).
    xf = x.astype(np.float64) / 32768
    assert np.all(np.abs(y - xf) <= np.abs(xf) / 16 + 2.5e-4)
    # and codes are monotonic in the input, as the companding law F(x) = ln(1 + 255|x|) / ln 256 is
    law = np.sign(xf) * np.log1p(255 * np.abs(xf)) / np.log(256)
    order = np.argsort(law, kind="stable")
    decoded = mulaw_decode(mulaw_encode(x))[order].astype(np.int64)
    assert np.all(np.diff(decoded) >= 0)


def test_mulaw_matches_the_standard_library_reference_bit_for_bit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # removed in Python 3.13
    x = np.arange(-32768, 32768, dtype=np.int16)
    ref = np.frombuffer(audioop.lin2ulaw(x.tobytes(), 2), dtype=np.uint8)
    np.testing.assert_array_equal(mulaw_encode(x), ref)
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(mulaw_decode(codes), np.frombuffer(audioop.ulaw2lin(codes.tobytes(), 2), np.int16))


def test_pcm_encodings_round_trip_and_clip():
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], dtype=np.float32)
    s16 = np.frombuffer(encode_samples(x, "pcm_s16le"), dtype="<i2")
    assert s16.tolist() == [0, 16384, -16384, 32767, -32767, 32767, -32767]
    f32 = np.frombuffer(encode_samples(x, "pcm_f32le"), dtype="<f4")
    np.testing.assert_array_equal(f32, np.clip(x, -1, 1))
    mu = np.frombuffer(encode_samples(x, "mulaw"), dtype=np.uint8)
    np.testing.assert_array_equal(mu, mulaw_encode(float_to_s16(x)))
    with pytest.raises(Exception, match="unknown encoding"):
        encode_samples(x, "alaw")


def test_wav_headers_exact_and_streaming():
    sf = pytest.importorskip("soundfile")
    pcm = float_to_s16(0.5 * np.sin(np.arange(2400) / 7.0)).tobytes()
    exact = wav_header(16000, 2400) + pcm
    y, sr = sf.read(io.BytesIO(exact), dtype="int16")
    assert sr == 16000 and y.shape == (2400,)
    stream = wav_header(16000) + pcm
    assert struct.unpack("<I", stream[4:8])[0] == 0xFFFFFFFF and struct.unpack("<I", stream[40:44])[0] == 0xFFFFFFFF
    y2, sr2 = sf.read(io.BytesIO(stream), dtype="int16")  # players read to the end of the data
    assert sr2 == 16000
    np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_file_formats_decode_back(fmt):
    sf = pytest.importorskip("soundfile")
    if not file_formats_available()[fmt]:
        pytest.skip(f"this libsndfile cannot encode {fmt}")
    rate = 24000
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    y, sr = sf.read(io.BytesIO(encode_file(x, rate, fmt)), dtype="float32")
    assert sr == rate and abs(y.shape[0] - rate) < rate // 10
    if fmt == "flac":  # lossless at 16 bits
        np.testing.assert_allclose(y, x, atol=1 / 32767)


def _speechlike(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A 220 Hz tone under a 3 Hz envelope, plus a little noise: (N,) float32."""
    t = np.arange(int(rate * seconds)) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * 220 * t) * np.abs(np.sin(2 * np.pi * 3 * t)) + 0.01 * noise).astype(np.float32)


def _stream(fmt: str, rate: int, x: np.ndarray, sizes) -> tuple[list[bytes], StreamingFileEncoder]:
    """Feed x in pieces of the given sizes (cycled); returns every write's bytes and close()'s last."""
    enc = StreamingFileEncoder(fmt, rate)
    out, i, k = [], 0, 0
    while i < x.size:
        n = sizes[k % len(sizes)]
        out.append(enc.write(x[i:i + n]))
        i, k = i + n, k + 1
    out.append(enc.close())
    return out, enc


def _stream_cases():
    for fmt in ("flac", "mp3", "opus"):
        for rate in (8000, 24000, 44100, 48000):
            if fmt == "opus" and rate not in OPUS_RATES:
                continue
            yield fmt, rate


def _skip_unavailable(fmt):
    pytest.importorskip("soundfile")
    if not file_formats_available()[fmt]:
        pytest.skip(f"this libsndfile cannot encode {fmt}")


@pytest.mark.parametrize("fmt,rate", list(_stream_cases()))
def test_streamed_file_decodes_to_the_input(fmt, rate):
    """The concatenated pieces are one valid stream: right rate, right length (codec framing aside), same audio."""
    _skip_unavailable(fmt)
    x = _speechlike(rate, 1.3)
    pieces, enc = _stream(fmt, rate, x, [rate // 40, 1, rate // 5 + 3])
    data = b"".join(pieces)
    assert enc.samples_in == x.size and enc.bytes_out == len(data) and enc.closed
    y, sr = decode(data)
    assert sr == rate
    if fmt == "flac":  # lossless at 16 bits, and exactly as long
        assert y.shape == x.shape
        np.testing.assert_allclose(y, x, atol=1 / 32767)
        assert enc.buffer.dropped > 0  # the STREAMINFO patch on close could not reach the stream
        return
    if fmt == "opus":  # the Ogg granule positions and pre-skip give the exact length back
        assert y.shape == x.shape
        lag = 0
    else:
        # mp3: one empty info frame (silence), the encoder delay, padding to whole frames
        frame = mp3_frame(rate)
        assert x.size + frame <= y.size <= x.size + 4 * frame
        kbps = len(data) * 8 / (x.size / rate) / 1000
        want = MP3_KBPS["mpeg1" if rate >= 32000 else "mpeg2" if rate >= 16000 else "mpeg25"]
        assert 0.8 * want < kbps < 1.25 * want  # constant bitrate as chosen
        # find the delay by cross-correlation over a window well inside the signal
        w = x[rate // 4: rate // 4 + rate // 2]
        lags = np.arange(0, 4 * frame)
        lag = int(lags[np.argmax([np.dot(w, y[rate // 4 + d: rate // 4 + d + w.size]) for d in lags])])
    inner = slice(rate // 10, x.size - rate // 10)
    err = y[lag:lag + x.size][inner] - x[inner]
    assert np.sqrt(np.mean(err ** 2)) < 0.35 * np.sqrt(np.mean(x[inner] ** 2))  # lossy, but the same signal


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_streamed_file_audio_never_depends_on_the_chunking(fmt):
    _skip_unavailable(fmt)
    rate = 24000
    x = _speechlike(rate, 1.1, seed=1)
    whole, _ = _stream(fmt, rate, x, [x.size])
    for sizes in ([1, 7, 480, 1201], [4096], [97]):
        pieces, _ = _stream(fmt, rate, x, sizes)
        a, b = decode(b"".join(pieces))[0], decode(b"".join(whole))[0]
        np.testing.assert_array_equal(a, b)
        if fmt != "opus":  # an Ogg stream's serial number is random
            assert b"".join(pieces) == b"".join(whole)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_streamed_file_leaves_while_audio_comes_in(fmt):
    """Bytes come out during the stream, not at close: most of the file, in many pieces,
    and the bytes out after the first 200 ms of input already decode to audio."""
    _skip_unavailable(fmt)
    rate = 24000
    x = _speechlike(rate, 2.0, seed=2)
    pieces, _ = _stream(fmt, rate, x, [rate // 10])  # 100 ms writes, as the scheduler hands them out
    before_close = pieces[:-1]
    assert sum(1 for p in before_close if p) >= 8
    assert sum(map(len, before_close)) > 0.8 * sum(map(len, pieces))
    early, _ = decode(b"".join(pieces[:2]))  # what had left after 200 ms of input
    assert early.size > 0


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_streamed_file_independent_decoder(fmt):
    """ffmpeg (PyAV) reads the streams too, FLAC with its unknown length included."""
    _skip_unavailable(fmt)
    av = pytest.importorskip("av")
    rate = 24000
    x = _speechlike(rate, 1.0, seed=3)
    data = b"".join(_stream(fmt, rate, x, [rate // 20])[0])
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        y = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        got_rate = stream.codec_context.sample_rate
    ours, _ = decode(data)
    if fmt == "opus":  # ffmpeg decodes opus at 48 kHz, and does not trim by the last granule
        assert got_rate == 48000 and abs(y.size - 2 * x.size) <= 2 * 960
    else:
        assert got_rate == rate and y.size == ours.size
    if fmt == "flac":
        np.testing.assert_allclose(y.astype(np.float32) / (32768.0 if y.dtype.kind == "i" else 1.0), x,
                                   atol=1 / 32767)


def test_drain_buffer_hands_out_bytes_once_and_drops_late_patches():
    buf = DrainBuffer()
    assert buf.write(b"HEAD0000") == 8 and buf.take() == b"HEAD0000"
    buf.write(b"data")
    buf.seek(4)  # a header patch over bytes that have left
    assert buf.write(b"1234") == 4  # libsndfile is told it worked
    assert buf.dropped == 4 and buf.tell() == 8
    buf.seek(6)
    buf.write(b"xxYY")  # straddles: two bytes are gone, two patch what is still pending
    assert buf.dropped == 6
    assert buf.take() == b"YYta"
    assert buf.seek(0, 2) == 12 and buf.take() == b""
    assert buf.seek(-2, 1) == 10 and buf.read(5) == b""


def test_streaming_encoder_abort_and_refusals():
    sf = pytest.importorskip("soundfile")
    fmt = next((f for f, ok in file_formats_available().items() if ok), None)
    if fmt is None:
        pytest.skip("this libsndfile encodes none of flac / mp3 / opus")
    enc = StreamingFileEncoder(fmt, 24000)
    enc.write(np.zeros(2400, np.float32))
    enc.abort()
    assert enc.closed and enc.close() == b""
    enc.abort()  # twice is fine
    with pytest.raises(StatecastError, match="closed"):
        enc.write(np.zeros(10, np.float32))
    with pytest.raises(StatecastError, match="supported"):
        StreamingFileEncoder("aac", 24000)
    if file_formats_available()["opus"]:
        with pytest.raises(sf.LibsndfileError):  # opus has no 44.1 kHz (the route answers 400 before this)
            StreamingFileEncoder("opus", 44100)


def test_metrics_text_format():
    m = ServerMetrics()
    m.ttfa.observe(0.03, endpoint="ws")
    m.ttfa.observe(7.0, endpoint="ws")
    m.errors.inc(code='say "hi"')
    text = m.render()
    assert '# TYPE statecast_ttfa_seconds histogram' in text
    assert 'statecast_ttfa_seconds_bucket{endpoint="ws",le="0.05"} 1' in text
    assert 'statecast_ttfa_seconds_bucket{endpoint="ws",le="+Inf"} 2' in text
    assert 'statecast_ttfa_seconds_count{endpoint="ws"} 2' in text
    assert 'statecast_errors_total{code="say \\"hi\\""} 1' in text
    assert "statecast_active_streams 0" in text
    r = Registry()
    c = Counter(r, "x_total", "x")
    with pytest.raises(ValueError):
        c.inc(-1)
    h = Histogram(r, "h", "h", (1.0,))
    h.observe(1.0)  # le is inclusive
    assert 'h_bucket{le="1"} 1' in r.render()
