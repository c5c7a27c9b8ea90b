"""Triton kernels == reference: on the GPU when there is one, else in triton's CPU interpreter.

Triton decides between compiling and interpreting when a kernel is decorated,
i.e. when ``kernels.scan_triton`` is first imported, and reads
``TRITON_INTERPRET`` then. So without a GPU this module sets it at import
(before anything imports triton) and skips, saying why, if triton was already
imported in compiled mode by something else in the session. The interpreter
runs every program in Python: shapes stay small here.

Which device ran the kernels is recorded as the ``triton_device`` property of
each test (``pytest --junitxml`` keeps it) and shown by ``-rA``.
"""

import os
import sys

import pytest
import torch

ON_GPU = torch.cuda.is_available()
if not ON_GPU and "triton" not in sys.modules:
    os.environ["TRITON_INTERPRET"] = "1"

pytest.importorskip("triton", reason="triton is the 'train' extra: pip install -e '.[train]'")

from kernels import selective_scan, selective_scan_chunked, selective_scan_ref, selective_state_update_ref  # noqa: E402
from kernels import scan_triton  # noqa: E402
from kernels.inputs import ScanShape, random_scan_inputs, step_inputs  # noqa: E402
from kernels.scan_triton import selective_scan_triton, selective_state_update_triton  # noqa: E402

if not ON_GPU and not scan_triton.interpreting():
    pytest.skip(
        "no GPU, and triton was imported before this module without TRITON_INTERPRET=1; "
        "run `TRITON_INTERPRET=1 pytest tests/test_kernels_triton.py`",
        allow_module_level=True,
    )

DEVICE = "cuda" if ON_GPU else "cpu"
DEVICE_NAME = torch.cuda.get_device_name() if ON_GPU else "cpu (TRITON_INTERPRET=1)"
torch.set_num_threads(1)

# Small shapes for the interpreter: odd L, H, P, N; G = 1, 1 < G < H, G = H; P spanning
# two program blocks (N = 64 caps BLOCK_P at 64, so P = 70 needs a second block).
SCAN_CASES = [
    ScanShape(B=1, L=1, H=1, P=1, G=1, N=1),
    ScanShape(B=2, L=13, H=3, P=5, G=1, N=7),
    ScanShape(B=2, L=9, H=4, P=3, G=2, N=5),
    ScanShape(B=1, L=6, H=3, P=2, G=3, N=3),
    ScanShape(B=1, L=4, H=1, P=70, G=1, N=64),
]
if ON_GPU:  # the real thing: the shape class of the training runs
    SCAN_CASES.append(ScanShape(B=4, L=517, H=8, P=64, G=1, N=64))


@pytest.fixture(autouse=True)
def _record_device(record_property):
    record_property("triton_device", DEVICE_NAME)


def assert_rel_close(actual, expected, tol=1e-4, what=""):
    assert actual.shape == expected.shape, what
    scale = expected.detach().abs().max().clamp_min(1e-12)
    err = (actual.detach().float().cpu() - expected.detach().float().cpu()).abs().max() / scale.cpu()
    assert err <= tol, f"{what} on {DEVICE_NAME}: relative error {err:.3g} > {tol:g}"


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "state"])
@pytest.mark.parametrize("shape", SCAN_CASES, ids=str)
def test_triton_scan_matches_reference(shape, with_state):
    inp = random_scan_inputs(shape, seed=21, device=DEVICE, with_state=with_state, with_D=with_state)
    y_ref, h_ref = selective_scan_ref(**inp)
    y, h = selective_scan_triton(**inp)
    assert y.dtype == torch.float32 and h.dtype == torch.float32
    assert_rel_close(y, y_ref, what="y")
    assert_rel_close(h, h_ref, what="final state")
    if ON_GPU:  # the chunked form on the GPU too (training path there)
        y_c, h_c = selective_scan_chunked(**inp)
        assert_rel_close(y_c, y_ref, what="chunked y")
        assert_rel_close(h_c, h_ref, what="chunked final state")


