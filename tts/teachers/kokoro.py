"""Kokoro-82M (int8 ONNX, Apache-2.0) as a teacher, fed our phonemes."""

from __future__ import annotations

import numpy as np

from ..errors import StatecastError, require
from . import TARGET_SAMPLE_RATE, TeacherAudio
from .assets import kokoro_model, kokoro_voice_file
from .onnx_session import session

SAMPLE_RATE = 24000
FRAME = 600  # samples per duration frame of Kokoro's predictor (40 Hz)
MAX_TOKENS = 510

# English voices (a* American, b* British) and the espeak language they read.
KOKORO_VOICES = {
    **{v: "en-us" for v in (
        "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova",
        "af_river", "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam",
        "am_michael", "am_onyx", "am_puck")},
    **{v: "en-gb" for v in (
        "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george", "bm_lewis")},
}


class KokoroTeacher:
    teacher = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(self, voice: str, threads: int = 1):
        if voice not in KOKORO_VOICES:
            raise StatecastError(f"unknown Kokoro voice {voice!r}; English voices: {', '.join(KOKORO_VOICES)}")
        self.voice = voice
        self.lang = KOKORO_VOICES[voice]
        config = require("kokoro_onnx.config", "teachers")
        self.vocab: dict[str, int] = config.DEFAULT_VOCAB
        self.styles = np.fromfile(kokoro_voice_file(voice), dtype=np.float32).reshape(-1, 1, 256)
        self.sess = session(kokoro_model(), threads)

    def synthesize(self, phonemes: str, speed: float = 1.0) -> TeacherAudio:
        """Speak ``phonemes`` (our IPA string; every character must be in Kokoro's vocabulary)."""
        missing = sorted({ch for ch in phonemes if ch not in self.vocab})
        if missing:
            raise StatecastError(f"phonemes not in Kokoro's vocabulary: {''.join(missing)!r}")
        if not phonemes or len(phonemes) > MAX_TOKENS:
            raise StatecastError(f"Kokoro takes 1..{MAX_TOKENS} phonemes, got {len(phonemes)}")
        tokens = [0, *(self.vocab[ch] for ch in phonemes), 0]
        audio, frames = self.sess.run(
            None,
            {
                "tokens": np.array([tokens], dtype=np.int64),
                # Kokoro's voice packs hold one style vector per input length.
                "style": self.styles[len(phonemes)],
                "speed": np.array([speed], dtype=np.float32),
            },
        )
        seconds = frames.reshape(-1).astype(np.float64) * FRAME / SAMPLE_RATE
        assert TARGET_SAMPLE_RATE == SAMPLE_RATE
        return TeacherAudio(
            audio=audio.reshape(-1).astype(np.float32),
            sample_rate=SAMPLE_RATE,
            durations=seconds[1:-1],
            lead=float(seconds[0]),
            trail=float(seconds[-1]),
        )
