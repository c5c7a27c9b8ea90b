"""The simulated callers of the load benchmark, one wave at a time.

A wave is ``level`` callers that start within a small window (their send
offsets) and each speak one turn. Two kinds of engine are driven the same way:

* StateCast: one websocket per caller (opened before the wave, so connection
  setup is not counted), one ``speak`` context per turn; a chunk is timed when
  the client receives it. Its audio is decoded only until the first speech is
  found (``StreamResult.onset_s``).
* A peer (Piper, Kokoro) wrapped at sentence granularity: the callers' turns
  queue for a pool of worker processes (one engine each, single-threaded), as
  a server of such an engine would; each turn is synthesised phrase by
  phrase through ``Engine.stream`` and a chunk is timed when the worker has it
  (no network hop; that favours the peer by a loopback round trip).

Every time is ``time.monotonic()``: CLOCK_MONOTONIC on Linux and macOS, the
same clock in every process, so worker timestamps and the client's send times
compare directly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from concurrent.futures import Executor

import numpy as np

from ..eval.timing import ONSET_WINDOW_S, speech_onset
from .load_stats import StreamResult

clock = time.monotonic


async def _sleep_until(t: float) -> None:
    delay = t - clock()
    if delay > 0:
        await asyncio.sleep(delay)


class SocketPool:
    """``level`` open websockets to ``ws_url`` (``ws://host:port/v1/stream``), one per caller."""

    def __init__(self, ws_url: str, size: int):
        self.ws_url, self.size, self.sockets = ws_url, size, []

    async def __aenter__(self) -> "SocketPool":
        from websockets.asyncio.client import connect

        self.sockets = await asyncio.gather(*(connect(self.ws_url, max_size=2**22, open_timeout=30)
                                              for _ in range(self.size)))
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def _ws_turn(ws, res: StreamResult, context_id: str, text: str, voice: str | None,
                   start_at: float, timeout_s: float) -> None:
    msg = {"type": "speak", "context_id": context_id, "text": text}
    if voice:
        msg["voice"] = voice
    await _sleep_until(start_at)
    res.t_send = clock()
    await ws.send(json.dumps(msg))
    deadline = res.t_send + timeout_s
    onset = OnsetFinder()
    try:
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(0.0, deadline - clock()))
            t = clock()
            ev = json.loads(raw)
            if ev.get("context_id") != context_id:
                continue
            kind = ev.get("type")
            if kind == "chunk":
                res.arrivals.append((t, ev["samples"] / ev["sample_rate"]))
                if res.onset_s is None:
                    # On the loop, after the timestamp: the first one or two chunks of a stream
                    # (50-150 ms of audio), tens of microseconds, so other streams' times barely move.
                    res.onset_s = onset.add(_chunk_pcm(ev), ev["sample_rate"])
            elif kind == "done":
                res.done = True
                res.server_ttfa_ms = ev.get("ttfa_ms")
                return
            elif kind in ("error", "cancelled"):
                res.error = ev.get("code", kind)
                return
    except asyncio.TimeoutError:
        res.error = "timeout"
    except Exception as exc:  # a dropped socket must not end the whole wave
        res.error = f"{type(exc).__name__}: {exc}"


def _chunk_pcm(ev: dict) -> np.ndarray:
    """A websocket chunk event's audio as float32 (pcm_s16le or pcm_f32le, the raw encodings)."""
    raw = base64.b64decode(ev.get("data", ""))
    if ev.get("encoding") == "pcm_f32le":
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


class OnsetFinder:
    """Audio fed chunk by chunk -> seconds into it where the first speech starts.

    ``add`` returns None until a chunk brings the onset; a caller stops feeding
    then (only the opening of each stream is ever decoded). Each sample is
    scanned once: whole onset windows already found quiet are dropped, and
    only a partial window is carried into the next chunk, so the windows are
    those ``speech_onset`` would take on the joined audio.
    """

    def __init__(self):
        self._rest = np.zeros(0, dtype=np.float32)  # the tail of a partial window
        self._scanned = 0  # samples in whole windows found quiet

    def add(self, pcm: np.ndarray, sample_rate: int) -> float | None:
        buf = np.concatenate([self._rest, pcm])
        n = max(1, int(round(ONSET_WINDOW_S * sample_rate)))
        whole = len(buf) // n * n
        at = speech_onset(buf[:whole], sample_rate) if whole else None
        if at is not None:
            return (self._scanned + at) / sample_rate
        self._scanned += whole
        self._rest = buf[whole:]
        return None


async def ws_wave(pool: SocketPool, results: list[StreamResult], texts: list[str], offsets: list[float],
                  voice: str | None = None, timeout_s: float = 120.0) -> None:
    """Run one wave: caller i speaks ``texts[i]`` at ``offsets[i]`` seconds from now on socket i.

    Fills ``results[i]`` (t_send, arrivals, done / error) in place.
    """
    assert len(results) == len(texts) == len(offsets) <= pool.size
    t0 = clock() + 0.05  # a moment to schedule every task before the first send
    await asyncio.gather(*(
        _ws_turn(ws, r, f"w{r.wave}c{r.caller}", text, voice, t0 + off, timeout_s)
        for ws, r, text, off in zip(pool.sockets, results, texts, offsets)))


# ---- peers: a worker pool of engines ----------------------------------------------------------

_ENGINE = None


def init_peer_worker(spec: str) -> None:
    """Process-pool initializer: build the engine once and warm it up (untimed)."""
    global _ENGINE
    from ..engines import get_engine

    _ENGINE = get_engine(spec)
    list(_ENGINE.stream("Hello, this is a warm-up."))


def peer_turn(text: str) -> tuple[list[tuple[float, float]], float | None]:
    """Synthesise ``text`` in this worker: ([(time the chunk was ready, audio seconds), ...],
    seconds into the audio of the first speech or None)."""
    out, onset, finder = [], None, OnsetFinder()
    for chunk in _ENGINE.stream(text):
        t = clock()
        out.append((t, len(chunk) / _ENGINE.sample_rate))
        if onset is None:  # after the clock: finding it is the listener's business, not the engine's
            onset = finder.add(np.asarray(chunk, dtype=np.float32).reshape(-1), _ENGINE.sample_rate)
    return out, onset


async def peer_wave(executor: Executor, results: list[StreamResult], texts: list[str], offsets: list[float],
                    turn=peer_turn) -> None:
    """Run one wave against ``executor``: caller i submits ``texts[i]`` at ``offsets[i]`` s from now.

    ``turn(text) -> ([(t, audio_s), ...], onset_s or None)`` runs in the executor (the default
    needs a pool built with ``init_peer_worker``); its queue is the callers'
    queue, so TTFA includes waiting for a free worker.
    """
    loop = asyncio.get_running_loop()
    t0 = clock() + 0.05

    async def one(res: StreamResult, text: str, off: float) -> None:
        await _sleep_until(t0 + off)
        res.t_send = clock()
        try:
            arrivals, res.onset_s = await loop.run_in_executor(executor, turn, text)
            res.arrivals = list(arrivals)
            res.done = True
        except Exception as exc:
            res.error = f"{type(exc).__name__}: {exc}"

    await asyncio.gather(*(one(r, t, o) for r, t, o in zip(results, texts, offsets)))
