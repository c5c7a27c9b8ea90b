"""The acoustic model's training loop (driven by ``statecast train acoustic``, tts/train/acoustic.py).

Loop: bucketed teacher-forced batches (``data.py``; ``jitter`` moves a share
of the input digits one level) -> token cross-entropy per FSQ digit +
duration MSE on log(1 + frames) -> AdamW with linear warmup and cosine
decay, gradient clipping, bf16 autocast on CUDA (fp32 on CPU). A run starts
from zeros, resumes its own newest checkpoint, or (``init_from``) starts fresh
from another run's weights with a new optimiser and schedule.
Checkpoints (model, optimiser, step, RNG) go to
``<cache>/train/acoustic/<run>/`` every ``ckpt_every`` steps and on Ctrl-C;
starting the same run again resumes from the newest. A JSONL log of losses,
held-out losses and throughput (training frames per second) sits beside
them. Lives in the model package rather than tts/train/ so that the CLI
module stays importable without torch.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import StatecastError
from ..paths import cache_root
from ..train import checkpoint as ckpt
from ..train.loop import (Window, append_jsonl, checkpoint_on_interrupt, eval_and_checkpoint, finish, lr_factor,
                          open_run, progress_bar, time_limit_reached)
from ..train.runtime import autocast
from .acoustic import AcousticModel
from .config import DEFAULT_VOICES, AcousticConfig
from .data import BatchSchedule, collate, load_examples, manifest_speakers, repeat_short
from .weights import save_acoustic

KIND = "statecast-acoustic-train"


@dataclass
class AcousticTrainConfig:
    run: str = "default"
    manifest: str | None = None  # None: <cache>/corpus/manifest.jsonl
    tokens_dir: str | None = None  # None: <cache>/tokens/<codec_id>
    codec_id: str = "default"
    device: str = "auto"
    threads: int = 1
    max_frames: int = 4096  # batch budget: B x longest clip, in 40 Hz frames
    lr: float = 1e-3
    lr_min_ratio: float = 0.1
    warmup: int = 300
    max_steps: int = 20000
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    dur_weight: float = 0.5
    log_every: int = 10
    eval_every: int = 250
    ckpt_every: int = 250
    keep: int = 3
    eval_batches: int = 4
    seed: int = 0
    time_limit_min: float | None = None
    stop_at: int | None = None  # stop (and checkpoint) at this step; the schedule still runs to max_steps
    progress: bool = True
    scan_impl: str = "auto"
    # Share of previous-frame input digits moved one level in training (exposure-bias noise;
    # held-out losses are always measured without it).
    jitter: float = 0.0
    # Share of previous-frame inputs read from the model's own greedy output of a first,
    # gradient-free teacher-forced pass (AcousticModel.forward); 0 = pure teacher forcing.
    self_feed: float = 0.0
    # Voices whose rows self-feed (the others stay teacher-forced); None = all voices.
    # Scheduled sampling helped bf_emma and hurt af_heart and joe (stops 11-12).
    self_feed_voices: list[str] | None = None
    # Share of clips whose leading silence is cut by a random number of frames (data.BatchSchedule).
    lead_trim: float = 0.0
    # Weight of the token loss on the frames around each clip's first sound (AcousticModel.losses);
    # 1 = every frame alike.
    onset_weight: float = 1.0
    # Times each short training clip (at most SHORT_CLIP_FRAMES) appears per epoch. The corpus
    # is mostly full sentences; one-word replies are a few percent of its frames, too few for
    # the model to learn to stop two syllables in (data.repeat_short).
    short_repeat: int = 1
    # A fresh run starts from this acoustic checkpoint's weights (new optimiser and schedule).
    init_from: str | None = None
    model: dict = field(default_factory=dict)  # AcousticConfig overrides for a fresh run


def run_dir(run: str) -> Path:
    return cache_root() / "train" / "acoustic" / run


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class AcousticTrainer:
    def __init__(self, cfg: AcousticTrainConfig, resume_from: Path | None = None, restart: bool = False):
        self.cfg = cfg
        run = open_run(cfg.device, cfg.threads, run_dir(cfg.run), KIND, "an acoustic", resume_from, restart)
        self.device, self.dir, self.log_path = run.device, run.dir, run.log_path
        resume, payload = run.resume, run.payload

        for name in ("jitter", "self_feed", "lead_trim"):  # a resume keeps the run's input noise
            saved = payload.get("train_config", {}).get(name) if payload else None
            if saved and getattr(cfg, name) == 0.0:
                setattr(cfg, name, float(saved))
                print(f"note: resuming with the run's --{name.replace('_', '-')} {saved}")
        saved = payload.get("train_config", {}).get("onset_weight") if payload else None
        if saved and saved != 1.0 and cfg.onset_weight == 1.0:
            cfg.onset_weight = float(saved)
            print(f"note: resuming with the run's --onset-weight {saved}")
        saved_voices = payload.get("train_config", {}).get("self_feed_voices") if payload else None
        if saved_voices and not cfg.self_feed_voices:
            cfg.self_feed_voices = list(saved_voices)
        init = _load_init(Path(cfg.init_from)) if payload is None and cfg.init_from else None
        if payload or init:
            self.model_cfg = AcousticConfig.from_dict((payload or init)["model_config"])
            if cfg.model:
                source = resume.name if payload else f"weights of {cfg.init_from}"
                print(f"note: starting from {source}; model overrides {cfg.model} ignored "
                      "(the checkpoint's config wins; use --restart without --init-from for a new model)")
        else:
            overrides = dict(cfg.model)
            if "voices" not in overrides:  # the teacher speakers, plus any new ones the corpus has
                extra = [s for s in manifest_speakers(cfg.manifest) if s not in DEFAULT_VOICES]
                overrides["voices"] = list(DEFAULT_VOICES) + extra
            self.model_cfg = AcousticConfig.from_dict({"codec_id": cfg.codec_id, **overrides})
        unknown = [v for v in cfg.self_feed_voices or [] if v not in self.model_cfg.voices]
        if unknown:
            raise StatecastError(f"--self-feed-voices {unknown} are not among the model's voices "
                                 f"{list(self.model_cfg.voices)}")
        torch.manual_seed(cfg.seed)
        self.model = AcousticModel(self.model_cfg).to(self.device)
        if init:
            self.model.load_state_dict(init["model"])
            print(f"initialised from {cfg.init_from} (step {init['step']})")
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():  # no decay on norms, biases, SSM scalars
            (no_decay if p.dim() < 2 or name.endswith(("A_log", "dt_bias", ".D")) else decay).append(p)
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.98))
        self.step = 0
        self.stats = {"frames": 0, "compute_seconds": 0.0}
        if payload:
            self.model.load_state_dict(payload["model"])
            self.opt.load_state_dict(payload["opt"])
            self.step = int(payload["step"])
            self.stats = dict(payload.get("stats", self.stats))
            ckpt.set_rng_state(payload["rng"])
            print(f"resumed {self.dir.name} at step {self.step} from {resume}")

        train, held, self.data_counts = load_examples(self.model_cfg, cfg.manifest, cfg.tokens_dir)
        train = repeat_short(train, cfg.short_repeat)
        self.schedule = BatchSchedule(train, cfg.max_frames, cfg.seed, lead_trim=cfg.lead_trim)
        held_batches = BatchSchedule(held, cfg.max_frames, cfg.seed).batches if held else []
        self.eval_batches = [collate([held[i] for i in b]) for b in held_batches[:cfg.eval_batches]]

    # ---- state ---------------------------------------------------------------
    def save(self) -> Path:
        payload = {"kind": KIND, "step": self.step, "model_config": self.model_cfg.to_dict(),
                   "train_config": dataclasses.asdict(self.cfg), "model": self.model.state_dict(),
                   "opt": self.opt.state_dict(), "rng": ckpt.rng_state(), "stats": self.stats}
        return ckpt.save_checkpoint(self.dir, self.step, payload, self.cfg.keep)

    def log(self, record: dict) -> None:
        append_jsonl(self.log_path, record)

    # ---- one step ------------------------------------------------------------
    def self_feed_share(self, voice_idx: torch.Tensor) -> float | torch.Tensor:
        """voice_idx (B,) -> the self-feed share: one float, or (B,) per-row shares."""
        cfg = self.cfg
        if not cfg.self_feed or not cfg.self_feed_voices:
            return cfg.self_feed
        chosen = torch.tensor([self.model_cfg.voices.index(v) for v in cfg.self_feed_voices])
        return torch.isin(voice_idx.cpu(), chosen).float().to(self.device) * cfg.self_feed

    def train_step(self, batch: dict) -> dict:
        cfg = self.cfg
        for g in self.opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(self.step, cfg.warmup, cfg.max_steps, cfg.lr_min_ratio)
        self.model.train()
        with autocast(self.device):
            parts = self.model.losses(_to(batch, self.device), impl=cfg.scan_impl, jitter=cfg.jitter,
                                      self_feed=self.self_feed_share(batch["voice"]),
                                      onset_weight=cfg.onset_weight)
        loss = parts["tokens"] + cfg.dur_weight * parts["duration"]
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        if not torch.isfinite(gnorm):
            raise StatecastError(f"non-finite gradient at step {self.step}: lower --lr or check the data")
        self.opt.step()
        self.step += 1
        out = {k: float(v.detach()) for k, v in parts.items()}
        out.update(loss=float(loss.detach()), grad_norm=float(gnorm), lr=self.opt.param_groups[0]["lr"])
        return out

    @torch.no_grad()
    def evaluate(self) -> dict:
        if not self.eval_batches:
            return {}
        self.model.eval()
        sums, n = {}, 0
        for batch in self.eval_batches:
            with autocast(self.device):
                parts = self.model.losses(_to(batch, self.device), impl=self.cfg.scan_impl)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            n += 1
        return {f"val_{k}": round(v / n, 5) for k, v in sums.items()}

    # ---- the loop ------------------------------------------------------------
    def train(self) -> dict:
        cfg = self.cfg
        bar = progress_bar(cfg.progress, cfg.max_steps, self.step, f"acoustic {cfg.run}")
        print(f"acoustic model {self.model.parameter_counts()} | {self.data_counts} | "
              f"{len(self.schedule)} batches/epoch | device {self.device}")
        t_start = time.monotonic()
        window = Window()
        last: dict = {}
        with checkpoint_on_interrupt(self, bar):
            end = min(cfg.max_steps, cfg.stop_at) if cfg.stop_at else cfg.max_steps
            while self.step < end:
                if time_limit_reached(cfg.time_limit_min, t_start, self.step):
                    break
                batch = self.schedule.batch(self.step)
                t0 = time.perf_counter()
                parts = self.train_step(batch)
                if self.device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                frames = int(batch["token_mask"].sum())
                self.stats["frames"] += frames
                self.stats["compute_seconds"] += dt
                window.add(parts, dt, frames)
                if bar is not None:
                    bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    rec = window.record(self.step, parts["lr"], "frames_per_s", 1)
                    self.log(rec)
                    last = rec
                    if bar is not None:
                        bar.set_postfix(loss=f"{rec['loss']:.3f}", dur=f"{rec['duration']:.3f}",
                                        fps=f"{rec['frames_per_s']:.0f}")
                    window = Window()
                eval_and_checkpoint(self, last)
        s = self.stats
        return finish(self, last, train_frames_per_s=round(s["frames"] / max(s["compute_seconds"], 1e-9), 1))


def _load_init(path: Path) -> dict:
    """--init-from: a training checkpoint or an exported directory (``checkpoint.init_payload``)."""
    from . import weights as exported

    return ckpt.init_payload(path, KIND, "an acoustic", "model_config", exported)


def _load_payload(checkpoint_path: Path) -> dict:
    """An acoustic training checkpoint's payload; a clear error for any other file."""
    return ckpt.load_checkpoint_of_kind(checkpoint_path, KIND, "an acoustic")


