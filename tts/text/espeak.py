"""A minimal ctypes binding to the espeak-ng library shipped by ``espeakng-loader``.

We call ``espeak_TextToPhonemes`` directly instead of going through the
``phonemizer`` package: the service stays lean, and we control clause and
word boundaries ourselves (needed for the word <-> phoneme map).

espeak-ng keeps process-global state (the current voice, its dictionaries),
so every call holds one lock; the language is switched only when it changes.
"""

from __future__ import annotations

import ctypes
import re
import threading

from ..errors import StatecastError

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02

# espeak marks words it reads in another language with "(fr)...(en)".
_LANG_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")

# Our language code -> espeak-ng voice name ("en" is espeak's British English).
_VOICE_NAMES = {"en-us": "en-us", "en-gb": "en"}
SUPPORTED_LANGUAGES = tuple(_VOICE_NAMES)


class _Espeak:
    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise StatecastError("espeakng-loader is not installed: pip install espeakng-loader") from None
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        data = espeakng_loader.get_data_path().encode()
        if lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0) <= 0:
            raise StatecastError(f"espeak-ng failed to initialise with data at {data.decode()}")
        self._lib = lib
        self._lang: str | None = None
        self.lock = threading.Lock()

    def _set_language(self, lang: str) -> None:
        if lang == self._lang:
            return
        if lang not in SUPPORTED_LANGUAGES:
            raise StatecastError(f"unsupported language {lang!r}; choose one of {', '.join(SUPPORTED_LANGUAGES)}")
        if self._lib.espeak_SetVoiceByName(_VOICE_NAMES[lang].encode()) != 0:
            raise StatecastError(f"espeak-ng has no voice for {lang!r}")
        self._lang = lang

    def phonemes(self, text: str, lang: str) -> str:
        """IPA with stress marks for ``text``; words separated by single spaces.

        espeak returns one clause per call and advances the text pointer, so we
        loop until it is consumed. Callers split at punctuation themselves, so
        clause ends inside ``text`` only lose their punctuation mark.
        """
        with self.lock:
            self._set_language(lang)
            buf = ctypes.create_string_buffer(text.encode("utf-8"))
            ptr = ctypes.c_char_p(ctypes.addressof(buf))
            parts: list[str] = []
            while ptr.value:
                out = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _PHONEMES_IPA)
                if out:
                    parts.append(out.decode("utf-8", errors="ignore"))
        joined = " ".join(p.strip() for p in parts)
        joined = _LANG_SWITCH.sub("", joined)
        return " ".join(joined.split())


_instance: _Espeak | None = None
_instance_lock = threading.Lock()


def espeak() -> _Espeak:
    """The process-wide espeak binding (created on first use)."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Espeak()
        return _instance
