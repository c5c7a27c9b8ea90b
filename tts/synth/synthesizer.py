"""``Synthesizer``: the one Python API the server and the CLI use.

    synth = Synthesizer.load()                       # voices/ (or $STATECAST_VOICES), once
    for chunk in synth.stream("Hello there.", voice="af_heart", speed=1.0):
        play(chunk.pcm)                              # (N,) float32 at synth.sample_rate

    s = synth.open({"af_heart": 0.7, "bf_emma": 0.3})   # input streaming: text in pieces
    s.push("The total is $4"); s.push("2.50. Shall I")  # complete phrases are planned as they close
    chunk = s.read(2)                                   # 2 frames (50 ms) of audio, words inside it
    s.push(" book it?"); s.close()                      # then read until chunk.final

    synth.step_streams([s1, s2, s3], [8, 8, 2])         # the server's tick: one batched step sequence

Per frame: acoustic decoder step (native C or ``LeanStepper``, batched over
streams) -> K tokens, fed back to the decoder, and the codec latent (by
default the expected latent under the step's digit distributions,
``TokenLayout.mean_latent``; ``codec_input="tokens"`` decodes the argmax
tokens instead) -> streaming codec decoder (batched over streams asking for
the same number of frames) -> 600 samples. A stream's final chunk also carries
the codec's overlap-add tail (the last 3 hops of its windows), so the audio
ends with the full window of its last frame, after every word's end.

Phrases. Each phrase (a sentence, or a clause of a long one) is decoded
from a fresh acoustic state (``phrase_reset``, the default): the model was
trained on single-sentence clips that all start from the zero state, and
carrying the state over a phrase boundary put it somewhere it never learnt
to be. Measured on the 22 multi-phrase or unpunctuated sentences of the two
sentence sets, five voices (benchmarks/phrase_edges_ab.py): 135 Whisper
word errors carrying the state, 104 restarting it, 85 restarting it with
every phrase ending as a sentence (``segment.end_as_sentence``). The codec
state carries on, so the audio has no seam; ``phrase_reset=False`` keeps
the acoustic state across phrases.

``end_pause_frames`` more frames of a phrase's final ``. ? !`` give the
model time to wind down. Of five short phrases ("Hello!", "Hello.",
"Thanks.", "Great.", "Great!") x five voices, 13 of the 25 renders were
still above -50 dB when the audio ended; 4 more frames (100 ms) left 4.
But the public set's word errors did not improve (107 without, 111 with;
results/eval_voices_end_pause4.json), so it is off by default
(END_PAUSE_FRAMES = 0).

Leading silence. Every phrase is planned with at least ``lead_frames``
(8, 200 ms) of silence before its first phoneme. The duration predictor
gives joe's phrases 0-2 frames (its Piper teacher leaves about 2), so joe
began speaking on the stream's first frames, from a fresh acoustic state
and the codec's zero state, and lost its first word three times as often
as the Kokoro voices (whose predicted leads were 8-20 frames). Over both
sentence sets (benchmarks/onset_ab.py), joe's Whisper errors fell from 143
to 119 and its first-word errors from 31 to 13. The shipped model (`sfc`,
trained on randomly shortened leads) plans the Kokoro voices 6-14 frames,
so the floor now lifts many of their phrases too; its numbers include it.
Priming only the codec with the model's own silence recovered most of
joe's gain; priming it with the Kokoro voices' silence token did not: the
codec needs the voice's own silence before it. Shortening the Kokoro voices' leads to 8 frames
(``lead_max_frames``) was far worse (af_heart 139 -> 257 errors), so the
predicted lead is never cut by default.

Opening silence not sent. That lead is run-in for the model and the codec,
not something the listener needs to hear: the planned lead is 200-350 ms of
near-digital silence (under -65 dBFS, measured on all five voices), and a
listener whose first chunk arrives in 15 ms would still wait that long for
the first word. So a stream decodes its first phrase's whole lead but sends
only its last ``lead_send_frames`` (2, 50 ms, before the first phoneme's
frame; onsets start to rise one frame early). The stream's first read decodes
the unsent frames on top of the frames asked for (up to about 14 more steps,
~15 ms on one thread), and every word timestamp moves back by them. Later
phrases keep their leads: those are the pauses between sentences.
``lead_send_frames=None`` sends everything.

Numbers are those of ``reference.synthesize_ref`` (reference decoder step,
offline codec decode, no batching), which the tests hold equal to streaming
and batched synthesis.
"""

