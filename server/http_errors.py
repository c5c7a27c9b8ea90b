"""HTTP errors in OpenAI's shape, and the handlers that keep user mistakes out of 500s.

Body: ``{"error": {"message", "type", "code", "param"}}``. Every
:class:`StatecastError` is a 400, admission refusals are 429 with
``Retry-After``, request validation failures are 400 (OpenAI clients expect
400, not FastAPI's 422).
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tts.errors import StatecastError

from .scheduler import NotRunning, Overloaded
from .schemas import describe_validation_error

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          413: "invalid_request_error", 429: "rate_limit_error"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": _TYPES.get(status, "api_error"), "code": code, "param": None}}
    return JSONResponse(body, status_code=status, headers=headers)


def overloaded_error(exc: Overloaded) -> ApiError:
    return ApiError(429, "overloaded", str(exc), {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))})


def install(app: FastAPI) -> None:
    def count(request: Request, code: str) -> None:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.errors.inc(code=code)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        count(request, exc.code)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StatecastError)
    async def _statecast(request: Request, exc: StatecastError):
        if isinstance(exc, NotRunning):
            count(request, "shutting_down")
            return error_response(503, "shutting_down", str(exc), {"Retry-After": "5"})
        count(request, "invalid_request")
        return error_response(400, "invalid_request", str(exc))

    @app.exception_handler(Overloaded)
    async def _overloaded(request: Request, exc: Overloaded):
        err = overloaded_error(exc)
        count(request, err.code)
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.rejected.inc(endpoint="http")
        return error_response(err.status, err.code, err.message, err.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        count(request, "invalid_request")
        return error_response(400, "invalid_request", describe_validation_error(exc))
