"""HTTP API: /v1/audio/speech (OpenAI-compatible), /v1/voices, /healthz, /metrics, auth, CORS, limits."""

from __future__ import annotations

import io
import struct
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server import Settings, create_app
from server.audio_encoding import file_formats_available, float_to_s16

TEXT = "Hello there, how are you today?"


def make_client(synth, **kw) -> TestClient:
    settings = Settings(warmup=False, max_ahead_s=0.0, **kw)
    return TestClient(create_app(settings, synth=synth))


@pytest.fixture(scope="module")
def client(synth):
    with make_client(synth, max_text_chars=500, max_body_bytes=4096) as c:
        yield c


def _scheduler(c: TestClient):
    return c.app.state.services.scheduler


def test_speech_pcm_equals_offline_synthesis(client, synth):
    """What leaves the server is the synthesizer's own audio, as int16, chunking and all."""
    r = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "pcm", "voice": "bf_emma"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("audio/pcm")
    assert r.headers["x-sample-rate"] == str(synth.sample_rate)
    got = np.frombuffer(r.content, dtype="<i2")
    pcm, _ = synth.synthesize(TEXT, voice="bf_emma")
    np.testing.assert_array_equal(got, float_to_s16(pcm))


def test_speech_wav_streamed_and_whole(client, synth):
    sf = pytest.importorskip("soundfile")
    streamed = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "wav"})
    whole = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "wav", "stream": False})
    assert streamed.status_code == whole.status_code == 200
    assert struct.unpack("<I", streamed.content[40:44])[0] == 0xFFFFFFFF  # length unknown while streaming
    n = (len(whole.content) - 44) // 2
    assert struct.unpack("<I", whole.content[40:44])[0] == 2 * n
    assert streamed.content[44:] == whole.content[44:]
    y, sr = sf.read(io.BytesIO(whole.content), dtype="int16")
    assert sr == synth.sample_rate and y.shape == (n,)


def test_speech_resampled_rate(client, synth):
    r = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "pcm", "sample_rate": 16000})
    assert r.status_code == 200 and r.headers["x-sample-rate"] == "16000"
    native = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "pcm"})
    n_native = len(native.content) // 2
    assert len(r.content) // 2 == -(-n_native * 16000 // synth.sample_rate)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_speech_file_formats(client, fmt):
    sf = pytest.importorskip("soundfile")
    r = client.post("/v1/audio/speech", json={"model": "tts-1", "input": TEXT, "response_format": fmt})
    if not file_formats_available()[fmt]:
        assert r.status_code == 400 and "supported" in r.json()["error"]["message"]
        return
    assert r.status_code == 200
    y, sr = sf.read(io.BytesIO(r.content))
    assert y.shape[0] > sr // 2


def test_default_format_is_openai_mp3_where_available(client):
    r = client.post("/v1/audio/speech", json={"input": "Hi there."})
    assert r.status_code == 200
    expect = "audio/mpeg" if file_formats_available()["mp3"] else "audio/wav"
    assert r.headers["content-type"] == expect


