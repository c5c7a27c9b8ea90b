"""Optional adversarial training: small discriminators with hinge losses and
feature matching.

Kinds (`--disc`): "mrd", spectrogram discriminators at three STFT
resolutions, which see compressed magnitudes only; "mpd", waveform
discriminators that fold the signal by a few prime periods (HiFi-GAN's idea),
which see the phase relations between neighbouring frames that magnitudes
hide; and "mpd+mrd", both.

Off by default: on a CPU it roughly doubles the cost of a step and GAN terms
only start to pay off after tens of thousands of steps; on a GPU turn it on
after the reconstruction losses have settled (`--adv-start`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..codec.features import stft_magnitude

DISC_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def conv_stack(convs: nn.ModuleList, post: nn.Module, h: torch.Tensor):
    """h through each conv + leaky ReLU -> (post(h) logits, [every conv's output] for feature matching)."""
    feats = []
    for conv in convs:
        h = F.leaky_relu(conv(h), 0.1)
        feats.append(h)
    return post(h), feats


class DiscriminatorSet(nn.Module):
    """Sub-discriminators side by side: x (B, N) -> list of (logits, feats), one per member."""

    def __init__(self, discs):
        super().__init__()
        self.discs = nn.ModuleList(discs)

    def forward(self, x: torch.Tensor):
        return [d(x) for d in self.discs]


class SpectrogramDiscriminator(nn.Module):
    """x (B, N) -> (logits (B, 1, frames, bins'), [feature maps]) on one STFT resolution."""

    def __init__(self, n_fft: int, hop: int, channels: int = 32):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        c = channels
        self.convs = nn.ModuleList([
            nn.Conv2d(1, c, (3, 9), padding=(1, 4)),
            nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4)),
            nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4)),
            nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4)),
            nn.Conv2d(c, c, (3, 3), padding=(1, 1)),
        ])
        self.post = nn.Conv2d(c, 1, (3, 3), padding=(1, 1))

    def forward(self, x: torch.Tensor):
        with torch.autocast(device_type=x.device.type, enabled=False):
            # Compressed magnitude: keeps quiet bins visible without log's -inf.
            h = stft_magnitude(x.float(), self.n_fft, self.hop).clamp_min(1e-7).pow(0.3).unsqueeze(1)
        return conv_stack(self.convs, self.post, h)


class MultiResolutionDiscriminator(DiscriminatorSet):
    """One SpectrogramDiscriminator per STFT resolution."""

    def __init__(self, resolutions=DISC_RESOLUTIONS, channels: int = 32):
        super().__init__(SpectrogramDiscriminator(n, h, channels) for n, h in resolutions)


class PeriodDiscriminator(nn.Module):
    """x (B, N) -> (logits, [feature maps]) on the signal folded to (N / p, p).

    Columns of the fold are samples p apart; convolving down the columns
    compares each sample with its neighbours one period earlier and later,
    where a pitch-synchronous waveform repeats and a phase error shows.
    """

    def __init__(self, period: int, channels: int = 16):
        super().__init__()
        self.period = period
        chans = [1, channels, 2 * channels, 4 * channels, 4 * channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, (5, 1), stride=(3, 1) if i < 3 else (1, 1), padding=(2, 0))
            for i, (a, b) in enumerate(zip(chans[:-1], chans[1:]))
        )
        self.post = nn.Conv2d(chans[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor):
        x = x.float()
        B, N = x.shape
        pad = (-N) % self.period
        if pad:
            x = F.pad(x, (0, pad), mode="reflect" if pad < N else "constant")
        return conv_stack(self.convs, self.post, x.view(B, 1, -1, self.period))


DISC_PERIODS = (2, 3, 5, 7, 11)


class MultiPeriodDiscriminator(DiscriminatorSet):
    """One PeriodDiscriminator per period."""

    def __init__(self, periods=DISC_PERIODS, channels: int = 16):
        super().__init__(PeriodDiscriminator(p, channels) for p in periods)


DISCRIMINATORS = {"mrd": MultiResolutionDiscriminator, "mpd": MultiPeriodDiscriminator}
DISC_KINDS = ("mrd", "mpd", "mpd+mrd")


def make_discriminator(kind: str, channels: int) -> nn.Module:
    """kind: "mrd", "mpd", or "mpd+mrd" (both, HiFi-GAN/Vocos style; each loss averages over all)."""
    if kind not in DISC_KINDS:
        raise ValueError(f"discriminator must be one of {DISC_KINDS}, got {kind!r}")
    if "+" in kind:
        return DiscriminatorSet(d for k in kind.split("+") for d in DISCRIMINATORS[k](channels=channels).discs)
    return DISCRIMINATORS[kind](channels=channels)


def discriminator_loss(real_out, fake_out) -> torch.Tensor:
    """Hinge loss; fake_out must come from detached generator audio."""
    loss = 0.0
    for (lr, _), (lf, _) in zip(real_out, fake_out):
        loss = loss + F.relu(1 - lr.float()).mean() + F.relu(1 + lf.float()).mean()
    return loss / len(real_out)


def generator_losses(real_out, fake_out) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (adversarial hinge loss, feature-matching L1), each averaged over resolutions."""
    adv, fm = 0.0, 0.0
    for (_, fr), (lf, ff) in zip(real_out, fake_out):
        adv = adv + F.relu(1 - lf.float()).mean()
        fm = fm + sum((a.detach().float() - b.float()).abs().mean() for a, b in zip(fr, ff)) / len(fr)
    n = len(fake_out)
    return adv / n, fm / n