from __future__ import annotations

import itertools
import math
import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..errors import StatecastError
from ..model.acoustic import PhrasePlan
from ..model.durations import check_speed
from ..model.native_step import make_stepper
from ..model.state import DecoderState
from ..text.frontend import Frontend
from ..voices import VoiceBundle, check_mix, load_bundle
from .chunks import AudioChunk, chunk_frames
from .segment import CLAUSE_MIN_CHARS
from .stream import SynthesisStream


END_PAUSE_FRAMES = 0  # off: measured, no gain in word errors (module docstring)
LEAD_FRAMES = 8  # at least 200 ms of silence before a phrase's first phoneme (module docstring)
LEAD_MAX_FRAMES = 0  # never cut the predicted lead: measured, far worse for the Kokoro voices
LEAD_SEND_FRAMES = 2  # of a stream's opening silence, send only the last 50 ms (module docstring)


class Synthesizer:
    """Loaded voices + models; opens streams and steps them (thread-safe, compute under one lock)."""

    CODEC_INPUTS = ("mean", "tokens")

    def __init__(self, bundle: VoiceBundle, clause_min_chars: int = CLAUSE_MIN_CHARS, compile: bool = False,
                 native: bool = True, codec_input: str = "mean", phrase_reset: bool = True,
                 end_pause_frames: int = END_PAUSE_FRAMES, lead_frames: int = LEAD_FRAMES,
                 lead_max_frames: int = LEAD_MAX_FRAMES, lead_send_frames: int | None = LEAD_SEND_FRAMES):
        if codec_input not in self.CODEC_INPUTS:
            raise StatecastError(f"codec_input must be one of {', '.join(self.CODEC_INPUTS)}, got {codec_input!r}")
        self.codec_input = codec_input
        self.phrase_reset = bool(phrase_reset)  # each phrase from a fresh acoustic state (module docstring)
        for name, value in (("end_pause_frames", end_pause_frames), ("lead_frames", lead_frames),
                            ("lead_max_frames", lead_max_frames)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 40:
                raise StatecastError(f"{name} must be an int in [0, 40], got {value!r}")
        if lead_max_frames and lead_max_frames < lead_frames:
            raise StatecastError(f"lead_max_frames ({lead_max_frames}) is below lead_frames ({lead_frames})")
        if lead_send_frames is not None and (isinstance(lead_send_frames, bool) or not isinstance(lead_send_frames, int)
                                             or not 0 <= lead_send_frames <= 40):
            raise StatecastError(f"lead_send_frames must be None (send all) or an int in [0, 40], got {lead_send_frames!r}")
        self.end_pause_frames = end_pause_frames  # frames added to a phrase's final . ? ! (module docstring)
        self.lead_frames = lead_frames  # least frames of silence before a phrase's first sound
        self.lead_max_frames = lead_max_frames  # most such frames (0: as predicted)
        self.lead_send_frames = lead_send_frames  # of a stream's opening silence, frames sent (None: all)
        self.bundle = bundle
        self.model = bundle.acoustic
        self.codec = bundle.codec
        self.sample_rate: int = int(self.codec.cfg.sample_rate)
        self.hop: int = int(self.codec.cfg.hop)
        self.frame_rate: float = float(self.model.cfg.frame_rate)
        self.default_voice: str = bundle.default
        self.speed_range = (float(self.model.cfg.speed_min), float(self.model.cfg.speed_max))
        self.clause_min_chars = clause_min_chars
        # The native C step (built once with gcc, cached) is ~2x faster per
        # frame than the torch step; it falls back to the torch step, with
        # one log line, where it cannot be built.
        self._stepper = make_stepper(self.model, native=native, compile=compile)
        self._frontends: dict[str, Frontend] = {}
        self._lock = threading.RLock()

    @classmethod
    def load(cls, voices_dir: str | Path | None = None, threads: int = 1, device: str = "cpu",
             warm: bool = True, compile: bool = False, native: bool = True,
             codec_input: str = "mean", phrase_reset: bool = True,
             end_pause_frames: int = END_PAUSE_FRAMES, lead_frames: int = LEAD_FRAMES,
             lead_max_frames: int = LEAD_MAX_FRAMES,
             lead_send_frames: int | None = LEAD_SEND_FRAMES) -> "Synthesizer":
        """Load a voice bundle (``tts.voices``): ``voices_dir``, else $STATECAST_VOICES, else <repo>/voices.

        ``threads`` sets torch's intra-op threads for this process (one per
        inference worker is fastest on a busy CPU). ``warm`` runs one short
        phrase so the first request does not pay for lazy initialisation.
        ``compile`` runs the decoder step through torch.compile (about 25 s
        more at load, about 25% less per frame: benchmarks/bench_acoustic_step.py).
        ``native`` (default) uses the C decoder step (``tts.model.native_step``);
        ``STATECAST_NATIVE=0`` or ``native=False`` keeps the torch step.
        ``codec_input``: "mean" (default) decodes the expected latent of each
        greedy frame, "tokens" the argmax tokens (see ``TokenLayout.mean_latent``).
        ``phrase_reset`` (default) decodes each phrase from a fresh acoustic state;
        ``end_pause_frames`` lengthens each phrase's final mark; ``lead_frames`` /
        ``lead_max_frames`` bound each phrase's leading silence; ``lead_send_frames``
        is how much of a stream's opening silence is sent (module docstring).
        """
        if not isinstance(threads, int) or threads < 1:
            raise StatecastError(f"threads must be a positive integer, got {threads!r}")
        try:
            torch.device(device)
        except RuntimeError:
            raise StatecastError(f"unknown device {device!r}") from None
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise StatecastError(f"device {device!r} asked for, but torch sees no CUDA device")
        torch.set_num_threads(threads)
        synth = cls(load_bundle(voices_dir, device=device), compile=compile, native=native,
                    codec_input=codec_input, phrase_reset=phrase_reset, end_pause_frames=end_pause_frames,
                    lead_frames=lead_frames, lead_max_frames=lead_max_frames,
                    lead_send_frames=lead_send_frames)
        if warm:
            synth._warm()
        return synth

    def _warm(self) -> None:
        """One stream alone, then two batched (a compiled step specialises batch 1 apart)."""
        for _ in self.stream("Hi.", first_chunk_frames=1):
            pass
        pair = [self.open(), self.open()]
        for s in pair:
            s.push("Hi.")
            s.close()
        while not all(s.done for s in pair):
            self.step_streams([s for s in pair if not s.done], [2, 1][: sum(not s.done for s in pair)])

    # ---- voices --------------------------------------------------------------------------
    def voices(self) -> list[dict]:
        """[{"name", "lang", "gender", "accent", "description"}] in voices.json order."""
        return [v.public() for v in self.bundle.voices.values()]

    def plan_phrase(self, ids, voice_vec: torch.Tensor, speed: float = 1.0) -> PhrasePlan:
        """Phoneme ids + voice vector (W,) -> the phrase planned with this synthesizer's
        phrase options (end pause, lead floor and cap): the one place streams, the
        reference path and the benchmarks plan a phrase."""
        return self.model.plan_phrase(ids, voice_vec, speed=speed, end_pause=self.end_pause_frames,
                                      lead_frames=self.lead_frames, lead_max_frames=self.lead_max_frames)

    def lead_skip_frames(self, plan: PhrasePlan) -> int:
        """Frames of a stream's first phrase decoded but not sent: its leading silence
        beyond the last ``lead_send_frames`` (0 when those are None)."""
        if self.lead_send_frames is None:
            return 0
        return max(0, int(plan.frames[0]) - self.lead_send_frames)

    def _frontend(self, lang: str) -> Frontend:
        if lang not in self._frontends:
            self._frontends[lang] = Frontend(lang)
        return self._frontends[lang]

    def resolve_voice(self, voice: str | dict[str, float] | None) -> tuple[torch.Tensor, str]:
        """A name, a {name: weight} mix or None (default) -> ((W,) voice vector, language)."""
        voices = self.bundle.voices
        if voice is None:
            voice = self.default_voice
        if isinstance(voice, str):
            mix = check_mix({voice: 1.0}, voices)
        elif isinstance(voice, dict):
            mix = check_mix(voice, voices)
        else:
            raise StatecastError(f"voice must be a name or a {{name: weight}} mix, got {type(voice).__name__}")
        speakers: dict[str, float] = {}
        for name, w in mix.items():
            spk = voices[name].speaker
            speakers[spk] = speakers.get(spk, 0.0) + w
        vec = self.model.voice_vector(speakers)
        # A blend speaks the language of its heaviest voice (ties: first listed).
        lead = max(mix, key=lambda n: mix[n])
        return vec, voices[lead].lang

    # ---- streams -------------------------------------------------------------------------
    def open(self, voice: str | dict[str, float] | None = None, speed: float = 1.0,
             temperature: float = 0.0, seed: int | None = None) -> SynthesisStream:
        """A new stream; voice, speed and temperature are checked now (StatecastError)."""
        vec, lang = self.resolve_voice(voice)
        speed = check_speed(speed, *self.speed_range)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
                or not math.isfinite(temperature) or not 0 <= temperature <= 2:
            raise StatecastError(f"temperature {temperature!r} is outside [0, 2]")
        with self._lock:
            return SynthesisStream(self, voice if voice is not None else self.default_voice, vec, lang,
                                   speed, temperature, seed)

    def stream(self, text: str, voice: str | dict[str, float] | None = None, speed: float = 1.0,
               first_chunk_frames: int = 2, chunk_frames: int = 8, **open_kw) -> Iterator[AudioChunk]:
        """Speak a whole text: open, push, close, then chunks until the final one.

        Input errors (empty text, unknown voice, bad speed) raise here, before
        the first chunk is asked for.
        """
        if not isinstance(text, str) or not text.strip():
            raise StatecastError("empty text: nothing to speak")
        for n in (first_chunk_frames, chunk_frames):
            if not isinstance(n, int) or n < 1:
                raise StatecastError(f"chunk sizes must be positive frame counts, got {n!r}")
        s = self.open(voice, speed, **open_kw)
        try:
            s.push(text)
            s.close()
        except BaseException:
            s.cancel()
            raise
        return _drain(s, first_chunk_frames, chunk_frames)

    def synthesize(self, text: str, voice=None, speed: float = 1.0, **kw) -> tuple[np.ndarray, list]:
        """Whole text -> (pcm (N,) float32, [WordTimestamp]): the stream's chunks joined."""
        chunks = list(self.stream(text, voice, speed, **kw))
        return np.concatenate([c.pcm for c in chunks]), [w for c in chunks for w in c.words]

    # ---- the batched step ------------------------------------------------------------------
    def step_streams(self, streams: list[SynthesisStream], frames: list[int],
                     max_steps: int | None = None) -> list[AudioChunk | None]:
        """Advance several streams together; streams[i] gets up to frames[i] frames.

        One acoustic step per frame for the whole batch (streams leave it as
        their share runs out), then one codec call per group of streams asking
        for the same number of frames. Entry i is None when that stream has
        nothing ready (no planned frames and not closed) or has already
        finished. Bit-for-bit a batch gives each stream what stepping it
        alone would (tested).

        A stream's first read also decodes the opening silence it does not
        send (``lead_send_frames``), so it can be several times longer than
        the others. ``max_steps`` caps every stream's decoding in this call:
        a first read cut short returns a chunk with no samples and goes on
        with the rest of its silence next call. The audio is the same as
        without the cap (tested); the server uses it so that a newcomer's long
        first read does not hold back the other streams' chunks in its tick.
        """
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps must be an int >= 1 or None, got {max_steps!r}")
        if len(streams) != len(frames):
            raise ValueError(f"{len(streams)} streams but {len(frames)} frame counts")
        if len({id(s) for s in streams}) != len(streams):
            raise ValueError("a stream appears twice in one step")
        with self._lock, torch.no_grad():
            counts = []
            for s, n in zip(streams, frames):
                if s._synth is not self:
                    raise ValueError(f"stream {s.id} belongs to another Synthesizer")
                s._check_live()
                if not isinstance(n, int) or n < 0:
                    raise ValueError(f"frame counts must be ints >= 0, got {n!r}")
                # A stream's first read also decodes the opening silence it will not send.
                count = 0 if s.done or n == 0 else min(n + s._skip_frames, s.frames_ready)
                if max_steps is not None and count > max_steps:
                    # Cut short: silence only while some is left, so the first chunk still
                    # holds all the frames asked for; else a plain shorter read.
                    count = min(s._skip_frames, max_steps) or max_steps
                counts.append(count)
            busy = [i for i, n in enumerate(counts) if n > 0]
            latents = self._acoustic(streams, counts, busy)
            pcm = self._codec(streams, counts, busy, latents)
            return [self._chunk(s, pcm.get(i)) for i, s in enumerate(streams)]

    def _acoustic(self, streams, counts, busy) -> dict[int, torch.Tensor]:
        """Decoder steps for streams ``busy``: {i: codec latent (counts[i], K*G)}; their states advance."""
        if not busy:
            return {}
        order = sorted(busy, key=lambda i: -counts[i])  # the batch shrinks from the end
        n_max = counts[order[0]]
        D = self.model.cfg.d_model
        cond = torch.zeros(len(order), n_max, D, device=self.model.device)
        restarts: dict[int, list[int]] = {}  # frame t -> rows that open a new phrase there
        for row, i in enumerate(order):
            cond[row, :counts[i]], starts = streams[i]._queue.take_with_starts(counts[i])
            if self.phrase_reset:
                for t in starts:
                    restarts.setdefault(t, []).append(row)
        # One stream steps its own state in place; a batch steps a stacked copy.
        state = streams[order[0]]._dec if len(order) == 1 else DecoderState.cat([streams[i]._dec for i in order])
        layout = self.model.layout
        out = torch.empty(len(order), n_max, layout.n_codebooks * layout.n_dims, device=cond.device)
        live = len(order)
        mean = self.codec_input == "mean"
        for t in range(n_max):
            while counts[order[live - 1]] <= t:  # streams whose share is done leave the batch
                live -= 1
                streams[order[live]]._dec = state.gather([live])
                state = state.gather(list(range(live)))
            if t in restarts:  # rows still live: a stream whose share ended took no row at t
                self.model.restart_streams_(state, restarts[t])
            tok, logits, state = self._stepper.step(state, cond[:live, t])
            out[:live, t] = layout.mean_latent(logits) if mean else layout.latent(layout.tokens_to_digits(tok))
            for row in range(live):
                s = streams[order[row]]
                if s.temperature > 0:  # sampled streams re-pick their own row with their own generator
                    digits = layout.pick(logits[row:row + 1], s.temperature, s._generator)
                    state.prev[row] = layout.embed_index(digits)[0]
                    out[row, t] = layout.latent(digits)[0]  # a sampled frame sounds as sampled
        if len(order) == 1:
            streams[order[0]]._dec = state
        else:
            for row in range(live):
                streams[order[row]]._dec = state.gather([row])
        return {i: out[row, :counts[i]] for row, i in enumerate(order)}

    def _codec(self, streams, counts, busy, latents) -> dict[int, torch.Tensor]:
        """Codec decode of ``latents`` for streams ``busy``, batched by frame count: {i: pcm (counts[i] * H,)}."""
        groups: dict[int, list[int]] = {}
        for i in busy:
            groups.setdefault(counts[i], []).append(i)
        pcm = {}
        for n, members in groups.items():
            state = type(streams[members[0]]._codec).cat([streams[i]._codec for i in members])
            wave, state = self.codec.decoder(torch.stack([latents[i] for i in members]), state)  # (b, n, K*G)
            for row, i in enumerate(members):
                streams[i]._codec = state.select([row])
                pcm[i] = wave[row]
        return pcm

    def _chunk(self, s: SynthesisStream, pcm: torch.Tensor | None) -> AudioChunk | None:
        """Wrap a stream's new samples (and, when it is drained, its codec tail) as a chunk."""
        if s._final_sent:
            return None
        final = s._drained
        if final:
            tail = s._codec.tail[0]
            pcm = tail if pcm is None else torch.cat([pcm, tail])
        if pcm is None:
            return None
        if s._skip_frames:  # the opening silence the model and codec ran in on, not sent
            drop = min(s._skip_frames, pcm.shape[0] // self.hop)
            pcm = pcm[drop * self.hop:]
            s._skip_frames -= drop
        wave = pcm.clamp(-1.0, 1.0).float().cpu().numpy()
        start = s._samples / self.sample_rate
        s._samples += wave.shape[0]
        words = s._take_words(s._samples / self.sample_rate, final)
        if final:
            s._final_sent = True
            s._release()
        return AudioChunk(pcm=wave, start=start, words=words, final=final)


def _drain(s: SynthesisStream, first: int, rest: int) -> Iterator[AudioChunk]:
    try:
        for index in itertools.count():
            chunk = s.read(chunk_frames(first, rest, index))
            if chunk is None:  # cannot happen on a closed stream; guard against a spin
                raise RuntimeError(f"closed stream {s.id} produced nothing")
            yield chunk
            if chunk.final:
                return
    finally:
        if not s.done:  # the consumer stopped early: free the state now
            s.cancel()
