"""StateCast streaming service: FastAPI app over one scheduler thread.

    from server import create_app, Settings
    app = create_app(Settings(max_streams=64))     # loads voices at startup

Modules: ``app`` (factory, lifespan), ``settings``, ``scheduler`` (the
inference thread, continuous batching, admission), ``routes_speech``
(OpenAI-style HTTP), ``routes_ws`` (websocket protocol, PROTOCOL.md),
``routes_meta`` (health, metrics, voices), ``resample`` and
``audio_encoding`` (what goes on the wire), ``metrics`` (Prometheus text),
``serve_cli`` (``statecast serve``).
"""

__all__ = ["Settings", "create_app"]


def __getattr__(name):
    # Lazy: `statecast --help` imports server.serve_cli, which must not pull in FastAPI or numpy.
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module 'server' has no attribute {name!r}")
