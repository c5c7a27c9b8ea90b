"""Codec training recipe: `statecast train codec`.

Loop: random 24 kHz crops -> codec forward (encoder, FSQ, decoder) ->
log-mel L1 + multi-resolution STFT (+ optional hinge GAN and feature
matching) -> AdamW with warmup and cosine decay. Every `ckpt_every` steps a
checkpoint goes to `<cache>/train/codec/<run>/`; starting again with the same
run name resumes from the newest one. A JSONL log of losses sits beside the
checkpoints, and a progress bar shows the running loss and throughput
(seconds of audio per second of compute).

Crops carry a margin of R-1 hops on each side that is decoded but not scored:
the first R-1 hops of a decoded stream lack the overlap of earlier windows,
and the encoder's view of the last R-1 hops would otherwise end in padding.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..codec import Codec, CodecConfig
from ..codec.config import FINETUNE_FIELDS
from ..codec.weights import save_codec
from ..errors import StatecastError
from ..paths import cache_root, writable_dir
from . import checkpoint as ckpt
from .audio_data import (HELDOUT_RULE, CropSampler, LatentCropSampler, fixed_eval_batch,
                         fixed_latent_eval_batch, load_clips)
from .discriminator import discriminator_loss, generator_losses, make_discriminator
from .losses import MelLoss, MultiResolutionSTFTLoss
from .loop import (Window, append_jsonl, checkpoint_on_interrupt, eval_and_checkpoint, finish, lr_factor, open_run,
                   progress_bar, time_limit_reached)
from .runtime import autocast


KIND = "statecast-codec-train"


@dataclass
class CodecTrainConfig:
    run: str = "default"
    manifest: str | None = None  # None: <cache>/corpus/manifest.jsonl
    device: str = "auto"
    threads: int = 1
    batch: int = 8
    segment: float = 1.0  # scored seconds per crop (plus unscored margins)
    lr: float = 5e-4
    lr_min_ratio: float = 0.1
    warmup: int = 200
    max_steps: int = 20000
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    mel_weight: float = 1.0
    stft_weight: float = 1.0
    adv_weight: float = 0.0  # > 0 turns the discriminator on
    fm_weight: float = 0.1
    adv_start: int = 0
    # Discriminator width: its cost grows with the square (one CPU step at batch 8:
    # 32 channels ~20 s, 16 ~4 s, 8 ~2 s; the codec step itself ~0.25 s).
    disc_channels: int = 32
    disc: str = "mrd"  # "mrd": spectrogram magnitudes; "mpd": folded waveform (sees phase); "mpd+mrd"
    # Seconds of each crop the discriminator sees (a random window; None: all of it).
    # Its cost grows with the length, and it judges local texture anyway.
    disc_seconds: float | None = None
    log_every: int = 10
    eval_every: int = 250
    ckpt_every: int = 250
    keep: int = 3
    eval_clips: int = 8
    eval_seconds: float = 2.0
    workers: int = 0
    seed: int = 0
    time_limit_min: float | None = None
    progress: bool = True
    model: dict = field(default_factory=dict)  # CodecConfig overrides for a fresh run
    # Decoder-only fine-tuning: the encoder and quantizer keep the weights of `init_from`,
    # so the tokens they produce (the acoustic model's targets) stay valid while the
    # decoder goes on improving, with or without the discriminator.
    # A codec training checkpoint, or an exported codec directory, whose weights start a fresh run.
    init_from: str | None = None
    freeze_encoder: bool = False
    # Decoder fine-tuning on the acoustic model's own latents (tts.train.student_latents):
    # a share of each batch decodes these instead of the encoder's, against the same audio.
    latents: str | None = None  # a directory of <clip id>.npy latents
    latent_share: float = 0.5

    @classmethod
    def from_dict(cls, d: dict) -> "CodecTrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def inherit_run_settings(cfg: CodecTrainConfig, saved: dict) -> None:
    """On resume, keep what the run was started with where a plain resume command would lose it.

    A frozen encoder stays frozen (its tokens must stay valid); a run on given
    latents keeps them and their share; a run with a discriminator keeps it,
    of the saved kind and width (a resume command without the GAN flags would
    otherwise drop it, and another kind or width cannot load its state), and
    with its window unless the command sets one.
    """
    if saved.get("freeze_encoder") and not cfg.freeze_encoder:
        print("note: this run trains the decoder only (its tokens must stay valid); encoder stays frozen")
        cfg.freeze_encoder = True
    if saved.get("adv_weight", 0) > 0:
        if cfg.adv_weight <= 0:
            cfg.adv_weight, cfg.fm_weight = saved["adv_weight"], saved.get("fm_weight", cfg.fm_weight)
            print(f"note: this run trains with its discriminator (adv {cfg.adv_weight}, fm {cfg.fm_weight})")
        cfg.disc_channels = saved.get("disc_channels", 32)
        cfg.disc = saved.get("disc", "mrd")
        cfg.disc_seconds = cfg.disc_seconds or saved.get("disc_seconds")
    if saved.get("latents") and not cfg.latents:  # a resume keeps training on the acoustic model's latents
        cfg.latents, cfg.latent_share = saved["latents"], saved.get("latent_share", cfg.latent_share)
        print(f"note: this run decodes the latents in {cfg.latents} for {cfg.latent_share:.0%} of each batch")


def with_finetune_overrides(codec_cfg: CodecConfig, overrides: dict) -> CodecConfig:
    """The init checkpoint's config with the overrides of `overrides` that a fine-tune may
    make applied (FINETUNE_FIELDS: the iSTFT head's sub-frames, more decoder blocks);
    the encoder, its tokens and the decoder's existing trunk carry over."""
    allowed = {k: v for k, v in overrides.items() if k in FINETUNE_FIELDS}
    return dataclasses.replace(codec_cfg, **allowed) if allowed else codec_cfg


def subframe_head_init(weight: torch.Tensor, bias: torch.Tensor, old: CodecConfig, new: CodecConfig):
    """A one-spectrum-per-frame head's projection -> a start for a head of
    S = new.head_subframes spectra per frame. -> (weight, bias) of the new head.

    weight (2F, C), bias (2F,) with F = old.n_fft/2 + 1 -> (S*2F', C), (S*2F',)
    with F' = new.head_n_fft/2 + 1. Bin j of the short window sits at the
    frequency of bin j*S of the long one, so every sub-frame starts from the
    long frame's row for that frequency: log magnitudes lowered by log S (a
    window S times shorter sums S times less of a sinusoid), phases advanced by
    the sinusoid's rotation over the sub-frame's start offset (2 pi j s h / n),
    so that a steady partial keeps its phase from one sub-frame to the next.
    Only a start: the sub-frames lie earlier in the frame than the long window's
    centre, and training moves them there.
    """
    S, F_old = new.head_subframes, old.n_fft // 2 + 1
    if old.head_subframes != 1 or old.n_fft != new.n_fft or S == 1:
        raise StatecastError("subframe_head_init maps a 1-sub-frame head to a finer one of the same n_fft")
    n, h = new.head_n_fft, new.head_hop
    bins = torch.arange(n // 2 + 1)
    rows = bins * S
    w_mag, w_ph = weight[:F_old][rows], weight[F_old:][rows]
    b_mag, b_ph = bias[:F_old][rows] - math.log(S), bias[F_old:][rows]
    ws, bs = [], []
    for s in range(S):
        ws += [w_mag, w_ph]
        bs += [b_mag, b_ph + 2 * math.pi * bins * s * h / n]
    return torch.cat(ws), torch.cat(bs)


def grown_block_prefixes(old: CodecConfig, new: CodecConfig) -> list[str]:
    """State-dict prefixes of the decoder blocks `new` adds after the `old` decoder's last
    one (a fine-tune that deepens the trunk); an error if `new` has fewer."""
    if new.dec_blocks < old.dec_blocks:
        raise StatecastError(f"a fine-tune may add decoder blocks, not remove them "
                             f"({old.dec_blocks} -> {new.dec_blocks})")
    return [f"decoder.blocks.{i}." for i in range(old.dec_blocks, new.dec_blocks)]


def load_init_weights(model: Codec, state: dict, init_cfg: CodecConfig) -> list[str]:
    """Load `state` (a codec of config `init_cfg`) into `model`, except tensors
    whose shape the new config changed (the iSTFT head of another
    head_subframes); those start from `subframe_head_init` when `init_cfg` has
    a one-spectrum head, else stay freshly initialised. -> the fresh ones' names.

    Decoder blocks the new config adds (a larger dec_blocks) go after the old
    ones and start as identities: their layer scale is zero, so the grown
    decoder first decodes exactly as the old one, and training then opens them.
    Anything else that does not fit is an error, as in a strict load.
    """
    own = model.state_dict()
    grown = tuple(grown_block_prefixes(init_cfg, model.cfg))
    fresh = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if any(not k.startswith("decoder.head.") for k in fresh):
        raise StatecastError(f"init checkpoint does not fit this codec: {fresh}")
    weights = {k: v for k, v in state.items() if k not in fresh}
    head = "decoder.head."
    if fresh and init_cfg.head_subframes == 1:
        w, b = subframe_head_init(state[head + "proj.weight"], state[head + "proj.bias"], init_cfg, model.cfg)
        weights |= {head + "proj.weight": w, head + "proj.bias": b}
        fresh = []
    new_blocks = [k for k in own if k.startswith(grown)]  # startswith(()) is False: none
    for k in new_blocks:
        weights[k] = torch.zeros_like(own[k]) if k.endswith(".gamma") else own[k]
    # A non-strict load would pass over keys on either side silently: check both here.
    missing, unexpected = set(own) - set(weights) - set(fresh), set(state) - set(own)
    if missing or unexpected:
        raise StatecastError(f"init checkpoint does not fit this codec: lacks {sorted(missing)}, "
                             f"has extra {sorted(unexpected)}")
    model.load_state_dict(weights, strict=not fresh)
    return fresh + new_blocks


def run_dir(run: str) -> Path:
    return cache_root() / "train" / "codec" / run


class CodeUsage:
    """Running histogram of tokens per codebook -> perplexity (how many codes are really used)."""

    def __init__(self, n_codebooks: int, size: int):
        self.counts = torch.zeros(n_codebooks, size, dtype=torch.float64)

    def add(self, tokens: torch.Tensor) -> None:
        for k in range(tokens.shape[1]):
            self.counts[k] += torch.bincount(tokens[:, k].reshape(-1).cpu(), minlength=self.counts.shape[1])

    def perplexity(self) -> list[float]:
        p = self.counts / self.counts.sum(1, keepdim=True).clamp_min(1)
        ent = -(p * torch.log(p.clamp_min(1e-12))).sum(1)
        self.counts.zero_()
        return [round(float(v), 1) for v in torch.exp(ent)]


class CodecTrainer:
    """Holds model, optimisers and data for one run; `train()` runs to max_steps or the time limit."""

    def __init__(self, cfg: CodecTrainConfig, resume_from: Path | None = None, restart: bool = False):
        self.cfg = cfg
        run = open_run(cfg.device, cfg.threads, run_dir(cfg.run), KIND, "a codec", resume_from, restart)
        self.device, self.dir, self.log_path = run.device, run.dir, run.log_path
        resume, payload = run.resume, run.payload

        init = _load_init(Path(cfg.init_from)) if payload is None and cfg.init_from else None
        if payload:
            inherit_run_settings(cfg, payload.get("train_config", {}))
        if payload or init:
            self.codec_cfg = CodecConfig.from_dict((payload or init)["codec_config"])
            if init and not payload:
                self.codec_cfg = with_finetune_overrides(self.codec_cfg, cfg.model)
            if cfg.model and any(getattr(self.codec_cfg, k, None) != v for k, v in cfg.model.items()):
                if payload:
                    print(f"note: resuming {resume.name}; model overrides {cfg.model} ignored "
                          "(the checkpoint's config wins; use --restart for a new model)")
                else:
                    print(f"note: starting from {cfg.init_from}; only {', '.join(FINETUNE_FIELDS)} may be "
                          f"overridden, so {cfg.model} is partly ignored (the checkpoint's config wins)")
        else:
            self.codec_cfg = CodecConfig(**{**cfg.model, "extra": {"heldout": HELDOUT_RULE}})
        torch.manual_seed(cfg.seed)
        self.model = Codec(self.codec_cfg).to(self.device)
        if init:
            init_cfg = CodecConfig.from_dict(init["codec_config"])
            fresh = [k for k in load_init_weights(self.model, init["model"], init_cfg)
                     if not k.startswith("decoder.blocks.")]  # grown blocks are reported below
            print(f"initialised from {cfg.init_from} (step {init['step']})"
                  + (f"; new, untrained: {', '.join(fresh)}" if fresh else "")
                  + (f"; decoder grown to {self.codec_cfg.dec_blocks} blocks (new ones start as identities)"
                     if self.codec_cfg.dec_blocks != init_cfg.dec_blocks else "")
                  + (f"; head mapped to {self.codec_cfg.head_subframes} sub-frames"
                     if self.codec_cfg.head_subframes != init_cfg.head_subframes and not fresh else ""))
        if cfg.latents and not cfg.freeze_encoder:
            raise StatecastError("--latents trains the decoder on the tokens the acoustic model learnt: "
                                 "it needs --freeze-encoder")
        if cfg.freeze_encoder:
            for m in (self.model.encoder, self.model.quantizer):
                m.requires_grad_(False)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.trainable, lr=cfg.lr, betas=(0.8, 0.99),
                                     weight_decay=cfg.weight_decay)
        self.disc = self.opt_d = None
        if cfg.adv_weight > 0:
            self.disc = make_discriminator(cfg.disc, cfg.disc_channels).to(self.device)
            self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=cfg.lr, betas=(0.8, 0.99),
                                           weight_decay=cfg.weight_decay)
        self.mel_loss = MelLoss(self.codec_cfg.sample_rate).to(self.device)
        self.stft_loss = MultiResolutionSTFTLoss()
        self.step = 0
        self.stats = {"audio_seconds": 0.0, "compute_seconds": 0.0}
        if payload:
            self._restore(payload)
            print(f"resumed {self.dir.name} at step {self.step} from {resume}")

        H = self.codec_cfg.hop
        self.margin = (self.codec_cfg.overlap_frames - 1) * H
        self.segment = int(round(cfg.segment * self.codec_cfg.frame_rate)) * H
        self.crop = self.segment + 2 * self.margin
        self.train_clips, self.held_clips = load_clips(cfg.manifest, self.codec_cfg.sample_rate)
        eval_len = int(round(cfg.eval_seconds * self.codec_cfg.frame_rate)) * H + 2 * self.margin
        self.eval_batch = fixed_eval_batch(self.held_clips, eval_len, cfg.eval_clips)
        self.latent_eval_batch = (fixed_latent_eval_batch(self.held_clips, Path(cfg.latents), eval_len, H,
                                                          cfg.eval_clips) if cfg.latents else None)

    # ---- state ---------------------------------------------------------------
    def _restore(self, p: dict) -> None:
        self.model.load_state_dict(p["model"])
        self.opt.load_state_dict(p["opt"])
        if self.disc is not None and p.get("disc"):
            self.disc.load_state_dict(p["disc"])
            self.opt_d.load_state_dict(p["opt_d"])
        self.step = int(p["step"])
        self.stats = dict(p.get("stats", self.stats))
        ckpt.set_rng_state(p["rng"])

    def save(self) -> Path:
        payload = {
            "kind": KIND, "step": self.step,
            "codec_config": self.codec_cfg.to_dict(), "train_config": dataclasses.asdict(self.cfg),
            "model": self.model.state_dict(), "opt": self.opt.state_dict(),
            "disc": self.disc.state_dict() if self.disc is not None else None,
            "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
            "rng": ckpt.rng_state(), "stats": self.stats,
        }
        return ckpt.save_checkpoint(self.dir, self.step, payload, self.cfg.keep)

    def log(self, record: dict) -> None:
        append_jsonl(self.log_path, record)

    # ---- one step ------------------------------------------------------------
    def _recon(self, x: torch.Tensor, given: tuple[torch.Tensor, torch.Tensor] | None = None):
        """x (B, crop) -> (loss parts dict, scored prediction, scored target, tokens).

        given: (latents (B, crop // H, D), use (B,) bool): items with use decode
        these latents instead of the encoder's (frozen encoder only).
        """
        with autocast(self.device):
            if self.cfg.freeze_encoder:
                # Frozen encoder: no graph through it (cheaper) and eval mode, so it
                # tokenises exactly as `encode` will for the acoustic model's targets.
                with torch.no_grad():
                    self.model.encoder.eval()
                    latent_q, tokens = self.model.quantizer(self.model.encoder(x))
                    if given is not None:
                        lat, use = given
                        latent_q = torch.where(use[:, None, None], lat.to(latent_q.dtype), latent_q)
                pcm_hat, _ = self.model.decoder(latent_q)
            else:
                pcm_hat, tokens = self.model(x)
        lo, hi = self.margin, x.shape[1] - self.margin
        y_hat, y = pcm_hat[:, lo:hi], x[:, lo:hi]
        parts = {"mel": self.mel_loss(y_hat, y), "stft": self.stft_loss(y_hat, y)}
        return parts, y_hat, y, tokens

    def train_step(self, x: torch.Tensor, given=None) -> tuple[dict, torch.Tensor]:
        cfg = self.cfg
        for g in self.opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(self.step, cfg.warmup, cfg.max_steps, cfg.lr_min_ratio)
        self.model.train()
        parts, y_hat, y, tokens = self._recon(x, given)
        loss = cfg.mel_weight * parts["mel"] + cfg.stft_weight * parts["stft"]
        if self.disc is not None and self.step >= cfg.adv_start:
            for g in self.opt_d.param_groups:
                g["lr"] = self.opt.param_groups[0]["lr"]
            y, y_hat = self._disc_window(y, y_hat)
            with autocast(self.device):
                d_loss = discriminator_loss(self.disc(y), self.disc(y_hat.detach()))
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            with autocast(self.device):
                adv, fm = generator_losses(self.disc(y), self.disc(y_hat))
            parts.update(disc=d_loss.detach(), adv=adv, fm=fm)
            loss = loss + cfg.adv_weight * adv + cfg.fm_weight * fm
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(self.trainable, cfg.grad_clip)
        self.opt.step()
        self.step += 1
        out = {k: float(v.detach()) for k, v in parts.items()}
        out.update(loss=float(loss.detach()), grad_norm=float(gnorm), lr=self.opt.param_groups[0]["lr"])
        return out, tokens.detach()

    def _disc_window(self, y: torch.Tensor, y_hat: torch.Tensor):
        """The same random window of target and prediction, disc_seconds long (B, n)."""
        if not self.cfg.disc_seconds:
            return y, y_hat
        n = min(y.shape[1], int(self.cfg.disc_seconds * self.codec_cfg.sample_rate))
        start = int(torch.randint(0, y.shape[1] - n + 1, ()))
        return y[:, start:start + n], y_hat[:, start:start + n]

    @torch.no_grad()
    def evaluate(self) -> dict:
        if self.eval_batch is None:
            return {}
        self.model.eval()
        parts, *_ = self._recon(self.eval_batch.to(self.device))
        out = {f"val_{k}": round(float(v), 5) for k, v in parts.items()}
        if self.latent_eval_batch is not None:  # the same loss on the acoustic model's latents
            x, lat = (t.to(self.device) for t in self.latent_eval_batch)
            use = torch.ones(x.shape[0], dtype=torch.bool, device=self.device)
            parts, *_ = self._recon(x, (lat, use))
            out |= {f"val_latents_{k}": round(float(v), 5) for k, v in parts.items()}
        return out

    # ---- the loop ------------------------------------------------------------
    def train(self) -> dict:
        cfg = self.cfg
        if cfg.latents:
            sampler = LatentCropSampler(self.train_clips, self.crop, cfg.batch, cfg.seed, self.step,
                                        Path(cfg.latents), self.codec_cfg.hop, cfg.latent_share)
        else:
            sampler = CropSampler(self.train_clips, self.crop, cfg.batch, cfg.seed, self.step)
        loader = torch.utils.data.DataLoader(sampler, batch_size=None, num_workers=cfg.workers)
        batches = iter(loader)
        sr = self.codec_cfg.sample_rate
        usage = CodeUsage(self.codec_cfg.n_codebooks, self.codec_cfg.codebook_size)
        bar = progress_bar(cfg.progress, cfg.max_steps, self.step, f"codec {cfg.run}")
        t_start = time.monotonic()
        window = Window()
        last = {}
        print(f"codec {self.codec_cfg.describe()} | params {self.model.parameter_counts()} | "
              f"{len(self.train_clips)} train / {len(self.held_clips)} held-out clips | device {self.device}")
        with checkpoint_on_interrupt(self, bar):
            while self.step < cfg.max_steps:
                if time_limit_reached(cfg.time_limit_min, t_start, self.step):
                    break
                t0 = time.perf_counter()
                item = next(batches)
                given = None
                if isinstance(item, (tuple, list)):  # LatentCropSampler: (x, latents, use)
                    item, lat, use = (t.to(self.device, non_blocking=True) for t in item)
                    given = (lat, use)
                x = item.to(self.device, non_blocking=True)
                parts, tokens = self.train_step(x, given)
                if self.device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                audio = x.numel() / sr
                self.stats["audio_seconds"] += audio
                self.stats["compute_seconds"] += dt
                usage.add(tokens)
                window.add(parts, dt, audio)
                if bar is not None:
                    bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    rec = window.record(self.step, parts["lr"], "audio_s_per_s", 3)
                    rec["code_perplexity"] = usage.perplexity()
                    self.log(rec)
                    last = rec
                    if bar is not None:
                        bar.set_postfix(loss=f"{rec['loss']:.3f}", mel=f"{rec['mel']:.3f}",
                                        audio_x=f"{rec['audio_s_per_s']:.2f}")
                    window = Window()
                eval_and_checkpoint(self, last)
        s = self.stats
        return finish(self, last,
                      total_audio_s_per_compute_s=round(s["audio_seconds"] / max(s["compute_seconds"], 1e-9), 3))


