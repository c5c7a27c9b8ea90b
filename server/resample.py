"""Streaming polyphase resampler (numpy), with a direct reference beside it.

The client picks its sample rate, audio arrives in chunks, and a chunk
boundary must never be audible, so the resampler carries its input history
from chunk to chunk: output sample n depends only on input samples, never on
where the chunks fell. ``resample_ref`` computes the same sum sample by sample
for the whole signal at once; the tests hold the two equal for any chunking.

Maths. With L/M = out_rate/in_rate in lowest terms, a prototype low-pass h of
length K = 2*H*L + 1 (centre c = H*L, at the upsampled rate in_rate*L) gives

    y[n] = sum_m x[m] * h[c + n*M - m*L]

i.e. with j = n*M + c, i0 = j // L, p = j % L:  y[n] = sum_t x[i0 - t] * h[p + t*L],
t = 0 .. T-1 (T = 2H + 1 taps per phase). Output n needs input up to i0, about
H samples of lookahead: that is the resampler's latency, released by ``flush``.
The output has ceil(N * L / M) samples and is time-aligned with the input.
"""

from __future__ import annotations

from functools import lru_cache
from math import ceil, gcd

import numpy as np

ZERO_CROSSINGS = 12  # sinc zero crossings kept on each side of the centre
ROLLOFF = 0.94  # cutoff as a fraction of the lower Nyquist: room for the transition band
KAISER_BETA = 8.0


@lru_cache(maxsize=32)
def design(in_rate: int, out_rate: int) -> tuple[int, int, int, np.ndarray]:
    """(L, M, H, phases): phases[p, t] = h[p + t*L], shape (L, 2H+1), float64."""
    g = gcd(in_rate, out_rate)
    L, M = out_rate // g, in_rate // g
    ratio = min(1.0, L / M)  # downsampling narrows the band to the output's Nyquist
    fc = 0.5 * ROLLOFF * ratio  # cycles per input sample
    H = int(ceil(ZERO_CROSSINGS / (2 * fc)))  # half-length in input samples
    K = 2 * H * L + 1
    k = np.arange(K, dtype=np.float64) - H * L  # upsampled-rate offsets from the centre
    t = k / L  # offsets in input samples
    h = 2 * fc * np.sinc(2 * fc * t) * np.kaiser(K, KAISER_BETA)
    # Zero-stuffing by L divides the gain by L; the sinc at the input rate already has unit gain per phase.
    phases = np.zeros((L, 2 * H + 1), dtype=np.float64)
    padded = np.concatenate([h, np.zeros(L * (2 * H + 1) - K)])
    phases[:, :] = padded.reshape(2 * H + 1, L).T
    return L, M, H, phases


class StreamingResampler:
    """Resample a float32 stream chunk by chunk; ``process`` then ``flush`` once at the end."""

    def __init__(self, in_rate: int, out_rate: int):
        self.in_rate, self.out_rate = int(in_rate), int(out_rate)
        self.identity = self.in_rate == self.out_rate
        self.L, self.M, self.H, self.phases = design(self.in_rate, self.out_rate)
        self.T = 2 * self.H + 1
        # Input history: samples [self._base, self._base + len(self._hist)); index -1.. are zeros.
        self._hist = np.zeros(self.T, dtype=np.float64)
        self._base = -self.T  # absolute index of _hist[0]
        self._n_in = 0  # input samples received
        self._n_out = 0  # output samples emitted
        self._flushed = False

    def _emit(self, limit_index: int) -> np.ndarray:
        """Emit every output n whose newest needed input index i0 < limit_index."""
        L, M, H = self.L, self.M, self.H
        c = H * L
        # largest n with (n*M + c) // L < limit_index  <=>  n*M + c < limit_index * L
        n_end = (limit_index * L - c + M - 1) // M  # exclusive
        if self._flushed:
            n_end = min(n_end, self.total_out())
        if n_end <= self._n_out:
            return np.zeros(0, dtype=np.float32)
        n = np.arange(self._n_out, n_end, dtype=np.int64)
        j = n * M + c
        i0 = j // L
        p = j % L
        y = np.zeros(n.shape, dtype=np.float64)
        for t in range(self.T):  # fixed summation order: identical sums for any chunking
            y += self._hist[i0 - t - self._base] * self.phases[p, t]
        self._n_out = int(n_end)
        return y.astype(np.float32)

    def total_out(self) -> int:
        return -(-self._n_in * self.L // self.M)

    def process(self, x: np.ndarray) -> np.ndarray:
        """x (N,) float -> (N',) float32, N' about N * out/in (minus the lookahead held back)."""
        if self._flushed:
            raise RuntimeError("resampler already flushed")
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        if self.identity:
            self._n_in += x.size
            return x.copy()
        self._hist = np.concatenate([self._hist, x.astype(np.float64)])
        self._n_in += x.size
        y = self._emit(self._n_in)
        # Keep only the history later outputs can still reach.
        oldest_needed = (self._n_out * self.M + self.H * self.L) // self.L - self.T + 1
        drop = max(0, min(oldest_needed - self._base, len(self._hist) - self.T))
        if drop:
            self._hist = self._hist[drop:]
            self._base += drop
        return y

    def flush(self) -> np.ndarray:
        """The held-back tail (input padded with zeros); the stream ends here."""
        if self.identity:
            self._flushed = True
            return np.zeros(0, dtype=np.float32)
        self._hist = np.concatenate([self._hist, np.zeros(self.H + 1)])
        self._flushed = True
        return self._emit(self._n_in + self.H + 1)


def resample_ref(x: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Whole-signal reference: the same sum, one output sample at a time."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if in_rate == out_rate:
        return x.astype(np.float32)
    L, M, H, phases = design(in_rate, out_rate)
    T = 2 * H + 1
    n_out = -(-x.size * L // M)
    y = np.zeros(n_out, dtype=np.float64)
    for n in range(n_out):
        j = n * M + H * L
        i0, p = j // L, j % L
        acc = 0.0
        for t in range(T):
            i = i0 - t
            if 0 <= i < x.size:
                acc += x[i] * phases[p, t]
        y[n] = acc
    return y.astype(np.float32)
