"""Acoustic model parts: token layout, durations and alignment, length regulator, padding invariance."""

import math

import pytest
import torch

from tts.codec.config import CodecConfig
from tts.codec.fsq import GroupedFSQ
from tts.model import AcousticConfig, AcousticModel, tiny_config
from tts.model.durations import frames_from_log, frames_from_teacher, length_regulate, length_regulate_ref
from tts.model.tokens import TokenLayout

torch.set_num_threads(1)


def test_config_matches_codec_token_interface():
    codec, cfg = CodecConfig(), AcousticConfig()
    assert cfg.levels == codec.levels and cfg.n_codebooks == codec.n_codebooks
    assert cfg.frame_rate == codec.frame_rate
    assert cfg.cond_shift_frames == codec.frame_center_offset / codec.hop
    assert cfg.codebook_size == codec.codebook_size == 1000


def test_digits_round_trip_and_match_codec_fsq():
    layout = TokenLayout((8, 5, 5, 5), 2)
    tokens = torch.stack([torch.arange(1000), torch.arange(999, -1, -1)], dim=-1)  # (1000, K)
    digits = layout.tokens_to_digits(tokens)
    assert torch.equal(layout.digits_to_tokens(digits), tokens)
    assert (digits < layout.levels).all() and (digits >= 0).all()
    # The codec's dequantiser reads the same digits out of a token.
    fsq = GroupedFSQ((8, 5, 5, 5), 2)
    latent = fsq.dequantize(tokens.T[None])  # (1, T, K*G)
    half = torch.tensor([4, 2, 2, 2])
    expect = (digits.float() - half) / half
    assert torch.allclose(latent[0].view(1000, 2, 4), expect)


def test_logit_mask_and_embedding_rows():
    layout = TokenLayout((8, 5, 5, 5), 2)
    assert layout.n_logits == 2 * 4 * 8
    logits = layout.shape_logits(torch.zeros(3, layout.n_logits))
    assert torch.isinf(logits[0, 0, 1, 5:]).all() and torch.isfinite(logits[0, 0, 0]).all()
    # Favour a padded slot before masking: greedy and sampled picks must still be valid levels.
    raw = torch.zeros(3, layout.n_logits)
    raw.view(3, 2, 4, 8)[..., 7] = 50.0
    assert (layout.pick(layout.shape_logits(raw)) < layout.levels).all()
    sampled = layout.pick(layout.shape_logits(raw), temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert (sampled < layout.levels).all()
    assert layout.pick(layout.shape_logits(raw))[0, 0, 0] == 7  # dim 0 has 8 levels: 7 is valid
    rows = layout.embed_index(layout.tokens_to_digits(torch.tensor([[999, 0]])))
    assert rows.max() < layout.n_embed_rows and len(set(rows[0].tolist())) == 8
    assert set(layout.bos_index().tolist()).isdisjoint(rows[0].tolist())


def test_teacher_frames_kokoro_grid_are_exact():
    # Kokoro: durations are whole 40 Hz frames; centre shift 2 frames.
    durs = [0.05, 0.075, 0.025, 0.1]
    lead, trail = 0.375, 0.025
    T = math.ceil((lead + sum(durs) + trail) * 40)  # 26
    frames = frames_from_teacher(durs, lead, trail, T, 40.0, 2.0)
    assert frames == [13, 2, 3, 1, 4, 3]  # lead 15 - 2 shifted; trail 1 + 2
    assert sum(frames) == T


def test_teacher_frames_piper_cumulative_rounding():
    hop = 256 / 22050
    durs = [round(k * hop, 5) for k in (3, 4, 5, 3, 7, 2, 6, 4, 3, 5)] * 20
    lead, trail = round(4 * hop, 5), round(9 * hop, 5)
    total = lead + sum(durs) + trail
    T = math.ceil(total * 40)
    frames = frames_from_teacher(durs, lead, trail, T, 40.0, 2.0)
    assert sum(frames) == T and min(frames) >= 0
    # Every unit's start is within half a frame of its true (shifted) time: no drift over 200 phonemes.
    t = lead
    starts = torch.cumsum(torch.tensor(frames), 0) - torch.tensor(frames)
    for i, d in enumerate(durs):
        assert abs(int(starts[i + 1]) - (t * 40 - 2)) <= 1.0
        t += d


def test_teacher_frames_clip_to_token_count():
    frames = frames_from_teacher([0.1, 0.1], 0.0, 0.0, 7, 40.0, 2.0)  # timeline 8 frames, tokens 7
    assert sum(frames) == 7 and frames[0] == 0


def test_frames_from_log_cumulative_rounding_and_speed():
    cont = torch.full((1, 10), 1.4)  # 10 x 1.4 = 14 frames; per-unit rounding would give 10
    log_dur = torch.log1p(cont)
    mask = torch.ones(1, 10)
    assert int(frames_from_log(log_dur, mask).sum()) == 14
    assert int(frames_from_log(log_dur, mask, speed=2.0).sum()) == 7
    assert int(frames_from_log(log_dur, mask, speed=0.5).sum()) == 28
    masked = frames_from_log(log_dur, torch.tensor([[1.0] * 5 + [0.0] * 5]))
    assert masked[0, 5:].eq(0).all() and int(masked.sum()) == 7


def test_length_regulator_matches_reference():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(2, 6, 5, generator=g)
    frames = torch.tensor([[0, 3, 1, 4, 0, 2], [2, 2, 0, 1, 0, 0]])
    hf, pos, fmask = length_regulate(h, frames)
    assert hf.shape == (2, 10, 5) and fmask.sum(-1).tolist() == [10, 5]
    for b in range(2):
        ref_h, ref_pos = length_regulate_ref(h[b], frames[b])
        n = ref_h.shape[0]
        assert torch.equal(hf[b, :n], ref_h) and torch.allclose(pos[b, :n], ref_pos, atol=1e-6)
        assert hf[b, n:].eq(0).all()
    with pytest.raises(ValueError):
        length_regulate(h, frames, n_frames=4)


def test_phrase_encoding_is_independent_of_batch_padding():
    torch.manual_seed(0)
    model = AcousticModel(tiny_config(text_conv_blocks=2)).eval()
    ids = torch.randint(4, model.cfg.n_symbols, (2, 9))
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 5:] = False
    ids[1, 5:] = 0
    voice = model.voice_embed(torch.tensor([0, 1]))
    with torch.no_grad():
        h = model.encoder(ids, mask)
        alone = model.encoder(ids[1:, :5], mask[1:, :5])
        d = model.duration(h, voice, mask)
        d_alone = model.duration(alone, voice[1:], mask[1:, :5])
    assert torch.allclose(h[1, :5], alone[0], atol=1e-5)
    assert torch.allclose(d[1, :5], d_alone[0], atol=1e-5)
    assert d[1, 5:].eq(0).all()


