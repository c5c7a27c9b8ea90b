"""iSTFT head: frames of features -> complex spectra -> PCM by overlap-add.

Window placement. Frame t's synthesis window covers samples
[t*H, t*H + n_fft) with n_fft = R*H (R = 4 by default). Hop span t (samples
[t*H, (t+1)*H)) is the sum of frames t-R+1 .. t, so it is final the moment
frame t is decoded: the head adds no emission delay. The streaming state is
the (R-1)*H samples of tail that later frames will still add to.

The price of this causal placement is paid by the (offline, non-causal)
encoder: token t must describe the audio of its whole window, which lies up
to R-1 hops after t*H. The encoder's analysis is shifted to match
(encoder.py). The first R-1 hops of a stream see fewer than R windows; TTS
streams start in silence, and training excludes them from the loss.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import linear_t


def synthesis_window(n_fft: int, hop: int) -> torch.Tensor:
    """Periodic Hann scaled so the overlapped windows sum to about one."""
    w = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    env = w.view(n_fft // hop, hop).sum(0)  # sum of the R overlapping windows
    return (w / env.mean()).float()


def overlap_add(frames: torch.Tensor, tail: torch.Tensor | None, hop: int):
    """frames (B, T, R*H), tail (B, (R-1)*H) | None -> (pcm (B, T*H), tail' (B, (R-1)*H)).

    Vectorised over frames: R slice-adds instead of one add per frame.
    """
    B, T, n_fft = frames.shape
    R = n_fft // hop
    buf = frames.new_zeros(B, T + R - 1, hop)
    fr = frames.view(B, T, R, hop)
    for r in range(R):
        buf[:, r:r + T] += fr[:, :, r]
    if tail is not None:
        buf[:, :R - 1] += tail.view(B, R - 1, hop)
    pcm = buf[:, :T].reshape(B, T * hop)
    return pcm, buf[:, T:].reshape(B, (R - 1) * hop)


def overlap_add_ref(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """Reference: frames (B, T, n_fft) -> full signal (B, (T-1)*H + n_fft), one frame at a time."""
    B, T, n_fft = frames.shape
    out = torch.zeros(B, (T - 1) * hop + n_fft, dtype=frames.dtype)
    for t in range(T):
        out[:, t * hop:t * hop + n_fft] += frames[:, t]
    return out


def analysis_spectrum(y: torch.Tensor, n_fft: int, hop: int, n_frames: int) -> torch.Tensor:
    """y (B, N) -> complex (B, T, F), T = n_frames: the spectrum the head would
    have to predict to give y back.

    Frame t is the Hann-windowed FFT of y[t*hop : t*hop + n_fft] (zero past the
    end), scaled so that the head's synthesis (inverse FFT, synthesis window,
    overlap-add) reconstructs y wherever R windows overlap. Used to swap
    magnitude and phase between the codec and its target
    (benchmarks/codec_phase_split.py).
    """
    need = (n_frames - 1) * hop + n_fft
    y = torch.nn.functional.pad(y, (0, max(0, need - y.shape[1])))
    segs = y.unfold(1, n_fft, hop)[:, :n_frames]
    analysis = torch.hann_window(n_fft, periodic=True, device=y.device, dtype=y.dtype)
    synthesis = synthesis_window(n_fft, hop).to(y.device, y.dtype)
    # Sum over the R overlapping frames of analysis x synthesis window: constant for Hann at R >= 2.
    gain = 1.0 / (analysis * synthesis).view(n_fft // hop, hop).sum(0).mean()
    return torch.fft.rfft(segs * analysis, dim=-1) * gain


class ISTFTHead(nn.Module):
    """Features (B, T, C) -> PCM (B, T*S*h), carrying the overlap-add tail.

    Predicts per bin a log magnitude and a phase angle (Vocos style); the
    spectrum and the inverse FFT always run in float32, also under bf16
    autocast, because phase wraps and small magnitudes do not survive bf16.

    With S = `subframes` > 1 one feature vector yields S consecutive spectra
    (one linear map, reshaped), each hop h = H / S apart with window n_fft
    (already divided by S): the decoder stays at the frame rate while the
    synthesis grid is S times finer. `n_fft` and `hop` here are the head's own.
    """

    def __init__(self, dim: int, n_fft: int, hop: int, max_log_mag: float, subframes: int = 1):
        super().__init__()
        self.n_fft, self.hop, self.max_log_mag, self.subframes = n_fft, hop, max_log_mag, subframes
        self.n_bins = n_fft // 2 + 1
        self.proj = nn.Linear(dim, subframes * 2 * self.n_bins)
        self.register_buffer("window", synthesis_window(n_fft, hop), persistent=False)

    def init_state(self, batch: int, device=None) -> torch.Tensor:
        return torch.zeros(batch, self.n_fft - self.hop, device=device)

    def spectrum(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> (log magnitude before the clamp, phase), each (B, T*S, F) float32."""
        h = linear_t(self, "proj", x, self.proj.weight, self.proj.bias).float()
        B, T = h.shape[:2]
        log_mag, phase = h.reshape(B, T * self.subframes, 2 * self.n_bins).split(self.n_bins, dim=-1)
        return log_mag, phase

    def frames(self, log_mag: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """(log_mag, phase) (B, T, F) -> windowed time-domain frames (B, T, n_fft) float32."""
        with torch.autocast(device_type=log_mag.device.type, enabled=False):
            mag = torch.exp(log_mag.float().clamp(max=self.max_log_mag))
            phase = phase.float()
            spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))
            return torch.fft.irfft(spec, n=self.n_fft, dim=-1) * self.window

    def forward(self, x: torch.Tensor, tail: torch.Tensor | None = None, with_spectrum: bool = False):
        """x (B, T, C), tail (B, n_fft-h) | None -> (pcm (B, T*S*h) float32, tail').

        with_spectrum (diagnostics): also return the (log_mag, phase) pair the
        frames were made from.
        """
        log_mag, phase = self.spectrum(x)
        pcm, tail = overlap_add(self.frames(log_mag, phase), tail, self.hop)
        return (pcm, tail, (log_mag, phase)) if with_spectrum else (pcm, tail)
