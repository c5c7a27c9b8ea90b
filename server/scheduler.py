"""The inference thread: continuous batching over every live synthesis stream.

One thread owns all stream states. The event loop never touches a stream: it
posts commands (open, push, flush, close, cancel) to a queue and receives
events (AudioChunk, JobDone, JobFailed) through ``loop.call_soon_threadsafe``.
Each tick the thread

1. applies pending commands (a new stream joins this tick; a cancelled one is
   dropped and its state freed at once),
2. feeds each stream its queued text a bounded piece at a time, only while
   its planned audio runs low (planning runs on this thread too), and
   flushes websocket text whose buffering delay has run out,
3. picks every stream that has frames ready and is not too far ahead of its
   listener (paced streams stay at most ``max_ahead_s`` ahead of real time;
   every stream at most ``max_pending_chunks`` ahead of its consumer), fewest
   chunks first so new streams get their small first chunk at once,
4. steps them as one batch (``synth.step_streams``) and hands the chunks out,
5. retires finished streams.

Admission control is a plain counter of live jobs: past ``max_streams`` a new
job is refused with :class:`Overloaded` (the API answers 429 / an error event
with retry advice) rather than slowing every stream down.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
from collections import deque
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from tts.errors import StatecastError
from tts.synth.chunks import chunk_frames

log = logging.getLogger("statecast.scheduler")
_LAST_SPACE = re.compile(r".*\s", re.DOTALL)  # everything up to and including the last whitespace


def _cut(text: str, budget: int) -> int:
    """Length of the first piece of ``text``: at most ``budget`` characters ending in whitespace,
    else up to the first whitespace (a very long word), else all of it."""
    if len(text) <= budget:
        return len(text)
    head = text[:budget]
    m = _LAST_SPACE.match(head)
    if m is not None:
        return m.end()
    m = re.search(r"\s", text)
    return m.end() if m else len(text)


@dataclass
class SchedulerConfig:
    max_streams: int = 32
    max_batch: int = 32
    first_chunk_frames: int = 2
    chunk_frames: int = 8
    max_ahead_s: float = 1.5  # paced streams: seconds of audio allowed ahead of real time
    max_pending_chunks: int = 32  # chunks handed out but not yet consumed
    retry_after_s: float = 1.0
    feed_chars: int = 400  # most text planned per stream per tick
    feed_low_s: float = 2.0  # plan more text only while less than this much audio is planned
    poll_s: float = 0.01  # wake-up period while some stream waits on its consumer or pacing
    # A listener with less audio queued than this is urgent: while any is, a tick
    # steps only the urgent streams (short, so it ends before their audio does) and
    # the comfortable ones wait a tick. Measured at 16 streams on 2 cores: without
    # it a new stream's 2-frame first chunk ran out while a full 16 x 8-frame tick
    # of the others was computed (10 of 16 streams underran at their 2nd chunk).
    urgent_s: float = 0.25


def choose_batch(buffered: list[float], ready: list, urgent_s: float, max_batch: int) -> list:
    """Which ready streams one tick steps: earliest deadline first.

    buffered[i]: seconds of audio ready[i]'s listener still has queued (-inf
    before its first chunk), ascending. When some listener has less than
    ``urgent_s`` left, only those urgent streams are stepped, so the tick is
    small and their next chunk lands before they run dry; every other stream
    has at least ``urgent_s`` queued and is stepped once it too runs low.
    ``urgent_s <= 0`` steps every ready stream (up to ``max_batch``).
    """
    n = len(ready)
    if urgent_s > 0:
        urgent = sum(1 for b in buffered if b < urgent_s)
        if urgent:
            n = urgent
    return ready[: min(n, max_batch)]


class NotRunning(StatecastError):
    """The scheduler is stopped (the server is starting or shutting down)."""


class Overloaded(Exception):
    """Too many live streams; try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: float, limit: int):
        super().__init__(f"server busy: {limit} streams already live; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


@dataclass
class JobDone:
    """A stream finished normally: all its audio has been handed out."""

    ttfa_s: float | None
    audio_s: float
    chunks: int
    compute_s: float


@dataclass
class JobFailed:
    """A stream ended with an error; ``code`` is one of the documented error codes."""

    code: str
    message: str


_ids = itertools.count(1)


@dataclass(eq=False)
class Job:
    """One synthesis stream as the event loop sees it.

    ``sink`` runs on the event loop with each event; after ``cancel`` no more
    events reach it. Fields below the line belong to the scheduler thread.
    """

    sink: Callable[[Any], None]
    voice: Any = None
    speed: float = 1.0
    paced: bool = True
    buffer_delay_s: float | None = None  # None: never flush early (the whole text is coming); 0: at once
    endpoint: str = "http"
    id: int = field(default_factory=lambda: next(_ids))
    cancelled: bool = False
    slot_released: bool = False  # its admission slot is free again (guarded by the scheduler lock)
    consumed: int = 0  # chunks the consumer has taken (written on the loop only)
    opened: asyncio.Future | None = None
    # ---- scheduler thread ----
    stream: Any = None
    delivered: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0
    t_start: float | None = None  # request time, or first text for a context opened empty
    t_first_chunk: float | None = None
    play_origin: float | None = None  # wall time at which audio second 0 would have played
    flush_at: float | None = None  # buffered words must be flushed by then
    unflushed: bool = False  # words pushed since the last flush
    held: str = ""  # trailing partial word, not yet given to the stream
    inbox: deque = field(default_factory=deque)  # ("text", s) | ("flush",) | ("close",), in order
    closed: bool = False
    stalls: int = 0  # consecutive steps that made nothing although the stream looked ready

    def ack(self, n: int = 1) -> None:
        """The consumer took n chunks (call on the loop)."""
        self.consumed += n


class Scheduler:
    """Owns the inference thread. Public methods are called from the event loop."""

    def __init__(self, synth, config: SchedulerConfig, metrics=None):
        self.synth = synth
        self.cfg = config
        self.metrics = metrics
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._jobs: dict[int, Job] = {}  # thread-owned
        self._live = 0  # admitted and not yet retired (guarded by _lock)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._rtf_ema: float | None = None
        self.ticks = 0
        self.max_batch_seen = 0

    # ------------------------------------------------------------ loop side
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="statecast-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._commands.put(("stop", None, None))
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("scheduler thread did not stop within %.1f s", timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def live(self) -> int:
        """Admitted streams holding a slot: not yet retired nor cancelled (including ones the thread has not opened yet)."""
        with self._lock:
            return self._live

    @property
    def stream_count(self) -> int:
        """Streams the thread currently holds state for."""
        return len(self._jobs)

    def open(self, sink, *, voice=None, speed=1.0, paced=True, buffer_delay_s=None, endpoint="http",
             text: str | None = None, close: bool = False) -> Job:
        """Admit a stream (or raise Overloaded) and queue its opening; ``await job.opened`` to see errors.

        ``text`` / ``close`` queue a first push / close right behind the open,
        so a whole utterance costs one round trip to the thread.
        """
        if self._stopping or not self.running:
            raise NotRunning("the synthesis scheduler is not running")
        with self._lock:
            if self._live >= self.cfg.max_streams:
                raise Overloaded(self.cfg.retry_after_s, self.cfg.max_streams)
            self._live += 1
        job = Job(sink=sink, voice=voice, speed=speed, paced=paced, buffer_delay_s=buffer_delay_s, endpoint=endpoint)
        job.opened = self._loop.create_future()
        self._commands.put(("open", job, None))
        if text:
            self.push(job, text)
        if close:
            self._commands.put(("close", job, None))
        return job

    def push(self, job: Job, text: str) -> None:
        # the arrival time rides along: time to first audio counts from here, not from when the thread looked
        self._commands.put(("push", job, (text, time.perf_counter())))

    def flush(self, job: Job) -> None:
        self._commands.put(("flush", job, None))

    def close(self, job: Job) -> None:
        self._commands.put(("close", job, None))

    def cancel(self, job: Job) -> None:
        """Stop delivering at once; the thread frees the stream's state on its next command pass."""
        if job.cancelled:
            return
        job.cancelled = True
        # The slot is free at once, so a client that cancels and speaks again
        # is not refused; the thread frees the state on its next pass.
        self._release_slot(job)
        self._commands.put(("cancel", job, None))

    def _release_slot(self, job: Job) -> None:
        with self._lock:
            if job.slot_released:
                return
            job.slot_released = True
            self._live -= 1
        self._gauge()

    # ----------------------------------------------------------- thread side
    def _post(self, job: Job, event) -> None:
        def deliver():
            if not job.cancelled:
                job.sink(event)

        try:
            self._loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # loop closed during shutdown: nobody is listening any more
            pass

    def _resolve_open(self, job: Job, exc: BaseException | None) -> None:
        def settle():
            if job.opened.done():
                return
            if isinstance(exc, asyncio.CancelledError):
                job.opened.cancel()
            elif exc is None:
                job.opened.set_result(job)
            else:
                job.opened.set_exception(exc)

        try:
            self._loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass

    def _retire(self, job: Job, cancel_stream: bool = False) -> None:
        """Forget a job and release its admission slot (exactly once per admitted job)."""
        self._jobs.pop(job.id, None)
        if job.stream is not None:
            if cancel_stream:
                try:
                    job.stream.cancel()
                except Exception:  # a failing cancel must not keep the state alive
                    log.exception("stream.cancel failed")
            job.stream = None  # drop our reference: the state is freed here
        self._release_slot(job)

    def _fail(self, job: Job, code: str, message: str) -> None:
        if self.metrics is not None:
            self.metrics.errors.inc(code=code)
        self._retire(job, cancel_stream=True)  # freed before the client hears of it
        self._post(job, JobFailed(code, message))

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.active.set(len(self._jobs))

    def _apply(self, op: str, job: Job | None, arg) -> None:
        if op == "stop":
            return
        if op == "open":
            if job.cancelled:  # the client left before its stream existed
                self._resolve_open(job, asyncio.CancelledError())
                self._retire(job)
                return
            try:
                job.stream = self.synth.open(job.voice, job.speed)
            except StatecastError as exc:
                self._resolve_open(job, exc)
                self._retire(job)
                return
            except Exception as exc:  # a bug: report it, keep serving the others
                log.exception("synth.open failed")
                self._resolve_open(job, StatecastError(f"could not open a stream: {exc}"))
                self._retire(job)
                return
            self._jobs[job.id] = job
            self._resolve_open(job, None)
            self._gauge()
            return
        if job.id not in self._jobs:
            return  # already retired (finished, failed or cancelled): nothing to do
        if op == "cancel":
            self._retire(job, cancel_stream=True)
            return
        if op == "push":
            self._push_text(job, *arg)
        elif op in ("flush", "close"):
            if job.held:  # "speak what you have" includes a trailing partial word
                job.inbox.append(("text", job.held))
                job.held = ""
            job.inbox.append((op,))
            job.unflushed, job.flush_at = False, None

    def _push_text(self, job: Job, text: str, t_arrival: float) -> None:
        """Queue every complete word for the stream; hold a trailing partial word ("Hel" of "Hello").

        A word is complete once whitespace follows it, so neither the
        buffering timer nor a zero delay ever cuts "$4" from "2.50" or "Hel"
        from "lo"; the stream itself cuts only at phrase boundaries.
        """
        if job.t_start is None and text.strip():
            job.t_start = t_arrival
        combined = job.held + text
        m = _LAST_SPACE.search(combined)
        if m is None:
            job.held = combined
            return
        job.held = combined[m.end():]
        job.inbox.append(("text", combined[: m.end()]))
        job.unflushed = True
        if job.buffer_delay_s is None:  # whole text known up front: the stream cuts phrases itself
            return
        if job.buffer_delay_s <= 0:
            job.inbox.append(("flush",))
            job.unflushed = False
        elif job.flush_at is None:
            job.flush_at = time.perf_counter() + job.buffer_delay_s

    def _feed_low_frames(self) -> float:
        return self.cfg.feed_low_s * getattr(self.synth, "frame_rate", 40.0)

    def _feed(self, job: Job) -> None:
        """Give the stream its queued text, a bounded piece per tick and only while it runs low.

        Planning text (frontend, encoder, durations) runs on this thread and
        stalls every stream while it does: a 4096-character request planned
        at once costs a few hundred ms. Fed ``feed_chars`` at a time, cut at
        whitespace (so the phrases are those of the whole text), it costs
        each tick a few ms, and the conditioning queue stays short.
        """
        budget = self.cfg.feed_chars
        low = self._feed_low_frames()
        try:
            while job.inbox:
                item = job.inbox[0]
                if item[0] == "text":
                    if budget <= 0 or job.stream.frames_ready >= low:
                        return
                    text = item[1]
                    cut = _cut(text, budget)
                    piece, rest = text[:cut], text[cut:]
                    if rest:
                        job.inbox[0] = ("text", rest)
                    else:
                        job.inbox.popleft()
                    budget -= len(piece)
                    job.stream.push(piece)
                elif item[0] == "flush":
                    job.inbox.popleft()
                    job.stream.flush()
                else:  # close
                    job.inbox.popleft()
                    job.closed = True
                    job.stream.close()
        except StatecastError as exc:
            self._fail(job, "invalid_text", str(exc))
        except Exception as exc:
            log.exception("feeding text to a stream failed")
            self._fail(job, "internal_error", f"synthesis failed: {exc}")

    def _drain(self, timeout: float | None) -> None:
        try:
            cmd = self._commands.get(timeout=timeout) if timeout != 0 else self._commands.get_nowait()
        except queue.Empty:
            return
        self._apply(*cmd)
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            self._apply(*cmd)

    def _ready_at(self, job: Job, now: float) -> float | None:
        """When this job may be stepped: now or later, or None (no frames ready)."""
        if job.stream.frames_ready <= 0 and not job.closed:
            return None  # waiting for text (a closed stream still needs a step for its final chunk)
        if job.delivered - job.consumed >= self.cfg.max_pending_chunks:
            return now + self.cfg.poll_s  # the consumer is behind; look again shortly
        if job.paced and self.cfg.max_ahead_s > 0 and job.play_origin is not None:
            # play_origin + audio_s is when the listener runs out of audio
            at = job.play_origin + job.audio_s - self.cfg.max_ahead_s
            if at > now:
                return at
        return now

    def _run(self) -> None:
        wait: float | None = None
        while not self._stopping:
            self._drain(wait)
            if self._stopping:
                break
            now = time.perf_counter()
            for job in list(self._jobs.values()):
                if job.flush_at is not None and job.flush_at <= now:
                    job.flush_at = None
                    job.unflushed = False
                    job.inbox.append(("flush",))  # the words queued so far; a partial word stays held
                if job.inbox:
                    self._feed(job)
            ready: list[Job] = []
            wake: list[float] = []
            for job in self._jobs.values():
                at = self._ready_at(job, now)
                if at is not None and at <= now:
                    ready.append(job)
                elif at is not None:
                    wake.append(at)
                if job.flush_at is not None:
                    wake.append(job.flush_at)
                if job.inbox and job.stream.frames_ready < self._feed_low_frames():
                    wake.append(now)  # more text to plan next tick
            # Most urgent first: the listener with the least audio left to play
            # (new streams have none), so a tick that runs long under load
            # starves nobody's second chunk.
            by_need = sorted(((self._buffered_s(j, now), j.id, j) for j in ready), key=lambda e: e[:2])
            ready = [j for _, _, j in by_need]
            batch = choose_batch([b for b, _, _ in by_need], ready, self.cfg.urgent_s, self.cfg.max_batch)
            if self.metrics is not None:
                self.metrics.queue_depth.set(len(ready) - len(batch) + self._commands.qsize())
            if batch:
                self._step(batch)
            self._reap()
            if batch:
                wait = 0  # there may be more to do; commands are still drained first
            elif wake:
                wait = min(max(0.0, min(wake) - time.perf_counter()), 0.5)
            else:
                wait = 0.5 if self._jobs else None  # idle: sleep until a command arrives
        for job in list(self._jobs.values()):
            self._fail(job, "shutting_down", "the server is shutting down")

    @staticmethod
    def _buffered_s(job: Job, now: float) -> float:
        """Seconds of audio the listener still has queued (-inf before the first chunk)."""
        if job.play_origin is None:
            return float("-inf")
        return job.play_origin + job.audio_s - now

    def _step(self, batch: list[Job]) -> None:
        # Chunk sizes ramp up (2, 4, 8 frames by default), as in Synthesizer.stream.
        frames = [
            max(1, min(j.stream.frames_ready, chunk_frames(self.cfg.first_chunk_frames, self.cfg.chunk_frames, j.delivered)))
            for j in batch
        ]
        # A newcomer's first read also decodes the opening silence it will not send
        # (~9 frames more). Batched with listeners already playing, it would hold their
        # next chunk for the whole read, so the tick is cut to their longest chunk and
        # the newcomer finishes its silence over the next ticks. Measured at 16 streams:
        # README, "Load".
        playing = [f for j, f in zip(batch, frames) if j.delivered > 0]
        cap = max(playing) if playing and len(playing) < len(batch) else None
        t0 = time.perf_counter()
        try:
            chunks = self.synth.step_streams([j.stream for j in batch], frames, max_steps=cap)
        except Exception as exc:  # isolate: these streams fail, the service keeps running
            log.exception("step_streams failed for a batch of %d", len(batch))
            for job in batch:
                self._fail(job, "internal_error", f"synthesis step failed: {exc}")
            return
        now = time.perf_counter()
        dt = now - t0
        self.ticks += 1
        self.max_batch_seen = max(self.max_batch_seen, len(batch))
        sr = self.synth.sample_rate
        audio_total = 0.0
        for job, chunk in zip(batch, chunks):
            job.compute_s += dt / len(batch)
            if chunk is None:
                # it was ready but made nothing: a synthesizer bug; never spin on it
                job.stalls += 1
                if job.stalls >= 3:
                    self._fail(job, "internal_error", "synthesis stalled: the stream made no audio")
                continue
            job.stalls = 0
            if not len(chunk.pcm) and not chunk.final:
                continue  # its opening silence is not all decoded yet: nothing to send this tick
            dur = len(chunk.pcm) / sr
            audio_total += dur
            if job.t_first_chunk is None and len(chunk.pcm):
                job.t_first_chunk = now
                if self.metrics is not None and job.t_start is not None:
                    self.metrics.ttfa.observe(now - job.t_start, endpoint=job.endpoint)
            if job.play_origin is None or job.play_origin + job.audio_s < now:
                # the listener ran dry (or is just starting): playback resumes now
                job.play_origin = now - job.audio_s
            job.audio_s += dur
            job.delivered += 1
            self._post(job, chunk)
        if self.metrics is not None:
            self.metrics.batch.observe(len(batch))
            self.metrics.compute_seconds.inc(dt)
            self.metrics.audio_seconds.inc(audio_total)
            if audio_total > 0:
                rtf = dt * len(batch) / audio_total  # per-stream cost: compute per second of each stream's audio
                self.metrics.rtf.observe(rtf)
                self._rtf_ema = rtf if self._rtf_ema is None else 0.9 * self._rtf_ema + 0.1 * rtf
                self.metrics.rtf_recent.set(self._rtf_ema)

    def _reap(self) -> None:
        for job in list(self._jobs.values()):
            if job.stream.done:
                ttfa = (job.t_first_chunk - job.t_start) if (job.t_first_chunk and job.t_start) else None
                self._retire(job)  # freed before the client hears "done"
                self._post(job, JobDone(ttfa, job.audio_s, job.delivered, job.compute_s))
