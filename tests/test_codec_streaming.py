"""Streaming invariants of the codec decoder.

1. Streaming decode == offline decode (max abs diff <= 1e-4) for chunk sizes
   1, 3, 7, uneven schedules with empty chunks, and lengths not divisible by
   the chunk size; for the tiny test model and the shipped architecture.
2. Causality: changing future tokens never changes audio already emitted.
3. No discontinuity at chunk boundaries.
4. The state is fixed-size; streams can be batched and split.
5. Each fast path equals its reference.
"""

from __future__ import annotations

import pytest
import torch

from tts.codec import Codec, CodecConfig, DecoderState, tiny_config
from tts.codec.istft import overlap_add, overlap_add_ref
from tts.codec.layers import depthwise_conv, depthwise_conv_ref, depthwise_conv_small

torch.set_num_threads(1)
TOL = 1e-4


def _codec(cfg: CodecConfig, seed: int = 0) -> Codec:
    torch.manual_seed(seed)
    codec = Codec(cfg).eval()
    # Random init leaves the head quiet and the layer scales small; make the
    # audio loud and every layer matter, so a state bug cannot hide.
    with torch.no_grad():
        for block in codec.decoder.blocks:
            block.gamma.fill_(1.0)
        head = codec.decoder.head
        head.proj.bias.view(head.subframes, 2 * head.n_bins)[:, : head.n_bins] += 2.0
    return codec


@pytest.fixture(scope="module", params=[1, 4], ids=["head1", "head4"])
def tiny(request):
    """The tiny codec with one spectrum per frame and with four (head_subframes)."""
    return _codec(tiny_config(head_subframes=request.param))


@pytest.fixture(scope="module")
def full():
    return _codec(CodecConfig())


def _tokens(codec: Codec, batch: int, frames: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, codec.cfg.codebook_size, (batch, codec.cfg.n_codebooks, frames), generator=g)


def _stream(codec: Codec, tokens: torch.Tensor, schedule) -> torch.Tensor:
    """Decode tokens (B, K, T) in chunks whose sizes cycle through `schedule`."""
    state = codec.init_state(tokens.shape[0])
    out, t, i = [], 0, 0
    while t < tokens.shape[2]:
        n = schedule[i % len(schedule)]
        pcm, state = codec.decode_step(tokens[:, :, t:t + n], state)
        assert pcm.shape == (tokens.shape[0], min(n, tokens.shape[2] - t) * codec.cfg.hop)
        out.append(pcm)
        t, i = t + n, i + 1
    assert state.frames == tokens.shape[2]
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("chunk", [1, 3, 7])
@pytest.mark.parametrize("frames", [1, 20, 23])
def test_streaming_equals_offline_tiny(tiny, chunk, frames):
    tokens = _tokens(tiny, 2, frames)
    offline = tiny.decode(tokens)
    streamed = _stream(tiny, tokens, [chunk])
    assert streamed.shape == offline.shape
    assert float(offline.abs().max()) > 1e-3  # the comparison is about real signal
    assert float((streamed - offline).abs().max()) <= TOL


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_streaming_equals_offline_subframe_head_full_size(chunk):
    codec = _codec(CodecConfig(head_subframes=4))
    tokens = _tokens(codec, 1, 31)
    offline = codec.decode(tokens)
    assert offline.shape == (1, 31 * codec.cfg.hop)
    streamed = _stream(codec, tokens, [chunk])
    assert float((streamed - offline).abs().max()) <= TOL


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_streaming_equals_offline_shipped_architecture(full, chunk):
    tokens = _tokens(full, 1, 31)  # 31 frames: not divisible by 3 or 7
    offline = full.decode(tokens)
    streamed = _stream(full, tokens, [chunk])
    assert float((streamed - offline).abs().max()) <= TOL


def test_uneven_schedule_with_empty_chunks(tiny):
    tokens = _tokens(tiny, 2, 26)
    offline = tiny.decode(tokens)
    streamed = _stream(tiny, tokens, [2, 0, 5, 1, 0, 9])
    assert float((streamed - offline).abs().max()) <= TOL


