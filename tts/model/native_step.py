"""Native (C) single-frame decoder step: ``LeanStepper``'s math in one call.

Why. At batch 1 the lean torch step costs ~1 ms per frame on one thread, of
which the arithmetic (two small matrix-vector products per layer, ~10 MB of
weights read from cache) is ~0.1 ms: the rest is the dispatch of ~25 tiny
torch ops per layer. Here the whole decoder for one frame (digit embedding,
6 Mamba-2 layers, head, argmax) is one C function called through ctypes,
with no per-op overhead and the states updated in place.

Why C through ctypes and not a torch extension: the file needs no torch or
Python headers, so it builds with plain ``gcc`` in well under a second
(a ``torch.utils.cpp_extension`` build takes about a minute) and loads with
the standard library. It is compiled on first use for this machine
(``-march=native``) into ``cache_root()/native/<hash>.so``; later loads reuse
it. When no compiler is there or the build fails, ``native_available()``
says why and callers keep the torch path (``LeanStepper``, the reference this
file is tested against; ``AcousticModel.step`` is the reference of both).

Numerics: the same float32 math as ``fast_step.lean_step``; only the order
of additions differs (vectorised sums), so logits agree to ~1e-6 relative and
greedy tokens agree except on exact ties.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

from ..paths import cache_root
from .acoustic import AcousticModel
from .fast_step import LeanStepper
from .state import DecoderState

log = logging.getLogger(__name__)

FLAGS = ["-O3", "-march=native", "-shared", "-fPIC", "-fno-math-errno", "-fno-trapping-math",
         "-fassociative-math", "-fno-signed-zeros", "-ffp-contract=fast", "-mprefer-vector-width=512"]

# Dimension letters as in acoustic.py. dims[] = {D, Di, C, H, P, G, N, k, K, Gd, V, L, E, NU}
C_SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* GCC vector extensions: 16 floats, compiled to AVX-512, AVX2 or SSE/NEON pairs as the CPU allows. */
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
#define LD(p) (*(const v16u *)(p))
#define ST(p, v) (*(v16u *)(p) = (v))
/* bfloat16 weights: the top half of a float32, widened on load (half the bytes to read). */
typedef uint16_t h16u __attribute__((vector_size(32), aligned(2)));
typedef uint32_t u16v __attribute__((vector_size(64)));
#define LDBF(p) ((v16)(__builtin_convertvector(*(const h16u *)(p), u16v) << 16))
static inline float bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

/* R rows x NV*16 columns of y = (acc ? y : bias) + x @ Wt, accumulators in registers.
   Every output element sees the same operations in the same order whatever R and NV are,
   so a stream's numbers do not depend on the batch it is stepped in. */
static inline __attribute__((always_inline)) void kern(const int R, const int NV, const int BF, int I, int O,
        const float *x, const void *Wt, const float *bias, float *y, int acc) {
    v16 a[4][8];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++)
            a[r][v] = acc ? LD(y + (size_t)r * O + v * 16) : (bias ? LD(bias + v * 16) : (v16){0});
    for (int i = 0; i < I; i++) {
        v16 w[8];
        for (int v = 0; v < NV; v++) w[v] = BF ? LDBF((const uint16_t *)Wt + (size_t)i * O + v * 16)
                                                : LD((const float *)Wt + (size_t)i * O + v * 16);
        for (int r = 0; r < R; r++) {
            const float xv = x[(size_t)r * I + i];
            for (int v = 0; v < NV; v++) a[r][v] += xv * w[v];
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) ST(y + (size_t)r * O + v * 16, a[r][v]);
}

/* y (B, O) = (acc ? y : bias) + x (B, I) @ Wt (I, O); Wt float32, or bfloat16 when BF. */
static inline __attribute__((always_inline)) void gemm_t(const int BF, int B, int I, int O, const float *x,
        const void *Wt, const float *bias, float *y, int acc) {
    #define WO(o) (BF ? (const void *)((const uint16_t *)Wt + (o)) : (const void *)((const float *)Wt + (o)))
    const int O128 = O / 128 * 128, O64 = O / 64 * 64, O16 = O / 16 * 16;
    int b = 0;
    for (; b + 4 <= B; b += 4) {  /* 4 rows share each weight load */
        const float *xb = x + (size_t)b * I;
        float *yb = y + (size_t)b * O;
        for (int o = 0; o < O64; o += 64) kern(4, 4, BF, I, O, xb, WO(o), bias ? bias + o : 0, yb + o, acc);
        for (int o = O64; o < O16; o += 16) kern(4, 1, BF, I, O, xb, WO(o), bias ? bias + o : 0, yb + o, acc);
    }
    for (; b < B; b++) {
        const float *xb = x + (size_t)b * I;
        float *yb = y + (size_t)b * O;
        int o = 0;
        for (; o < O128; o += 128) kern(1, 8, BF, I, O, xb, WO(o), bias ? bias + o : 0, yb + o, acc);
        for (; o < O16; o += 16) kern(1, 1, BF, I, O, xb, WO(o), bias ? bias + o : 0, yb + o, acc);
    }
    for (b = 0; b < B && O16 < O; b++) {  /* the last O % 16 columns */
        float t[16];
        float *yb = y + (size_t)b * O;
        for (int o = O16; o < O; o++) t[o - O16] = acc ? yb[o] : (bias ? bias[o] : 0.f);
        for (int i = 0; i < I; i++) {
            const float xv = x[(size_t)b * I + i];
            for (int o = O16; o < O; o++) t[o - O16] += xv * (BF ? bf2f(((const uint16_t *)Wt)[(size_t)i * O + o]) : ((const float *)Wt)[(size_t)i * O + o]);
        }
        for (int o = O16; o < O; o++) yb[o] = t[o - O16];
    }
}

#undef WO
static void gemm(int bf, int B, int I, int O, const float *x, const void *Wt, const float *bias, float *y, int acc) {
    if (bf) gemm_t(1, B, I, O, x, Wt, bias, y, acc);
    else gemm_t(0, B, I, O, x, Wt, bias, y, acc);
}

static inline float silu(float v) { return v / (1.f + expf(-v)); }
static inline float softplus(float v) { return v > 20.f ? v : log1pf(expf(v)); }

/* out = x * rsqrt(mean(x^2) + eps), n values (the weight is folded into the next matmul). */
static void rms(const float *x, float *out, int n, float eps) {
    float ss = 0.f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    const float r = 1.f / sqrtf(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * r;
}

/* One frame for B streams. lw: 7 pointers per layer (w_in_t, b_in, conv_w, conv_b, A, Dskip, w_out_t);
   conv[l] (B, k-1, C) and ssm[l] (B, H, P, N) are updated in place; prev (B, E) is read,
   prev_out (B, E), logits (B, K*Gd*V) and tokens (B, K) are written. Returns 0, or -1 if out of memory. */
int statecast_step(int B, int bf, const int64_t *dims, const float *cond, const int64_t *prev, const float *embed_w,
                   const void **lw, const float *leps, float **conv, float **ssm,
                   const void *head_w_t, const float *head_b, float eps_f,
                   const int64_t *row_offset, const int64_t *basis,
                   int64_t *prev_out, float *logits, int64_t *tokens) {
    const int D = dims[0], Di = dims[1], C = dims[2], H = dims[3], P = dims[4], G = dims[5], N = dims[6];
    const int k = dims[7], K = dims[8], Gd = dims[9], V = dims[10], L = dims[11], E = dims[12], NU = dims[13];
    const int r = H / G, GN = G * N;
    float *buf = malloc(sizeof(float) * (size_t)B * (2 * D + NU + C + Di));
    if (!buf) return -1;
    float *x = buf, *xn = x + (size_t)B * D, *u = xn + (size_t)B * D, *xc = u + (size_t)B * NU, *y = xc + (size_t)B * C;

    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * D;
        memcpy(xb, cond + (size_t)b * D, sizeof(float) * D);
        float *e = xn;  /* embedding_bag(sum) first, then added to cond, as on the torch path */
        memset(e, 0, sizeof(float) * D);
        for (int j = 0; j < E; j++) {
            const float *row = embed_w + (size_t)prev[(size_t)b * E + j] * D;
            for (int d = 0; d < D; d++) e[d] += row[d];
        }
        for (int d = 0; d < D; d++) xb[d] += e[d];
    }
    for (int l = 0; l < L; l++) {
        const void *w_in_t = lw[7 * l], *w_out_t = lw[7 * l + 6];
        const float *b_in = lw[7 * l + 1], *conv_w = lw[7 * l + 2], *conv_b = lw[7 * l + 3];
        const float *A = lw[7 * l + 4], *Dskip = lw[7 * l + 5];
        const float eps = leps[l];
        for (int b = 0; b < B; b++) rms(x + (size_t)b * D, xn + (size_t)b * D, D, eps);
        gemm(bf, B, D, NU, xn, w_in_t, b_in, u, 0);
        for (int b = 0; b < B; b++) {
            const float *ub = u + (size_t)b * NU, *z = ub, *xbc = ub + Di, *dt = ub + Di + C;
            float *cs = conv[l] + (size_t)b * (k - 1) * C, *xcb = xc + (size_t)b * C, *yb = y + (size_t)b * Di;
            /* causal depthwise conv over [state rows, this frame], then shift the state */
            for (int c = 0; c < C; c++) xcb[c] = 0.f;
            for (int j = 0; j < k - 1; j++)
                for (int c = 0; c < C; c++) xcb[c] += cs[(size_t)j * C + c] * conv_w[(size_t)j * C + c];
            for (int c = 0; c < C; c++) xcb[c] = silu(xcb[c] + xbc[c] * conv_w[(size_t)(k - 1) * C + c] + conv_b[c]);
            if (k > 2) memmove(cs, cs + C, sizeof(float) * (size_t)(k - 2) * C);
            if (k > 1) memcpy(cs + (size_t)(k - 2) * C, xbc, sizeof(float) * C);
            const float *xs = xcb, *Bm = xcb + Di, *Cm = xcb + Di + GN;
            float *sb = ssm[l] + (size_t)b * H * P * N;
            for (int h = 0; h < H; h++) {
                const int g = h / r;
                const float dtv = softplus(dt[h]), dec = expf(dtv * A[h]);
                const float *Bg = Bm + g * N, *Cg = Cm + g * N;
                for (int p = 0; p < P; p++) {
                    const float xv = xs[h * P + p], dx = xv * dtv;
                    float *s = sb + ((size_t)h * P + p) * N, acc = 0.f;
                    for (int n = 0; n < N; n++) {
                        s[n] = s[n] * dec + dx * Bg[n];
                        acc += s[n] * Cg[n];
                    }
                    yb[h * P + p] = acc + Dskip[h] * xv;
                }
            }
            for (int i = 0; i < Di; i++) yb[i] *= silu(z[i]);
            rms(yb, yb, Di, eps);
        }
        gemm(bf, B, Di, D, y, w_out_t, NULL, x, 1);  /* residual add rides in the matmul */
    }
    for (int b = 0; b < B; b++) rms(x + (size_t)b * D, xn + (size_t)b * D, D, eps_f);
    const int KGV = K * Gd * V;
    gemm(bf, B, D, KGV, xn, head_w_t, head_b, logits, 0);
    for (int b = 0; b < B; b++) {
        for (int kk = 0; kk < K; kk++) {
            int64_t tok = 0;
            for (int g = 0; g < Gd; g++) {
                const float *lg = logits + (size_t)b * KGV + (kk * Gd + g) * V;
                int best = 0;
                for (int v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;  /* first max, as torch */
                tok += best * basis[g];
                prev_out[(size_t)b * E + kk * Gd + g] = best + row_offset[kk * Gd + g];
            }
            tokens[(size_t)b * K + kk] = tok;
        }
    }
    free(buf);
    return 0;
}
"""

