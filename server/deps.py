"""What every route needs: the app's services, the API-key check, input checks.

Input checks raise :class:`ApiError` with a stable ``code``; the HTTP layer
turns it into a 4xx, the websocket into an error event with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .http_errors import ApiError
from .limits import key_matches
from .metrics import ServerMetrics
from .scheduler import Scheduler
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    synth: object
    scheduler: Scheduler
    metrics: ServerMetrics
    voice_names: frozenset[str]


def services_of(app) -> Services:
    svc = getattr(app.state, "services", None)
    if svc is None:
        raise ApiError(503, "starting", "the service is still starting")
    return svc


async def get_services(request: Request) -> Services:
    # async: a plain def dependency would run on a worker thread
    return services_of(request.app)


async def require_api_key(request: Request) -> None:
    settings: Settings = request.app.state.settings
    if not key_matches(settings.api_key, request.headers.get("authorization")):
        raise ApiError(401, "unauthorized", "missing or wrong API key (send Authorization: Bearer <key>)",
                       {"WWW-Authenticate": "Bearer"})


Svc = Annotated[Services, Depends(get_services)]
ApiKey = Depends(require_api_key)


def check_text(text: str, max_chars: int, *, allow_empty: bool = False) -> str:
    if len(text) > max_chars:
        raise ApiError(400, "text_too_long", f"text is {len(text)} characters; the limit is {max_chars}")
    if not allow_empty and not text.strip():
        raise ApiError(400, "empty_text", "text is empty: nothing to speak")
    return text


def check_voice(voice, svc: Services) -> None:
    """Unknown names get their own code; weights and mixing rules are the synthesizer's to check."""
    if voice is None:
        return
    names = [voice] if isinstance(voice, str) else list(voice)
    unknown = [n for n in names if n not in svc.voice_names]
    if unknown:
        raise ApiError(400, "unknown_voice",
                       f"unknown voice {unknown[0]!r}; available: {', '.join(sorted(svc.voice_names))}")
