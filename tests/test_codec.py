"""Codec: shapes, quantiser, alignment, input checks, weights round trip.

Randomly initialised models (tiny, or the default architecture where its
exact sizes matter): every test runs in well under a second.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tts.codec import Codec, CodecConfig, load_codec, save_codec, tiny_config
from tts.codec.features import mel_filterbank, pad_or_crop
from tts.codec.fsq import GroupedFSQ, fsq_tokens_ref
from tts.errors import StatecastError

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return Codec(tiny_config()).eval()


# ---- config: the numbers the acoustic model and the README rely on ----------

def test_default_config_numbers():
    cfg = CodecConfig()
    assert cfg.sample_rate == 24000 and cfg.frame_rate == 40.0 and cfg.frame_rate <= 50
    assert cfg.codebook_size == 1000 and cfg.n_codebooks == 2
    assert cfg.bitrate == pytest.approx(2 * math.log2(1000) * 40)
    assert cfg.lookahead_frames <= 2
    d = cfg.describe()
    assert d["codebook_size"] == 1000 and d["bitrate_bps"] == pytest.approx(797.3, abs=0.1)


def test_config_json_round_trip_and_rejects_unknown_keys():
    cfg = tiny_config(levels=(7, 5))
    back = CodecConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.levels == (7, 5)
    with pytest.raises(StatecastError, match="unknown codec config keys: bogus"):
        CodecConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(StatecastError, match="multiple of hop"):
        CodecConfig(n_fft=1000)


# ---- quantiser -------------------------------------------------------------

@pytest.mark.parametrize("levels", [(8, 5, 5, 5), (7, 6), (2, 3, 4)])
def test_fsq_tokens_match_reference_and_round_trip(levels):
    fsq = GroupedFSQ(levels, n_codebooks=2)
    torch.manual_seed(1)
    z = torch.randn(2, 9, 2 * len(levels)) * 3
    latent_q, tokens = fsq(z)
    size = math.prod(levels)
    assert tokens.shape == (2, 2, 9) and tokens.dtype == torch.long
    assert 0 <= int(tokens.min()) and int(tokens.max()) < size
    assert torch.equal(tokens, fsq_tokens_ref(latent_q, levels, 2))
    # dequantize is the exact inverse of the token code
    assert torch.allclose(fsq.dequantize(tokens), latent_q, atol=1e-6)
    all_codes = torch.arange(size).view(1, 1, size).expand(1, 2, size)
    assert torch.equal(fsq_tokens_ref(fsq.dequantize(all_codes), levels, 2), all_codes)


def test_fsq_uses_every_level_and_passes_gradients():
    fsq = GroupedFSQ((8, 5), n_codebooks=1)
    z = torch.linspace(-6, 6, 4001).view(1, -1, 1).repeat(1, 1, 2).requires_grad_()
    latent_q, tokens = fsq(z)
    # both dims sweep the same range: every level of each must be reachable
    assert set((tokens % 8).unique().tolist()) == set(range(8))
    assert set((tokens // 8 % 5).unique().tolist()) == set(range(5))
    latent_q.sum().backward()
    assert z.grad is not None and float(z.grad.abs().sum()) > 0  # straight-through


# ---- encode / decode shapes and alignment ----------------------------------

@pytest.mark.parametrize("n", [1, 599, 600, 601, 24000])
def test_encode_decode_shapes(tiny, n):
    cfg = tiny.cfg
    x = 0.1 * torch.randn(n)
    tokens = tiny.encode(x, cfg.sample_rate)
    T = math.ceil(n / cfg.hop)
    assert tokens.shape == (cfg.n_codebooks, T) and tokens.dtype == torch.long
    assert int(tokens.min()) >= 0 and int(tokens.max()) < cfg.codebook_size
    pcm = tiny.decode(tokens)
    assert pcm.shape == (T * cfg.hop,) and pcm.dtype == torch.float32
    assert torch.isfinite(pcm).all()
    batch = tiny.encode(torch.stack([x, -x]), cfg.sample_rate)
    assert batch.shape == (2, cfg.n_codebooks, T)
    assert torch.equal(batch[0], tokens)  # batch rows are independent
    assert tiny.decode(batch).shape == (2, T * cfg.hop)


def test_training_forward_matches_checked_api(tiny):
    x = 0.1 * torch.randn(2, 3000)
    with torch.no_grad():
        pcm_hat, tokens = tiny(x)
    assert torch.equal(tokens, tiny.encode(x, 24000))
    assert torch.allclose(pcm_hat, tiny.decode(tokens), atol=1e-5)


def test_encoder_frames_are_centred_on_their_synthesis_window():
    """Token t is decoded into samples [t*H, t*H + n_fft); the encoder must look there."""
    torch.manual_seed(0)
    codec = Codec(tiny_config())
    cfg = codec.cfg
    t0 = 5
    x = torch.zeros(1, 20 * cfg.hop)
    x[0, t0 * cfg.hop + cfg.n_fft // 2] = 1.0  # click at the centre of frame t0's window
    feats = codec.encoder.features(x)  # (1, T, S*M) log-mel
    energy = feats.exp().sum(-1)[0]
    assert int(energy.argmax()) == t0


def test_pad_or_crop_keeps_length_contract():
    x = torch.arange(10.0).view(1, 10)
    assert pad_or_crop(x, -3, 2).tolist() == [[3, 4, 5, 6, 7, 8, 9, 0, 0]]
    assert pad_or_crop(x, 2, -4).tolist() == [[0, 0, 0, 1, 2, 3, 4, 5]]
    assert pad_or_crop(x, -12, 5).tolist() == [[0, 0, 0]]  # everything cropped: zeros


def test_mel_filterbank_has_no_dead_channels():
    fb = mel_filterbank(24000, 600, 80)
    assert fb.shape == (80, 301)
    assert (fb.sum(1) > 0).all()


# ---- bad input is rejected with a clear one-line error ---------------------

@pytest.mark.parametrize("audio, rate, match", [
    (np.zeros(2400, np.float32), 16000, "expects 24000 Hz audio, got 16000"),
    (np.zeros((2400, 2), np.float32), 24000, "2 channels"),
    (torch.zeros(1, 2, 2400), 24000, "2 channels"),
    (np.zeros(0, np.float32), 24000, "empty"),
    (torch.zeros(3, 0), 24000, "empty"),
    (torch.tensor([0.0, float("nan"), 0.0]), 24000, "NaN"),
    (torch.tensor([0.0, float("inf")]), 24000, "NaN or infinite"),
    (np.zeros(100, np.int16), 24000, "float PCM"),
    (torch.full((100,), 3000.0), 24000, "outside \\[-1, 1\\]"),
    (torch.zeros(2, 2, 2, 2), 24000, "must be"),
    ([0.0, 0.1], 24000, "numpy array"),
])
def test_encode_rejects_bad_audio(tiny, audio, rate, match):
    with pytest.raises(StatecastError, match=match):
        tiny.encode(audio, rate)


@pytest.mark.parametrize("tokens, match", [
    (torch.full((2, 5), 1000), "token 1000 is out of range"),
    (torch.full((2, 5), -1), "token -1 is out of range"),
    (torch.zeros(3, 5, dtype=torch.long), "K = 2 codebooks"),
    (torch.zeros(2, 5, dtype=torch.float32), "must be integers"),
    (torch.zeros(2, 0, dtype=torch.long), "empty"),
    (np.zeros((1, 2, 4, 1), np.int64), "shape"),
])
def test_decode_rejects_bad_tokens(tiny, tokens, match):
    with pytest.raises(StatecastError, match=match):
        tiny.decode(tokens)


def test_decode_step_rejects_bad_tokens_and_batch_mismatch(tiny):
    state = tiny.init_state(2)
    with pytest.raises(StatecastError, match="out of range"):
        tiny.decode_step(torch.full((2, 2, 1), 5000), state)
    with pytest.raises(StatecastError, match="batch 1 != stream state batch 2"):
        tiny.decode_step(torch.zeros(1, 2, 1, dtype=torch.long), state)


# ---- shipped weights: safetensors + config.json ----------------------------

def test_save_load_round_trip(tmp_path, tiny):
    save_codec(tiny, tmp_path / "codec", meta={"step": 7})
    doc = json.loads((tmp_path / "codec" / "config.json").read_text())
    assert doc["tokens"]["codebook_size"] == tiny.cfg.codebook_size and doc["meta"]["step"] == 7
    loaded = load_codec(tmp_path / "codec")
    tokens = torch.randint(0, tiny.cfg.codebook_size, (2, 2, 6))
    assert torch.equal(loaded.decode(tokens), tiny.decode(tokens))


def test_load_rejects_missing_or_mismatched(tmp_path, tiny):
    with pytest.raises(StatecastError, match="no codec config"):
        load_codec(tmp_path / "nothing")
    save_codec(tiny, tmp_path / "c")
    doc = json.loads((tmp_path / "c" / "config.json").read_text())
    doc["config"]["dec_dim"] = 48
    (tmp_path / "c" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(StatecastError, match="do not match its config|size mismatch"):
        load_codec(tmp_path / "c")
