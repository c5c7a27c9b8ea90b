"""Websocket /v1/stream: every message type, every bad input, several contexts, cancel, limits."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server import Settings, create_app
from server.audio_encoding import mulaw_decode

TEXT = "Hello there, how are you today?"


def make_client(synth, **kw) -> TestClient:
    kw.setdefault("max_ahead_s", 0.0)
    return TestClient(create_app(Settings(warmup=False, **kw), synth=synth))


@pytest.fixture(scope="module")
def client(synth):
    with make_client(synth, max_text_chars=300, max_context_chars=400, max_message_bytes=2000,
                     max_contexts_per_socket=4) as c:
        yield c


def sched(c):
    return c.app.state.services.scheduler


def wait_idle(c, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sched(c).live == 0 and sched(c).stream_count == 0:
            return True
        time.sleep(0.01)
    return False


def collect(ws, ids, until=("done",)):
    """Receive until every context in ``ids`` has ended; returns {id: [events]} (errors without id under None)."""
    pending, out = set(ids), {i: [] for i in ids}
    while pending:
        ev = ws.receive_json()
        out.setdefault(ev.get("context_id"), []).append(ev)
        if ev["type"] in until + ("error", "cancelled") and ev.get("context_id") in pending:
            pending.discard(ev["context_id"])
    return out


def audio(events, dtype="<f4") -> np.ndarray:
    parts = [np.frombuffer(base64.b64decode(e["data"]), dtype=dtype) for e in events if e["type"] == "chunk"]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def words(events):
    return [(w["word"], w["start"], w["end"]) for e in events if e["type"] == "timestamps" for w in e["words"]]


def speak(ctx, text=TEXT, **kw):
    return {"type": "speak", "context_id": ctx, "text": text, **kw}


F32 = {"encoding": "pcm_f32le"}


def test_speak_streams_the_synthesizers_audio_and_words(client, synth):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("a", voice="am_michael", output_format=F32))
        ev = collect(ws, ["a"])["a"]
    assert ev[-1]["type"] == "done" and ev[-1]["ttfa_ms"] >= 0 and ev[-1]["audio_ms"] > 0
    chunks = [e for e in ev if e["type"] == "chunk"]
    assert chunks[0]["start"] == 0.0 and chunks[0]["sample_rate"] == synth.sample_rate
    # the first chunk is small (low time to first audio), later ones larger
    assert chunks[0]["samples"] < chunks[1]["samples"]
    pcm, ws_words = synth.synthesize(TEXT, voice="am_michael")
    np.testing.assert_array_equal(audio(ev), pcm)
    assert words(ev) == [(w.word, round(w.start, 4), round(w.end, 4)) for w in ws_words]
    assert wait_idle(client)


@pytest.mark.parametrize("encoding,rate", [("pcm_s16le", 16000), ("mulaw", 8000), ("pcm_f32le", 44100),
                                           ("pcm_s16le", None)])
def test_output_formats(client, synth, encoding, rate):
    fmt = {"encoding": encoding} | ({"sample_rate": rate} if rate else {})
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("x", output_format=fmt, add_timestamps=False))
        ev = collect(ws, ["x"])["x"]
    assert not any(e["type"] == "timestamps" for e in ev)
    rate = rate or synth.sample_rate
    assert {e["sample_rate"] for e in ev if e["type"] == "chunk"} == {rate}
    assert {e["encoding"] for e in ev if e["type"] == "chunk"} == {encoding}
    dtype = {"pcm_s16le": "<i2", "pcm_f32le": "<f4", "mulaw": np.uint8}[encoding]
    got = audio(ev, dtype)
    native, _ = synth.synthesize(TEXT)
    assert got.size == -(-native.size * rate // synth.sample_rate)
    if encoding == "mulaw":
        assert np.abs(mulaw_decode(got).astype(np.int32)).max() > 0


def test_continue_in_pieces_equals_whole_text(client, synth):
    """An LLM's pieces, cut anywhere (even inside words), give the audio of the whole text."""
    pieces = ["Hel", "lo there, ", "how a", "re you", " today?"]
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("c", pieces[0], output_format=F32, max_buffer_delay_ms=10_000, **{"continue": True}))
        for p in pieces[1:]:
            ws.send_json({"type": "continue", "context_id": "c", "text": p})
        ws.send_json({"type": "close", "context_id": "c"})
        ev = collect(ws, ["c"])["c"]
    assert ev[-1]["type"] == "done"
    pcm, w = synth.synthesize("".join(pieces))
    np.testing.assert_array_equal(audio(ev), pcm)
    assert [x[0] for x in words(ev)] == [x.word for x in w]


def test_buffer_delay_flushes_waiting_words(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("d", "Hello there", max_buffer_delay_ms=30, **{"continue": True}))
        first = ws.receive_json()  # no close, no flush: the 30 ms delay releases the words
        assert first["type"] in ("chunk", "timestamps") and first["context_id"] == "d"
        ws.send_json({"type": "close", "context_id": "d"})
        ev = collect(ws, ["d"])["d"]
    assert ev[-1]["type"] == "done"


