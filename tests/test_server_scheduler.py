"""The scheduler thread on its own: batching, pacing, admission, cancel, failure isolation, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from opening_silence import skipped
from server.metrics import ServerMetrics
from server.scheduler import JobDone, JobFailed, Overloaded, Scheduler, SchedulerConfig
from tts.errors import StatecastError

TEXT = "Hello there, how are you today?"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def _drain(q: asyncio.Queue, job, record=None):
    """Take a job's events until it ends; returns (chunks, last event)."""
    chunks = []
    while True:
        ev = await q.get()
        if isinstance(ev, (JobDone, JobFailed)):
            return chunks, ev
        chunks.append(ev)
        if record is not None:
            record.append((time.perf_counter(), ev))
        job.ack()


def _start(synth, **cfg):
    sched = Scheduler(synth, SchedulerConfig(**cfg), ServerMetrics())
    sched.start(asyncio.get_running_loop())
    return sched


async def _wait_empty(sched, timeout=2.0):
    deadline = time.monotonic() + timeout
    while (sched.live or sched.stream_count) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    return sched.live == 0 and sched.stream_count == 0


def test_streams_are_batched_and_each_gets_its_own_audio(synth):
    texts = ["One two three.", "A somewhat longer sentence to say.", "Short.", "Four, five, six, seven."]

    async def main():
        sched = _start(synth, max_ahead_s=0.0)
        try:
            queues = [asyncio.Queue() for _ in texts]
            jobs = [sched.open(q.put_nowait, text=t, close=True) for q, t in zip(queues, texts)]
            results = await asyncio.gather(*(_drain(q, j) for q, j in zip(queues, jobs)))
            assert await _wait_empty(sched)
            return results, sched.max_batch_seen
        finally:
            sched.stop()

    results, max_batch = run(main())
    assert max_batch > 1  # streams opened together were stepped together
    for text, (chunks, end) in zip(texts, results):
        assert isinstance(end, JobDone) and end.chunks == len(chunks) and end.ttfa_s is not None
        assert chunks[-1].final and not any(c.final for c in chunks[:-1])
        got = sum(c.pcm.size for c in chunks)
        assert got == synth.synthesize(text)[0].size


def test_first_chunks_small_then_ramping_up(synth):
    async def main():
        sched = _start(synth, max_ahead_s=0.0, first_chunk_frames=1, chunk_frames=6)
        try:
            q = asyncio.Queue()
            job = sched.open(q.put_nowait, text=TEXT, close=True)
            return (await _drain(q, job))[0]
        finally:
            sched.stop()

    chunks = run(main())
    hop = synth.sample_rate / synth.frame_rate
    # 1 frame, then doubling up to the steady 6: each early chunk is cheap
    # enough to arrive before the audio already sent has played.
    assert [c.pcm.size for c in chunks[:4]] == [hop, 2 * hop, 4 * hop, 6 * hop]
    assert all(c.pcm.size == 6 * hop for c in chunks[3:-2])


def test_paced_stream_stays_a_bounded_time_ahead_of_real_time(synth):
    ahead = 0.25

    async def main():
        sched = _start(synth, max_ahead_s=ahead, chunk_frames=4)
        try:
            q, record = asyncio.Queue(), []
            job = sched.open(q.put_nowait, text="Paced for a while.", close=True, paced=True)
            await _drain(q, job, record)
            return record
        finally:
            sched.stop()

    record = run(main())
    t0 = record[0][0]
    assert sum(c.pcm.size for _, c in record) / synth.sample_rate > 3 * ahead  # long enough to need pacing
    made = 0.0
    chunk_s = 4 / synth.frame_rate
    for t, chunk in record:
        made += chunk.pcm.size / synth.sample_rate
        # never more than `ahead` (+ the chunk just made, + the final tail) ahead of the listener
        assert made - (t - t0) <= ahead + 2 * chunk_s + 0.1
    assert record[-1][0] - t0 >= made - ahead - 2 * chunk_s - 0.1  # it was really held back


def test_admission_limit_and_release(synth):
    async def main():
        sched = _start(synth, max_streams=2, retry_after_s=0.7)
        try:
            q = asyncio.Queue()
            a = sched.open(q.put_nowait)
            sched.open(q.put_nowait)
            with pytest.raises(Overloaded) as info:
                sched.open(q.put_nowait)
            assert info.value.retry_after_s == 0.7
            sched.cancel(a)
            deadline = time.monotonic() + 2
            while sched.live > 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            assert sched.live == 1
            sched.open(q.put_nowait)  # room again
        finally:
            sched.stop()
        assert sched.live == 0

    run(main())


