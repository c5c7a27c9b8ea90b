"""Wire-format pieces of the server: resampler, mu-law, PCM, WAV headers, files, metrics text."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest

from server.audio_encoding import (encode_file, encode_samples, file_formats_available, float_to_s16,
                                   mulaw_decode, mulaw_encode, wav_header)
from server.metrics import Registry, Counter, Histogram, ServerMetrics
from server.resample import StreamingResampler, resample_ref
from server.settings import SAMPLE_RATES

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
