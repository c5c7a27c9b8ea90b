"""Prometheus metrics in the text exposition format, without a client library.

Three metric kinds (counter, gauge, histogram), optional labels, one lock per
registry: the scheduler thread observes, the event loop renders. The service's
own metrics are gathered in :class:`ServerMetrics`.
"""

from __future__ import annotations

import bisect
import math
import threading

TTFA_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _fmt(v: float) -> str:
    v = float(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Metric:
    kind = ""

    def __init__(self, registry: "Registry", name: str, help_text: str, labelnames: tuple[str, ...] = ()):
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self._lock = registry.lock
        self._values: dict[tuple[str, ...], object] = {}
        registry.metrics.append(self)

    def _key(self, labels: dict[str, str] | None) -> tuple[str, ...]:
        labels = labels or {}
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels) -> float:
        with self._lock:
            return float(self._values.get(self._key(labels), 0.0))

    def render(self) -> list[str]:
        lines = self.header()
        items = sorted(self._values.items()) or ([((), 0.0)] if not self.labelnames else [])
        for key, v in items:
            lines.append(f"{self.name}{_labels(self.labelnames, key)} {_fmt(v)}")
        return lines


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, registry, name, help_text, buckets, labelnames=()):
        super().__init__(registry, name, help_text, labelnames)
        self.buckets = tuple(sorted(buckets))

    def observe(self, value: float, **labels) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total = self._values.get(key, ([0] * (len(self.buckets) + 1), 0.0))
            counts[bisect.bisect_left(self.buckets, value)] += 1  # le is inclusive
            self._values[key] = (counts, total + value)

    def count(self, **labels) -> int:
        with self._lock:
            counts, _ = self._values.get(self._key(labels), ([0], 0.0))
            return int(sum(counts))

    def render(self) -> list[str]:
        lines = self.header()
        items = sorted(self._values.items())
        if not items and not self.labelnames:
            items = [((), ([0] * (len(self.buckets) + 1), 0.0))]
        for key, (counts, total) in items:
            cum = 0
            for le, c in zip(list(self.buckets) + [math.inf], counts):
                cum += c
                le_label = 'le="' + _fmt(le) + '"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le_label)} {cum}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_fmt(total)}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {cum}")
        return lines


class Registry:
    def __init__(self):
        self.lock = threading.Lock()
        self.metrics: list[_Metric] = []

    def render(self) -> str:
        with self.lock:
            lines: list[str] = []
            for m in self.metrics:
                lines.extend(m.render())
        return "\n".join(lines) + "\n"


class ServerMetrics:
    """The service's metrics; one instance per app."""

    def __init__(self):
        r = self.registry = Registry()
        self.ttfa = Histogram(r, "statecast_ttfa_seconds", "Time from request (or first text) to first audio chunk.", TTFA_BUCKETS, ("endpoint",))
        self.rtf = Histogram(r, "statecast_step_rtf", "Real-time factor of each scheduler tick: compute seconds per second of audio made, per stream.", RTF_BUCKETS)
        self.rtf_recent = Gauge(r, "statecast_realtime_factor", "Real-time factor averaged over recent ticks (below 1 is faster than real time).")
        self.batch = Histogram(r, "statecast_batch_size", "Streams stepped together in one tick.", BATCH_BUCKETS)
        self.active = Gauge(r, "statecast_active_streams", "Synthesis streams currently held by the scheduler.")
        self.queue_depth = Gauge(r, "statecast_queue_depth", "Streams with audio ready to make but not stepped in the last tick, plus pending commands.")
        self.audio_seconds = Counter(r, "statecast_audio_seconds_total", "Seconds of audio synthesized.")
        self.compute_seconds = Counter(r, "statecast_compute_seconds_total", "Seconds the scheduler spent in model steps.")
        self.requests = Counter(r, "statecast_requests_total", "Synthesis requests and websocket contexts started.", ("endpoint",))
        self.rejected = Counter(r, "statecast_rejected_total", "Requests refused by admission control (429).", ("endpoint",))
        self.errors = Counter(r, "statecast_errors_total", "Errors answered to clients, by code.", ("code",))

    def render(self) -> str:
        return self.registry.render()
