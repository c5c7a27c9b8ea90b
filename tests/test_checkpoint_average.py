"""`statecast train average`: uniform weight averages of checkpoints of one model."""

from __future__ import annotations

import argparse

import pytest
import torch

from tts.errors import StatecastError
from tts.train import average_cli
from tts.train.checkpoint import average_checkpoints, load_checkpoint, save_payload


def _payload(scale: float, kind: str = "statecast-acoustic-train", shape=(3, 2), config=None) -> dict:
    return {
        "kind": kind, "step": int(scale * 10), "model_config": config or {"dim": 2},
        "train_config": {"run": f"r{scale}"}, "opt": {"state": "adam moments"},
        "model": {"w": torch.full(shape, scale), "h": torch.full((2,), scale, dtype=torch.float16),
                  "count": torch.tensor(int(scale))},
    }


def _write(tmp_path, name, payload):
    return save_payload(tmp_path / name, payload)


def test_average_is_the_mean_of_the_weights(tmp_path):
    paths = [_write(tmp_path, f"{i}.pt", _payload(s)) for i, s in enumerate((1.0, 2.0, 6.0))]
    out = average_checkpoints(paths)
    assert torch.allclose(out["model"]["w"], torch.full((3, 2), 3.0))
    assert out["model"]["h"].dtype == torch.float16 and torch.allclose(out["model"]["h"].float(), torch.full((2,), 3.0))
    assert int(out["model"]["count"]) == 6  # not a weight: the last checkpoint's
    assert out["step"] == 60 and out["train_config"]["run"] == "r6.0"
    assert "opt" not in out  # no optimiser state belongs to an average
    assert out["averaged_from"] == [str(p) for p in paths]


@pytest.mark.parametrize("other, match", [
    (_payload(2.0, kind="statecast-codec-train"), "checkpoint"),
    (_payload(2.0, config={"dim": 4}), "model config"),
    (_payload(2.0, shape=(3, 3)), "other weights"),
])
def test_average_refuses_checkpoints_of_different_models(tmp_path, other, match):
    a = _write(tmp_path, "a.pt", _payload(1.0))
    b = _write(tmp_path, "b.pt", other)
    with pytest.raises(StatecastError, match=match):
        average_checkpoints([a, b])


def test_average_needs_two(tmp_path):
    with pytest.raises(StatecastError, match="at least two"):
        average_checkpoints([_write(tmp_path, "a.pt", _payload(1.0))])


def test_cli_writes_a_loadable_checkpoint(tmp_path, capsys):
    a = _write(tmp_path, "a.pt", _payload(1.0))
    b = _write(tmp_path, "b.pt", _payload(3.0))
    parser = argparse.ArgumentParser()
    average_cli.add_arguments(parser)
    args = parser.parse_args([str(a), str(b), "--out", str(tmp_path / "avg" / "avg.pt")])
    assert average_cli.run(args) == 0
    out = load_checkpoint(tmp_path / "avg" / "avg.pt")
    assert torch.allclose(out["model"]["w"], torch.full((3, 2), 2.0))
    assert "averaged 2" in capsys.readouterr().out
    assert not list((tmp_path / "avg").glob("*.tmp"))