def test_config_round_trip_and_unknown_keys():
    from tts.errors import StatecastError

    cfg = tiny_config(voices=("a", "b"))
    assert AcousticConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(StatecastError, match="unknown acoustic config keys: bogus"):
        AcousticConfig.from_dict({"bogus": 1})
    with pytest.raises(StatecastError, match="head_dim"):
        AcousticConfig(d_model=100, head_dim=64)


def test_latent_matches_codec_dequantise_and_mean_latent_blends_neighbours():
    layout = TokenLayout((8, 5, 5, 5), 2)
    fsq = GroupedFSQ((8, 5, 5, 5), 2)
    tokens = torch.stack([torch.arange(1000), torch.arange(999, -1, -1)], dim=-1)  # (T, K)
    digits = layout.tokens_to_digits(tokens)
    assert torch.allclose(layout.latent(digits), fsq.dequantize(tokens.T[None])[0])
    # A certain distribution's mean is its digit; padded (masked) levels weigh nothing.
    raw = torch.full((1000, 2, 4, 8), -30.0)
    raw.scatter_(-1, digits.unsqueeze(-1), 30.0)
    logits = raw + layout.logit_mask
    assert torch.allclose(layout.mean_latent(logits), layout.latent(digits), atol=1e-6)
    # Torn evenly between levels 1 and 2 of a 5-level dim: halfway between their latents.
    two = torch.full((2, 4, 8), -30.0)
    two[..., 1] = two[..., 2] = 0.0
    lat = layout.mean_latent(two + layout.logit_mask).view(2, 4)
    assert torch.allclose(lat[:, 1:], torch.full((2, 3), (-0.5 + 0.0) / 2))
    assert torch.allclose(lat[:, 0], torch.full((2,), (-0.75 - 0.5) / 2))
    # Uniform logits: the mean sits at the centre of the levels (only valid levels count).
    lat = layout.mean_latent(torch.zeros(2, 4, 8) + layout.logit_mask).view(2, 4)
    assert torch.allclose(lat[:, 1:], torch.zeros(2, 3), atol=1e-6)
    assert torch.allclose(lat[:, 0], torch.full((2,), -0.125))


def test_jitter_moves_the_asked_share_by_one_level_inside_the_range():
    layout = TokenLayout((8, 5, 5, 5), 2)
    g = torch.Generator().manual_seed(0)
    digits = torch.stack([torch.randint(0, n, (4000, 2), generator=g) for n in (8, 5, 5, 5)], dim=-1)
    assert torch.equal(layout.jitter(digits, 0.0), digits)
    moved = layout.jitter(digits, 0.2, torch.Generator().manual_seed(1))
    changed = moved != digits
    assert 0.18 < changed.float().mean() < 0.22
    assert (moved - digits).abs().max() == 1
    assert (moved >= 0).all() and (moved < layout.levels).all()
    # Edge digits can only move inwards, and they do move.
    assert (moved[changed & (digits == 0)] == 1).all() and (changed & (digits == 0)).any()
    top = changed[..., 0] & (digits[..., 0] == 7)
    assert (moved[..., 0][top] == 6).all() and top.any()


