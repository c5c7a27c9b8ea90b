"""A real uvicorn server on an ephemeral port, in a thread: for tests and benchmarks
that need true sockets (a client that vanishes mid-stream, several sockets at once)."""

from __future__ import annotations

import threading
import time


class LiveServer:
    """``with LiveServer(app) as url: ...``: serves ``app`` on 127.0.0.1:<free port>."""

    def __init__(self, app, startup_timeout: float = 20.0):
        self.app = app
        self.startup_timeout = startup_timeout
        self._server = None
        self._thread = None

    def __enter__(self) -> str:
        import uvicorn

        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                                ws_max_size=self.app.state.settings.ws_hard_limit_bytes)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="statecast-test-uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def wait_idle(app, timeout: float = 10.0) -> bool:
    """Wait until the app's scheduler holds no stream and no admission slot.

    Returns as soon as it is idle; the generous default only absorbs a loaded
    machine (tests that care how fast time it themselves).
    """
    sched = app.state.services.scheduler
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sched.live == 0 and sched.stream_count == 0:
            return True
        time.sleep(0.01)
    return False