def test_triton_scan_in_pieces_equals_whole():
    shape = ScanShape(B=1, L=12, H=2, P=3, G=1, N=4)
    inp = random_scan_inputs(shape, seed=22, device=DEVICE)
    y_all, h_all = selective_scan_triton(**inp)
    seq = ("x", "dt", "Bm", "Cm")
    y1, h1 = selective_scan_triton(**{k: (v[:, :5] if k in seq else v) for k, v in inp.items()})
    y2, h2 = selective_scan_triton(**{k: (v[:, 5:] if k in seq else v) for k, v in {**inp, "initial_state": h1}.items()})
    assert_rel_close(torch.cat([y1, y2], 1), y_all, what="y")
    assert_rel_close(h2, h_all, what="final state")


def test_triton_scan_accepts_strided_inputs():
    shape = ScanShape(B=2, L=7, H=2, P=3, G=1, N=5)
    inp = random_scan_inputs(shape, seed=23, device=DEVICE)
    # x as a slice of a wider tensor; Bm stored (B, G, N, L) and viewed back as (B, L, G, N).
    wide = torch.randn(shape.B, shape.L, shape.H, shape.P + 4, device=DEVICE)
    wide[..., : shape.P] = inp["x"]
    B_t = inp["Bm"].permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    h0_t = inp["initial_state"].transpose(2, 3).contiguous().transpose(2, 3)
    strided = {**inp, "x": wide[..., : shape.P], "Bm": B_t, "initial_state": h0_t}
    assert not any(strided[k].is_contiguous() for k in ("x", "Bm", "initial_state"))
    y_ref, h_ref = selective_scan_ref(**inp)
    y, h = selective_scan_triton(**strided)
    assert_rel_close(y, y_ref, what="y")
    assert_rel_close(h, h_ref, what="final state")


def test_triton_scan_bf16_inputs():
    shape = ScanShape(B=1, L=8, H=2, P=4, G=1, N=8)
    inp = random_scan_inputs(shape, seed=24, device=DEVICE, dtype=torch.bfloat16)
    y_ref, h_ref = selective_scan_ref(**inp)
    y, h = selective_scan_triton(**inp)
    assert y.dtype == torch.bfloat16 and h.dtype == torch.float32
    assert_rel_close(h, h_ref, what="final state")
    assert_rel_close(y, y_ref, tol=1e-2, what="y")


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("shape", SCAN_CASES[1:4], ids=str)
def test_triton_step_loop_equals_reference(shape, inplace):
    inp = random_scan_inputs(shape, seed=25, device=DEVICE)
    y_ref, h_ref = selective_scan_ref(**inp)
    state = inp["initial_state"].clone()
    ys = []
    for t in range(shape.L):
        args = step_inputs(inp, t)
        y_t, h_t = selective_state_update_ref(state, **args)
        before = state.clone()
        y, new = selective_state_update_triton(state, **args, inplace=inplace)
        assert (new.data_ptr() == state.data_ptr()) == inplace
        if not inplace:
            assert torch.equal(state, before)
        assert_rel_close(y, y_t, what=f"step {t} y")
        assert_rel_close(new, h_t, what=f"step {t} state")
        state = new
        ys.append(y)
    assert_rel_close(torch.stack(ys, 1), y_ref, what="y")
    assert_rel_close(state, h_ref, what="final state")


def test_triton_refuses_inputs_that_need_grad():
    inp = random_scan_inputs(ScanShape(B=1, L=3, H=1, P=2, G=1, N=2), seed=26, device=DEVICE)
    inp["x"].requires_grad_()
    with pytest.raises(RuntimeError, match="forward-only"):
        selective_scan_triton(**inp)
    # The dispatcher sends a training call to the chunked form instead, even when Triton is asked for by "auto".
    y, _ = selective_scan(**inp, impl="auto")
    assert y.requires_grad
    with torch.no_grad():
        y_nograd, _ = selective_scan_triton(**inp)
    assert_rel_close(y_nograd, y.detach(), what="y")
