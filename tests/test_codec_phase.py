"""The codec's spectrum, as benchmarks/codec_phase_split.py takes it apart.

1. analysis_spectrum is the spectrum the iSTFT head inverts: fed back through
   the head it reconstructs the signal, on the codec's own frame grid.
2. Decoder(with_spectrum=True) returns the very spectrum it plays.
"""

from __future__ import annotations

import torch

from tts.codec import Codec, tiny_config
from tts.codec.istft import ISTFTHead, analysis_spectrum, overlap_add

torch.set_num_threads(1)


def test_analysis_spectrum_is_what_the_head_inverts():
    n_fft, hop = 64, 16
    g = torch.Generator().manual_seed(0)
    y = torch.randn(1, 800, generator=g)
    T = 800 // hop
    X = analysis_spectrum(y, n_fft, hop, T)
    head = ISTFTHead(dim=4, n_fft=n_fft, hop=hop, max_log_mag=30.0)
    pcm, _ = overlap_add(head.frames(torch.log(X.abs() + 1e-12), torch.angle(X)), None, hop)
    # Samples from R-1 hops on are covered by all R windows; the last R-1 hops' windows run past y.
    lo, hi = n_fft - hop, 800 - n_fft
    assert float((pcm[:, lo:hi] - y[:, lo:hi]).abs().max()) < 1e-4


def test_analysis_spectrum_uses_the_codec_frame_grid():
    y = torch.zeros(1, 100)
    y[0, 40] = 1.0  # an impulse at sample 40 lies in frames 0..2 of a 64/16 grid (starts 0, 16, 32)
    spec = analysis_spectrum(y, 64, 16, 4)
    w = torch.hann_window(64, periodic=True)
    ratio = spec[0, :3, 0].real / w[torch.tensor([40, 24, 8])]
    assert torch.allclose(ratio, ratio[0].expand(3), atol=1e-5) and float(ratio[0]) > 0
    assert float(spec[0, 3].abs().max()) == 0.0  # frame 3 starts at 48: the impulse is before it


def test_decoder_spectrum_is_what_it_plays():
    torch.manual_seed(0)
    codec = Codec(tiny_config()).eval()
    latent = torch.randn(1, 12, codec.cfg.latent_dim)
    with torch.no_grad():
        pcm, _ = codec.decoder(latent)
        pcm2, _, (log_mag, phase) = codec.decoder(latent, with_spectrum=True)
        frames = codec.decoder.head.frames(log_mag, phase)
    assert torch.equal(pcm, pcm2)
    assert torch.allclose(overlap_add(frames, None, codec.cfg.hop)[0], pcm, atol=1e-6)

