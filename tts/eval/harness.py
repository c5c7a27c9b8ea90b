"""The evaluation harness: synthesize a sentence set with several engines, then
score every clip for intelligibility (ASR word error rate), quality (DNSMOS)
and speed (real-time factor, time to first audio).

Order of work, and why:

1. Warm every engine up with one sentence (first-call costs such as session
   creation and allocator growth are not what a running service pays).
2. Synthesize sentence by sentence, engines interleaved, so slow drifts in
   background load hit every engine alike.
3. Only then run the scorers, so our own ASR never competes with the timings.

Scorers are passed in (anything with ``transcribe_many`` / ``score_many``), which
lets tests drive the harness with a fake engine and a fake recogniser.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .asr import Transcriber
from .audio import to_16k
from .results_io import fmt_num, machine_info, package_versions
from .sentences import SentenceSet
from .timing import Engine, Take, median, percentile, timed_stream
from .wer import WordErrors, align_words, hypothesis_words, total, wer_normalizer

WARMUP_TEXT = "Hello there, this sentence only warms the engine up."
# Versions recorded with every run: the scorers' and the engines' runtimes.
_PACKAGES = ["statecast", "faster-whisper", "ctranslate2", "pocketsphinx", "speechmos", "librosa", "scipy",
             "onnxruntime", "kokoro-onnx", "piper-tts", "numpy", "whisper-normalizer"]


WER_NOTE = ("WER = total word errors / total reference words, both sides normalised by "
            "tts.eval.wer.wer_normalizer (tts.text.normalize.normalize_for_wer, then British -> "
            "American spellings)")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def synthesize_all(
    engines: Sequence[Engine], sentences: Sequence[str], warmup_text: str | None = WARMUP_TEXT,
    progress: Callable[[str], None] | None = _log,
) -> dict[str, list[Take]]:
    """Returns engine name -> one :class:`Take` per sentence, in sentence order."""
    if warmup_text:
        for engine in engines:
            timed_stream(engine, warmup_text)
    takes: dict[str, list[Take]] = {e.name: [] for e in engines}
    for i, text in enumerate(sentences):
        parts = []
        for engine in engines:
            take = timed_stream(engine, text)
            takes[engine.name].append(take)
            parts.append(f"{engine.name} rtf {take.rtf:.2f}")
        if progress:
            progress(f"[{i + 1}/{len(sentences)}] " + ", ".join(parts))
    return takes


def _asr_fields(prefix: str, hyp: str, hyp_words: list[str], errs: WordErrors) -> dict:
    return {
        f"{prefix}hypothesis": hyp,
        f"{prefix}hypothesis_normalized": " ".join(hyp_words),
        f"{prefix}errors": errs.errors,
        f"{prefix}substitutions": errs.substitutions,
        f"{prefix}deletions": errs.deletions,
        f"{prefix}insertions": errs.insertions,
        f"{prefix}wer": errs.rate,
    }


def _score_transcripts(rows: list[dict], refs: list[list[str]], hyps: Sequence[str], prefix: str,
                       normalize: Callable[[str], str], agg: dict) -> None:
    """One recogniser's transcripts -> per-row WER fields and the aggregate's
    ``<name>wer`` / ``<name>errors`` (shared by a run and by ``--rescore``)."""
    errs = []
    for row, ref, hyp in zip(rows, refs, hyps):
        hyp_words = hypothesis_words(row["text"], hyp, normalize)
        e = align_words(ref, hyp_words)
        errs.append(e)
        row.update(_asr_fields(prefix, hyp, hyp_words, e))
    t = total(errs)
    agg[f"{prefix or 'whisper_'}wer"] = t.rate
    agg[f"{prefix or 'whisper_'}errors"] = t.to_dict()


def score_engine(
    engine: Engine, sentences: Sequence[str], takes: Sequence[Take], whisper: Transcriber | None = None,
    sphinx: Transcriber | None = None, dnsmos=None, normalize: Callable[[str], str] | None = None,
) -> dict:
    """Scores one engine's takes; returns {"engine", ..., "aggregate", "rows"}."""
    assert len(sentences) == len(takes)
    clips = [to_16k(t.audio, engine.sample_rate) if t.audio.size else np.zeros(0, np.float32) for t in takes]
    if (whisper or sphinx) and normalize is None:
        normalize = wer_normalizer()
    refs = [normalize(s).split() for s in sentences] if normalize else [s.split() for s in sentences]

    rows = []
    for i, (text, take) in enumerate(zip(sentences, takes)):
        rows.append({
            "index": i, "text": text, "reference": " ".join(refs[i]), "words": len(refs[i]),
            "duration_s": take.duration_s, "synth_s": take.synth_s, "rtf": take.rtf,
            "ttfa_s": take.ttfa_s, "chunks": take.chunks,
        })

    agg: dict = {"sentences": len(rows), "words": sum(len(r) for r in refs)}
    for prefix, asr in (("", whisper), ("sphinx_", sphinx)):
        if asr is None:
            continue
        _score_transcripts(rows, refs, asr.transcribe_many(clips), prefix, normalize, agg)
    if dnsmos is not None:
        scores = dnsmos.score_many(clips)
        for row, s in zip(rows, scores):
            row["dnsmos"] = s
        for key in ("ovrl", "sig", "bak", "p808"):
            vals = [s[key] for s in scores if s[key] == s[key]]
            agg[f"dnsmos_{key}"] = float(np.mean(vals)) if vals else float("nan")

    audio_s = sum(t.duration_s for t in takes)
    synth_s = sum(t.synth_s for t in takes)
    agg.update({
        "audio_s": audio_s,
        "synth_s": synth_s,
        "rtf": synth_s / audio_s if audio_s > 0 else float("inf"),  # total time / total audio
        "rtf_median": median([t.rtf for t in takes]),
        "ttfa_median_s": median([t.ttfa_s for t in takes]),
        "ttfa_p90_s": percentile([t.ttfa_s for t in takes], 90),
    })
    return {
        "engine": engine.name, "sample_rate": engine.sample_rate, "streaming": bool(engine.streaming),
        "aggregate": agg, "rows": rows,
    }