@pytest.mark.parametrize("body,code", [
    ({"input": ""}, "empty_text"),
    ({"input": "   \n"}, "empty_text"),
    ({"input": "x" * 501}, "text_too_long"),
    ({"input": "Hi.", "voice": "nobody"}, "unknown_voice"),
    ({"input": "Hi.", "voice": {"af_heart": 0.5, "ghost": 0.5}}, "unknown_voice"),
    ({"input": "Hi.", "response_format": "aac"}, "unsupported_format"),
    ({"input": "Hi.", "speed": 9}, "invalid_request"),
    ({"input": "Hi.", "speed": 0.3}, "invalid_request"),  # OpenAI allows it; this voice does not
    ({"input": "Hi.", "sample_rate": 12345}, "invalid_request"),
    ({"input": "Hi.", "colour": "blue"}, "invalid_request"),
    ({"voice": "af_heart"}, "invalid_request"),
    ({"input": "...", "response_format": "wav"}, "invalid_text"),  # nothing speakable: 400 before any byte
])
def test_speech_bad_input_is_a_clear_400(client, body, code):
    r = client.post("/v1/audio/speech", json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert _scheduler(client).live == 0  # nothing left behind


def test_malformed_json_and_oversized_body(client):
    r = client.post("/v1/audio/speech", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = client.post("/v1/audio/speech", content=b'{"input": "' + b"a" * 5000 + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"a" * 1000

    r = client.post("/v1/audio/speech", content=chunked(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.post("/v1/audio/speech", json={"input": "Still serving."}).status_code == 200


def test_voices_health_metrics(client, synth):
    v = client.get("/v1/voices").json()
    assert [x["name"] for x in v["voices"]] == [x["name"] for x in synth.voices()]
    assert v["default"] == synth.default_voice and "wav" in v["response_formats"]
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["scheduler_running"] and h["sample_rate"] == synth.sample_rate
    client.post("/v1/audio/speech", json={"input": "Count me.", "response_format": "pcm"})
    text = client.get("/metrics").text
    for name in ("statecast_ttfa_seconds_bucket", "statecast_step_rtf_bucket", "statecast_realtime_factor",
                 "statecast_active_streams", "statecast_queue_depth", "statecast_errors_total",
                 "statecast_audio_seconds_total", "statecast_batch_size_bucket", "statecast_requests_total"):
        assert name in text
    assert 'statecast_ttfa_seconds_count{endpoint="http"}' in text
    assert client.get("/v1/models").json()["data"][0]["id"] == "statecast"


def test_api_key(synth):
    with make_client(synth, api_key="sekrit") as c:
        assert c.get("/healthz").status_code == 200  # load balancers need no key
        for path in ("/v1/voices", "/metrics"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = c.post("/v1/audio/speech", json={"input": "Hi."}, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = c.post("/v1/audio/speech", json={"input": "Hi.", "response_format": "pcm"},
                   headers={"Authorization": "Bearer sekrit"})
        assert r.status_code == 200 and len(r.content) > 0
        assert c.get("/v1/voices", headers={"Authorization": "bearer sekrit"}).status_code == 200


def test_cors(synth):
    with make_client(synth, cors_origins=("https://app.example",)) as c:
        r = c.options("/v1/audio/speech", headers={"Origin": "https://app.example",
                                                   "Access-Control-Request-Method": "POST"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = c.get("/v1/voices", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with make_client(synth) as c:  # no origins configured: no CORS headers at all
        r = c.get("/v1/voices", headers={"Origin": "https://app.example"})
        assert "access-control-allow-origin" not in r.headers


def test_admission_429_with_retry_after(synth):
    with make_client(synth, max_streams=1, retry_after_s=2.0) as c:
        with c.websocket_connect("/v1/stream") as ws:  # holds the only slot: an open context with no text
            ws.send_json({"type": "speak", "context_id": "hold", "continue": True})
            r = c.post("/v1/audio/speech", json={"input": "Hi."})
            assert r.status_code == 429
            assert r.headers["retry-after"] == "2" and r.json()["error"]["code"] == "overloaded"
            assert 'statecast_rejected_total{endpoint="http"} 1' in c.get("/metrics").text
            ws.send_json({"type": "cancel", "context_id": "hold"})
            assert ws.receive_json() == {"type": "cancelled", "context_id": "hold"}
        r = c.post("/v1/audio/speech", json={"input": "Hi.", "response_format": "pcm"})
        assert r.status_code == 200


def test_no_thread_or_state_leaks(synth):
    baseline = threading.active_count()
    with make_client(synth) as c:
        serving = threading.active_count()
        for i in range(6):
            assert c.post("/v1/audio/speech", json={"input": f"Number {i}.", "response_format": "pcm"}).status_code == 200
            c.post("/v1/audio/speech", json={"input": ""})
        assert threading.active_count() == serving  # no thread per request
        sched = _scheduler(c)
        assert sched.live == 0 and sched.stream_count == 0
    assert threading.active_count() == baseline  # scheduler thread stopped with the app
