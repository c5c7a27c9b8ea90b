"""The acoustic model: phonemes + voice -> codec tokens, one 40 Hz frame at a time.

Glossary of dimension letters (used in every docstring of ``tts/model``):

    B  batch (phrases in training; live streams at inference)
    S  units of a phrase: [PAD] + phonemes + [PAD]      E  d_text (encoder width)
    T  frames (40 Hz codec frames)                      D  d_model (decoder width)
    W  voice embedding width                            C  conv channels, d_inner + 2*G*N
    H  SSM heads    P  channels per head    N  state size per channel    G  Bm/Cm groups
    K  codebooks    Gd FSQ dims per codebook (written G where no clash)  V  max FSQ level

Pipeline:

    ids (B, S) -> TextEncoder -> h (B, S, E) -> DurationPredictor -> log(1 + frames) (B, S)
    h, frames -> length regulator -> frame conditioning cond (B, T, D)
                 (text projection + within-unit position + voice)
    x_t = cond_t + embed(digits of frame t-1)          (BOS digits at t = 0)
    x -> causal Mamba-2 stack -> RMSNorm -> head -> logits (B, T, K, Gd, V)

Training is teacher-forced: frame t sees the true tokens of frame t-1 and
the teacher's durations (``durations.py`` says why no aligner is needed).
Optionally a share of those input digits is moved one level (``jitter``), so
the decoder also learns to read slightly wrong input, as its own output is at
inference.
Inference plans a phrase once (encoder, durations, conditioning frames: one
batched pass) and then steps the decoder one frame at a time, carrying a
constant-size ``DecoderState`` per stream (``state.py``). The decoder's only
input from the text is the conditioning vector of the current frame, so
phrases arriving later are just appended to a stream's queue (``stream.py``)
while its state carries on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StatecastError
from ..text.symbols import PHRASE_END_MARKS, SYMBOL_TO_ID
from .config import AcousticConfig
from .durations import check_speed, frames_from_log, length_regulate
from .ssm import Mamba2Layer, RMSNorm
from .state import DecoderState
from .text_encoder import DurationPredictor, TextEncoder
from .tokens import TokenLayout

PAD_ID = 0  # tts.text.symbols.PAD: padding, and the silence unit at phrase edges
SENTENCE_END_IDS = tuple(SYMBOL_TO_ID[m] for m in PHRASE_END_MARKS)
MAX_PHRASE_UNITS = 1024


def _any_share(self_feed: float | torch.Tensor) -> bool:
    """Whether a self-feed share (a float, or (B,) per-row shares) feeds any row."""
    if isinstance(self_feed, torch.Tensor):
        return bool((self_feed > 0).any())
    return self_feed > 0


@dataclass
class PhrasePlan:
    """One phrase, ready for the decoder.

    ids (S,) units incl. the edge PADs; frames (S,) frames per unit;
    cond (T, D) conditioning of every frame, voice included.
    """

    ids: torch.Tensor
    frames: torch.Tensor
    cond: torch.Tensor

    @property
    def n_frames(self) -> int:
        return int(self.cond.shape[0])

    def unit_start_frames(self) -> torch.Tensor:
        """(S,) first frame of every unit (for word timestamps: phoneme i is unit i + 1)."""
        return torch.cumsum(self.frames, 0) - self.frames


ONSET_BEFORE = 2  # onset window: frames before a clip's first phoneme (its rise starts a frame early) ...
ONSET_AFTER = 8  # ... and after it (200 ms: the first word's first syllable)


def onset_frame_weights(lead: torch.Tensor, T: int, weight: float) -> torch.Tensor:
    """lead (B,) leading-silence frames -> (B, T) frame weights: ``weight`` on frames
    [lead - ONSET_BEFORE, lead + ONSET_AFTER), 1 elsewhere.

    The students lose a sentence's first word two to three times as often as
    any other (stop 13): its onset, from silence and a fresh state, is one
    event per clip, a few frames of thousands in a batch. Token frame t and
    conditioning frame t describe the same sound (``cond_shift_frames``), so
    the first phoneme's tokens start at frame ``lead``.
    """
    t = torch.arange(T, device=lead.device)[None]
    lead = lead[:, None]
    inside = (t >= lead - ONSET_BEFORE) & (t < lead + ONSET_AFTER)
    return 1.0 + inside.float() * (float(weight) - 1.0)


class AcousticModel(nn.Module):
    def __init__(self, cfg: AcousticConfig):
        super().__init__()
        self.cfg = cfg
        d_voice = cfg.d_model // 4
        self.layout = TokenLayout(cfg.levels, cfg.n_codebooks)
        self.encoder = TextEncoder(cfg)
        self.voice_embed = nn.Embedding(len(cfg.voices), d_voice)
        self.duration = DurationPredictor(cfg, d_voice)
        self.text_proj = nn.Linear(cfg.d_text, cfg.d_model)
        self.pos_proj = nn.Linear(3, cfg.d_model, bias=False)
        self.voice_proj = nn.Linear(d_voice, cfg.d_model, bias=False)
        self.digit_embed = nn.Embedding(self.layout.n_embed_rows, cfg.d_model)
        nn.init.normal_(self.digit_embed.weight, std=cfg.d_model ** -0.5)
        self.layers = nn.ModuleList(Mamba2Layer(cfg, i) for i in range(cfg.n_layers))
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.head = nn.Linear(cfg.d_model, self.layout.n_logits)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    # ---- text side (shared by training and inference) ------------------------------
    def conditioning(self, h: torch.Tensor, frames: torch.Tensor, voice: torch.Tensor,
                     n_frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """h (B, S, E), frames (B, S), voice (B, W) -> (cond (B, T, D), frame_mask (B, T))."""
        hf, pos, frame_mask = length_regulate(self.text_proj(h), frames, n_frames)
        cond = hf + self.pos_proj(pos) + self.voice_proj(voice).unsqueeze(1)
        return cond, frame_mask

    # ---- decoder -------------------------------------------------------------------
    def prev_rows(self, tokens: torch.Tensor, jitter: float = 0.0, own: torch.Tensor | None = None,
                  self_feed: float | torch.Tensor = 0.0) -> torch.Tensor:
        """Teacher forcing: tokens (B, K, T) -> embedding rows of frame t-1's digits (B, T, K*Gd).

        ``jitter`` > 0 moves that share of the input digits one level (training noise, see
        ``TokenLayout.jitter``); the targets are untouched. ``own`` (B, T, K, Gd): the
        model's own greedy digits per frame; a ``self_feed`` share of frames, drawn at
        random, is read from them instead of the teacher's (before any jitter). The share
        is one float for every row, or a (B,) tensor of per-row shares.
        """
        digits = self.layout.tokens_to_digits(tokens.transpose(1, 2))
        if own is not None and _any_share(self_feed):
            share = torch.as_tensor(self_feed, dtype=torch.float32, device=digits.device)
            share = share[:, None] if share.dim() == 1 else share
            pick = torch.rand(digits.shape[:2], device=digits.device) < share  # (B, T): whole frames
            digits = torch.where(pick[..., None, None], own, digits)
        digits = self.layout.jitter(digits, jitter)
        rows = self.layout.embed_index(digits)
        bos = self.layout.bos_index().expand(rows.shape[0], 1, -1)
        return torch.cat([bos, rows[:, :-1]], dim=1)

    def decode(self, x: torch.Tensor, state: DecoderState | None = None,
               impl: str = "auto") -> tuple[torch.Tensor, DecoderState | None]:
        """Decoder inputs x (B, L, D) -> (logits (B, L, K, Gd, V), state').

        With ``state`` the chunk continues that state (and returns the new one);
        without, it starts from zeros and returns None for the state.
        """
        new_conv, new_ssm = [], []
        for i, layer in enumerate(self.layers):
            layer_state = (state.conv[i], state.ssm[i]) if state is not None else None
            x, (c, s) = layer(x, layer_state, impl=impl)
            new_conv.append(c)
            new_ssm.append(s)
        logits = self.layout.shape_logits(self.head(self.norm_f(x)))
        if state is None:
            return logits, None
        return logits, DecoderState(new_conv, new_ssm, state.prev, state.frame)

    def forward(self, ids: torch.Tensor, id_mask: torch.Tensor, frames: torch.Tensor,
                voice_idx: torch.Tensor, tokens: torch.Tensor, impl: str = "auto", jitter: float = 0.0,
                self_feed: float | torch.Tensor = 0.0):
        """Offline, teacher-forced pass for training.

        ids / id_mask / frames (B, S) with the teacher's frames per unit; voice_idx (B,);
        tokens (B, K, T); ``jitter``: input-digit noise (``prev_rows``).
        ``self_feed`` > 0: one pass without gradients first gives the model's own greedy
        digits for every frame (teacher-forced), and that share of input frames reads
        them instead of the teacher's in the pass that is trained (parallel scheduled
        sampling: the model meets the mistakes it actually makes, not only one-level slips);
        a (B,) tensor gives each row its own share (e.g. only some voices self-feed).
        Returns (logits (B, T, K, Gd, V), log_dur (B, S), frame_mask (B, T)).
        """
        voice = self.voice_embed(voice_idx)
        h = self.encoder(ids, id_mask)
        log_dur = self.duration(h, voice, id_mask)
        cond, frame_mask = self.conditioning(h, frames, voice, tokens.shape[-1])
        own = None
        if _any_share(self_feed):
            with torch.no_grad():
                first, _ = self.decode(cond + self.digit_embed(self.prev_rows(tokens)).sum(-2), impl=impl)
                own = first.argmax(-1)  # (B, T, K, Gd): masked (padded) levels are -inf, never picked
        x = cond + self.digit_embed(self.prev_rows(tokens, jitter, own, self_feed)).sum(-2)
        logits, _ = self.decode(x, impl=impl)
        return logits, log_dur, frame_mask

    def losses(self, batch: dict, impl: str = "auto", jitter: float = 0.0,
               self_feed: float | torch.Tensor = 0.0, onset_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch dict (see ``data.collate``) -> {'tokens': CE per digit, 'duration': MSE of log(1+frames)}.

        ``onset_weight`` > 1 weighs the frames around each clip's first sound
        (``onset_frame_weights``) that much more in the token loss.
        """
        logits, log_dur, frame_mask = self(batch["ids"], batch["id_mask"], batch["frames"], batch["voice"],
                                           batch["tokens"], impl=impl, jitter=jitter, self_feed=self_feed)
        frame_mask = frame_mask & batch["token_mask"]
        digits = self.layout.tokens_to_digits(batch["tokens"].transpose(1, 2))
        weight = None
        if onset_weight != 1.0:
            weight = onset_frame_weights(batch["frames"][:, 0], frame_mask.shape[1], onset_weight)
        tok = self.layout.loss(logits, digits, frame_mask, weight)
        m = batch["id_mask"].float()
        target = torch.log1p(batch["frames"].float())
        dur = (((log_dur.float() - target) ** 2) * m).sum() / m.sum().clamp_min(1)
        return {"tokens": tok, "duration": dur}

    # ---- inference: voices and phrases -------------------------------------------------
    def voice_vector(self, voice: str | dict[str, float]) -> torch.Tensor:
        """A voice name, or {name: weight} to blend voices -> (W,) voice vector."""
        mix = {voice: 1.0} if isinstance(voice, str) else dict(voice)
        if not mix:
            raise StatecastError("a voice mix needs at least one voice")
        vec = torch.zeros_like(self.voice_embed.weight[0])
        total = 0.0
        for name, weight in mix.items():
            if name not in self.cfg.voices:
                raise StatecastError(f"unknown voice {name!r}; choose one of {', '.join(self.cfg.voices)}")
            if not isinstance(weight, (int, float)) or not weight >= 0:
                raise StatecastError(f"voice weight for {name!r} must be a number >= 0, got {weight!r}")
            vec = vec + float(weight) * self.voice_embed.weight[self.cfg.voices.index(name)]
            total += float(weight)
        if total <= 0:
            raise StatecastError("voice mix weights sum to zero")
        return (vec / total).detach()

    def check_ids(self, ids) -> torch.Tensor:
        """Phoneme ids (list or 1-D tensor) -> (S,) long, or a clear error."""
        t = torch.as_tensor(ids, dtype=torch.long).flatten()
        if t.numel() == 0:
            raise StatecastError("empty phrase: nothing to speak")
        if t.numel() + 2 > MAX_PHRASE_UNITS:
            raise StatecastError(f"phrase of {t.numel()} phonemes is longer than {MAX_PHRASE_UNITS - 2}")
        bad = (t < 0) | (t >= self.cfg.n_symbols)
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            raise StatecastError(f"phoneme id {int(t[i])} at position {i} is outside the symbol table "
                                 f"(0..{self.cfg.n_symbols - 1})")
        return t

    @torch.no_grad()
    def plan_phrase(self, ids, voice: torch.Tensor | str | dict, speed: float = 1.0,
                    frames: torch.Tensor | None = None, end_pause: int = 0, lead_frames: int = 0,
                    lead_max_frames: int = 0) -> PhrasePlan:
        """Phoneme ids (S-2,) + voice (vector (W,), name, or {name: weight}) -> PhrasePlan.

        Durations come from the predictor, scaled by 1 / speed, unless ``frames``
        (S,) gives them (teacher durations, tests). ``end_pause`` frames (also
        scaled by 1 / speed) are added to the predicted length of a final
        ``. ? !``: the silence in which the model winds a phrase down.
        ``lead_frames`` / ``lead_max_frames`` (0: no bound): the least / most frames
        the leading silence unit lasts.
        """
        body = self.check_ids(ids)
        if not isinstance(voice, torch.Tensor):
            voice = self.voice_vector(voice)
        speed = check_speed(speed, self.cfg.speed_min, self.cfg.speed_max)
        dev = self.device
        units = torch.cat([body.new_tensor([PAD_ID]), body, body.new_tensor([PAD_ID])]).to(dev)[None]
        mask = torch.ones_like(units, dtype=torch.bool)
        v = voice.to(dev)[None]
        h = self.encoder(units, mask)
        if frames is None:
            frames = frames_from_log(self.duration(h, v, mask), mask, speed)[0]
            if end_pause > 0 and body.numel() and int(body[-1]) in SENTENCE_END_IDS:
                frames[-2] += int(round(end_pause / speed))
            if lead_frames > 0:
                frames[0] = max(int(frames[0]), int(lead_frames))
            if lead_max_frames > 0:
                frames[0] = min(int(frames[0]), int(lead_max_frames))
        frames = torch.as_tensor(frames, dtype=torch.long, device=dev)
        if frames.shape != units.shape[1:]:
            raise StatecastError(f"frames must give one count per unit ({units.shape[1]}), got {tuple(frames.shape)}")
        if int(frames.sum()) == 0:
            frames = frames.clone()
            frames[1:-1] = 1  # a phrase always makes some sound: never plan zero frames
        cond, _ = self.conditioning(h, frames[None], v)
        return PhrasePlan(ids=units[0], frames=frames, cond=cond[0])

    # ---- inference: the decoder, one frame at a time -----------------------------------
    def init_state(self, batch: int = 1) -> DecoderState:
        """Zero state for ``batch`` new streams (BOS as the previous frame)."""
        dev = self.device
        conv, ssm = [], []
        for layer in self.layers:
            c, s = layer.zero_state(batch, dev)
            conv.append(c)
            ssm.append(s)
        prev = self.layout.bos_index().to(dev).expand(batch, -1).contiguous()
        return DecoderState(conv, ssm, prev, torch.zeros(batch, dtype=torch.long, device=dev))

    allocate_inference_cache = init_state  # the name Mamba's modules use

    def restart_streams_(self, state: DecoderState, rows: list[int]) -> DecoderState:
        """Streams ``rows`` of ``state`` continue as if new (what ``init_state`` gives), in place."""
        return state.restart_(rows, self.layout.bos_index().to(state.prev.device))

    @torch.no_grad()
    def step(self, state: DecoderState, cond: torch.Tensor, temperature: float = 0.0,
             force_tokens: torch.Tensor | None = None, generator: torch.Generator | None = None):
        """Advance a batch of streams one frame (reference path).

        state: B streams; cond (B, D): each stream's conditioning for its current
        frame. The next tokens are picked from the logits (argmax, or sampled at
        ``temperature``) unless ``force_tokens`` (B, K) supplies them (teacher forcing).
        Returns (tokens (B, K) long, logits (B, K, Gd, V), state), state updated in place.
        """
        if cond.shape != (state.batch_size, self.cfg.d_model):
            raise ValueError(f"cond must be (B, D) = {(state.batch_size, self.cfg.d_model)}, got {tuple(cond.shape)}")
        x = cond + F.embedding_bag(state.prev, self.digit_embed.weight, mode="sum")
        for i, layer in enumerate(self.layers):
            x, state.conv[i], state.ssm[i] = layer.step(x, state.conv[i], state.ssm[i])
        logits = self.layout.shape_logits(self.head(self.norm_f(x)))
        return self._commit(state, logits, temperature, force_tokens, generator)

    def _commit(self, state, logits, temperature, force_tokens, generator):
        """Pick (or take) this frame's tokens and make them the next frame's input."""
        if force_tokens is not None:
            digits = self.layout.tokens_to_digits(force_tokens.to(logits.device))
        else:
            digits = self.layout.pick(logits, temperature, generator)
        state.prev = self.layout.embed_index(digits)
        state.frame = state.frame + 1
        return self.layout.digits_to_tokens(digits), logits, state

    @torch.no_grad()
    def decode_chunk(self, state: DecoderState, cond: torch.Tensor, tokens: torch.Tensor):
        """Teacher-forced chunk of L frames continuing ``state`` (prefill, tests).

        cond (B, L, D), tokens (B, K, L): the tokens of these L frames (frame j's
        input is frame j-1's tokens, the first from ``state.prev``).
        Returns (logits (B, L, K, Gd, V), state'), state' ready for the frame after.
        """
        if tokens.shape[-1] < 1 or cond.shape[:2] != (tokens.shape[0], tokens.shape[-1]):
            raise ValueError(f"cond (B, L, D) {tuple(cond.shape)} and tokens (B, K, L) {tuple(tokens.shape)} "
                             "must agree on B and L >= 1")
        rows = self.layout.embed_index(self.layout.tokens_to_digits(tokens.transpose(1, 2)))
        prev = torch.cat([state.prev.unsqueeze(1), rows[:, :-1]], dim=1)  # (B, L, K*Gd)
        x = cond + self.digit_embed(prev).sum(-2)
        logits, new = self.decode(x, state)
        new.prev = rows[:, -1].contiguous()
        new.frame = state.frame + tokens.shape[-1]
        return logits, new

    def parameter_counts(self) -> dict[str, int]:
        def count(m):
            return sum(p.numel() for p in m.parameters())

        text = count(self.encoder) + count(self.duration) + count(self.text_proj) + count(self.pos_proj)
        dec = count(self.layers) + count(self.norm_f) + count(self.head) + count(self.digit_embed)
        return {"text": text, "decoder": dec, "voices": count(self.voice_embed) + count(self.voice_proj),
                "total": count(self)}
