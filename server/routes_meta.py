"""GET /healthz, /metrics, /v1/voices, /v1/models."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from .audio_encoding import supported_response_formats
from .deps import ApiKey, Svc

router = APIRouter()


@router.get("/healthz")
async def healthz(svc: Svc):
    """Liveness and a little state; no key needed (load balancers call it)."""
    running = svc.scheduler.running
    body = {
        "status": "ok" if running else "degraded",
        "scheduler_running": running,
        "live_streams": svc.scheduler.live,
        "max_streams": svc.settings.max_streams,
        "sample_rate": svc.synth.sample_rate,
        "voices": len(svc.voice_names),
    }
    return JSONResponse(body, status_code=200 if running else 503)


@router.get("/metrics", dependencies=[ApiKey])
async def metrics(svc: Svc):
    svc.metrics.active.set(svc.scheduler.stream_count)
    return PlainTextResponse(svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/voices", dependencies=[ApiKey])
async def voices(svc: Svc):
    return {"voices": svc.synth.voices(), "default": svc.synth.default_voice,
            "sample_rate": svc.synth.sample_rate, "response_formats": supported_response_formats()}


@router.get("/v1/models", dependencies=[ApiKey])
async def models():
    """OpenAI clients list models before use; there is one."""
    return {"object": "list", "data": [{"id": "statecast", "object": "model", "owned_by": "statecast"}]}
