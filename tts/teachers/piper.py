"""Piper VITS en_US-joe-medium (voice CC0) as a teacher, fed our phonemes.

We run the ONNX graph ourselves rather than importing ``piper-tts`` (GPL):
the voice's JSON config carries everything needed (phoneme id map, scales).
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import StatecastError
from . import TeacherAudio
from .assets import piper_model
from .onnx_session import session

PIPER_VOICES = {"joe": "en-us"}

# Our symbols that joe's id map lacks, and what to read instead.
_SUBSTITUTE = {"—": ",", "…": ".", "“": '"', "”": '"', "ᵊ": "ə", "ʧ": "tʃ", "ʤ": "dʒ", "ʦ": "ts", "ʣ": "dz",
               "ʨ": "tɕ", "ʥ": "dʑ"}


class PiperTeacher:
    teacher = "piper"

    def __init__(self, voice: str = "joe", threads: int = 1):
        if voice not in PIPER_VOICES:
            raise StatecastError(f"unknown Piper voice {voice!r}; known: {', '.join(PIPER_VOICES)}")
        self.voice = voice
        self.lang = PIPER_VOICES[voice]
        model, config_path = piper_model()
        config = json.loads(config_path.read_text())
        self.sample_rate = int(config["audio"]["sample_rate"])
        self.hop = int(config["audio"].get("hop_length", 256))
        self.id_map: dict[str, list[int]] = config["phoneme_id_map"]
        inference = config["inference"]
        self.scales = np.array(
            [inference["noise_scale"], inference["length_scale"], inference["noise_w"]], dtype=np.float32
        )
        self.sess = session(model, threads)

    def _ids(self, phonemes: str) -> tuple[list[int], list[int]]:
        """Piper's id layout: BOS, PAD, then each phoneme followed by PAD, then EOS.

        Returns the ids and, for each id, the index of our phoneme character it
        belongs to (-1 for BOS / its PAD, len(phonemes) for EOS), so durations
        can be summed back per character.
        """
        pad, bos, eos = self.id_map["_"][0], self.id_map["^"][0], self.id_map["$"][0]
        ids, owner = [bos, pad], [-1, -1]
        for i, ch in enumerate(phonemes):
            for sub in _SUBSTITUTE.get(ch, ch):
                if sub not in self.id_map:
                    raise StatecastError(f"phoneme {sub!r} is not in Piper's id map")
                ids += [self.id_map[sub][0], pad]
                owner += [i, i]
        ids.append(eos)
        owner.append(len(phonemes))
        return ids, owner

    def synthesize(self, phonemes: str, speed: float = 1.0) -> TeacherAudio:
        if not phonemes:
            raise StatecastError("Piper needs at least one phoneme")
        ids, owner = self._ids(phonemes)
        scales = self.scales.copy()
        scales[1] = scales[1] / speed
        audio, frames = self.sess.run(
            None,
            {
                "input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": scales,
            },
        )
        seconds = frames.reshape(-1).astype(np.float64) * self.hop / self.sample_rate
        owner_arr = np.array(owner)
        per_char = np.zeros(len(phonemes))
        inside = (owner_arr >= 0) & (owner_arr < len(phonemes))
        np.add.at(per_char, owner_arr[inside], seconds[inside])
        return TeacherAudio(
            audio=audio.reshape(-1).astype(np.float32),
            sample_rate=self.sample_rate,
            durations=per_char,
            lead=float(seconds[owner_arr == -1].sum()),
            trail=float(seconds[owner_arr == len(phonemes)].sum()),
        )
