"""Statistics of the load benchmark: one stream's timeline, and one level's summary.

A stream is what one simulated caller heard: the time its request went out
and, for every audio chunk, when the chunk arrived and how many seconds of
audio it held. From that:

* TTFA: request sent -> first chunk received.
* RTF: request sent -> last chunk received, over the seconds of audio. Below 1
  means the audio came faster than it plays. (A paced server holds streams at
  most ``max_ahead_s`` ahead of real time, so for long utterances this is
  close to ``1 - max_ahead_s / audio_s`` by design; the server's compute RTF is
  reported beside it.)
* Underruns: a player starts when the first chunk arrives and plays chunks
  back to back. If a chunk arrives after everything received so far would have
  finished playing, the player has run dry: that is an underrun, and it lasts
  until the chunk arrives (the player then resumes from the arrival, so a late
  chunk also delays when later chunks are due). A chunk arriving exactly as
  the audio runs out is on time.
* First speech and audible underruns: streams start with silence (StateCast
  sends the last 50 ms of its opening silence, Piper and Kokoro theirs in
  full). ``onset_s`` is where, in a stream's audio, the first speech starts
  (``tts.eval.timing.speech_onset``); first speech is when that sample plays,
  counted from the request. An underrun before that point only delays the
  first word; one after it is a gap the listener hears.

Everything here is pure arithmetic on timestamps (seconds, any common clock),
so tests drive it with synthetic timelines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..eval.timing import median, percentile, playback_time


@dataclass(frozen=True)
class Playback:
    """What a listener of one stream would have experienced."""

    underruns: int  # times the player ran dry before a chunk arrived
    underrun_s: float  # total seconds spent dry (after the first chunk)
    end_s: float  # when the last audio finishes playing (same clock as the arrivals)
    late: tuple[int, ...] = ()  # indices of the chunks that came after the player ran dry
    late_at: tuple[float, ...] = ()  # for each, the audio seconds played before the player ran dry


def playback(arrivals: list[tuple[float, float]]) -> Playback:
    """Play ``arrivals`` [(arrival time, audio seconds), ...] in order, starting at the first arrival.

    >>> playback([(0.0, 1.0), (1.0, 1.0), (2.5, 0.5)])
    Playback(underruns=1, underrun_s=0.5, end_s=3.0, late=(2,), late_at=(2.0,))
    """
    if not arrivals:
        return Playback(0, 0.0, float("nan"))
    t0, d0 = arrivals[0]
    end = t0 + d0  # when the audio received so far runs out
    played = d0  # audio seconds received so far
    late, late_at, dry = [], [], 0.0
    for i, (t, d) in enumerate(arrivals[1:], start=1):
        if t < t0:
            raise ValueError("arrival times must not precede the first chunk")
        if t > end:
            late.append(i)
            late_at.append(played)
            dry += t - end
            end = t
        end += d
        played += d
    return Playback(len(late), dry, end, tuple(late), tuple(late_at))


@dataclass
class StreamResult:
    """One simulated caller's stream. Times are seconds on one monotonic clock."""

    engine: str
    level: int  # concurrent streams in the block it belonged to
    wave: int
    caller: int
    sentence: int  # index into the sentence list (of the first sentence, for multi-sentence turns)
    t_send: float
    arrivals: list[tuple[float, float]] = field(default_factory=list)  # (arrival time, audio seconds)
    done: bool = False  # the engine said the stream is complete
    error: str | None = None
    server_ttfa_ms: float | None = None  # the server's own count, from the done event
    onset_s: float | None = None  # audio seconds before the first speech (None: not found / not measured)

    @property
    def ttfa_s(self) -> float:
        return self.arrivals[0][0] - self.t_send if self.arrivals else float("nan")

    @property
    def audio_s(self) -> float:
        return sum(d for _, d in self.arrivals)

    @property
    def first_speech_s(self) -> float:
        """Request -> the first speech plays (NaN when no onset was found)."""
        if self.onset_s is None or not self.arrivals or self.onset_s >= self.audio_s:
            return float("nan")
        return playback_time(self.arrivals, self.onset_s, 1.0) - self.t_send  # lengths in seconds

    @property
    def wall_s(self) -> float:
        return self.arrivals[-1][0] - self.t_send if self.arrivals else float("nan")

    @property
    def rtf(self) -> float:
        a = self.audio_s
        return self.wall_s / a if a > 0 else float("nan")

    def record(self, t_origin: float) -> dict:
        """A JSON-able row; times relative to ``t_origin`` (the start of its block)."""
        p = playback(self.arrivals)
        row = {k: v for k, v in asdict(self).items() if k not in ("arrivals", "t_send")}
        row.update({
            "send_s": self.t_send - t_origin, "ttfa_s": self.ttfa_s, "wall_s": self.wall_s, "audio_s": self.audio_s,
            "rtf": self.rtf, "chunks": len(self.arrivals), "underruns": p.underruns, "underrun_s": p.underrun_s,
            "late_chunks": list(p.late),
            "first_speech_s": self.first_speech_s,
            # gaps after the first speech began (all of them when no onset was found)
            "audible_underruns": sum(1 for a in p.late_at if self.onset_s is None or a > self.onset_s),
            # arrival offsets from the send, with chunk durations: enough to replay the timeline
            "chunk_arrivals_s": [round(t - self.t_send, 5) for t, _ in self.arrivals],
            "chunk_audio_s": [round(d, 5) for _, d in self.arrivals],
        })
        return row


