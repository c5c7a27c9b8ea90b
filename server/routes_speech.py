"""POST /v1/audio/speech: OpenAI-compatible speech, streamed as it is made.

wav and pcm leave in chunks while the scheduler makes them (wav with the
streaming header whose lengths read 0xFFFFFFFF); ``"stream": false`` gives a
wav with exact lengths. flac, mp3 and opus need the whole utterance and are
sent when it is done. Every input error is answered before the first byte:
the handler waits for the stream's first event, so even a text that turns
out to have nothing to speak gets a 400, never a truncated 200.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from tts.errors import StatecastError

from .audio_encoding import (OPUS_RATES, STREAMED_FORMATS, FILE_FORMATS, encode_file, encode_samples,
                             file_formats_available, supported_response_formats, wav_header)
from .deps import ApiKey, Svc, check_text, check_voice
from .http_errors import ApiError
from .resample import StreamingResampler
from .scheduler import JobDone, JobFailed
from .schemas import SpeechRequest

log = logging.getLogger("statecast.http")
router = APIRouter()


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


def _pick_format(req: SpeechRequest) -> str:
    fmt = req.response_format
    if fmt is None:  # OpenAI's default is mp3
        return "mp3" if file_formats_available().get("mp3") else "wav"
    fmt = fmt.lower()
    if fmt in STREAMED_FORMATS or (fmt in FILE_FORMATS and file_formats_available()[fmt]):
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


@router.post("/v1/audio/speech", dependencies=[ApiKey])
async def speech(req: SpeechRequest, svc: Svc, request: Request):
    settings, synth, scheduler = svc.settings, svc.synth, svc.scheduler
    text = check_text(req.input, settings.max_text_chars)
    check_voice(req.voice, svc)
    fmt = _pick_format(req)
    rate = _pick_rate(req, fmt, synth.sample_rate)
    streamed = fmt in STREAMED_FORMATS and req.stream
    events: asyncio.Queue = asyncio.Queue()
    job = scheduler.open(events.put_nowait, voice=req.voice, speed=req.speed, paced=streamed,
                         text=text, close=True, endpoint="http")  # Overloaded -> 429
    svc.metrics.requests.inc(endpoint="http")
    try:
        await job.opened  # StatecastError (bad voice mix, speed outside the voice's range) -> 400
        first = await events.get()
        if isinstance(first, JobFailed):
            raise ApiError(500 if first.code == "internal_error" else 400, first.code, first.message)
    except BaseException:
        scheduler.cancel(job)
        raise
    headers = {"X-Sample-Rate": str(rate), "Cache-Control": "no-store"}
    if streamed:
        media = STREAMED_FORMATS[fmt]
        return JobStreamingResponse(_pcm_body(first, events, job, synth.sample_rate, rate, fmt == "wav"),
                                    on_close=lambda: scheduler.cancel(job), media_type=media, headers=headers)
    try:
        pcm = await _collect(first, events, job)
    finally:
        scheduler.cancel(job)  # no-op when finished; frees the state when the client left mid-way
    resampler = StreamingResampler(synth.sample_rate, rate)
    pcm = np.concatenate([resampler.process(pcm), resampler.flush()])
    if fmt in STREAMED_FORMATS:
        data = encode_samples(pcm, "pcm_s16le")
        body = (wav_header(rate, pcm.shape[0]) + data) if fmt == "wav" else data
        return Response(body, media_type=STREAMED_FORMATS[fmt], headers=headers)
    try:
        body = encode_file(pcm, rate, fmt)
    except StatecastError:
        raise
    except Exception as exc:  # libsndfile refused these parameters
        raise ApiError(400, "unsupported_format", f"could not encode {fmt}: {exc}") from None
    return Response(body, media_type=FILE_FORMATS[fmt][2], headers=headers)


async def _collect(first, events: asyncio.Queue, job) -> np.ndarray:
    parts, ev = [], first
    while True:
        if isinstance(ev, JobDone):
            return np.concatenate(parts) if parts else np.zeros(0, np.float32)
        if isinstance(ev, JobFailed):
            raise ApiError(500 if ev.code == "internal_error" else 400, ev.code, ev.message)
        parts.append(ev.pcm)
        job.ack()
        ev = await events.get()


async def _pcm_body(first, events: asyncio.Queue, job, in_rate: int, out_rate: int, wav: bool):
    resampler = StreamingResampler(in_rate, out_rate)
    if wav:
        yield wav_header(out_rate)
    ev = first
    while True:
        if isinstance(ev, JobDone):
            tail = resampler.flush()
            if tail.size:
                yield encode_samples(tail, "pcm_s16le")
            return
        if isinstance(ev, JobFailed):  # headers are gone: all we can do is end the body early
            log.warning("speech stream failed mid-way: %s (%s)", ev.message, ev.code)
            return
        out = resampler.process(ev.pcm)
        job.ack()
        if out.size:
            yield encode_samples(out, "pcm_s16le")
        ev = await events.get()
