"""Optional adversarial training: a small multi-resolution spectrogram
discriminator with hinge losses and feature matching.

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
        feats = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            feats.append(h)
        return self.post(h), feats


class MultiResolutionDiscriminator(nn.Module):
    def __init__(self, resolutions=DISC_RESOLUTIONS, channels: int = 32):
        super().__init__()
        self.discs = nn.ModuleList(SpectrogramDiscriminator(n, h, channels) for n, h in resolutions)

    def forward(self, x: torch.Tensor):
        """x (B, N) -> list of (logits, feats), one per resolution."""
        return [d(x) for d in self.discs]


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
