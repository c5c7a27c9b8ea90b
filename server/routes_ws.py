"""Websocket /v1/stream: several synthesis contexts per socket (see server/PROTOCOL.md).

The receive loop only parses and checks messages and posts commands to the
scheduler; audio comes back through each context's sink (on the event loop),
is resampled and encoded there, and goes out through one sender task, so
sends never interleave. A client that vanishes cancels all its contexts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from tts.errors import StatecastError

from .audio_encoding import encode_samples
from .deps import Services, check_text, check_voice, services_of
from .http_errors import ApiError
from .limits import key_matches
from .resample import StreamingResampler
from .scheduler import Job, JobDone, JobFailed, NotRunning, Overloaded
from .schemas import MESSAGES, SpeakMessage, describe_validation_error

log = logging.getLogger("statecast.ws")
router = APIRouter()

FINISHED_MEMORY = 256  # recently ended context ids remembered per socket, to tell "finished" from "unknown"
POLICY_VIOLATION = 1008


@dataclass(eq=False)
class Context:
    id: str
    job: Job
    encoding: str
    sample_rate: int
    resampler: StreamingResampler
    timestamps: bool
    closed: bool = False  # no more text accepted
    cancelled: bool = False
    text_chars: int = 0


@dataclass
class Session:
    """One socket: its contexts and its outbound queue."""

    ws: WebSocket
    svc: Services
    contexts: dict[str, Context] = field(default_factory=dict)
    finished: OrderedDict = field(default_factory=OrderedDict)  # context id -> "done" | "cancelled" | "failed"
    out: asyncio.Queue = field(default_factory=asyncio.Queue)

    # ---- outbound -----------------------------------------------------------------------
    def send(self, payload: dict, ctx: Context | None = None, acks: int = 0) -> None:
        self.out.put_nowait((ctx, payload, acks))

    def error(self, code: str, message: str, context_id: str | None = None, retry_after_ms: int | None = None):
        self.svc.metrics.errors.inc(code=code)
        payload = {"type": "error", "code": code, "message": message}
        if context_id is not None:
            payload["context_id"] = context_id
        if retry_after_ms is not None:
            payload["retry_after_ms"] = retry_after_ms
        self.send(payload)

    async def sender(self) -> None:
        while True:
            ctx, payload, acks = await self.out.get()
            if ctx is not None and ctx.cancelled and payload["type"] in ("chunk", "timestamps"):
                ctx.job.ack(acks)  # cancelled: drop queued audio at once
                continue
            await self.ws.send_text(json.dumps(payload))
            if acks:
                ctx.job.ack(acks)

    # ---- context bookkeeping ------------------------------------------------------------
    def _end(self, ctx: Context, how: str) -> None:
        if self.contexts.get(ctx.id) is ctx:
            del self.contexts[ctx.id]
        self.finished[ctx.id] = how
        self.finished.move_to_end(ctx.id)
        while len(self.finished) > FINISHED_MEMORY:
            self.finished.popitem(last=False)

    def _sink(self, ctx: Context):
        def on_event(ev) -> None:
            if ctx.cancelled:
                return
            if isinstance(ev, JobDone):
                tail = ctx.resampler.flush()
                if tail.size:
                    self._chunk(ctx, tail, None, 0)
                self.send({"type": "done", "context_id": ctx.id,
                           "ttfa_ms": None if ev.ttfa_s is None else round(ev.ttfa_s * 1000, 1),
                           "audio_ms": round(ev.audio_s * 1000, 1), "chunks": ev.chunks}, ctx)
                self._end(ctx, "done")
            elif isinstance(ev, JobFailed):
                self.error(ev.code, ev.message, ctx.id)
                self._end(ctx, "failed")
            else:  # AudioChunk
                if ctx.timestamps and ev.words:
                    self.send({"type": "timestamps", "context_id": ctx.id,
                               "words": [{"word": w.word, "start": round(w.start, 4), "end": round(w.end, 4)}
                                         for w in ev.words]}, ctx)
                self._chunk(ctx, ctx.resampler.process(ev.pcm), ev.start, 1)

        return on_event

    def _chunk(self, ctx: Context, samples, start: float | None, acks: int) -> None:
        if not samples.size:
            ctx.job.ack(acks)
            return
        payload = {"type": "chunk", "context_id": ctx.id,
                   "data": base64.b64encode(encode_samples(samples, ctx.encoding)).decode("ascii"),
                   "encoding": ctx.encoding, "sample_rate": ctx.sample_rate, "samples": int(samples.size)}
        if start is not None:
            payload["start"] = round(start, 4)
        self.send(payload, ctx, acks)

    def _lookup(self, context_id: str) -> Context:
        ctx = self.contexts.get(context_id)
        if ctx is not None:
            return ctx
        if context_id in self.finished:
            raise ApiError(400, "context_finished", f"context {context_id!r} has already ended ({self.finished[context_id]})")
        raise ApiError(400, "unknown_context", f"no open context {context_id!r} on this socket")

    # ---- inbound ------------------------------------------------------------------------
    def handle(self, raw: str) -> None:
        settings = self.svc.settings
        if len(raw.encode("utf-8")) > settings.max_message_bytes:
            return self.error("message_too_large", f"message over {settings.max_message_bytes} bytes")
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError as exc:
            return self.error("invalid_json", f"message is not JSON: {exc.msg} at position {exc.pos}")
        if not isinstance(msg, dict):
            return self.error("invalid_message", "a message must be a JSON object")
        kind = msg.get("type")
        context_id = msg.get("context_id") if isinstance(msg.get("context_id"), str) else None
        if kind not in MESSAGES:
            return self.error("unknown_type", f"unknown message type {kind!r}; expected one of {', '.join(MESSAGES)}",
                              context_id)
        try:
            m = MESSAGES[kind].model_validate(msg)
            getattr(self, f"_on_{kind}")(m)
        except ValidationError as exc:
            self.error("invalid_message", describe_validation_error(exc), context_id)
        except ApiError as exc:
            self.error(exc.code, exc.message, context_id)
        except Overloaded as exc:
            self.svc.metrics.rejected.inc(endpoint="ws")
            self.error("overloaded", str(exc), context_id, retry_after_ms=int(exc.retry_after_s * 1000))
        except NotRunning as exc:
            self.error("shutting_down", str(exc), context_id)
        except StatecastError as exc:
            self.error("invalid_request", str(exc), context_id)

    def _on_speak(self, m: SpeakMessage) -> None:
        settings, svc = self.svc.settings, self.svc
        if m.context_id in self.contexts:
            raise ApiError(400, "context_exists", f"context {m.context_id!r} is already open on this socket")
        if len(self.contexts) >= settings.max_contexts_per_socket:
            raise ApiError(400, "too_many_contexts",
                           f"{settings.max_contexts_per_socket} contexts already open on this socket")
        check_text(m.text, settings.max_text_chars, allow_empty=m.continue_)
        check_voice(m.voice, svc)
        rate = m.output_format.sample_rate or svc.synth.sample_rate
        delay_ms = settings.default_buffer_delay_ms if m.max_buffer_delay_ms is None else m.max_buffer_delay_ms
        ctx = Context(m.context_id, None, m.output_format.encoding, rate,
                      StreamingResampler(svc.synth.sample_rate, rate), m.add_timestamps,
                      closed=not m.continue_, text_chars=len(m.text))
        job = svc.scheduler.open(self._sink(ctx), voice=m.voice, speed=m.speed, paced=True,
                                 buffer_delay_s=delay_ms / 1000.0, endpoint="ws",
                                 text=m.text or None, close=not m.continue_)
        ctx.job = job
        svc.metrics.requests.inc(endpoint="ws")
        self.finished.pop(m.context_id, None)
        self.contexts[m.context_id] = ctx
        job.opened.add_done_callback(lambda fut: self._opened(ctx, fut))

    def _opened(self, ctx: Context, fut: asyncio.Future) -> None:
        if fut.cancelled() or fut.exception() is None:
            return
        if not ctx.cancelled:
            self.error("invalid_request", str(fut.exception()), ctx.id)
            self._end(ctx, "failed")

    def _on_continue(self, m) -> None:
        ctx = self._lookup(m.context_id)
        if ctx.closed:
            raise ApiError(400, "context_closed", f"context {m.context_id!r} is closed: no more text")
        if m.text == "":
            raise ApiError(400, "empty_text", "continue needs some text")
        limit = self.svc.settings.max_context_chars
        check_text(m.text, self.svc.settings.max_text_chars, allow_empty=True)
        if ctx.text_chars + len(m.text) > limit:
            raise ApiError(400, "text_too_long", f"context {m.context_id!r} would exceed {limit} characters")
        ctx.text_chars += len(m.text)
        self.svc.scheduler.push(ctx.job, m.text)

    def _on_flush(self, m) -> None:
        ctx = self._lookup(m.context_id)
        if ctx.closed:
            raise ApiError(400, "context_closed", f"context {m.context_id!r} is closed; its text is already flushed")
        self.svc.scheduler.flush(ctx.job)

    def _on_close(self, m) -> None:
        ctx = self._lookup(m.context_id)
        if ctx.closed:
            raise ApiError(400, "context_closed", f"context {m.context_id!r} is already closed")
        ctx.closed = True
        self.svc.scheduler.close(ctx.job)

    def _on_cancel(self, m) -> None:
        ctx = self._lookup(m.context_id)
        self._cancel(ctx)
        self.send({"type": "cancelled", "context_id": ctx.id})

    def _cancel(self, ctx: Context) -> None:
        ctx.cancelled = True
        self.svc.scheduler.cancel(ctx.job)
        self._end(ctx, "cancelled")

    def cancel_all(self) -> None:
        for ctx in list(self.contexts.values()):
            self._cancel(ctx)


@router.websocket("/v1/stream")
async def stream(ws: WebSocket):
    settings = ws.app.state.settings
    await ws.accept()
    if not key_matches(settings.api_key, ws.headers.get("authorization"), ws.query_params.get("api_key")):
        ws.app.state.metrics.errors.inc(code="unauthorized")
        await ws.send_text(json.dumps({"type": "error", "code": "unauthorized",
                                       "message": "missing or wrong API key (Authorization: Bearer <key> or ?api_key=)"}))
        await ws.close(POLICY_VIOLATION)
        return
    try:
        svc = services_of(ws.app)
    except ApiError as exc:
        await ws.send_text(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
        await ws.close(1013)  # try again later
        return
    session = Session(ws, svc)
    sender = asyncio.create_task(session.sender())
    try:
        while True:
            receive = asyncio.create_task(ws.receive())
            done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:  # the sender died: the client is gone
                receive.cancel()
                break
            msg = receive.result()
            if msg["type"] == "websocket.disconnect":
                break
            if msg.get("text") is not None:
                session.handle(msg["text"])
            else:
                session.error("binary_not_supported", "send JSON text messages; binary frames are not part of the protocol")
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client vanished
    finally:
        session.cancel_all()
        sender.cancel()
        try:
            await sender
        except (asyncio.CancelledError, Exception):
            pass
        if ws.client_state == WebSocketState.CONNECTED:
            try:
                await ws.close()
            except Exception:
                pass
