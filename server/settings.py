"""Service settings: one dataclass, overridable from the environment.

Every knob the operator may turn lives here, so the app factory, the CLI and
the tests build the service from the same object. ``Settings.from_env()``
reads ``STATECAST_*`` variables; the CLI then overrides from its flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from tts.errors import StatecastError

# Output sample rates a client may ask for (the stateful resampler handles any
# pair, but a short fixed list keeps filter tables small and behaviour testable).
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to start.

    voices: voice bundle directory (None = the Synthesizer's default).
    api_key: when set, every /v1 route and /metrics needs ``Authorization: Bearer <key>``
        (websocket: the header or ``?api_key=``).
    max_streams: live synthesis streams across all clients; more -> 429 / error event.
    max_text_chars: longest text in one HTTP request or one websocket message.
    max_context_chars: most text one websocket context may accumulate.
    max_body_bytes: longest HTTP request body; longer -> 413.
    max_message_bytes: longest websocket text message.
    max_contexts_per_socket: open contexts on one websocket.
    cors_origins: allowed browser origins ("*" for any); empty = no CORS headers.
    first_chunk_frames / chunk_frames: decoder frames per chunk (first small for low
        time-to-first-audio, later larger for throughput).
    lead_send_frames: of each stream's opening silence (decoded in full), the frames
        sent before the first word; -1 sends all of it (``Synthesizer(lead_send_frames=...)``).
    max_ahead_s: how far ahead of real time a paced stream may run (0 = unpaced).
    max_batch: most streams stepped in one tick.
    default_buffer_delay_ms: websocket text buffering before a forced flush.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    voices: str | None = None
    threads: int = 1
    device: str = "cpu"
    api_key: str | None = None
    max_streams: int = 32
    max_text_chars: int = 4096
    max_context_chars: int = 65536
    max_body_bytes: int = 64 * 1024
    max_message_bytes: int = 64 * 1024
    max_contexts_per_socket: int = 16
    cors_origins: tuple[str, ...] = ()
    first_chunk_frames: int = 2
    chunk_frames: int = 8
    lead_send_frames: int = 2
    max_ahead_s: float = 1.5
    max_batch: int = 32
    max_pending_chunks: int = 32
    default_buffer_delay_ms: int = 300
    retry_after_s: float = 1.0
    warmup: bool = True
    log_level: str = "info"

    def __post_init__(self):
        if self.max_streams < 1:
            raise StatecastError(f"max_streams must be >= 1, got {self.max_streams}")
        if self.first_chunk_frames < 1 or self.chunk_frames < 1:
            raise StatecastError("first_chunk_frames and chunk_frames must be >= 1")
        if not -1 <= self.lead_send_frames <= 40:
            raise StatecastError(f"lead_send_frames must be -1 (send all) or 0..40, got {self.lead_send_frames}")
        if self.max_text_chars < 1:
            raise StatecastError(f"max_text_chars must be >= 1, got {self.max_text_chars}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``STATECAST_<FIELD>`` variables, then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            raw = env.get(f"STATECAST_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def ws_hard_limit_bytes(self) -> int:
        """uvicorn drops a socket whose message exceeds this; below it, an oversized message
        (over max_message_bytes) gets a polite error event and the socket lives on."""
        return 4 * self.max_message_bytes

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _parse(name: str, type_name: str, raw: str):
    """Parse one environment string by the field's annotated type (a string, thanks to PEP 563)."""
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name.startswith("tuple"):
            return tuple(s.strip() for s in raw.split(",") if s.strip())
        return raw or None  # str / str | None: empty means unset
    except ValueError:
        raise StatecastError(f"STATECAST_{name.upper()}={raw!r} is not a valid {type_name}") from None