def test_jitter_touches_inputs_not_targets():
    torch.manual_seed(0)
    model = AcousticModel(tiny_config())
    tokens = torch.randint(0, 1000, (2, 2, 30))
    clean = model.prev_rows(tokens)
    torch.manual_seed(1)
    noisy = model.prev_rows(tokens, jitter=0.5)
    assert torch.equal(noisy[:, 0], clean[:, 0])  # BOS is never jittered
    assert 0.3 < (noisy != clean).float().mean() < 0.6
    batch = {"ids": torch.randint(1, 20, (2, 6)), "id_mask": torch.ones(2, 6, dtype=torch.bool),
             "frames": torch.full((2, 6), 5), "voice": torch.tensor([0, 1]), "tokens": tokens,
             "token_mask": torch.ones(2, 30, dtype=torch.bool)}
    model.eval()
    a, b = model.losses(batch), model.losses(batch)
    assert torch.equal(a["tokens"], b["tokens"])  # no jitter: deterministic
    assert not torch.equal(model.losses(batch, jitter=0.5)["tokens"], a["tokens"])


def test_self_feed_reads_the_models_own_digits_for_the_chosen_frames():
    torch.manual_seed(0)
    model = AcousticModel(tiny_config())
    tokens = torch.randint(0, 1000, (2, 2, 30))
    own = model.layout.tokens_to_digits(torch.randint(0, 1000, (2, 30, 2)))  # (B, T, K, G)
    teacher = model.prev_rows(tokens)
    all_own = model.prev_rows(tokens, own=own, self_feed=1.0)
    bos = model.layout.bos_index().expand(2, 1, -1)
    assert torch.equal(all_own, torch.cat([bos, model.layout.embed_index(own)[:, :-1]], dim=1))
    assert torch.equal(model.prev_rows(tokens, own=own, self_feed=0.0), teacher)
    torch.manual_seed(3)
    half = model.prev_rows(tokens, own=own, self_feed=0.5)
    from_own = (half == all_own).all(-1) & (half != teacher).any(-1)  # whole frames switch, never part of one
    mixed = ~((half == all_own).all(-1) | (half == teacher).all(-1))
    assert not mixed.any() and 0.3 < from_own[:, 1:].float().mean() < 0.7


def test_self_feed_per_row_shares_feed_only_the_chosen_rows():
    torch.manual_seed(0)
    model = AcousticModel(tiny_config())
    tokens = torch.randint(0, 1000, (3, 2, 30))
    own = model.layout.tokens_to_digits(torch.randint(0, 1000, (3, 30, 2)))
    teacher = model.prev_rows(tokens)
    all_own = model.prev_rows(tokens, own=own, self_feed=1.0)
    rows = model.prev_rows(tokens, own=own, self_feed=torch.tensor([0.0, 1.0, 0.0]))
    assert torch.equal(rows[0], teacher[0]) and torch.equal(rows[2], teacher[2])
    assert torch.equal(rows[1], all_own[1])
    # an all-zero share skips the first pass and equals plain teacher forcing
    batch = {"ids": torch.randint(1, 20, (2, 6)), "id_mask": torch.ones(2, 6, dtype=torch.bool),
             "frames": torch.full((2, 6), 5), "voice": torch.tensor([0, 1]), "tokens": tokens[:2],
             "token_mask": torch.ones(2, 30, dtype=torch.bool)}
    model.eval()
    assert torch.equal(model.losses(batch, self_feed=torch.zeros(2))["tokens"], model.losses(batch)["tokens"])


def test_self_feed_loss_trains_on_own_predictions_not_targets():
    torch.manual_seed(0)
    model = AcousticModel(tiny_config()).eval()
    tokens = torch.randint(0, 1000, (2, 2, 30))
    batch = {"ids": torch.randint(1, 20, (2, 6)), "id_mask": torch.ones(2, 6, dtype=torch.bool),
             "frames": torch.full((2, 6), 5), "voice": torch.tensor([0, 1]), "tokens": tokens,
             "token_mask": torch.ones(2, 30, dtype=torch.bool)}
    teacher = model.losses(batch)["tokens"]
    fed = model.losses(batch, self_feed=0.9)["tokens"]
    assert torch.isfinite(fed) and not torch.equal(fed, teacher)
    # the first pass carries no gradient: only the trained pass does
    model.train()
    model.zero_grad()
    model.losses(batch, self_feed=0.9)["tokens"].backward()
    assert model.head.weight.grad is not None and torch.isfinite(model.head.weight.grad).all()