def _load_init(path: Path) -> dict:
    """--init-from: a training checkpoint or an exported directory (``checkpoint.init_payload``)."""
    from ..codec import weights as exported

    return ckpt.init_payload(path, KIND, "a codec", "codec_config", exported)


def _load_payload(checkpoint_path: Path) -> dict:
    """A codec training checkpoint's payload; a clear error for any other file."""
    return ckpt.load_checkpoint_of_kind(checkpoint_path, KIND, "a codec")


def _load_train_checkpoint(checkpoint_path: Path) -> tuple[Codec, dict]:
    p = _load_payload(checkpoint_path)
    codec = Codec(CodecConfig.from_dict(p["codec_config"]))
    codec.load_state_dict(p["model"])
    return codec.eval(), p


def codec_from_checkpoint(checkpoint_path: Path) -> Codec:
    """The codec of a training checkpoint, in eval mode on the CPU."""
    return _load_train_checkpoint(checkpoint_path)[0]


def codec_from_path(path: Path | str) -> Codec:
    """An exported codec directory (e.g. voices/codec) or a training checkpoint -> the codec, in eval
    mode on the CPU (what the codec benchmarks compare)."""
    from ..codec import load_codec

    path = Path(path)
    return load_codec(path) if path.is_dir() else codec_from_checkpoint(path)