def test_cancel_before_the_thread_opened_it(synth):
    async def main():
        sched = _start(synth)
        try:
            job = sched.open(lambda ev: None, text=TEXT, close=True)
            sched.cancel(job)
            assert await _wait_empty(sched)
            await asyncio.sleep(0.01)
            return job
        finally:
            sched.stop()

    job = run(main())
    assert job.opened.done()


def test_bad_voice_or_speed_fails_the_open_only(synth):
    async def main():
        sched = _start(synth)
        try:
            for kw in ({"voice": "ghost"}, {"speed": 0.1}):
                job = sched.open(lambda ev: None, text=TEXT, close=True, **kw)
                with pytest.raises(StatecastError):
                    await job.opened
            assert await _wait_empty(sched)
        finally:
            sched.stop()

    run(main())


class _Flaky:
    """The real synthesizer, except that a step including a stream of voice "joe" raises."""

    def __init__(self, synth):
        self._s = synth
        self.sample_rate = synth.sample_rate

    def open(self, voice=None, speed=1.0):
        return self._s.open(voice, speed)

    def step_streams(self, streams, frames, max_steps=None):
        if any(s.voice == "joe" for s in streams):
            raise RuntimeError("kernel exploded")
        return self._s.step_streams(streams, frames, max_steps=max_steps)


def test_a_failing_step_fails_its_streams_and_the_thread_keeps_serving(synth):
    async def main():
        sched = _start(synth, max_ahead_s=0.0)
        try:
            q = asyncio.Queue()
            sched.synth = _Flaky(synth)
            bad = sched.open(q.put_nowait, voice="joe", text=TEXT, close=True)
            _, end = await _drain(q, bad)
            assert isinstance(end, JobFailed) and end.code == "internal_error" and "exploded" in end.message
            assert sched.running
            q2 = asyncio.Queue()
            good = sched.open(q2.put_nowait, voice="af_heart", text=TEXT, close=True)
            _, end = await _drain(q2, good)
            assert isinstance(end, JobDone)
            assert await _wait_empty(sched)
            assert sched.metrics.errors.value(code="internal_error") == 1
        finally:
            sched.stop()

    run(main())


def test_stop_fails_live_streams_and_ends_the_thread(synth):
    before = threading.active_count()

    async def main():
        sched = _start(synth, max_ahead_s=0.2)
        assert threading.active_count() == before + 1
        q = asyncio.Queue()
        job = sched.open(q.put_nowait, text=TEXT * 3, close=True)
        await q.get()
        job.ack()
        sched.stop()
        assert not sched.running and sched.live == 0 and sched.stream_count == 0
        while True:
            ev = await q.get()
            if not hasattr(ev, "pcm"):
                return ev

    end = run(main())
    assert isinstance(end, JobFailed) and end.code == "shutting_down"
    assert threading.active_count() == before


class _Mute(_Flaky):
    """Claims frames are ready but never makes audio (a synthesizer bug the scheduler must not spin on)."""

    def step_streams(self, streams, frames, max_steps=None):
        return [None] * len(streams)


def test_a_stream_that_makes_nothing_is_failed_not_spun_on(synth):
    async def main():
        sched = _start(synth, max_ahead_s=0.0)
        try:
            sched.synth = _Mute(synth)
            q = asyncio.Queue()
            job = sched.open(q.put_nowait, text=TEXT, close=True)
            _, end = await _drain(q, job)
            assert isinstance(end, JobFailed) and end.code == "internal_error"
            assert sched.ticks <= 5 and await _wait_empty(sched)
        finally:
            sched.stop()

    run(main())


class _Proxy:
    """Wraps a real stream and records the text pieces pushed to it."""

    def __init__(self, stream, log):
        self._s, self._log = stream, log

    def push(self, text):
        self._log.append(text)
        self._s.push(text)

    def __getattr__(self, name):
        return getattr(self._s, name)


class _Recording(_Flaky):
    def __init__(self, synth):
        super().__init__(synth)
        self.pushes: list[str] = []
        self.frame_rate = synth.frame_rate

    def open(self, voice=None, speed=1.0):
        return _Proxy(self._s.open(voice, speed), self.pushes)

    def step_streams(self, streams, frames, max_steps=None):
        return self._s.step_streams([p._s for p in streams], frames, max_steps=max_steps)


