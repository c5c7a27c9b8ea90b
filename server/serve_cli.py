"""``statecast serve``: run the HTTP + websocket service with uvicorn.

Flags override ``STATECAST_*`` environment variables, which override the
defaults in ``server.settings.Settings``.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="interface to bind (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument("--voices", help="voice bundle directory (default: $STATECAST_VOICES or <repo>/voices)")
    p.add_argument("--threads", type=int, help="torch threads for the inference worker (default 1)")
    p.add_argument("--device", help="torch device (default cpu)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (better: $STATECAST_API_KEY)")
    p.add_argument("--max-streams", type=int, help="live streams before new ones get 429 (default 32)")
    p.add_argument("--max-text-chars", type=int, help="longest text per request or message (default 4096)")
    p.add_argument("--cors-origins", help="comma-separated allowed browser origins, or '*'")
    p.add_argument("--first-chunk-frames", type=int, help="frames in a stream's first chunk (default 2)")
    p.add_argument("--chunk-frames", type=int, help="frames in later chunks (default 8)")
    p.add_argument("--lead-send-frames", type=int,
                   help="frames of a stream's opening silence sent before the first word (default 2; -1: all)")
    p.add_argument("--no-warmup", action="store_true", help="skip the warm-up phrase at startup")
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], help="uvicorn log level")


def settings_from_args(args: argparse.Namespace):
    from .settings import Settings

    overrides = {
        "host": args.host, "port": args.port, "voices": args.voices, "threads": args.threads,
        "device": args.device, "api_key": args.api_key, "max_streams": args.max_streams,
        "max_text_chars": args.max_text_chars, "first_chunk_frames": args.first_chunk_frames,
        "chunk_frames": args.chunk_frames, "lead_send_frames": args.lead_send_frames, "log_level": args.log_level,
        "cors_origins": tuple(o.strip() for o in args.cors_origins.split(",") if o.strip())
        if args.cors_origins else None,
        "warmup": False if args.no_warmup else None,
    }
    return Settings.from_env(**overrides)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = settings_from_args(args)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                ws_max_size=settings.ws_hard_limit_bytes, timeout_graceful_shutdown=5)
    return 0
