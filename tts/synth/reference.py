"""The reference synthesis path: whole text in, whole waveform out, no streaming machinery.

Same text segmentation and phrase planning as a stream, then the plainest
possible decode: ``AcousticModel.step`` (the reference step, not the lean
one) frame by frame at batch 1, and one offline codec decode over all the
frames' latents (``Synthesizer.codec_input``), tail included. With
``Synthesizer.phrase_reset`` each phrase after the first starts from
``init_state``, a state built afresh rather than reset in place. Streams,
batches and text pieces must reproduce it: tokens exactly, samples to float
rounding (tests/test_synthesizer.py).
"""

from __future__ import annotations

import numpy as np
import torch

from .chunks import WordTimestamp
from .segment import text_phrases


@torch.no_grad()
def synthesize_ref(synth, text: str, voice=None, speed: float = 1.0) -> tuple[np.ndarray, torch.Tensor, list]:
    """-> (pcm (N,) float32, tokens (K, T), [WordTimestamp]), greedy decoding.

    N = (T - skip) * H + codec.cfg.tail_samples: the T frames' hop spans plus the
    overlap-add tail of the last windows, less the ``skip`` frames of opening
    silence not sent (``Synthesizer.lead_skip_frames``); tokens cover all T.
    """
    model, codec = synth.model, synth.codec
    vec, lang = synth.resolve_voice(voice)
    phrases = text_phrases(synth._frontend(lang), text, synth.clause_min_chars)
    conds, words, t0, starts, skip = [], [], 0, set(), 0
    shift, rate = model.cfg.cond_shift_frames, model.cfg.frame_rate
    for phrase in phrases:
        if t0 > 0 and synth.phrase_reset:
            starts.add(t0)
        plan = synth.plan_phrase(phrase.ids(), vec, speed=speed)
        if t0 == 0:  # the opening silence the model and codec run in on, not sent
            skip = synth.lead_skip_frames(plan)
        unit_start = (torch.cumsum(plan.frames, 0) - plan.frames).tolist()
        for w in phrase.words:  # phoneme i is unit i + 1 (unit 0 is the leading PAD)
            end = unit_start[w.end + 1] if w.end + 1 < len(unit_start) else plan.n_frames
            words.append(WordTimestamp(w.text, (t0 + unit_start[w.start + 1] + shift - skip) / rate,
                                       (t0 + end + shift - skip) / rate))
        conds.append(plan.cond)
        t0 += plan.n_frames
    cond = torch.cat(conds)
    mean = synth.codec_input == "mean"
    state, tokens, latents = model.init_state(1), [], []
    for t in range(cond.shape[0]):
        if t in starts:  # the phrase starts from a fresh state, as a new stream would
            state = model.init_state(1)
        tok, logits, state = model.step(state, cond[t:t + 1])
        tokens.append(tok[0])
        if mean:
            latents.append(model.layout.mean_latent(logits[0]))
    tokens = torch.stack(tokens, dim=1)  # (K, T)
    latent = torch.stack(latents)[None] if mean else codec.quantizer.dequantize(tokens[None])  # (1, T, K*G)
    wave, cstate = codec.decoder(latent)
    pcm = torch.cat([wave[0], cstate.tail[0]])[skip * synth.hop:].clamp(-1.0, 1.0)
    return pcm.float().cpu().numpy(), tokens, words
