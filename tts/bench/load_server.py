"""The service under test, in its own process: ``statecast serve`` on 127.0.0.1.

The load client must not share a Python process (and its GIL) with the
server it measures, so the benchmark starts ``statecast serve`` as a child,
waits for ``/healthz``, and reads ``/metrics`` between blocks for the
server's own compute real-time factor. Stdlib only (urllib, subprocess).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import StatecastError

_REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


_METRIC = re.compile(r"^(statecast_[a-z_]+)(?:\{[^}]*\})?\s+([-+0-9.eEinfa]+)\s*$")


def read_counters(base_url: str) -> dict[str, float]:
    """Unlabelled ``statecast_*`` samples of ``/metrics`` (name -> value); labelled ones summed by name."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5.0) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _METRIC.match(line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def compute_rtf(before: dict[str, float], after: dict[str, float]) -> float | None:
    """Seconds the scheduler spent in model steps per second of audio made, between two scrapes."""
    audio = after.get("statecast_audio_seconds_total", 0.0) - before.get("statecast_audio_seconds_total", 0.0)
    compute = after.get("statecast_compute_seconds_total", 0.0) - before.get("statecast_compute_seconds_total", 0.0)
    return compute / audio if audio > 0 else None


class ServerProcess:
    """``with ServerProcess(voices, env={...}) as base_url:``: a child ``statecast serve``.

    ``env``: extra ``STATECAST_*`` settings (e.g. ``STATECAST_MAX_STREAMS``).
    One inference thread (``--threads 1``) and single-threaded BLAS, so the
    numbers say what one core of inference serves.
    """

    def __init__(self, voices: str | None, env: dict[str, str] | None = None, startup_timeout: float = 180.0):
        self.voices = voices
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = None

    def __enter__(self) -> str:
        cmd = [sys.executable, "-m", "tts.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--threads", "1", "--log-level", "warning"]
        if self.voices:
            cmd += ["--voices", str(self.voices)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p)
        self._log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, cwd=_REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise StatecastError(f"statecast serve exited with code {self.proc.returncode}: {self._tail()}")
            try:
                if get_json(f"{self.base_url}/healthz", timeout=2.0).get("status") == "ok":
                    return self.base_url
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise StatecastError(f"statecast serve did not become healthy in {self.startup_timeout:.0f} s")
            time.sleep(0.2)

    def _tail(self, n: int = 600) -> str:
        self._log.seek(0)
        text = self._log.read().strip()
        return " ".join(text[-n:].split()) or "(no output)"

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