def test_flush_releases_text_the_delay_still_holds(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("f", "Hello there my ", max_buffer_delay_ms=10_000, **{"continue": True}))
        time.sleep(0.3)
        ws.send_json({"type": "cancel", "context_id": "probe"})  # answered at once
        probe = ws.receive_json()
        assert probe["code"] == "unknown_context"  # nothing was spoken before it: the text is still held
        ws.send_json({"type": "flush", "context_id": "f"})
        first = ws.receive_json()
        assert first["type"] in ("chunk", "timestamps") and first["context_id"] == "f"
        ws.send_json({"type": "continue", "context_id": "f", "text": "friend."})
        ws.send_json({"type": "close", "context_id": "f"})
        ev = collect(ws, ["f"])["f"]
    assert ev[-1]["type"] == "done"
    assert "friend" in [x[0] for x in words([first] + ev)]


def test_several_contexts_on_one_socket(client, synth):
    texts = {"one": "First voice speaking.", "two": "Second one, a little longer than that.", "three": "Third!"}
    with client.websocket_connect("/v1/stream") as ws:
        for i, (cid, text) in enumerate(texts.items()):
            ws.send_json(speak(cid, text, voice=["af_heart", "bm_george", "joe"][i], output_format=F32))
        out = collect(ws, list(texts))
    for i, (cid, text) in enumerate(texts.items()):
        assert out[cid][-1]["type"] == "done"
        pcm, _ = synth.synthesize(text, voice=["af_heart", "bm_george", "joe"][i])
        # stepped in one batch with the others: same tokens, float sums may differ in the last bits
        np.testing.assert_allclose(audio(out[cid]), pcm, atol=1e-5)
    assert wait_idle(client)


def test_cancel_mid_stream_frees_the_stream_at_once(synth):
    with make_client(synth, max_ahead_s=0.2) as c:  # paced: the stream lasts seconds
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json(speak("long", "This sentence takes a while to say out loud. " * 3))
            assert ws.receive_json()["context_id"] == "long"
            ws.send_json({"type": "cancel", "context_id": "long"})
            while (ev := ws.receive_json())["type"] != "cancelled":
                assert ev["type"] in ("chunk", "timestamps")
            assert ev == {"type": "cancelled", "context_id": "long"}
            assert wait_idle(c, 1.0)
            ws.send_json({"type": "cancel", "context_id": "long"})  # cancel of an ended context
            err = ws.receive_json()
            assert err["type"] == "error" and err["code"] == "context_finished"
            ws.send_json(speak("next", "Still here."))  # the socket keeps serving
            assert collect(ws, ["next"])["next"][-1]["type"] == "done"


def test_cancel_and_close_of_a_finished_context(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("fin", "Short."))
        collect(ws, ["fin"])
        for kind in ("cancel", "close", "flush"):
            ws.send_json({"type": kind, "context_id": "fin"})
            err = ws.receive_json()
            assert err["type"] == "error" and err["code"] == "context_finished" and err["context_id"] == "fin"
        ws.send_json({"type": "continue", "context_id": "fin", "text": "more"})
        assert ws.receive_json()["code"] == "context_finished"
        ws.send_json(speak("fin", "Reused id."))  # an ended id may be opened again
        assert collect(ws, ["fin"])["fin"][-1]["type"] == "done"


BAD_MESSAGES = [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_message"),
    ('"speak"', "invalid_message"),
    ('{"context_id": "a"}', "unknown_type"),
    ('{"type": "sing", "context_id": "a"}', "unknown_type"),
    ('{"type": "speak", "text": "hi"}', "invalid_message"),
    ('{"type": "speak", "context_id": "", "text": "hi"}', "invalid_message"),
    ('{"type": "speak", "context_id": "a", "text": ""}', "empty_text"),
    ('{"type": "speak", "context_id": "a", "text": "   "}', "empty_text"),
    ('{"type": "speak", "context_id": "a", "text": "' + "x" * 301 + '"}', "text_too_long"),
    ('{"type": "speak", "context_id": "a", "text": "' + "x" * 2100 + '"}', "message_too_large"),
    ('{"type": "speak", "context_id": "a", "text": "hi", "voice": "nobody"}', "unknown_voice"),
    ('{"type": "speak", "context_id": "a", "text": "hi", "speed": 0}', "invalid_message"),
    ('{"type": "speak", "context_id": "a", "text": "hi", "output_format": {"encoding": "alaw"}}', "invalid_message"),
    ('{"type": "speak", "context_id": "a", "text": "hi", "output_format": {"sample_rate": 11025}}', "invalid_message"),
    ('{"type": "speak", "context_id": "a", "text": "hi", "max_buffer_delay_ms": -5}', "invalid_message"),
    ('{"type": "speak", "context_id": "a", "text": "hi", "colour": "blue"}', "invalid_message"),
    ('{"type": "continue", "context_id": "nope", "text": "hi"}', "unknown_context"),
    ('{"type": "flush", "context_id": "nope"}', "unknown_context"),
    ('{"type": "close", "context_id": "nope"}', "unknown_context"),
    ('{"type": "cancel", "context_id": "nope"}', "unknown_context"),
    ('{"type": "continue", "context_id": "nope"}', "invalid_message"),
]


