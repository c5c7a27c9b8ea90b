"""Test helper: how much of a text's opening silence a Synthesizer decodes but does not send."""

from __future__ import annotations

from tts.synth.segment import text_phrases


def skipped(synth, text, voice=None):
    """Frames of ``text``'s opening silence decoded but not sent (Synthesizer.lead_send_frames)."""
    vec, lang = synth.resolve_voice(voice)
    phrase = text_phrases(synth._frontend(lang), text, synth.clause_min_chars)[0]
    return synth.lead_skip_frames(synth.plan_phrase(phrase.ids(), vec))
