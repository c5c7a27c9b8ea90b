"""The Transformer baseline of benchmarks/kv_baseline.py: its cached step equals its full causal forward."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "kv_baseline.py"


def _load():
    spec = importlib.util.spec_from_file_location("kv_baseline", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


kvb = _load()


def _tiny(seed: int = 0):
    torch.manual_seed(seed)
    cfg = kvb.KVDecoderConfig(d_model=32, n_layers=2, n_heads=4, mlp_ratio=2)
    return kvb.KVDecoder(cfg).eval()


@pytest.mark.parametrize("capacity", [1, 3, 64])  # 1 and 3 force the cache to grow mid-sequence
def test_step_by_step_equals_full_forward(capacity):
    torch.set_num_threads(1)
    model = _tiny()
    B, T = 3, 11
    x = torch.randn(B, T, model.cfg.d_model, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(x)
    cache = model.init_cache(B, capacity=capacity)
    steps = []
    for t in range(T):
        steps.append(model.step(x[:, t], cache))
        assert cache.length == t + 1  # one entry per step
        assert cache.keys(0).shape == (B, model.cfg.n_heads, t + 1, model.cfg.head_dim)
    torch.testing.assert_close(torch.stack(steps, 1), full, rtol=1e-5, atol=1e-5)


def test_forward_is_causal():
    model = _tiny()
    x = torch.randn(2, 8, model.cfg.d_model)
    y = x.clone()
    y[:, 5:] += 3.0  # change the future only
    with torch.no_grad():
        a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_cache_bytes_grow_linearly_and_fill_random_sets_length():
    model = _tiny()
    cfg = model.cfg
    cache = model.init_cache(2)
    assert cache.nbytes_per_stream() == 0
    cache.fill_random(100, generator=torch.Generator().manual_seed(0))
    assert cache.length == 100 and cache.capacity > 100
    per_frame = 2 * cfg.n_layers * cfg.d_model * 4  # k and v, float32, every layer
    assert cache.nbytes_per_stream() == 100 * per_frame
    model.step(torch.randn(2, cfg.d_model), cache)
    assert cache.nbytes_per_stream() == 101 * per_frame
    assert cache.keys(1)[:, :, :100].abs().sum() > 0  # the prefilled history survived the step


def test_like_copies_width_depth_and_head_size():
    from tts.model import small_config

    acoustic = small_config()
    cfg = kvb.KVDecoderConfig.like(acoustic)
    assert (cfg.d_model, cfg.n_layers, cfg.head_dim) == (acoustic.d_model, acoustic.n_layers, acoustic.head_dim)


def test_step_rejects_wrong_shape():
    model = _tiny()
    cache = model.init_cache(2)
    with pytest.raises(ValueError):
        model.step(torch.randn(3, model.cfg.d_model), cache)
