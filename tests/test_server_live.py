"""The service on a real socket (uvicorn, ephemeral port): clients that vanish, many sockets at once."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import Settings, create_app
from server.testing import LiveServer, wait_idle

httpx = pytest.importorskip("httpx")
ws_client = pytest.importorskip("websockets.sync.client")

LONG = "A long sentence that will not be finished before this client goes away. " * 3


def _app(synth, **kw):
    kw.setdefault("max_ahead_s", 0.2)  # paced: long texts last seconds, so a client can leave mid-way
    return create_app(Settings(warmup=False, **kw), synth=synth)


def _speak_and_finish(url: str, n_contexts: int, tag: str) -> dict:
    """One socket, several contexts at once; returns {context_id: bytes of audio} once all are done."""
    got: dict[str, int] = {}
    with ws_client.connect(f"ws://{url}/v1/stream") as ws:
        for i in range(n_contexts):
            ws.send(json.dumps({"type": "speak", "context_id": f"{tag}-{i}", "text": f"Socket {tag}, context {i}."}))
        done = set()
        while len(done) < n_contexts:
            ev = json.loads(ws.recv(timeout=20))
            assert ev["type"] in ("chunk", "timestamps", "done"), ev
            if ev["type"] == "chunk":
                got[ev["context_id"]] = got.get(ev["context_id"], 0) + ev["samples"]
            elif ev["type"] == "done":
                done.add(ev["context_id"])
    return got


def test_many_sockets_and_contexts_all_complete(synth):
    app = _app(synth, max_ahead_s=0.0)
    baseline = threading.active_count()
    with LiveServer(app) as url:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda k: _speak_and_finish(url, 3, f"s{k}"), range(4)))
        assert all(len(r) == 3 and all(v > 0 for v in r.values()) for r in results)
        assert wait_idle(app)
        assert app.state.services.scheduler.max_batch_seen > 1
    assert threading.active_count() == baseline  # server, scheduler and client threads all gone


def test_http_client_vanishing_mid_stream_frees_its_stream(synth):
    app = _app(synth)
    with LiveServer(app) as url:
        with httpx.Client(base_url=f"http://{url}") as client:
            with client.stream("POST", "/v1/audio/speech", json={"input": LONG, "response_format": "pcm"}) as r:
                assert r.status_code == 200
                # Hold the iterator: a discarded `next(r.iter_bytes())` generator is finalized at once,
                # and its GeneratorExit makes httpcore close the connection right there, so the server
                # would race this check to cancel the job (the client would vanish before, not after).
                chunks = r.iter_bytes()
                first = next(chunks)
                assert len(first) > 0
                assert app.state.services.scheduler.live == 1
            # leaving the block closes the connection with most of the audio unsent
        assert wait_idle(app)
        with httpx.Client(base_url=f"http://{url}") as client:  # and the server keeps serving
            assert client.post("/v1/audio/speech", json={"input": "Still here.", "response_format": "pcm"}).status_code == 200


def test_websocket_client_dropping_the_tcp_connection(synth):
    """No close handshake at all: the socket just dies. Every context of it is cancelled."""
    app = _app(synth)
    with LiveServer(app) as url:
        with ws_client.connect(f"ws://{url}/v1/stream", close_timeout=0.2) as ws:
            ws.send(json.dumps({"type": "speak", "context_id": "a", "text": LONG}))
            ws.send(json.dumps({"type": "speak", "context_id": "b", "text": "Kept open", "continue": True}))
            assert json.loads(ws.recv(timeout=10))["type"] in ("chunk", "timestamps")
            assert app.state.services.scheduler.live == 2
            t0 = time.monotonic()
            ws.socket.shutdown(socket.SHUT_RDWR)
            ws.socket.close()
            assert wait_idle(app)
            assert time.monotonic() - t0 < 1.0  # at once, not at some timeout
        r = httpx.post(f"http://{url}/v1/audio/speech", json={"input": "After.", "response_format": "pcm", "stream": False})
        assert r.status_code == 200 and len(r.content) > 0  # still serving


def test_oversized_websocket_message_is_refused_politely(synth):
    app = _app(synth, max_message_bytes=1000)
    with LiveServer(app) as url:
        with ws_client.connect(f"ws://{url}/v1/stream") as ws:
            ws.send(json.dumps({"type": "speak", "context_id": "a", "text": "x" * 2000}))
            err = json.loads(ws.recv(timeout=10))
            assert err["type"] == "error" and err["code"] == "message_too_large"
            ws.send(json.dumps({"type": "speak", "context_id": "a", "text": "Fine."}))
            while json.loads(ws.recv(timeout=10))["type"] != "done":
                pass
