"""GET / (the browser playground) and its three static files.

The page is public: it holds no data, only the client code. Every API call it
makes (``GET /v1/voices``, the websocket) carries the key typed into its API
key field, so a configured key still guards the service itself.

Only the files listed in ``ASSETS`` are served, by exact name, so no request
path can reach anything else on disk. The Content-Security-Policy allows
nothing from other origins: the page works offline and leaks nothing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from .http_errors import ApiError

router = APIRouter()

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS = {
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}
# 'self' covers same-origin ws:/wss: in CSP level 3 (the websocket of this page).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # revalidate: a new server version brings a new page
}


@router.get("/", include_in_schema=False)
async def playground() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/static/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, "not_found", f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=HEADERS)