def test_long_text_is_planned_piecemeal_with_the_audio_of_the_whole(synth):
    """A long request is fed to the stream a bounded piece at a time (so planning never stalls the
    other streams for long), cut at whitespace, and still sounds exactly like the whole text."""
    text = "One sentence here, then another one there. " * 6 + "And the end."
    rec = _Recording(synth)

    async def main():
        # One chunk size throughout, as in the reference below: the codec's
        # matmul kernels differ by chunk size in the last float bits, and this
        # test is about how the text is fed, so it compares bit for bit.
        sched = _start(synth, max_ahead_s=0.0, feed_chars=40, feed_low_s=0.3, first_chunk_frames=8, chunk_frames=8)
        sched.synth = rec
        try:
            q = asyncio.Queue()
            job = sched.open(q.put_nowait, text=text, close=True)
            return await _drain(q, job)
        finally:
            sched.stop()

    chunks, end = run(main())
    assert isinstance(end, JobDone)
    assert len(rec.pushes) > 5 and "".join(rec.pushes) == text
    assert all(len(p) <= 40 and p.endswith(" ") for p in rec.pushes[:-1])
    pcm, _ = synth.synthesize(text, first_chunk_frames=8, chunk_frames=8)
    np.testing.assert_array_equal(np.concatenate([c.pcm for c in chunks]), pcm)


def test_choose_batch_steps_only_urgent_listeners_while_any_exist():
    from server.scheduler import choose_batch

    ready = ["new", "dry", "low", "comfy", "far"]
    buffered = [float("-inf"), 0.0, 0.1, 0.6, 1.4]
    assert choose_batch(buffered, ready, 0.25, 32) == ["new", "dry", "low"]
    assert choose_batch(buffered, ready, 0.25, 2) == ["new", "dry"]  # still capped by max_batch
    assert choose_batch(buffered[3:], ready[3:], 0.25, 32) == ["comfy", "far"]  # nobody urgent: all
    assert choose_batch(buffered, ready, 0.0, 32) == ready  # urgency off
    assert choose_batch([], [], 0.25, 32) == []


def test_a_new_stream_is_served_before_comfortable_ones(synth):
    """A stream joining while others have plenty queued gets its first chunks in ticks of its own."""

    async def main():
        sched = _start(synth, max_ahead_s=0.0, urgent_s=0.25, chunk_frames=8)
        try:
            long_text = " ".join([TEXT] * 6)
            qs = [asyncio.Queue() for _ in range(3)]
            olds = [sched.open(q.put_nowait, text=long_text, close=True, paced=False) for q in qs[:2]]
            # let the unpaced streams run far ahead of their listeners
            for q, j in zip(qs[:2], olds):
                for _ in range(6):
                    await q.get()
                    j.ack()
            batches = []
            real_step = sched.synth.step_streams

            def spy(streams, frames, max_steps=None):
                batches.append(len(streams))
                return real_step(streams, frames, max_steps=max_steps)

            sched.synth.step_streams = spy
            q = asyncio.Queue()
            new = sched.open(q.put_nowait, text="Hi.", close=True)
            chunks, end = await _drain(q, new)
            sched.synth.step_streams = real_step
            for q, j in zip(qs[:2], olds):
                sched.cancel(j)
            return batches, end
        finally:
            sched.synth.__dict__.pop("step_streams", None)
            sched.stop()

    batches, end = run(main())
    assert isinstance(end, JobDone)
    assert 1 in batches  # the newcomer was stepped alone while the two comfortable streams waited


def test_a_newcomer_batched_with_a_playing_stream_does_not_lengthen_its_tick(synth):
    """A newcomer's first read (its unsent opening silence + 2 frames) is longer than a
    playing stream's chunk; a tick holding both is cut to the playing stream's frames,
    the newcomer's silence-only ticks send nothing, and its audio is unchanged."""
    text = "Hello world. Dr. Smith is here!"
    assert skipped(synth, text) > 4  # a first read of 7+ frames

    async def main():
        sched = _start(synth, max_ahead_s=0.0, urgent_s=10.0, first_chunk_frames=2, chunk_frames=4)
        calls = []
        real_step = sched.synth.step_streams

        def spy(streams, frames, max_steps=None):
            calls.append((len(streams), max_steps))
            return real_step(streams, frames, max_steps=max_steps)

        sched.synth.step_streams = spy
        try:
            q_old, q_new = asyncio.Queue(), asyncio.Queue()
            old = sched.open(q_old.put_nowait, text=" ".join([TEXT] * 4), close=True, paced=False)
            await q_old.get()  # playing: its next reads are 2-4 frames
            old.ack()
            new = sched.open(q_new.put_nowait, text=text, close=True)
            old_task = asyncio.ensure_future(_drain(q_old, old))
            chunks, end = await _drain(q_new, new)
            await old_task
            return calls, chunks, end
        finally:
            sched.synth.__dict__.pop("step_streams", None)
            sched.stop()

    calls, chunks, end = run(main())
    assert isinstance(end, JobDone)
    assert any(n == 2 and cap is not None and cap <= 4 for n, cap in calls)  # mixed ticks were cut
    assert all(len(c.pcm) for c in chunks[:-1])  # nothing empty was sent
    pcm, _ = synth.synthesize(text, first_chunk_frames=2, chunk_frames=4)
    np.testing.assert_allclose(np.concatenate([c.pcm for c in chunks]), pcm, atol=1e-5)
