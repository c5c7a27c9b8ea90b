"""The native (C) decoder step against its references: LeanStepper and AcousticModel.step."""

from __future__ import annotations

import shutil

import pytest
import torch

from tts.model import AcousticModel, small_config, tiny_config
from tts.model import native_step
from tts.model.fast_step import LeanStepper

torch.set_num_threads(1)
TOL = 1e-4

if not shutil.which("gcc") and not native_step.native_available():
    pytest.skip("no C compiler: the native step cannot be built here", allow_module_level=True)


def model_for(cfg, seed=0) -> AcousticModel:
    torch.manual_seed(seed)
    return AcousticModel(cfg).eval()


CONFIGS = {
    "tiny": lambda: tiny_config(),
    # odd widths: in_proj columns not a multiple of 16, two SSM groups, a 3-tap conv
    "odd": lambda: tiny_config(d_model=40, head_dim=10, d_state=5, n_groups=2, d_conv=3, n_layers=3),
    "full": lambda: small_config(),
}


def finite_diff(a, b) -> float:
    fa = torch.isfinite(a)
    assert torch.equal(fa, torch.isfinite(b))  # the masked (-inf) levels agree exactly
    return float((a[fa] - b[fa]).abs().max())


def test_native_builds_on_this_machine():
    assert native_step.native_available(), native_step.native_error()


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("batch", [1, 5])
def test_native_greedy_matches_reference(name, batch):
    model = model_for(CONFIGS[name](), seed=3)
    native = native_step.NativeStepper(model)
    cond = torch.randn(batch, model.cfg.d_model, generator=torch.Generator().manual_seed(1))
    s_ref, s_nat = model.init_state(batch), model.init_state(batch)
    for _ in range(10):
        ta, la, s_ref = model.step(s_ref, cond)
        tb, lb, s_nat = native.step(s_nat, cond)
        assert torch.equal(ta, tb)
        assert finite_diff(la, lb) < TOL
    assert torch.equal(s_ref.prev, s_nat.prev) and torch.equal(s_ref.frame, s_nat.frame)
    for a, b in zip(s_ref.ssm + s_ref.conv, s_nat.ssm + s_nat.conv):
        assert (a - b).abs().max() < TOL


def test_native_teacher_forced_matches_lean():
    model = model_for(tiny_config(), seed=4)
    g = torch.Generator().manual_seed(2)
    B, T = 2, 9
    cond = torch.randn(B, T, model.cfg.d_model, generator=g)
    tokens = torch.randint(0, model.layout.codebook_size, (B, model.cfg.n_codebooks, T), generator=g)
    outs = {}
    for name, stepper in (("lean", LeanStepper(model)), ("native", native_step.NativeStepper(model))):
        state, logits = model.init_state(B), []
        for t in range(T):
            tok, lg, state = stepper.step(state, cond[:, t], force_tokens=tokens[:, :, t])
            assert torch.equal(tok, tokens[:, :, t])
            logits.append(lg)
        outs[name] = (torch.stack(logits, 1), state)
    assert finite_diff(outs["lean"][0], outs["native"][0]) < TOL
    assert torch.equal(outs["lean"][1].prev, outs["native"][1].prev)


def test_native_batch_is_bit_exact_with_alone():
    """A stream's numbers must not depend on who shares its batch (the server relies on it)."""
    model = model_for(CONFIGS["odd"](), seed=5)
    native = native_step.NativeStepper(model)
    B = 6  # one block of 4 rows plus 2 single rows in the C matmul
    cond = torch.randn(B, model.cfg.d_model, generator=torch.Generator().manual_seed(3))
    batch = model.init_state(B)
    alone = [model.init_state(1) for _ in range(B)]
    for _ in range(5):
        tb, lb, batch = native.step(batch, cond)
        for i in range(B):
            ti, li, alone[i] = native.step(alone[i], cond[i:i + 1])
            assert torch.equal(ti, tb[i:i + 1])
            assert torch.equal(li, lb[i:i + 1])
    for i in range(B):
        for a, b in zip(batch.ssm + batch.conv, alone[i].ssm + alone[i].conv):
            assert torch.equal(a[i:i + 1], b)


def test_native_and_lean_steps_interleave():
    """The lean step leaves non-contiguous conv states (views); the native step must accept them."""
    model = model_for(tiny_config(), seed=6)
    lean, native = LeanStepper(model), native_step.NativeStepper(model)
    cond = torch.randn(2, model.cfg.d_model)
    s_ref, s_mix = model.init_state(2), model.init_state(2)
    for t in range(8):
        ta, la, s_ref = model.step(s_ref, cond)
        tb, lb, s_mix = (lean if t % 2 else native).step(s_mix, cond)
        assert torch.equal(ta, tb)
        assert finite_diff(la, lb) < TOL
    assert [t.shape for t in s_mix.tensors()] == [t.shape for t in s_ref.tensors()]


def test_per_frame_state_is_flat():
    model = model_for(tiny_config(), seed=7)
    native = native_step.NativeStepper(model)
    state = model.init_state(1)
    before = [(t.shape, t.dtype) for t in state.tensors()]
    for _ in range(200):
        native.step(state, torch.zeros(1, model.cfg.d_model))
    assert [(t.shape, t.dtype) for t in state.tensors()] == before
    assert int(state.frame) == 200


def test_make_stepper_falls_back_with_a_reason(monkeypatch, caplog):
    model = model_for(tiny_config())
    assert isinstance(native_step.make_stepper(model), native_step.NativeStepper)
    monkeypatch.setattr(native_step, "_LIB", None)
    monkeypatch.setattr(native_step, "_LIB_ERROR", None)
    monkeypatch.setenv("STATECAST_NATIVE", "0")
    with caplog.at_level("WARNING"):
        stepper = native_step.make_stepper(model)
    assert isinstance(stepper, LeanStepper)
    assert "STATECAST_NATIVE=0" in caplog.text
    assert isinstance(native_step.make_stepper(model, native=False), LeanStepper)


def logit_snr_db(ref, other) -> float:
    fin = torch.isfinite(ref)
    err = (ref[fin] - other[fin]).double()
    return float(10 * torch.log10(ref[fin].double().pow(2).sum() / err.pow(2).sum().clamp_min(1e-30)))


@pytest.mark.parametrize("name", ["odd", "full"])
def test_bf16_weights_stay_close_to_fp32(name):
    """bf16 matmul weights are their own inference precision: held to fp32 by an SNR bound.

    Teacher-forced on the fp32 path's own greedy tokens, so both see the same
    inputs for 40 frames and the bound measures the weight rounding alone.
    """
    model = model_for(CONFIGS[name](), seed=8)
    f32, bf16 = native_step.NativeStepper(model), native_step.NativeStepper(model, weights="bf16")
    g = torch.Generator().manual_seed(5)
    s32, s16 = model.init_state(2), model.init_state(2)
    ref, got = [], []
    for _ in range(40):
        cond = torch.randn(2, model.cfg.d_model, generator=g)
        tok, la, s32 = f32.step(s32, cond)
        _, lb, s16 = bf16.step(s16, cond, force_tokens=tok)
        ref.append(la)
        got.append(lb)
    ref, got = torch.stack(ref), torch.stack(got)
    assert torch.equal(torch.isfinite(ref), torch.isfinite(got))
    snr = logit_snr_db(ref, got)
    assert snr > 35.0, f"bf16 logits SNR {snr:.1f} dB"
    assert (ref.argmax(-1) == got.argmax(-1)).float().mean() > 0.95
