"""HTTP API: /v1/audio/speech (OpenAI-compatible), /v1/voices, /healthz, /metrics, auth, CORS, limits."""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from audio_decode import decode, mp3_frame
from server import Settings, create_app
from server.audio_encoding import FILE_FORMATS, file_formats_available, float_to_s16
from server.testing import LiveServer, wait_idle

TEXT = "Hello there, how are you today?"
LONG = "A long sentence that will not be finished before this client goes away. " * 3


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


def _check_file(fmt: str, data: bytes, expect: np.ndarray, rate: int, streamed: bool) -> None:
    """The body decodes to the utterance (N,) float: its samples to 16 bits for flac, its exact
    length for opus and whole mp3, and a streamed mp3's length up to its framing (one empty
    info frame, the encoder delay, padding)."""
    y, sr = decode(data)
    n = expect.size
    assert sr == rate
    if fmt == "flac":  # lossless: only the 16-bit rounding
        assert y.shape == expect.shape
        np.testing.assert_allclose(y, np.clip(expect, -1, 1), atol=1 / 32768)
    elif fmt == "mp3" and streamed:
        assert n + mp3_frame(rate) <= y.size <= n + 4 * mp3_frame(rate)
    else:
        assert y.size == n


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_speech_file_formats(client, synth, fmt, stream):
    pytest.importorskip("soundfile")
    r = client.post("/v1/audio/speech", json={"model": "tts-1", "input": TEXT, "response_format": fmt,
                                              "stream": stream})
    if not file_formats_available()[fmt]:
        assert r.status_code == 400 and "supported" in r.json()["error"]["message"]
        return
    assert r.status_code == 200 and r.headers["content-type"] == FILE_FORMATS[fmt][2]
    assert r.headers["x-sample-rate"] == str(synth.sample_rate)
    pcm, _ = synth.synthesize(TEXT)
    _check_file(fmt, r.content, pcm, synth.sample_rate, stream)
    assert _scheduler(client).live == 0


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_streamed_file_formats_leave_before_the_job_is_done(synth, fmt):
    """Ordering, not timing: the test client reads one body message at a time and the app waits
    on each send, and the scheduler runs at most 2 chunks ahead of what the handler took. So the
    job cannot finish until most of the body has been read, and every chunk read while the job
    still holds its slot proves audio left before the utterance was done."""
    pytest.importorskip("soundfile")
    if not file_formats_available()[fmt]:
        pytest.skip(f"this libsndfile cannot encode {fmt}")
    with make_client(synth, max_pending_chunks=2) as c:
        sched = _scheduler(c)
        chunks, while_live = [], []
        with c.stream("POST", "/v1/audio/speech", json={"input": TEXT, "response_format": fmt}) as r:
            assert r.status_code == 200
            for chunk in r.iter_raw():
                chunks.append(chunk)
                if sched.live == 1:
                    while_live.append(chunk)
        assert sched.live == 0
    assert len(chunks) > 1 and len(while_live) > 1
    assert while_live[0] is chunks[0]  # the first bytes left while the job was still running
    early, _ = decode(b"".join(while_live))
    assert early.size > 0  # and they were audio, not only headers
    pcm, _ = synth.synthesize(TEXT)
    _check_file(fmt, b"".join(chunks), pcm, synth.sample_rate, streamed=True)


def test_streamed_file_format_resampled(client):
    pytest.importorskip("soundfile")
    if not file_formats_available()["opus"]:
        pytest.skip("this libsndfile cannot encode opus")
    pcm = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "pcm", "sample_rate": 48000})
    r = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "opus", "sample_rate": 48000})
    assert r.status_code == 200 and r.headers["x-sample-rate"] == "48000"
    y, sr = decode(r.content)
    assert sr == 48000 and y.size == len(pcm.content) // 2


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


# ---------------------------------------------------------------- clients that leave (real sockets)


class GatedSynth:
    """The fixture synthesizer with a gate in front of its batched step.

    After ``free_steps`` steps the scheduler thread stops inside the next one
    until ``release`` is set. While it is stopped, no stream makes audio, so
    a job that ends meanwhile was cancelled; it cannot have run to its end.
    """

    def __init__(self, synth, free_steps: int):
        self._synth = synth
        self.free_steps = free_steps
        self.steps = 0
        self.blocked = threading.Event()  # the thread waits at the gate
        self.release = threading.Event()

    def step_streams(self, streams, frames, max_steps=None):
        if self.steps >= self.free_steps and not self.release.is_set():
            self.blocked.set()
            self.release.wait(30)
        self.steps += 1
        return self._synth.step_streams(streams, frames, max_steps=max_steps)

    def __getattr__(self, name):
        return getattr(self._synth, name)


def _until(cond, timeout: float = 10.0) -> bool:
    """Poll cond() until it holds; the timeout only absorbs a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def _post_raw(url: str, body: dict) -> socket.socket:
    host, port = url.split(":")
    payload = json.dumps(body).encode()
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    return sock


@pytest.mark.parametrize("fmt,stream,free_steps", [
    ("wav", False, 0),  # still waiting for the first audio
    ("wav", False, 3),  # collecting the whole utterance
    ("mp3", False, 3),  # the same, for a file encoded at the end
    ("flac", True, 3),  # streaming through the incremental encoder
])
def test_client_leaving_mid_synthesis_cancels_the_job_at_once(synth, fmt, stream, free_steps):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    if fmt in FILE_FORMATS and not file_formats_available()[fmt]:
        pytest.skip(f"this libsndfile cannot encode {fmt}")
    gated = GatedSynth(synth, free_steps)
    app = create_app(Settings(warmup=False, max_ahead_s=0.2), synth=gated)
    with LiveServer(app) as url:
        sched = app.state.services.scheduler
        sock = _post_raw(url, {"input": LONG, "response_format": fmt, "stream": stream})
        try:
            assert gated.blocked.wait(10)  # the job is mid-synthesis, and stays there
            assert sched.live == 1 and sched.stream_count == 1
            steps = gated.steps
        finally:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        # The slot is free again while the synthesis thread is still held at the gate:
        # the handler saw the disconnect and cancelled; the job did not run out.
        assert _until(lambda: sched.live == 0)
        assert gated.steps == steps and not gated.release.is_set()
        gated.release.set()
        assert wait_idle(app)  # and the thread dropped the stream's state on its next pass
        assert sched.stream_count == 0
        r = httpx.post(f"http://{url}/v1/audio/speech", json={"input": "Still here.", "response_format": "pcm",
                                                             "stream": False}, timeout=20)
        assert r.status_code == 200 and len(r.content) > 0
