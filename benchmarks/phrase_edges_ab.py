"""How phrase edges are handled vs Whisper word errors, on the sentences it can change.

Usage:
    python benchmarks/phrase_edges_ab.py [--voices DIR] [--modes carry,reset,sentence,whole]
        [--limit N] [--out results/phrase_edges_ab.json]

Only sentences that become more than one phrase (with clause cuts from 48
characters on) or whose phrase lacks a final . or ? are decoded: greedy
synthesis of every other sentence is identical in all modes, so the
difference in errors over these sentences is the whole difference.

Modes (each on the shipped synthesis path, ``Synthesizer.synthesize``):

    carry     acoustic state carried across phrases, phrases end as espeak
              wrote them, clauses cut from 48 characters (the old behaviour)
    reset     + each phrase from a fresh acoustic state (``phrase_reset``)
    sentence  + each phrase ends as a sentence (``segment.end_as_sentence``)
    whole     + clauses cut only past 200 characters (the default now)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from tts import Synthesizer
from tts.eval.asr import WhisperASR
from tts.eval.audio import to_16k
from tts.eval.sentences import load_sentences
from tts.eval.wer import align_words, total, wer_normalizer
from tts.synth import segment
from tts.text.frontend import Frontend


SETS = {"public": "tts/assets/sentences_public.txt", "extended": "tts/assets/sentences_extended.txt"}
VOICES = ("af_heart", "am_michael", "bf_emma", "bm_george", "joe")
MODES = {  # name -> (phrase_reset, end phrases as sentences, clause_min_chars)
    "carry": (False, False, 48),
    "reset": (True, False, 48),
    "sentence": (True, True, 48),
    "whole": (True, True, segment.CLAUSE_MIN_CHARS),
}


def affected(fe: Frontend) -> list[tuple[str, int, str]]:
    """(set, index, text) of sentences whose phrasing any mode changes."""
    out = []
    keep = segment.end_as_sentence
    segment.end_as_sentence = lambda p: p  # look at the phrases as espeak wrote them
    try:
        for name, path in SETS.items():
            for i, text in enumerate(load_sentences(path).sentences):
                phrases = segment.text_phrases(fe, text, 48)
                if len(phrases) > 1 or any(p.phonemes[-1] not in ".?" for p in phrases):
                    out.append((name, i, text))
    finally:
        segment.end_as_sentence = keep
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voices", default=None, help="voice bundle (default: the shipped one)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--limit", type=int, default=None, help="only the first N affected sentences")
    ap.add_argument("--out", type=Path, default=Path("results/phrase_edges_ab.json"))
    args = ap.parse_args()
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
    torch.set_num_threads(1)
    items = affected(Frontend("en-us"))[:args.limit]
    asr = WhisperASR()
    normalize = wer_normalizer()
    report = {"sentences": [[s, i] for s, i, _ in items], "modes": {}}
    ending = segment.end_as_sentence
    for mode in modes:
        reset, as_sentence, clause_min = MODES[mode]
        synth = Synthesizer.load(args.voices, threads=1, phrase_reset=reset)
        synth.clause_min_chars = clause_min
        segment.end_as_sentence = ending if as_sentence else (lambda p: p)
        per_voice = {}
        for voice in VOICES:
            errs, rows = [], []
            for name, i, text in items:
                pcm, _ = synth.synthesize(text, voice=voice)
                hyp = asr.transcribe_one(to_16k(pcm, synth.sample_rate))
                e = align_words(normalize(text).split(), normalize(hyp).split())
                errs.append(e)
                rows.append({"set": name, "index": i, "errors": e.errors, "hypothesis": hyp})
            t = total(errs)
            per_voice[voice] = {"errors": t.errors, "words": t.ref_words, "rows": rows}
            print(f"{mode:9s} {voice:11s} {t.errors:4d} errors / {t.ref_words} words", flush=True)
        segment.end_as_sentence = ending
        report["modes"][mode] = {"total_errors": sum(v["errors"] for v in per_voice.values()),
                                 "voices": per_voice}
        print(f"{mode:9s} total {report['modes'][mode]['total_errors']}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