def summarize(rows: list[dict]) -> dict:
    """One block (engine x level) from its stream records (``StreamResult.record``)."""
    ok = [r for r in rows if r["error"] is None and r["chunks"] > 0]
    ttfa = [r["ttfa_s"] for r in ok]
    under = [r for r in ok if r["underruns"] > 0]
    speech = [r.get("first_speech_s", float("nan")) for r in ok]  # NaN (no onset) is left out by percentile
    return {
        "streams": len(rows),
        "errors": len(rows) - len(ok),
        "done": sum(1 for r in rows if r["done"]),
        "ttfa_p50_s": percentile(ttfa, 50), "ttfa_p95_s": percentile(ttfa, 95), "ttfa_p99_s": percentile(ttfa, 99),
        "ttfa_max_s": max(ttfa) if ttfa else float("nan"),
        "rtf_median": median([r["rtf"] for r in ok]),
        "rtf_max": max((r["rtf"] for r in ok), default=float("nan")),
        "audio_s_median": median([r["audio_s"] for r in ok]),
        "streams_with_underrun": len(under),
        # Late beyond the second chunk: the stream fell behind in steady state, not just at the
        # hand-over from the small first chunk to the first full-size one.
        "streams_with_steady_underrun": sum(1 for r in under if max(r["late_chunks"]) >= 2),
        # A gap after the first word began: what a listener hears (rows without the field count every underrun).
        "streams_with_audible_underrun": sum(1 for r in under if r.get("audible_underruns", r["underruns"]) > 0),
        "first_speech_p50_s": percentile(speech, 50), "first_speech_p95_s": percentile(speech, 95),
        "underruns": sum(r["underruns"] for r in ok),
        "underrun_s_total": sum(r["underrun_s"] for r in ok),
    }


def is_clean(summary: dict, steady: bool = False, speech: bool = False) -> bool:
    """Every stream finished, without errors and without the player ever running dry
    (``steady``: except possibly just before the second chunk; ``speech``: except
    before the first word began, where a gap only delays it)."""
    key = ("streams_with_audible_underrun" if speech else
           "streams_with_steady_underrun" if steady else "streams_with_underrun")
    return summary["errors"] == 0 and summary[key] == 0 and summary["done"] == summary["streams"]


def format_table(blocks: list[dict], reference: str | None) -> str:
    """Rows: engine | streams | TTFA p50/p95/p99 | first speech p50 | RTF | server RTF | underruns (streams
    with any, with one past the second chunk, with one after the first word began, total seconds) | errors |
    TTFA p50 vs reference.

    ``blocks``: dicts with ``engine``, ``level``, ``summary`` and optionally ``server_rtf``.
    """
    from ..eval.results_io import fmt_num

    ref = {b["level"]: b["summary"]["ttfa_p50_s"] for b in blocks if b["engine"] == reference}
    ms = lambda x: fmt_num(None if x is None else x * 1000.0, ".0f", " ms")  # noqa: E731
    header = ["engine", "streams", "TTFA p50", "TTFA p95", "TTFA p99", "speech p50", "RTF med", "server RTF",
              "underruns (any / past 2nd chunk / in speech / of N; s)", "errors", f"TTFA p50 / {reference.split(':')[0] if reference else 'ref'}"]
    rows = [header]
    for b in blocks:
        s = b["summary"]
        r = ref.get(b["level"])
        ratio = s["ttfa_p50_s"] / r if r else None
        rows.append([b["engine"], str(b["level"]), ms(s["ttfa_p50_s"]), ms(s["ttfa_p95_s"]), ms(s["ttfa_p99_s"]),
                     ms(s.get("first_speech_p50_s")), fmt_num(s["rtf_median"], ".3f"), fmt_num(b.get("server_rtf"), ".3f"),
                     f"{s['streams_with_underrun']} / {s['streams_with_steady_underrun']} / "
                     f"{s.get('streams_with_audible_underrun', '-')} / {s['streams']}; "
                     f"{s['underrun_s_total']:.2f}",
                     str(s["errors"]), fmt_num(ratio, ".2f", "x")])
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