def test_future_tokens_never_change_emitted_audio(tiny):
    H = tiny.cfg.hop
    a = _tokens(tiny, 1, 24, seed=1)
    for t0 in (1, 9, 17):
        b = a.clone()
        b[:, :, t0:] = _tokens(tiny, 1, 24 - t0, seed=t0 + 100)
        pa, pb = tiny.decode(a), tiny.decode(b)
        assert float((pa[:, : t0 * H] - pb[:, : t0 * H]).abs().max()) <= 1e-6
        assert float((pa[:, t0 * H:] - pb[:, t0 * H:]).abs().max()) > 1e-3  # the change does show later
    # and in streaming: chunks already returned are final
    state_a, state_b = tiny.init_state(1), tiny.init_state(1)
    first_a, state_a = tiny.decode_step(a[:, :, :5], state_a)
    first_b, state_b = tiny.decode_step(a[:, :, :5], state_b)
    assert torch.equal(first_a, first_b)


def test_no_discontinuity_at_chunk_boundaries(tiny):
    """Constant tokens decode, after warm-up, to a signal periodic in the hop.

    If a chunk boundary lost or doubled part of the overlap-add tail or the
    conv context, the hop-periods after a boundary would differ from the
    others. Chunks of 3 put boundaries at every third period.
    """
    cfg = tiny.cfg
    H = cfg.hop
    warm = (cfg.dec_in_kernel - 1) + cfg.dec_blocks * (cfg.dec_kernel - 1) + cfg.overlap_frames
    T = warm + 12
    tokens = torch.full((1, cfg.n_codebooks, T), 123)
    y = _stream(tiny, tokens, [3])[0]
    periods = y[warm * H:].view(-1, H)
    assert float(periods.abs().max()) > 1e-3
    assert float((periods - periods[0]).abs().max()) <= TOL
    # the sample-to-sample step across each boundary equals the one inside a period
    jumps = (y[warm * H + H::H] - y[warm * H + H - 1:-1:H]).abs()
    assert float((jumps - jumps[0]).abs().max()) <= TOL


def test_state_is_fixed_size(tiny):
    state = tiny.init_state(1)
    size0 = state.nbytes()
    for _ in range(3):
        _, state = tiny.decode_step(_tokens(tiny, 1, 40), state)
    assert state.nbytes() == size0


def test_batched_streams_equal_separate_streams(tiny):
    """Two streams at different positions, stepped together, equal each stepped alone."""
    a, b = _tokens(tiny, 1, 12, seed=3), _tokens(tiny, 1, 12, seed=4)
    sa, sb = tiny.init_state(1), tiny.init_state(1)
    _, sa = tiny.decode_step(a[:, :, :7], sa)  # stream a is 7 frames in
    _, sb = tiny.decode_step(b[:, :, :2], sb)  # stream b is 2 frames in
    batched = DecoderState.cat([sa, sb])
    pcm_ab, batched = tiny.decode_step(torch.cat([a[:, :, 7:10], b[:, :, 2:5]]), batched)
    pa, _ = tiny.decode_step(a[:, :, 7:10], sa)
    pb, _ = tiny.decode_step(b[:, :, 2:5], sb)
    assert float((pcm_ab - torch.cat([pa, pb])).abs().max()) <= 1e-5
    back = batched.select([1])
    pb2, _ = tiny.decode_step(b[:, :, 5:8], back)
    assert float((pb2 - tiny.decode(b)[:, 5 * tiny.cfg.hop:8 * tiny.cfg.hop]).abs().max()) <= TOL


# ---- fast paths against their references -----------------------------------

@pytest.mark.parametrize("B, T", [(1, 1), (1, 7), (2, 40), (16, 40)])
def test_depthwise_conv_paths_agree(B, T):
    torch.manual_seed(0)
    C, k = 24, 7
    xs, w, b = torch.randn(B, k - 1 + T, C), torch.randn(C, k), torch.randn(C)
    ref = depthwise_conv_ref(xs, w, b)
    assert ref.shape == (B, T, C)
    assert torch.allclose(depthwise_conv_small(xs, w, b), ref, atol=1e-5)
    assert torch.allclose(depthwise_conv(xs, w, b), ref, atol=1e-5)


@pytest.mark.parametrize("T", [1, 2, 5])
def test_overlap_add_matches_reference(T):
    torch.manual_seed(0)
    hop, R = 6, 4
    frames = torch.randn(2, T, R * hop)
    full = overlap_add_ref(frames, hop)
    pcm, tail = overlap_add(frames, None, hop)
    assert torch.allclose(pcm, full[:, : T * hop], atol=1e-6)
    assert torch.allclose(tail, full[:, T * hop:], atol=1e-6)