def export_checkpoint(checkpoint_path: Path, out_dir: Path, dtype: torch.dtype = torch.float32) -> Path:
    """Write the model of a training checkpoint as safetensors + config.json."""
    model, p = _load_train_checkpoint(checkpoint_path)
    tc = p.get("train_config", {})
    meta = {"step": p["step"], "run": tc.get("run"), "codec_id": model.cfg.codec_id,
            "trained_frames": p.get("stats", {}).get("frames", 0), "source_checkpoint": Path(checkpoint_path).name}
    if p.get("averaged_from"):  # statecast train average: each source's run/step and own recipe
        sources = [f"{Path(x).parent.name}/{Path(x).name}" for x in p["averaged_from"]]
        meta["run"] = Path(checkpoint_path).parent.name  # the average's own name, not its last source's
        meta["averaged_from"] = sources
        configs = p.get("averaged_train_configs") or [{}] * len(sources)
        meta["sources"] = [{"checkpoint": name, **_provenance(c)} for name, c in zip(sources, configs)]
    else:
        meta.update(_provenance(tc))
    return save_acoustic(model, out_dir, meta, dtype)


def _provenance(tc: dict) -> dict:
    """A run's training config -> {"init_from" (fine-tunes only), "recipe": the options it set}."""
    out = {"init_from": str(tc["init_from"])} if tc.get("init_from") else {}
    off = {"onset_weight": 1.0}  # an option's "not used" value, where it is not 0
    out["recipe"] = {k: tc[k] for k in ("lr", "max_steps", "jitter", "self_feed", "self_feed_voices", "lead_trim",
                                          "onset_weight")
                     if tc.get(k) not in (None, 0, 0.0, off.get(k, 0))}
    return out


def _load_train_checkpoint(checkpoint_path: Path) -> tuple[AcousticModel, dict]:
    """-> (the checkpoint's model in eval mode on the CPU, its payload)."""
    p = _load_payload(checkpoint_path)
    model = AcousticModel(AcousticConfig.from_dict(p["model_config"]))
    model.load_state_dict(p["model"])
    return model.eval(), p


def model_from_checkpoint(checkpoint_path: Path) -> AcousticModel:
    """The model of a training checkpoint, in eval mode on the CPU."""
    return _load_train_checkpoint(checkpoint_path)[0]
