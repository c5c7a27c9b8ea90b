"""``statecast bench --peers`` mechanics on fake engines: interleaving, summary
statistics, ratios, JSON/table output and bad input."""

import json

import numpy as np
import pytest

from tts import cli
from tts.bench import peers


class TickEngine:
    """Fake engine: one chunk of 0.5 s of noise per call."""

    def __init__(self, name, log):
        self.name, self.sample_rate, self.streaming, self.log = name, 8000, False, log

    def stream(self, text):
        self.log.append((self.name, text))
        yield np.full(4000, 0.1, np.float32)

    def synthesize(self, text):
        return np.concatenate(list(self.stream(text)))


def test_measure_warms_up_then_interleaves_with_rotating_order():
    log = []
    engines = [TickEngine("a", log), TickEngine("b", log)]
    cases = [("short", "hi"), ("long", "a longer one")]
    records = peers.measure(engines, cases, repeats=2)
    assert log[:2] == [("a", "hi"), ("b", "hi")]  # warm-up, untimed
    timed = log[2:]
    assert len(records) == len(timed) == 2 * 2 * 2
    # Each (repeat, case) block runs every engine once; who goes first alternates.
    firsts = [timed[i][0] for i in range(0, len(timed), 2)]
    assert firsts == ["a", "b", "a", "b"]
    assert all(r["duration_s"] == 0.5 and r["chunks"] == 1 for r in records)
    assert all(r["first_speech_s"] == pytest.approx(r["ttfa_s"], abs=1e-6) for r in records)  # loud from sample 0


def test_summarize_medians_p90_and_ratios():
    recs = []
    for i, (ttfa_a, ttfa_b) in enumerate([(0.1, 1.0), (0.2, 2.0), (0.3, 3.0)]):
        recs.append({"engine": "a", "case": "c", "ttfa_s": ttfa_a, "rtf": ttfa_a, "duration_s": 1.0,
                     "first_speech_s": ttfa_a + 0.1})
        recs.append({"engine": "b", "case": "c", "ttfa_s": ttfa_b, "rtf": 2 * ttfa_b, "duration_s": 1.0,
                     "first_speech_s": ttfa_b + 0.4})
    s = peers.summarize(["a", "b"], ["c"], recs)
    assert s["a"]["overall"]["ttfa_median_s"] == pytest.approx(0.2)
    assert s["a"]["overall"]["ttfa_p90_s"] == pytest.approx(0.28)
    assert s["a"]["overall"]["ttfa_ratio"] == pytest.approx(1.0)
    assert s["b"]["overall"]["ttfa_ratio"] == pytest.approx(10.0)
    assert s["b"]["overall"]["rtf_ratio"] == pytest.approx(20.0)
    assert s["a"]["overall"]["first_speech_median_s"] == pytest.approx(0.3)
    assert s["b"]["overall"]["first_speech_ratio"] == pytest.approx(2.4 / 0.3)
    assert s["b"]["cases"]["c"]["runs"] == 3
    table = peers.format_table(s, ["c"])
    assert "10.00x" in table and "20.00x" in table and "8.00x" in table


def test_cli_bench_peers_writes_json(tmp_path, capsys, monkeypatch):
    from tts.eval import cli as eval_cli

    log = []
    monkeypatch.setattr(eval_cli, "load_engines", lambda specs: [TickEngine(s, log) for s in specs])
    out = tmp_path / "bench.json"
    rc = cli.main(["bench", "--peers", "--engine", "x:1", "--engine", "y:2", "--repeats", "2", "--out", str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["meta"]["reference_engine"] == "x:1"
    assert [c["label"] for c in data["meta"]["cases"]] == ["short", "medium", "long"]
    assert len(data["runs"]) == 2 * 3 * 2
    assert set(data["summary"]) == {"x:1", "y:2"}
    assert "y:2" in stdout and "all" in stdout


def test_cli_bench_peers_default_puts_statecast_beside_both_peers(tmp_path, monkeypatch):
    """Without --engine the run times Piper (the reference), Kokoro and our default voice."""
    from tts.eval import cli as eval_cli

    seen = []
    monkeypatch.setattr(eval_cli, "load_engines", lambda specs: seen.extend(specs) or [TickEngine(s, []) for s in specs])
    rc = cli.main(["bench", "--peers", "--repeats", "1", "--out", str(tmp_path / "b.json")])
    assert rc == 0
    assert seen[0] == "piper:joe" and "kokoro:af_heart" in seen
    assert [s.partition(":")[0] for s in seen].count("statecast") == 1


@pytest.mark.parametrize("argv, needle", [
    (["bench"], "choose a benchmark"),
    (["bench", "--peers", "--repeats", "0"], "--repeats"),
    (["bench", "--peers", "--engine", "p:1", "--engine", "p:1"], "once"),
])
def test_cli_bench_bad_input(argv, needle, tmp_path, capsys, monkeypatch):
    from tts.eval import cli as eval_cli

    monkeypatch.setattr(eval_cli, "load_engines", lambda specs: pytest.fail("engines must not load"))
    rc = cli.main(argv + ["--out", str(tmp_path / "o.json")] if argv != ["bench"] else argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0], err


def test_cli_bench_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "f"
    blocker.write_text("")
    rc = cli.main(["bench", "--peers", "--out", str(blocker / "x.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "cannot write" in err[0]