def rescore_report(report: dict, normalize: Callable[[str], str]) -> dict:
    """The same report with every stored ASR hypothesis scored again by ``normalize``.

    For a change of scorer, not of audio: the transcripts stay as they were
    written (``row["hypothesis"]``, ``row["sphinx_hypothesis"]``), the
    reference is the row's original sentence (``row["text"]``), and the WER
    fields of rows and aggregates are recomputed. DNSMOS, timings and the
    rest are left alone. The previous totals are kept under
    ``aggregate["rescored_from"]``.
    """
    from ..errors import StatecastError

    out = {**report, "engines": []}
    for res in report.get("engines", []):
        rows = [dict(r) for r in res.get("rows", [])]
        agg = dict(res.get("aggregate", {}))
        previous = {}
        for prefix in ("", "sphinx_"):
            key = f"{prefix}hypothesis"
            if not rows or key not in rows[0]:
                continue
            if any("text" not in row or key not in row for row in rows):
                raise StatecastError(f"{res.get('engine')}: a row without 'text' or {key!r} cannot be rescored")
            refs = [normalize(row["text"]).split() for row in rows]
            for row, ref in zip(rows, refs):
                row["reference"], row["words"] = " ".join(ref), len(ref)
            previous[f"{prefix or 'whisper_'}errors"] = agg.get(f"{prefix or 'whisper_'}errors")
            _score_transcripts(rows, refs, [row[key] for row in rows], prefix, normalize, agg)
            agg["words"] = sum(len(r) for r in refs)
        if previous:
            agg["rescored_from"] = previous
        out["engines"].append({**res, "aggregate": agg, "rows": rows})
    meta = dict(report.get("meta", {}))
    meta["notes"] = WER_NOTE + " (rescored from the stored transcripts)"
    meta.setdefault("packages", {})
    meta["packages"] = {**meta["packages"], **package_versions(["statecast", "whisper-normalizer"])}
    out["meta"] = meta
    return out


def save_takes(root: Path, engine: Engine, takes: Sequence[Take]) -> None:
    """Write each take as ``root/<engine>/<index>.wav`` for listening later."""
    import soundfile as sf

    d = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", engine.name)
    d.mkdir(parents=True, exist_ok=True)
    for i, take in enumerate(takes):
        sf.write(d / f"{i:03d}.wav", take.audio, engine.sample_rate, subtype="PCM_16")


def evaluate(
    engines: Sequence[Engine], sentence_set: SentenceSet, whisper: Transcriber | None = None,
    sphinx: Transcriber | None = None, dnsmos=None, normalize: Callable[[str], str] | None = None,
    warmup_text: str | None = WARMUP_TEXT, save_audio: Path | None = None,
    progress: Callable[[str], None] | None = _log,
) -> dict:
    """Full run; returns the report dict that ``statecast eval`` writes as JSON."""
    names = [e.name for e in engines]
    if len(set(names)) != len(names):
        from ..errors import StatecastError

        raise StatecastError(f"each engine may be given once; got {', '.join(names)}")
    meta = {
        "machine": machine_info(),
        "sentences": sentence_set.describe(),
        "warmup_text": warmup_text,
        "packages": package_versions(_PACKAGES),
        "scorers": {
            "whisper": whisper.describe() if whisper else None,
            "sphinx": sphinx.describe() if sphinx else None,
            "dnsmos": dnsmos.describe() if dnsmos else None,
        },
        "notes": f"{WER_NOTE}; RTF = synthesis wall time / audio duration "
                 "(aggregate: summed); TTFA = stream() call to first chunk (sentence-level engines: "
                 "the whole first sentence).",
    }
    takes = synthesize_all(engines, sentence_set.sentences, warmup_text, progress)
    if save_audio is not None:
        for engine in engines:
            save_takes(Path(save_audio), engine, takes[engine.name])
    results = []
    for engine in engines:
        if progress:
            progress(f"scoring {engine.name} ...")
        results.append(score_engine(engine, sentence_set.sentences, takes[engine.name], whisper, sphinx, dnsmos, normalize))
    return {"meta": meta, "engines": results}


def format_table(report: dict) -> str:
    """engine | WER whisper | WER sphinx | DNSMOS OVRL/SIG/BAK | RTF | TTFA, as aligned text."""
    header = ["engine", "WER whisper", "WER sphinx", "DNSMOS OVRL/SIG/BAK", "RTF", "TTFA med/p90"]
    lines = [header]
    for res in report["engines"]:
        a = res["aggregate"]
        pct = lambda k: fmt_num(100 * a[k], ".1f", "%") if k in a else "-"  # noqa: E731
        mos = "/".join(fmt_num(a.get(f"dnsmos_{k}"), ".2f") for k in ("ovrl", "sig", "bak")) if "dnsmos_ovrl" in a else "-"
        ttfa = f"{fmt_num(a['ttfa_median_s'], '.2f')}/{fmt_num(a['ttfa_p90_s'], '.2f')} s"
        if not res["streaming"]:
            ttfa += " (sent.)"
        lines.append([res["engine"], pct("whisper_wer"), pct("sphinx_wer"), mos, fmt_num(a["rtf"], ".3f"), ttfa])
    widths = [max(len(row[c]) for row in lines) for c in range(len(header))]
    out = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)