def test_every_bad_message_gets_an_error_and_the_socket_keeps_serving(client):
    with client.websocket_connect("/v1/stream") as ws:
        for raw, code in BAD_MESSAGES:
            ws.send_text(raw)
            err = ws.receive_json()
            assert err["type"] == "error" and err["code"] == code and err["message"], (raw, err)
        ws.send_bytes(b"\x00\x01binary")
        assert ws.receive_json()["code"] == "binary_not_supported"
        ws.send_json(speak("ok", "Still serving."))
        assert collect(ws, ["ok"])["ok"][-1]["type"] == "done"
    assert wait_idle(client)
    assert 'statecast_errors_total{code="invalid_json"}' in client.get("/metrics").text


def test_context_state_errors(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json(speak("s", "", **{"continue": True}))
        ws.send_json(speak("s", "again"))
        assert ws.receive_json()["code"] == "context_exists"
        ws.send_json({"type": "continue", "context_id": "s", "text": ""})
        assert ws.receive_json()["code"] == "empty_text"
        ws.send_json({"type": "continue", "context_id": "s", "text": "y" * 300})
        ws.send_json({"type": "continue", "context_id": "s", "text": "y" * 150})  # context total over 400
        assert ws.receive_json()["code"] == "text_too_long"
        ws.send_json({"type": "cancel", "context_id": "s"})
        assert ws.receive_json()["type"] == "cancelled"
        for i in range(4):
            ws.send_json(speak(f"m{i}", "", **{"continue": True}))
        ws.send_json(speak("m4", "", **{"continue": True}))
        assert ws.receive_json()["code"] == "too_many_contexts"
        ws.send_json({"type": "close", "context_id": "m0"})  # closed with nothing said: a clear error
        err = ws.receive_json()
        assert err["code"] == "invalid_text" and err["context_id"] == "m0"
        ws.send_json({"type": "continue", "context_id": "m1", "text": "Words. "})
        ws.send_json({"type": "close", "context_id": "m1"})
        ws.send_json({"type": "close", "context_id": "m1"})  # closing twice
        seen = []
        while not ("done" in seen and "context_closed" in seen):
            ev = ws.receive_json()
            assert ev["context_id"] == "m1"
            seen.append(ev.get("code", ev["type"]))
        assert sched(client).live == 2  # m2 and m3 still open
    assert wait_idle(client)  # the socket closed with m2, m3 open: they were cancelled


def test_overloaded_error_carries_retry_advice(synth):
    with make_client(synth, max_streams=2, retry_after_s=0.5) as c:
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json(speak("a", "", **{"continue": True}))
            ws.send_json(speak("b", "", **{"continue": True}))
            ws.send_json(speak("c", "Hi."))
            err = ws.receive_json()
            assert err == {"type": "error", "code": "overloaded", "context_id": "c", "retry_after_ms": 500,
                           "message": err["message"]}
            ws.send_json({"type": "cancel", "context_id": "a"})
            assert ws.receive_json()["type"] == "cancelled"
            deadline = time.monotonic() + 2.0
            while sched(c).live != 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert sched(c).live == 1
            ws.send_json(speak("c", "Hi."))  # a slot is free again
            assert collect(ws, ["c"])["c"][-1]["type"] == "done"


def test_websocket_api_key(synth):
    with make_client(synth, api_key="k3y") as c:
        with c.websocket_connect("/v1/stream") as ws:
            assert ws.receive_json()["code"] == "unauthorized"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 1008
        for kw in ({"headers": {"Authorization": "Bearer k3y"}}, {}):
            url = "/v1/stream" if kw else "/v1/stream?api_key=k3y"
            with c.websocket_connect(url, **kw) as ws:
                ws.send_json(speak("a", "Hi."))
                assert collect(ws, ["a"])["a"][-1]["type"] == "done"


def test_client_vanishing_mid_stream_frees_everything(synth):
    with make_client(synth, max_ahead_s=0.2) as c:
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json(speak("a", "A long sentence that will not finish before the client leaves. " * 2))
            ws.send_json(speak("b", "", **{"continue": True}))
            assert ws.receive_json()["context_id"] == "a"
            assert sched(c).live == 2
        assert wait_idle(c, 2.0)
        assert c.get("/healthz").json()["live_streams"] == 0
