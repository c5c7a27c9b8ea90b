"""POST /v1/audio/speech: OpenAI-compatible speech, streamed as it is made.

Every format leaves in chunks while the scheduler makes the audio: wav (with
the streaming header whose lengths read 0xFFFFFFFF), pcm, and flac / mp3 /
opus through an incremental encoder (stream_encoder.py). ``"stream": false``
gives one complete file with exact headers. Every input error is answered
before the first byte: the handler waits for the stream's first event, so
even a text that turns out to have nothing to speak gets a 400, never a
truncated 200.

A client that leaves frees its stream at once. While a response streams,
JobStreamingResponse cancels the job when the body ends, however it ends.
Before that (waiting for the first event, collecting a whole utterance,
encoding it), the handler watches the connection for ``http.disconnect``
and cancels the job as soon as it comes.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from tts.errors import StatecastError

from .audio_encoding import (FILE_FORMATS, OPUS_RATES, PCM_FORMATS, encode_file, encode_samples,
                             file_formats_available, supported_response_formats, wav_header)
from .deps import ApiKey, Svc, check_text, check_voice
from .http_errors import ApiError
from .resample import StreamingResampler
from .scheduler import JobDone, JobFailed
from .schemas import SpeechRequest
from .stream_encoder import StreamingFileEncoder

log = logging.getLogger("statecast.http")
router = APIRouter()

CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never seen by the client


class JobStreamingResponse(StreamingResponse):
    """A streaming response that cancels its synthesis job however the response ends
    (finished, client gone, server shutting down)."""

    def __init__(self, content, on_close, **kw):
        super().__init__(content, **kw)
        self._on_close = on_close

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""


async def _disconnected(receive) -> None:
    """Return when the ASGI server reports the client gone.

    The JSON body has been read by now, so the only message left to come is
    http.disconnect.
    """
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(request: Request, awaitable):
    """Await ``awaitable`` unless the client disconnects first: then cancel it and raise ClientGone.

    Only while the handler waits. Once a StreamingResponse is returned,
    starlette listens for the disconnect itself, and two listeners would
    compete for the one message.
    """
    work = asyncio.ensure_future(awaitable)
    watch = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when the handler itself is cancelled (server shutting down)
        watch.cancel()
        if not work.done():
            work.cancel()
    if work.done():
        return work.result()
    if not watch.cancelled() and watch.exception() is not None:  # receive() itself failed: no one to answer
        log.warning("watching the connection failed: %r", watch.exception())
    raise ClientGone()


def _pick_format(req: SpeechRequest) -> str:
    fmt = req.response_format
    if fmt is None:  # OpenAI's default is mp3
        return "mp3" if file_formats_available().get("mp3") else "wav"
    fmt = fmt.lower()
    if fmt in PCM_FORMATS or (fmt in FILE_FORMATS and file_formats_available()[fmt]):
        return fmt
    raise ApiError(400, "unsupported_format",
                   f"response_format {fmt!r} is not supported here; supported: {', '.join(supported_response_formats())}")


def _pick_rate(req: SpeechRequest, fmt: str, native: int) -> int:
    rate = req.sample_rate or native
    if fmt == "opus" and rate not in OPUS_RATES:
        if req.sample_rate is not None:
            raise ApiError(400, "invalid_request", f"opus needs a sample_rate in {OPUS_RATES}, got {rate}")
        rate = 48000
    return rate


def _open_encoder(fmt: str, rate: int) -> StreamingFileEncoder:
    try:
        return StreamingFileEncoder(fmt, rate)
    except StatecastError:
        raise
    except Exception as exc:  # libsndfile refused these parameters
        raise ApiError(400, "unsupported_format", f"could not encode {fmt} at {rate} Hz: {exc}") from None


def _job_error(ev: JobFailed) -> ApiError:
    return ApiError(500 if ev.code == "internal_error" else 400, ev.code, ev.message)


async def _first_event(job, events: asyncio.Queue):
    await job.opened  # StatecastError (bad voice mix, speed outside the voice's range) -> 400
    first = await events.get()
    if isinstance(first, JobFailed):
        raise _job_error(first)
    return first


@router.post("/v1/audio/speech", dependencies=[ApiKey])
async def speech(req: SpeechRequest, svc: Svc, request: Request):
    settings, synth, scheduler = svc.settings, svc.synth, svc.scheduler
    text = check_text(req.input, settings.max_text_chars)
    check_voice(req.voice, svc)
    fmt = _pick_format(req)
    rate = _pick_rate(req, fmt, synth.sample_rate)
    media = PCM_FORMATS.get(fmt) or FILE_FORMATS[fmt][2]
    headers = {"X-Sample-Rate": str(rate), "Cache-Control": "no-store"}
    encoder = _open_encoder(fmt, rate) if req.stream and fmt in FILE_FORMATS else None
    events: asyncio.Queue = asyncio.Queue()
    try:
        job = scheduler.open(events.put_nowait, voice=req.voice, speed=req.speed, paced=req.stream,
                             text=text, close=True, endpoint="http")  # Overloaded -> 429
    except BaseException:
        if encoder is not None:
            encoder.abort()
        raise
    svc.metrics.requests.inc(endpoint="http")
    try:
        first = await unless_client_leaves(request, _first_event(job, events))
    except BaseException as exc:
        scheduler.cancel(job)
        if encoder is not None:
            encoder.abort()
        if isinstance(exc, ClientGone):
            return _client_gone(job)
        raise
    if req.stream:
        sink = _PcmSink(rate, fmt == "wav") if encoder is None else _FileSink(encoder)
        body = _stream_body(first, events, job, synth.sample_rate, rate, sink)

        def on_close():
            scheduler.cancel(job)
            if encoder is not None:
                encoder.abort()  # waits for a write still running on a worker thread

        return JobStreamingResponse(body, on_close=on_close, media_type=media, headers=headers)
    try:
        pcm = await unless_client_leaves(request, _collect(first, events, job))
        body = await unless_client_leaves(
            request, asyncio.to_thread(_encode_whole, pcm, synth.sample_rate, rate, fmt))
    except ClientGone:
        return _client_gone(job)
    finally:
        scheduler.cancel(job)  # no-op when finished; frees the state when the answer is not wanted
    return Response(body, media_type=media, headers=headers)


def _client_gone(job) -> Response:
    log.info("speech job %d: the client left before the answer; cancelled", job.id)
    return Response(status_code=CLIENT_CLOSED)


def _encode_whole(pcm: np.ndarray, in_rate: int, out_rate: int, fmt: str) -> bytes:
    """A whole utterance (N,) float32 at in_rate -> the response body. Runs on a worker thread:
    a long utterance takes a while to resample and encode."""
    resampler = StreamingResampler(in_rate, out_rate)
    pcm = np.concatenate([resampler.process(pcm), resampler.flush()])
    if fmt in PCM_FORMATS:
        data = encode_samples(pcm, "pcm_s16le")
        return (wav_header(out_rate, pcm.shape[0]) + data) if fmt == "wav" else data
    try:
        return encode_file(pcm, out_rate, fmt)
    except StatecastError:
        raise
    except Exception as exc:  # libsndfile refused these parameters
        raise ApiError(400, "unsupported_format", f"could not encode {fmt}: {exc}") from None


async def _collect(first, events: asyncio.Queue, job) -> np.ndarray:
    parts, ev = [], first
    while True:
        if isinstance(ev, JobDone):
            return np.concatenate(parts) if parts else np.zeros(0, np.float32)
        if isinstance(ev, JobFailed):
            raise _job_error(ev)
        parts.append(ev.pcm)
        job.ack()
        ev = await events.get()


class _PcmSink:
    """s16le samples as they come (wav: behind a streaming header). Encoding is cheap: inline."""

    def __init__(self, out_rate: int, wav: bool):
        self.header = wav_header(out_rate) if wav else b""

    async def write(self, pcm: np.ndarray) -> bytes:
        return encode_samples(pcm, "pcm_s16le") if pcm.size else b""

    async def finish(self, tail: np.ndarray) -> bytes:
        return await self.write(tail)

    def abort(self) -> None:
        pass


class _FileSink:
    """flac / mp3 / opus through the incremental encoder, on a worker thread (up to ~5 ms a chunk).
    Whatever the codec has completed leaves at once, so the first bytes go out with the first chunk."""

    header = b""

    def __init__(self, encoder: StreamingFileEncoder):
        self.encoder = encoder

    async def write(self, pcm: np.ndarray) -> bytes:
        return await asyncio.to_thread(self.encoder.write, pcm) if pcm.size else b""

    async def finish(self, tail: np.ndarray) -> bytes:
        return await asyncio.to_thread(lambda: self.encoder.write(tail) + self.encoder.close())

    def abort(self) -> None:
        self.encoder.abort()  # a no-op after close


async def _stream_body(first, events: asyncio.Queue, job, in_rate: int, out_rate: int, sink):
    """Each chunk through the resampler and ``sink`` (_PcmSink / _FileSink), as the job makes it."""
    resampler = StreamingResampler(in_rate, out_rate)
    ev = first
    try:
        if sink.header:
            yield sink.header
        while True:
            if isinstance(ev, JobDone):
                data = await sink.finish(resampler.flush())
                if data:
                    yield data
                return
            if isinstance(ev, JobFailed):  # headers are gone: all we can do is end the body early
                log.warning("speech stream failed mid-way: %s (%s)", ev.message, ev.code)
                return
            out = resampler.process(ev.pcm)
            job.ack()
            data = await sink.write(out)
            if data:
                yield data
            ev = await events.get()
    finally:
        sink.abort()
