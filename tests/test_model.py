"""Acoustic model invariants: streaming == offline, batching == alone, constant state, clear errors."""

import pytest
import torch

from tts.errors import StatecastError
from tts.model import AcousticModel, ConditioningQueue, DecoderState, next_conds, tiny_config
from tts.model.fast_step import LeanStepper
from tts.model.weights import load_acoustic, save_acoustic

torch.set_num_threads(1)
TOL = 1e-4


def make_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return AcousticModel(tiny_config(**overrides)).eval()


def teacher_batch(model, lengths, seed=1):
    """Random phrases with random durations and tokens; returns (inputs, cond (B, T, D), T)."""
    g = torch.Generator().manual_seed(seed)
    B, S = len(lengths), max(lengths)
    ids = torch.randint(4, model.cfg.n_symbols, (B, S), generator=g)
    mask = torch.arange(S)[None] < torch.tensor(lengths)[:, None]
    frames = torch.randint(0, 5, (B, S), generator=g) * mask
    T = int(frames.sum(-1).max()) + 3
    tokens = torch.randint(0, model.cfg.codebook_size, (B, model.cfg.n_codebooks, T), generator=g)
    voice_idx = torch.arange(B) % len(model.cfg.voices)
    with torch.no_grad():
        voice = model.voice_embed(voice_idx)
        cond, _ = model.conditioning(model.encoder(ids, mask), frames, voice, T)
    return (ids, mask, frames, voice_idx, tokens), cond, T


def finite_close(a, b, tol=TOL):
    """Max abs difference over the finite logits; the masked (-inf) entries must agree exactly."""
    fa = torch.isfinite(a)
    assert torch.equal(fa, torch.isfinite(b))
    return float((a[fa] - b[fa]).abs().max())


@pytest.mark.parametrize("lengths", [[1], [5, 3], [9, 2, 6]])
def test_step_by_step_equals_offline_forward(lengths):
    model = make_model()
    inputs, cond, T = teacher_batch(model, lengths)
    tokens = inputs[-1]
    with torch.no_grad():
        offline, _, _ = model(*inputs)
    for stepper in (model.step, LeanStepper(model).step):
        state = model.init_state(len(lengths))
        outs = []
        for t in range(T):
            _, logits, state = stepper(state, cond[:, t], force_tokens=tokens[:, :, t])
            outs.append(logits)
        assert finite_close(torch.stack(outs, 1), offline) < TOL


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_chunked_decoding_equals_offline(chunk):
    model = make_model()
    inputs, cond, T = teacher_batch(model, [7, 4], seed=3)
    tokens = inputs[-1]
    with torch.no_grad():
        offline, _, _ = model(*inputs)
    state = model.init_state(2)
    outs = []
    for t0 in range(0, T, chunk):
        logits, state = model.decode_chunk(state, cond[:, t0:t0 + chunk], tokens[:, :, t0:t0 + chunk])
        outs.append(logits)
    assert finite_close(torch.cat(outs, 1), offline) < TOL
    assert state.frame.tolist() == [T, T]