_LIB = None
_LIB_ERROR: str | None = None
_LOCK = threading.Lock()


def _build_dir() -> Path:
    return cache_root() / "native"


def _lib_path() -> Path:
    """One .so per (source, flags, compiler, CPU): -march=native code must not travel between machines."""
    cpu = ""
    try:
        cpu = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    except OSError:
        pass
    key = "\n".join([C_SOURCE, " ".join(FLAGS), shutil.which("gcc") or "", platform.machine(), cpu])
    return _build_dir() / f"statecast_step_{hashlib.sha256(key.encode()).hexdigest()[:16]}.so"


def _build(path: Path) -> None:
    gcc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        raise RuntimeError("no C compiler (gcc) on PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        src = Path(tmp) / "step.c"
        src.write_text(C_SOURCE)
        out = Path(tmp) / "step.so"
        proc = subprocess.run([gcc, *FLAGS, str(src), "-o", str(out), "-lm"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"gcc failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
        os.replace(out, path)  # atomic: concurrent workers never load a half-written file


def load_native():
    """The compiled step library (built on first use), or None when it cannot be built; see native_error()."""
    global _LIB, _LIB_ERROR
    with _LOCK:
        if _LIB is not None or _LIB_ERROR is not None:
            return _LIB
        if os.environ.get("STATECAST_NATIVE", "1") == "0":
            _LIB_ERROR = "disabled by STATECAST_NATIVE=0"
            return None
        try:
            path = _lib_path()
            if not path.exists():
                _build(path)
            lib = ctypes.CDLL(str(path))
            fn = lib.statecast_step
            fn.restype = ctypes.c_int
            P, PP = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
            fn.argtypes = [ctypes.c_int, ctypes.c_int, P, P, P, P, PP, ctypes.POINTER(ctypes.c_float), PP, PP, P, P,
                           ctypes.c_float, P, P, P, P, P]
            _LIB = lib
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _LIB_ERROR = str(exc)
            log.warning("native decoder step unavailable (%s); using the torch step", exc)
        return _LIB


def native_available() -> bool:
    return load_native() is not None


def native_error() -> str | None:
    load_native()
    return _LIB_ERROR


def _ptr(t: torch.Tensor) -> int:
    return t.data_ptr()


def _ptr_array(tensors) -> ctypes.Array:
    return (ctypes.c_void_p * len(tensors))(*[t.data_ptr() for t in tensors])


class NativeStepper:
    """Same contract as ``LeanStepper`` (greedy or ``force_tokens``), one C call per frame.

    Weights are frozen at construction (rebuild after changing them); CPU float32
    models only. ``weights="bf16"`` stores the three matmul weights (in_proj,
    out_proj, head) as bfloat16, widened to float32 as they are read: half the
    bytes per frame (the step is bound by reading them), activations, states
    and sums stay float32; it is an inference precision of its own, held to
    the float32 path by an SNR bound in the tests, not to equality. Raises RuntimeError when the native library cannot be built:
    use ``make_stepper`` for the automatic fallback.
    """

    def __init__(self, model: AcousticModel, weights: str = "fp32"):
        if weights not in ("fp32", "bf16"):
            raise ValueError(f"weights must be 'fp32' or 'bf16', got {weights!r}")
        lib = load_native()
        if lib is None:
            raise RuntimeError(f"native decoder step unavailable: {_LIB_ERROR}")
        if model.device.type != "cpu":
            raise RuntimeError("the native decoder step runs on the CPU only")
        self._fn = lib.statecast_step
        self.model = model
        lean = LeanStepper(model)  # the folded weights: one source of truth for both paths
        cfg, lay = model.cfg, model.layout
        self.bf16 = weights == "bf16"
        mm = torch.bfloat16 if self.bf16 else torch.float32  # dtype of the matmul weights
        f32 = [[t.detach().to(mm if j in (0, 6) else torch.float32).contiguous() for j, t in enumerate(w[:7])]
               for w in lean.layers]
        self._keep = [t for w in f32 for t in w]  # the C side holds raw pointers: keep the tensors alive
        self._lw = _ptr_array(self._keep)
        self._leps = (ctypes.c_float * len(f32))(*[w[7] for w in lean.layers])
        self.embed_w = lean.embed_w.detach().float().contiguous()
        self.head_w_t = lean.head_w_t.detach().to(mm).contiguous()
        self.head_b = lean.head_b.detach().float().contiguous()
        self.row_offset = lay.row_offset.contiguous()
        self.basis = lay.basis.contiguous()
        K, Gd, V = lay.n_codebooks, lay.n_dims, lay.width
        self.K, self.KGV = K, K * Gd * V
        self.shape_logits = (K, Gd, V)
        self.eps_f = float(cfg.norm_eps)
        C = cfg.d_inner + 2 * cfg.n_groups * cfg.d_state
        NU = self._keep[0].shape[1]
        dims = [cfg.d_model, cfg.d_inner, C, cfg.n_heads, cfg.head_dim, cfg.n_groups, cfg.d_state,
                cfg.d_conv, K, Gd, V, cfg.n_layers, K * Gd, NU]
        self._dims = torch.tensor(dims, dtype=torch.long)

    def step(self, state: DecoderState, cond: torch.Tensor, force_tokens: torch.Tensor | None = None):
        """state (B streams), cond (B, D) -> (tokens (B, K), logits (B, K, Gd, V), state); state updated in place."""
        B = cond.shape[0]
        cond = cond.detach().float().contiguous()
        # In-place C updates need dense float32 rows; a state fresh from cat/gather/init already is.
        for lst in (state.conv, state.ssm):
            for i, t in enumerate(lst):
                if not (t.is_contiguous() and t.dtype == torch.float32):
                    lst[i] = t.float().contiguous()
        prev = state.prev.contiguous()
        prev_out = torch.empty_like(prev)
        logits = torch.empty(B, self.KGV)
        tokens = torch.empty(B, self.K, dtype=torch.long)
        rc = self._fn(B, int(self.bf16), _ptr(self._dims), _ptr(cond), _ptr(prev), _ptr(self.embed_w), self._lw, self._leps,
                      _ptr_array(state.conv), _ptr_array(state.ssm), _ptr(self.head_w_t), _ptr(self.head_b),
                      self.eps_f, _ptr(self.row_offset), _ptr(self.basis), _ptr(prev_out), _ptr(logits),
                      _ptr(tokens))
        if rc != 0:
            raise MemoryError("native decoder step: out of memory")
        if force_tokens is not None:
            tokens = force_tokens.long()
            prev_out = self.model.layout.embed_index(self.model.layout.tokens_to_digits(tokens))
        state.prev, state.frame = prev_out, state.frame + 1
        return tokens, logits.view(B, *self.shape_logits), state


def make_stepper(model: AcousticModel, native: bool = True, compile: bool = False, weights: str = "fp32"):
    """The fastest step available: ``NativeStepper`` when asked for and buildable (CPU,
    float32), else ``LeanStepper`` (``compile`` applies to that one), with one log line saying why.
    ``weights`` ("fp32" or "bf16") applies to the native step only."""
    if native and not compile and model.device.type == "cpu":
        try:
            return NativeStepper(model, weights=weights)
        except RuntimeError as exc:
            log.warning("%s; falling back to the torch decoder step", exc)
    return LeanStepper(model, compile=compile)
