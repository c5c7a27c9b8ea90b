"""Request and message shapes (pydantic), for HTTP and the websocket.

Field names follow OpenAI's ``/v1/audio/speech`` for HTTP and a Cartesia-like
protocol for the websocket (server/PROTOCOL.md). Unknown fields are refused,
so a typo ("sample_rte") gets a clear error instead of a silent default.
Limits that depend on settings (text length) are checked by the routes.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .audio_encoding import WS_ENCODINGS
from .settings import SAMPLE_RATES

Voice = Union[str, dict[str, float], None]
SPEED_MIN, SPEED_MAX = 0.25, 4.0  # OpenAI's range; the voice's own range is checked by the synthesizer


def _check_sample_rate(v):
    if v is not None and v not in SAMPLE_RATES:
        raise ValueError(f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}")
    return v


class SpeechRequest(BaseModel):
    """POST /v1/audio/speech (OpenAI-compatible; ``stream`` and ``sample_rate`` are ours)."""

    model_config = ConfigDict(extra="forbid")

    model: str = "statecast"
    input: str
    voice: Voice = None
    response_format: str | None = None  # None: mp3 as OpenAI does where it can be encoded, else wav
    speed: float = Field(1.0, ge=SPEED_MIN, le=SPEED_MAX)
    sample_rate: int | None = None  # None: the voice's own rate
    stream: bool = True  # wav/pcm: send audio as it is made (chunked); flac/mp3/opus are always whole
    instructions: str | None = None  # accepted for OpenAI compatibility; no effect

    @field_validator("sample_rate")
    @classmethod
    def _rate(cls, v):
        return _check_sample_rate(v)


class OutputFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    container: Literal["raw"] = "raw"
    encoding: Literal[WS_ENCODINGS] = "pcm_s16le"  # type: ignore[valid-type]
    sample_rate: int | None = None

    @field_validator("sample_rate")
    @classmethod
    def _rate(cls, v):
        return _check_sample_rate(v)


class _ContextMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    context_id: str = Field(min_length=1, max_length=128)


class SpeakMessage(_ContextMessage):
    """Open a context. ``continue``: more text follows (``continue`` messages, then ``close``)."""

    type: Literal["speak"]
    text: str = ""
    voice: Voice = None
    speed: float = Field(1.0, ge=SPEED_MIN, le=SPEED_MAX)
    output_format: OutputFormat = OutputFormat()
    max_buffer_delay_ms: int | None = Field(None, ge=0, le=10_000)
    add_timestamps: bool = True
    continue_: bool = Field(False, alias="continue")
    model_id: str | None = None  # accepted for Cartesia-style clients; no effect


class ContinueMessage(_ContextMessage):
    """More text for an open context (an LLM's next tokens)."""

    type: Literal["continue"]
    text: str


class FlushMessage(_ContextMessage):
    type: Literal["flush"]


class CloseMessage(_ContextMessage):
    type: Literal["close"]


class CancelMessage(_ContextMessage):
    type: Literal["cancel"]


MESSAGES: dict[str, type[BaseModel]] = {
    "speak": SpeakMessage,
    "continue": ContinueMessage,
    "flush": FlushMessage,
    "close": CloseMessage,
    "cancel": CancelMessage,
}


def describe_validation_error(exc) -> str:
    """The first pydantic error as one line: ``field: message``."""
    errs = exc.errors()
    if not errs:
        return str(exc)
    e = errs[0]
    loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
    msg = e.get("msg", "invalid")
    return f"{loc}: {msg}" if loc else msg