def export_checkpoint(checkpoint_path: Path, out_dir: Path, dtype: torch.dtype = torch.float32) -> Path:
    """Write the codec of a training checkpoint as safetensors + config.json."""
    codec, p = _load_train_checkpoint(checkpoint_path)
    tc = p.get("train_config", {})
    meta = {"step": p["step"], "run": tc.get("run"), "heldout": HELDOUT_RULE,
            "trained_audio_hours": round(p.get("stats", {}).get("audio_seconds", 0.0) / 3600, 3),
            "losses": {"mel_weight": tc.get("mel_weight"), "stft_weight": tc.get("stft_weight"),
                       "adv_weight": tc.get("adv_weight")},
            "source_checkpoint": Path(checkpoint_path).name,
            "encoder_from": tc.get("init_from") if tc.get("freeze_encoder") else None}
    return save_codec(codec, out_dir, meta, dtype)


def resynthesize(codec: Codec, clips, out_dir: Path, count: int) -> Path:
    """Encode + decode `count` held-out clips; write <id>.orig.wav, <id>.codec.wav and resynth.jsonl."""
    import soundfile as sf

    from .audio_data import read_crop

    out_dir = writable_dir(out_dir, "resynthesis directory")
    sr = codec.cfg.sample_rate
    mel = MelLoss(sr)
    index = out_dir / "resynth.jsonl"
    with open(index, "w", encoding="utf-8") as f:
        for clip in clips[:count]:
            x = torch.from_numpy(read_crop(clip.path, 0, clip.frames))
            y = codec.decode(codec.encode(x, sr))[: clip.frames]
            sf.write(out_dir / f"{clip.id}.orig.wav", x.numpy(), sr)
            sf.write(out_dir / f"{clip.id}.codec.wav", y.clamp(-1, 1).cpu().numpy(), sr)
            with torch.no_grad():
                d = float(mel(y[None].cpu(), x[None]))
            f.write(json.dumps({"id": clip.id, "text": clip.text, "orig": f"{clip.id}.orig.wav",
                                "codec": f"{clip.id}.codec.wav", "mel_l1": round(d, 4)}) + "\n")
    return index