def test_decoder_is_causal():
    model = make_model()
    inputs, cond, T = teacher_batch(model, [6], seed=4)
    x = cond + model.digit_embed(model.prev_rows(inputs[-1])).sum(-2)
    x2 = x.clone()
    x2[:, T // 2:] += torch.randn_like(x2[:, T // 2:])
    with torch.no_grad():
        a, _ = model.decode(x)
        b, _ = model.decode(x2)
    assert finite_close(a[:, :T // 2], b[:, :T // 2]) == 0.0
    assert finite_close(a[:, T // 2:], b[:, T // 2:]) > 1e-3


def assert_steps_match_reference(model, stepper, batch, steps):
    """Greedy-step `stepper` beside model.step on one conditioning; same tokens, close logits.

    Returns the two final states.
    """
    cond = torch.randn(batch, model.cfg.d_model)
    s_ref, s_other = model.init_state(batch), model.init_state(batch)
    for _ in range(steps):
        ta, la, s_ref = model.step(s_ref, cond)
        tb, lb, s_other = stepper.step(s_other, cond)
        assert torch.equal(ta, tb)
        assert finite_close(la, lb) < TOL
    return s_ref, s_other


def test_lean_step_greedy_matches_reference():
    model = make_model(seed=5)
    s_ref, s_lean = assert_steps_match_reference(model, LeanStepper(model), batch=3, steps=12)
    assert torch.equal(s_ref.prev, s_lean.prev)


def plan(model, n_phonemes, voice="af_heart", seed=0, speed=1.0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, model.cfg.n_symbols, (n_phonemes,), generator=g)
    return model.plan_phrase(ids, model.voice_vector(voice), speed=speed)


def decode_alone(model, plans):
    q = ConditioningQueue()
    for p in plans:
        q.push(p)
    state, toks = model.init_state(1), []
    while not q.exhausted:
        t, _, state = model.step(state, q.next_cond()[None])
        toks.append(t[0])
    return torch.stack(toks)


def test_batched_streams_of_different_lengths_equal_each_alone():
    model = make_model(seed=6)
    plans = [plan(model, n, voice=v, seed=n) for n, v in [(3, "joe"), (9, "bf_emma"), (6, "am_michael")]]
    alone = [decode_alone(model, [p]) for p in plans]
    assert len({len(a) for a in alone}) > 1, "test needs streams of different lengths"
    lean = LeanStepper(model)
    queues = [ConditioningQueue() for _ in plans]
    for q, p in zip(queues, plans):
        q.push(p)
    state = model.init_state(len(plans))
    live = list(range(len(plans)))
    got = [[] for _ in plans]
    while live:
        # Finished streams leave the batch: gather the survivors' state rows.
        keep = [i for i, s in enumerate(live) if not queues[s].exhausted]
        if len(keep) < len(live):
            state = state.gather(keep)
            live = [live[i] for i in keep]
            if not live:
                break
        tokens, _, state = lean.step(state, next_conds([queues[s] for s in live]))
        for row, s in enumerate(live):
            got[s].append(tokens[row])
    for s, a in enumerate(alone):
        assert torch.equal(torch.stack(got[s]), a)


def test_gather_scatter_round_trip():
    model = make_model()
    state = model.init_state(4)
    cond = torch.randn(4, model.cfg.d_model)
    for _ in range(3):
        model.step(state, cond)
    sub = state.gather([2, 0])
    before = state.clone()
    model.step(sub, cond[[2, 0]])
    state.scatter_([2, 0], sub)
    for a, b, c in zip(state.tensors(), sub.tensors(), before.tensors()):
        assert torch.equal(a[2], b[0]) and torch.equal(a[0], b[1])
        assert torch.equal(a[1], c[1]) and torch.equal(a[3], c[3])
    both = DecoderState.cat([state.gather([1]), state.gather([3])])
    assert both.batch_size == 2 and torch.equal(both.ssm[0][1], state.ssm[0][3])


def test_state_size_is_constant_over_time():
    model = make_model()
    lean = LeanStepper(model)
    state = model.init_state(2)
    shapes0 = [t.shape for t in state.tensors()]
    bytes0 = state.nbytes_per_stream()
    cfg = model.cfg
    expected = cfg.n_layers * (4 * cfg.conv_channels * (cfg.d_conv - 1) + 4 * cfg.n_heads * cfg.head_dim * cfg.d_state)
    expected += 8 * cfg.n_digits + 8
    assert bytes0 == expected
    cond = torch.randn(2, cfg.d_model)
    for step in range(300):
        stepper = lean.step if step % 2 else model.step
        stepper(state, cond)
    assert [t.shape for t in state.tensors()] == shapes0
    assert state.nbytes_per_stream() == bytes0
    assert state.frame.tolist() == [300, 300]


def test_input_streaming_phrase_pieces_equal_whole():
    """Pushing phrase 2 while phrase 1 is being decoded gives the tokens of pushing both up front."""
    model = make_model(seed=7)
    p1, p2 = plan(model, 5, seed=1), plan(model, 4, seed=2)
    whole = decode_alone(model, [p1, p2])
    q = ConditioningQueue()
    q.push(p1)
    state, toks = model.init_state(1), []
    for _ in range(p1.n_frames - 1):
        t, _, state = model.step(state, q.next_cond()[None])
        toks.append(t[0])
    q.push(p2)  # the next piece of text arrives; the state carries on
    while not q.exhausted:
        t, _, state = model.step(state, q.next_cond()[None])
        toks.append(t[0])
    assert torch.equal(torch.stack(toks), whole)


def test_plan_uses_given_frames_and_speed_scales_duration():
    model = make_model()
    ids = [5, 9, 11, 20]
    frames = torch.tensor([1, 2, 0, 3, 1, 2])
    p = model.plan_phrase(ids, model.voice_vector("joe"), frames=frames)
    assert p.n_frames == 9 and torch.equal(p.frames, frames)
    assert p.unit_start_frames().tolist() == [0, 1, 3, 3, 6, 7]
    slow = model.plan_phrase(ids, model.voice_vector("joe"), speed=0.5)
    fast = model.plan_phrase(ids, model.voice_vector("joe"), speed=2.0)
    normal = model.plan_phrase(ids, model.voice_vector("joe"))
    assert slow.n_frames >= normal.n_frames >= fast.n_frames
    mask = torch.ones(1, 6, dtype=torch.bool)
    with torch.no_grad():
        cont = torch.expm1(model.duration(model.encoder(normal.ids[None], mask), model.voice_vector("joe")[None], mask))
    assert abs(slow.n_frames - round(float(cont.clamp_min(0).sum()) * 2)) <= 1


def test_end_pause_lengthens_only_a_final_sentence_mark():
    from tts.text.symbols import SYMBOL_TO_ID

    model = make_model()
    voice = model.voice_vector("joe")
    for mark in ".?!":
        ids = [9, 11, 20, SYMBOL_TO_ID[mark]]
        base = model.plan_phrase(ids, voice)
        paused = model.plan_phrase(ids, voice, end_pause=4)
        expect = base.frames.clone()
        expect[-2] += 4  # the mark; the trailing PAD (silence unit) keeps its length
        assert torch.equal(paused.frames, expect)
        slow = model.plan_phrase(ids, voice, end_pause=4, speed=0.5)
        assert int(slow.frames[-2] - model.plan_phrase(ids, voice, speed=0.5).frames[-2]) == 8
    ids = [9, 11, 20, SYMBOL_TO_ID[","]]  # a clause mark or a bare phoneme is not a sentence end
    assert torch.equal(model.plan_phrase(ids, voice, end_pause=4).frames, model.plan_phrase(ids, voice).frames)
    assert torch.equal(model.plan_phrase([9, 11], voice, end_pause=4).frames, model.plan_phrase([9, 11], voice).frames)

def test_lead_frames_is_a_floor_on_the_leading_silence_only():
    model = make_model()
    voice = model.voice_vector("joe")
    ids = [9, 11, 20, 7]
    base = model.plan_phrase(ids, voice).frames
    lead = int(base[0])
    raised = model.plan_phrase(ids, voice, lead_frames=lead + 5).frames
    expect = base.clone()
    expect[0] = lead + 5
    assert torch.equal(raised, expect)
    assert torch.equal(model.plan_phrase(ids, voice, lead_frames=max(lead, 1)).frames[1:], base[1:])
    if lead > 0:  # a floor below the predicted lead changes nothing
        assert torch.equal(model.plan_phrase(ids, voice, lead_frames=lead).frames, base)
    # a cap: the lead is cut to it, and floor == cap fixes the lead
    capped = model.plan_phrase(ids, voice, lead_frames=lead + 5, lead_max_frames=lead + 2).frames
    assert int(capped[0]) == lead + 2 and torch.equal(capped[1:], base[1:])
    fixed = model.plan_phrase(ids, voice, lead_frames=3, lead_max_frames=3).frames
    assert int(fixed[0]) == 3 and torch.equal(fixed[1:], base[1:])


def test_voice_mix_is_weighted_blend():
    model = make_model()
    a, b = model.voice_vector("af_heart"), model.voice_vector("joe")
    mix = model.voice_vector({"af_heart": 3, "joe": 1})
    assert torch.allclose(mix, 0.75 * a + 0.25 * b, atol=1e-6)


@pytest.mark.parametrize("voice, pattern", [
    ("nobody", "unknown voice 'nobody'"),
    ({"af_heart": 0.0}, "sum to zero"),
    ({"af_heart": -1.0}, "must be a number >= 0"),
    ({}, "at least one voice"),
])
def test_bad_voice_is_a_clear_error(voice, pattern):
    with pytest.raises(StatecastError, match=pattern):
        make_model().voice_vector(voice)


@pytest.mark.parametrize("ids, pattern", [
    ([], "empty phrase"),
    ([3, 9999], "phoneme id 9999 at position 1 is outside the symbol table"),
    ([-1], "outside the symbol table"),
])
def test_bad_ids_are_a_clear_error(ids, pattern):
    model = make_model()
    with pytest.raises(StatecastError, match=pattern):
        model.plan_phrase(ids, model.voice_vector("joe"))


@pytest.mark.parametrize("speed", [0.49, 2.01, 0, float("nan"), "fast"])
def test_speed_outside_range_is_a_clear_error(speed):
    model = make_model()
    with pytest.raises(StatecastError, match="outside the supported range"):
        model.plan_phrase([5, 6], model.voice_vector("joe"), speed=speed)


def test_save_load_round_trip(tmp_path):
    model = make_model(seed=8)
    save_acoustic(model, tmp_path / "voice", meta={"note": "test"})
    loaded = load_acoustic(tmp_path / "voice")
    assert loaded.cfg == model.cfg
    inputs, _, _ = teacher_batch(model, [4, 6])
    with torch.no_grad():
        a, da, _ = model(*inputs)
        b, db, _ = loaded(*inputs)
    assert finite_close(a, b) == 0.0 and torch.equal(da, db)


def test_load_rejects_mismatched_weights(tmp_path):
    save_acoustic(make_model(), tmp_path / "a")
    save_acoustic(make_model(d_model=48), tmp_path / "b")
    (tmp_path / "a" / "model.safetensors").replace(tmp_path / "b" / "model.safetensors")
    with pytest.raises(StatecastError, match="do not match its config"):
        load_acoustic(tmp_path / "b")
    with pytest.raises(StatecastError, match="no acoustic model config"):
        load_acoustic(tmp_path / "missing")


def test_queue_cursor_spans_phrases_and_gives_word_times():
    model = make_model()
    voice = model.voice_vector("joe")
    p1 = model.plan_phrase([5, 6], voice, frames=torch.tensor([2, 3, 1, 4]))  # 10 frames
    p2 = model.plan_phrase([7, 8, 9], voice, frames=torch.tensor([0, 2, 2, 2, 1]))  # 7 frames
    q = ConditioningQueue.for_config(model.cfg)
    assert q.push(p1) == 0 and q.push(p2) == 10
    rows = q.take(12)  # crosses the phrase boundary
    assert torch.equal(rows[:10], p1.cond) and torch.equal(rows[10:], p2.cond[:2])
    assert q.frames_queued == 5 and q.nbytes() == p2.cond.numel() * 4
    q.take(5)
    assert q.exhausted and q.nbytes() == 0
    with pytest.raises(IndexError):
        q.take(1)
    # Phonemes 1..2 of phrase 2 are units 2..3: frames 2..6 of the phrase, stream frames 12..16,
    # heard 2 frames (the codec's window centre) later: (12 + 2) / 40 s to (16 + 2) / 40 s.
    assert q.span_seconds(10, p2, 1, 3) == pytest.approx((14 / 40, 18 / 40))


@pytest.mark.slow
def test_compiled_lean_step_matches_reference():
    """torch.compile of the lean step (tens of seconds to compile) gives the reference's tokens and logits."""
    model = make_model(seed=9)
    assert_steps_match_reference(model, LeanStepper(model, compile=True), batch=2, steps=6)
