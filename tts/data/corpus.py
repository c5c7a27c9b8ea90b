"""Build the multi-speaker teacher corpus: resumable, idempotent, one worker per core.

Each clip is one prompt read by one teacher voice. The prompt goes through our
own frontend and the teacher is fed the resulting phonemes, so the student
later reads exactly what the teacher said; the teacher's own per-phoneme
durations are stored with it as alignment targets.

Layout under the corpus directory:
    manifest.jsonl        one row per finished clip (see tts.data.manifest)
    failed.jsonl          prompts a teacher could not read (skipped on resume)
    audio/<speaker>/<id>.flac

Resuming: clip ids are a hash of (speaker, text); rows already in the
manifest or in failed.jsonl are skipped, so a killed build restarts where it
stopped and running it twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import StatecastError
from ..paths import writable_dir
from .manifest import MANIFEST, read_manifest

SAMPLE_RATE = 24000
MAX_CLIP_SECONDS = 30.0
FAILED = "failed.jsonl"
DEFAULT_KOKORO_VOICES = ("af_heart", "am_michael", "bf_emma", "bm_george")
DEFAULT_PIPER_VOICES = ("joe",)


def clip_id(speaker: str, text: str) -> str:
    return hashlib.sha1(f"{speaker}\n{text}".encode()).hexdigest()[:16]


@dataclass
class SpeakerPlan:
    """How much audio one speaker should get and how far it has come."""

    speaker: str
    target_s: float
    done_s: float = 0.0
    inflight_s: float = 0.0
    cursor: int = 0  # position in this speaker's rotation of the prompt list
    exhausted: bool = False

    @property
    def progress(self) -> float:
        return (self.done_s + self.inflight_s) / self.target_s if self.target_s > 0 else math.inf


@dataclass
class BuildConfig:
    root: Path
    targets: dict[str, float]  # speaker -> target seconds
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_clips: int | None = None  # stop after this many new clips (tests, smoke runs)
    # Count only clips of this build's own prompts towards the targets (a
    # second, small prompt list such as the short replies gets its own hours).
    only_listed: bool = False


# --- worker side -----------------------------------------------------------

_TEACHERS: dict = {}
_FRONTENDS: dict = {}


def _worker_init() -> None:
    # One core per worker: the teachers' ONNX sessions are single-threaded and
    # numpy/torch must not spawn their own pools on top.
    os.environ["OMP_NUM_THREADS"] = "1"
    _die_with_parent()


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the coordinator dies (kill, crash),
    so an interrupted build never leaves orphans burning cores."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def synthesize_clip(speaker: str, text: str, root: str) -> dict:
    """Synthesise one clip and write its audio; returns its manifest row (or an error row)."""
    from ..teachers import teacher_for
    from ..text.frontend import Frontend

    cid = clip_id(speaker, text)
    try:
        teacher = _TEACHERS.get(speaker)
        if teacher is None:
            teacher = _TEACHERS[speaker] = teacher_for(speaker)
        frontend = _FRONTENDS.get(teacher.lang)
        if frontend is None:
            frontend = _FRONTENDS[teacher.lang] = Frontend(teacher.lang)
        phrase = frontend.phonemize(text)
        out = teacher.synthesize(phrase.phonemes)
        audio = resample(out.audio, out.sample_rate, SAMPLE_RATE)
        if not np.isfinite(audio).all():
            raise StatecastError("teacher produced non-finite audio")
        seconds = len(audio) / SAMPLE_RATE
        if seconds > MAX_CLIP_SECONDS or seconds < 0.3:
            raise StatecastError(f"clip length {seconds:.1f}s out of range")
        rel = Path("audio") / speaker / f"{cid}.flac"
        _write_flac(Path(root) / rel, audio)
    except StatecastError as exc:
        return {"id": cid, "speaker": speaker, "text": text, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one bad prompt must not stop a multi-hour build
        return {"id": cid, "speaker": speaker, "text": text, "error": f"{type(exc).__name__}: {exc}", "bug": True}
    return {
        "id": cid,
        "teacher": teacher.teacher,
        "speaker": speaker,
        "lang": teacher.lang,
        "text": text,
        "normalized": phrase.text,
        "phonemes": phrase.phonemes,
        "words": [[w.text, w.start, w.end] for w in phrase.words],
        "durations": [round(float(d), 5) for d in out.durations],
        "lead": round(out.lead, 5),
        "trail": round(out.trail, 5),
        "audio": str(rel),
        "duration": round(seconds, 4),
        "sample_rate": SAMPLE_RATE,
    }


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (22050 -> 24000 is 160/147)."""
    if sr_in == sr_out:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(sr_in, sr_out)
    return resample_poly(audio, sr_out // g, sr_in // g).astype(np.float32)


def _write_flac(path: Path, audio: np.ndarray) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.flac")
    sf.write(tmp, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    os.replace(tmp, path)


# --- coordinator side --------------------------------------------------------

def estimate_seconds(text: str) -> float:
    """Rough spoken length, for scheduling only (about 15 characters a second)."""
    return max(1.0, len(text) / 15.0)


class CorpusBuilder:
    def __init__(self, config: BuildConfig, prompts: list[str], job=None):
        """``job(speaker, text, root) -> row`` defaults to :func:`synthesize_clip`;
        tests pass a cheap module-level stand-in (it must pickle)."""
        if not prompts:
            raise StatecastError("no prompts: install Debian's fortunes (apt-get install fortunes) or check the prompt source")
        self.config = config
        self.prompts = prompts
        self.job = job or synthesize_clip
        self.root = writable_dir(config.root, "corpus directory")
        self.plans = {s: SpeakerPlan(s, t) for s, t in config.targets.items()}
        self.seen: set[str] = set()
        self.failures = 0
        self._load_existing()

    def _load_existing(self) -> None:
        manifest = self.root / MANIFEST
        listed = set(self.prompts) if self.config.only_listed else None
        if manifest.exists():
            for row in read_manifest(manifest):
                self.seen.add(row["id"])
                if row["speaker"] in self.plans and (listed is None or row["text"] in listed):
                    self.plans[row["speaker"]].done_s += row["duration"]
        failed = self.root / FAILED
        if failed.exists():
            for line in failed.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                # Crashes of our own code are retried once it is fixed;
                # prompts a teacher cannot read stay skipped.
                if "id" in row and not row.get("bug"):
                    self.seen.add(row["id"])

    def _next_job(self) -> tuple[str, str] | None:
        """The least-advanced speaker's next unseen prompt."""
        open_plans = [p for p in self.plans.values() if not p.exhausted and p.done_s < p.target_s]
        while open_plans:
            plan = min(open_plans, key=lambda p: p.progress)
            # Speakers start at different offsets so they read different text.
            offset = list(self.plans).index(plan.speaker) * len(self.prompts) // max(1, len(self.plans))
            while plan.cursor < len(self.prompts):
                text = self.prompts[(offset + plan.cursor) % len(self.prompts)]
                plan.cursor += 1
                cid = clip_id(plan.speaker, text)
                if cid not in self.seen:
                    self.seen.add(cid)
                    plan.inflight_s += estimate_seconds(text)
                    return plan.speaker, text
            plan.exhausted = True
            open_plans.remove(plan)
        return None

    def run(self, progress: bool = True) -> dict[str, float]:
        """Synthesise until every speaker reaches its target; returns seconds per speaker."""
        from tqdm import tqdm

        total = sum(p.target_s for p in self.plans.values())
        done0 = sum(min(p.done_s, p.target_s) for p in self.plans.values())
        bar = tqdm(total=round(total / 3600, 2), initial=round(done0 / 3600, 2), unit="h", disable=not progress,
                   bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} h [{elapsed}<{remaining}] {postfix}")
        made = 0
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(self.config.workers, mp_context=ctx, initializer=_worker_init) as pool, \
                open(self.root / MANIFEST, "a", encoding="utf-8") as manifest, \
                open(self.root / FAILED, "a", encoding="utf-8") as failed:
            pending: dict = {}

            def fill() -> None:
                while len(pending) < 2 * self.config.workers:
                    if self.config.max_clips is not None and made + len(pending) >= self.config.max_clips:
                        return
                    job = self._next_job()
                    if job is None:
                        return
                    pending[pool.submit(self.job, job[0], job[1], str(self.root))] = job

            fill()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    speaker, text = pending.pop(fut)
                    plan = self.plans[speaker]
                    plan.inflight_s -= estimate_seconds(text)
                    row = fut.result()
                    if "error" in row:
                        failed.write(json.dumps(row, ensure_ascii=False) + "\n")
                        failed.flush()
                        self.failures += 1
                        continue
                    manifest.write(json.dumps(row, ensure_ascii=False) + "\n")
                    manifest.flush()
                    made += 1
                    plan.done_s += row["duration"]
                    done_h = sum(min(p.done_s, p.target_s) for p in self.plans.values()) / 3600
                    bar.update(done_h - bar.n)
                    bar.set_postfix_str(" ".join(f"{p.speaker}={p.done_s / 3600:.2f}h" for p in self.plans.values())
                                        + f" failed={self.failures}")
                fill()
        bar.close()
        return {p.speaker: p.done_s for p in self.plans.values()}


def default_targets(kokoro_hours: float, piper_hours: float,
                    kokoro_voices=DEFAULT_KOKORO_VOICES, piper_voices=DEFAULT_PIPER_VOICES) -> dict[str, float]:
    targets = {v: kokoro_hours * 3600 / len(kokoro_voices) for v in kokoro_voices}
    targets.update({v: piper_hours * 3600 / len(piper_voices) for v in piper_voices})
    return targets


def corpus_stats(root: Path) -> dict[str, dict[str, float]]:
    stats: dict[str, dict[str, float]] = {}
    for row in read_manifest(root):
        s = stats.setdefault(row["speaker"], {"clips": 0, "hours": 0.0, "teacher": row["teacher"]})
        s["clips"] += 1
        s["hours"] += row["duration"] / 3600
    return stats
