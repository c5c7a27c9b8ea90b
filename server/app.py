"""The app factory: ``create_app(settings, synth=None)``.

``lifespan`` loads the Synthesizer once (or takes the one passed in, as the
tests do), starts the scheduler thread, and on shutdown stops it, which
cancels every live stream. Routers are thin: speech (HTTP), stream
(websocket), meta (health, metrics, voices).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import tts

from . import http_errors, routes_meta, routes_page, routes_speech, routes_ws
from .deps import Services
from .limits import BodyLimitMiddleware
from .metrics import ServerMetrics
from .scheduler import Scheduler, SchedulerConfig
from .settings import Settings

log = logging.getLogger("statecast.server")


def scheduler_config(settings: Settings) -> SchedulerConfig:
    return SchedulerConfig(
        max_streams=settings.max_streams, max_batch=settings.max_batch,
        first_chunk_frames=settings.first_chunk_frames, chunk_frames=settings.chunk_frames,
        max_ahead_s=settings.max_ahead_s, max_pending_chunks=settings.max_pending_chunks,
        retry_after_s=settings.retry_after_s,
    )


def create_app(settings: Settings | None = None, synth=None) -> FastAPI:
    """Build the FastAPI app. ``synth``: an already loaded Synthesizer (else loaded at startup)."""
    settings = settings or Settings.from_env()
    metrics = ServerMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        s = synth
        if s is None:
            from tts import Synthesizer

            log.info("loading voices from %s", settings.voices or "the default directory")
            s = Synthesizer.load(settings.voices, threads=settings.threads, device=settings.device,
                                 warm=settings.warmup,
                                 lead_send_frames=None if settings.lead_send_frames < 0 else settings.lead_send_frames)
        scheduler = Scheduler(s, scheduler_config(settings), metrics)
        scheduler.start(asyncio.get_running_loop())
        app.state.services = Services(settings, s, scheduler, metrics,
                                      frozenset(v["name"] for v in s.voices()))
        try:
            yield
        finally:
            scheduler.stop()
            app.state.services = None

    app = FastAPI(title="StateCast", version=tts.__version__, lifespan=lifespan,
                  description="Streaming text-to-speech on a selective state-space backbone.")
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.services = None
    http_errors.install(app)
    app.include_router(routes_meta.router)
    app.include_router(routes_speech.router)
    app.include_router(routes_ws.router)
    app.include_router(routes_page.router)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["X-Sample-Rate"])
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
