"""Request size limit (pure ASGI) and the API-key check shared by HTTP and the websocket."""

from __future__ import annotations

import hmac
import json


class BodyLimitMiddleware:
    """Refuse HTTP bodies over ``max_bytes`` with 413 before any route sees them.

    A declared Content-Length is checked up front; a chunked body is counted
    as it arrives (it is buffered: request bodies here are small JSON).
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                return await _reject(send, 400, "invalid_request", "Content-Length is not a number")
            if too_big:
                return await _reject(send, 413, "request_too_large",
                                     f"request body over {self.max_bytes} bytes")
            return await self.app(scope, receive, send)
        # No length: read the whole body (bounded), then replay it.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client left
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await _reject(send, 413, "request_too_large", f"request body over {self.max_bytes} bytes")
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _reject(send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code,
                                 "param": None}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def key_matches(expected: str | None, authorization: str | None = None, query_key: str | None = None) -> bool:
    """True when no key is configured, or the bearer token / query key equals it (constant time)."""
    if not expected:
        return True
    offered = None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            offered = token.strip()
    if offered is None and query_key:
        offered = query_key
    if offered is None:
        return False
    return hmac.compare_digest(offered.encode(), expected.encode())
