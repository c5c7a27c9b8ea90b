"""Selective scan: reference == chunked == step-by-step, on CPU.

Errors are compared relative to the largest magnitude of the reference
(max |a - b| <= tol * max |b|): an elementwise rtol is meaningless for outputs
that pass near zero. Triton is tested in test_kernels_triton.py.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kernels import (
    resolve_scan_impl,
    selective_scan,
    selective_scan_chunked,
    selective_scan_ref,
    selective_state_update,
    selective_state_update_ref,
)
from kernels.inputs import ScanShape, random_scan_inputs, step_inputs
from kernels.scan_chunked import segsum_decay
from tts.errors import StatecastError

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parent.parent

# (shape, chunk size): L = 1, L below / at / off a multiple of Q, odd H, P, N, G = 1, 1 < G < H, G = H.
CASES = [
    (ScanShape(B=1, L=1, H=1, P=1, G=1, N=1), 64),
    (ScanShape(B=2, L=37, H=3, P=5, G=1, N=7), 16),
    (ScanShape(B=3, L=64, H=4, P=3, G=2, N=5), 16),
    (ScanShape(B=2, L=100, H=6, P=4, G=3, N=9), 32),
    (ScanShape(B=1, L=129, H=2, P=8, G=1, N=16), 64),
    (ScanShape(B=2, L=7, H=5, P=3, G=5, N=3), 4),
    (ScanShape(B=2, L=50, H=3, P=2, G=1, N=4), 1),
]


def assert_rel_close(actual, expected, tol=1e-4, what=""):
    assert actual.shape == expected.shape, what
    scale = expected.detach().abs().max().clamp_min(1e-12)
    err = (actual.detach().float() - expected.detach().float()).abs().max() / scale
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol:g}"


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "state"])
@pytest.mark.parametrize("shape,chunk", CASES, ids=[f"{s}-Q{q}" for s, q in CASES])
def test_chunked_matches_reference(shape, chunk, with_state):
    inp = random_scan_inputs(shape, seed=1, with_state=with_state, with_D=with_state)
    y_ref, h_ref = selective_scan_ref(**inp)
    y, h = selective_scan_chunked(**inp, chunk_size=chunk)
    assert y.dtype == torch.float32 and h.dtype == torch.float32
    assert h.shape == (shape.B, shape.H, shape.P, shape.N)
    assert_rel_close(y, y_ref, what="y")
    assert_rel_close(h, h_ref, what="final state")


def test_reference_matches_hand_computed_recurrence():
    # One head, one channel, N = 1: the recurrence written out as scalars.
    x, dt, b, c = [0.5, -1.0, 2.0], [0.1, 0.7, 0.3], [1.0, 2.0, -1.0], [3.0, -0.5, 1.5]
    a, d, h = -1.3, 0.25, 0.4
    expected = []
    for t in range(3):
        h = torch.exp(torch.tensor(dt[t] * a)).item() * h + dt[t] * x[t] * b[t]
        expected.append(h * c[t] + d * x[t])
    y, hT = selective_scan_ref(
        torch.tensor(x).view(1, 3, 1, 1), torch.tensor(dt).view(1, 3, 1), torch.tensor([a]),
        torch.tensor(b).view(1, 3, 1, 1), torch.tensor(c).view(1, 3, 1, 1), torch.tensor([d]),
        torch.tensor([[[[0.4]]]]),
    )
    torch.testing.assert_close(y.flatten(), torch.tensor(expected), rtol=1e-6, atol=1e-6)
    assert hT.item() == pytest.approx(h, rel=1e-6)


def test_chunked_gradients_match_reference():
    shape = ScanShape(B=2, L=23, H=3, P=4, G=1, N=5)
    inp = random_scan_inputs(shape, seed=2)
    w_y = torch.randn(shape.B, shape.L, shape.H, shape.P, generator=torch.Generator().manual_seed(3))
    w_h = torch.randn(shape.B, shape.H, shape.P, shape.N, generator=torch.Generator().manual_seed(4))

    def grads(fn, **kw):
        leaves = {k: v.clone().requires_grad_() for k, v in inp.items()}
        y, h = fn(**leaves, **kw)
        ((y * w_y).sum() + (h * w_h).sum()).backward()
        return {k: v.grad for k, v in leaves.items()}

    g_ref = grads(selective_scan_ref)
    g_chk = grads(selective_scan_chunked, chunk_size=8)
    for name in inp:
        assert g_chk[name] is not None and g_chk[name].abs().max() > 0, name
        assert_rel_close(g_chk[name], g_ref[name], tol=2e-4, what=f"grad {name}")


@pytest.mark.parametrize("split", [1, 5, 16, 29, 47])
@pytest.mark.parametrize("fn", [selective_scan_ref, selective_scan_chunked], ids=["ref", "chunked"])
def test_scan_in_pieces_equals_whole(fn, split):
    shape = ScanShape(B=2, L=48, H=3, P=3, G=1, N=5)
    inp = random_scan_inputs(shape, seed=5)
    y_all, h_all = fn(**inp)
    head = {k: (v[:, :split] if k in ("x", "dt", "Bm", "Cm") else v) for k, v in inp.items()}
    tail = {k: (v[:, split:] if k in ("x", "dt", "Bm", "Cm") else v) for k, v in inp.items()}
    y1, h1 = fn(**head)
    y2, h2 = fn(**{**tail, "initial_state": h1})
    assert_rel_close(torch.cat([y1, y2], dim=1), y_all, what="y")
    assert_rel_close(h2, h_all, what="final state")


def test_chunk_size_does_not_change_result():
    inp = random_scan_inputs(ScanShape(B=1, L=70, H=2, P=3, G=1, N=4), seed=6)
    y64, h64 = selective_scan_chunked(**inp, chunk_size=64)
    for q in (1, 3, 16, 70, 128):
        y, h = selective_scan_chunked(**inp, chunk_size=q)
        assert_rel_close(y, y64, what=f"y Q={q}")
        assert_rel_close(h, h64, what=f"state Q={q}")


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("shape", [CASES[1][0], CASES[3][0], CASES[5][0]], ids=str)
def test_step_loop_equals_full_scan(shape, inplace):
    inp = random_scan_inputs(shape, seed=7)
    y_ref, h_ref = selective_scan_ref(**inp)
    state = inp["initial_state"].clone()
    ys = []
    for t in range(shape.L):
        before = state.clone()
        y, new = selective_state_update_ref(state, **step_inputs(inp, t), inplace=inplace)
        if inplace:
            assert new.data_ptr() == state.data_ptr()
        else:
            assert torch.equal(state, before), "out-of-place step modified its input state"
        state = new
        ys.append(y)
    assert_rel_close(torch.stack(ys, dim=1), y_ref, what="y")
    assert_rel_close(state, h_ref, what="final state")


def test_dispatched_step_on_cpu_is_the_torch_step():
    inp = random_scan_inputs(ScanShape(B=2, L=1, H=4, P=3, G=2, N=5), seed=8)
    args = step_inputs(inp, 0)
    y0, h0 = selective_state_update_ref(inp["initial_state"], **args)
    y1, h1 = selective_state_update(inp["initial_state"], **args)
    assert torch.equal(y0, y1) and torch.equal(h0, h1)


def test_step_accepts_strided_inputs():
    shape = ScanShape(B=2, L=1, H=4, P=3, G=1, N=6)
    inp = random_scan_inputs(shape, seed=9)
    args = step_inputs(inp, 0)
    # x as a slice of a wider projection, as a model's in_proj output would give it.
    wide = torch.randn(shape.B, shape.H, shape.P * 2)
    wide[..., : shape.P] = args["x"]
    strided = {**args, "x": wide[..., : shape.P]}
    assert not strided["x"].is_contiguous()
    y0, h0 = selective_state_update_ref(inp["initial_state"], **args)
    y1, h1 = selective_state_update_ref(inp["initial_state"], **strided)
    torch.testing.assert_close(y1, y0)
    torch.testing.assert_close(h1, h0)


def test_scans_accept_strided_inputs():
    shape = ScanShape(B=2, L=21, H=3, P=4, G=1, N=5)
    inp = random_scan_inputs(shape, seed=14)
    wide = torch.randn(shape.B, shape.L, shape.H, shape.P + 3)
    wide[..., : shape.P] = inp["x"]
    strided = {
        **inp,
        "x": wide[..., : shape.P],  # a slice, as from a split projection
        "dt": inp["dt"].transpose(1, 2).contiguous().transpose(1, 2),  # dense but permuted
        "Bm": inp["Bm"].permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
        "initial_state": inp["initial_state"].transpose(2, 3).contiguous().transpose(2, 3),
    }
    assert not any(strided[k].is_contiguous() for k in ("x", "dt", "Bm", "initial_state"))
    y_ref, h_ref = selective_scan_ref(**inp)
    for fn in (selective_scan_ref, selective_scan_chunked):
        y, h = fn(**strided)
        assert_rel_close(y, y_ref, what=f"{fn.__name__} y")
        assert_rel_close(h, h_ref, what=f"{fn.__name__} final state")


def test_long_sequence_with_strong_decay_stays_finite_and_exact():
    shape = ScanShape(B=1, L=4096, H=2, P=2, G=1, N=4)
    inp = random_scan_inputs(shape, seed=10, strong_decay=True)
    # Head 0 forgets within a step (log-decays of tens to hundreds per step: exp of a raw
    # cumulative sum over one 64-step chunk is far outside float32 range); head 1 remembers
    # across the whole sequence, so rounding errors would accumulate there.
    inp["A"] = torch.tensor([-20.0, -1e-3])
    a = inp["dt"] * inp["A"]
    assert a[..., 0].min() < -100 and a[:, :64, 0].sum() < -1000
    assert a[..., 1].sum() > -50
    y_ref, h_ref = selective_scan_ref(**inp)
    y, h = selective_scan_chunked(**inp)
    assert torch.isfinite(y).all() and torch.isfinite(h).all()
    assert_rel_close(y, y_ref, what="y")
    assert_rel_close(h, h_ref, what="final state")
    # Gradients through the masked segment sums stay finite too.
    leaves = {k: v.clone().requires_grad_() for k, v in inp.items()}
    y, h = selective_scan_chunked(**leaves)
    (y.square().mean() + h.square().mean()).backward()
    assert all(torch.isfinite(v.grad).all() for v in leaves.values())


def test_segsum_decay_is_causal_and_bounded():
    a = -torch.rand(2, 9) * 50
    dec = segsum_decay(a.cumsum(-1))
    assert torch.equal(dec.triu(1), torch.zeros_like(dec))
    assert torch.allclose(dec.diagonal(dim1=-2, dim2=-1), torch.ones(2, 9))
    assert (dec <= 1).all() and torch.isfinite(dec).all()
    # [l, s] is the product of the per-step decays s+1 .. l.
    assert dec[0, 5, 2].item() == pytest.approx(torch.exp(a[0, 3:6].sum()).item(), rel=1e-5)


def test_bf16_inputs_compute_in_fp32():
    shape = ScanShape(B=2, L=45, H=2, P=4, G=1, N=8)
    inp = random_scan_inputs(shape, seed=11, dtype=torch.bfloat16)
    y_ref, h_ref = selective_scan_ref(**inp)
    y, h = selective_scan_chunked(**inp, chunk_size=16)
    assert y.dtype == torch.bfloat16 and h.dtype == torch.float32
    assert_rel_close(h, h_ref, tol=1e-4, what="final state")  # identical fp32 math on the same bf16 values
    assert_rel_close(y, y_ref, tol=1e-2, what="y")  # differs only by the final rounding to bf16


def test_dispatcher_on_cpu():
    inp = random_scan_inputs(ScanShape(B=1, L=20, H=2, P=3, G=1, N=4), seed=12)
    assert resolve_scan_impl(inp["x"]) == "chunked"
    y_ref, h_ref = selective_scan(**inp, impl="ref")
    y, h = selective_scan(**inp)
    assert_rel_close(y, y_ref, what="y")
    assert_rel_close(h, h_ref, what="final state")
    with pytest.raises(StatecastError, match="unknown scan impl"):
        selective_scan(**inp, impl="fast")


def test_triton_on_cpu_without_interpreter_is_a_clear_error():
    # A fresh interpreter: the Triton test module may have switched this one to interpreter mode.
    code = (
        "import torch\n"
        "from kernels import selective_scan\n"
        "from kernels.inputs import ScanShape, random_scan_inputs\n"
        "from tts.errors import StatecastError\n"
        "inp = random_scan_inputs(ScanShape(1, 4, 1, 2, 1, 2))\n"
        "try:\n"
        "    selective_scan(**inp, impl='triton')\n"
        "except StatecastError as e:\n"
        "    print('ERR', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # Either the extra is missing or the tensor is on the CPU; both must say what to do.
    assert out.stdout.startswith("ERR") and ("train" in out.stdout or "CUDA" in out.stdout), out.stdout


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"dt": torch.rand(2, 5, 3)}, "dt must be"),
        ({"A": -torch.rand(2)}, "A must be"),
        ({"Bm": torch.randn(2, 6, 2, 4), "Cm": torch.randn(2, 6, 2, 4)}, "do not split"),
        ({"Cm": torch.randn(2, 6, 1, 5)}, "Cm must match"),
        ({"initial_state": torch.randn(2, 3, 4, 5)}, "initial_state must be"),
    ],
)
def test_shape_errors_name_the_argument(bad, match):
    inp = random_scan_inputs(ScanShape(B=2, L=6, H=3, P=4, G=1, N=4), seed=13)
    for fn in (selective_scan_ref, selective_scan_chunked):
        with pytest.raises(ValueError, match=match):
            fn(**{**inp, **bad})
