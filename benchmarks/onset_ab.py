"""Where the students' first-word errors come from: the scorer, or the onset.

Usage:
    python benchmarks/onset_ab.py [--voices-dir DIR] [--voice joe --voice bm_george ...]
        [--modes base,asr_pad,lead8] [--out results/onset_ab.json]
    python benchmarks/onset_ab.py --rescore results/onset_ab.json --out results/onset_ab.json
        (score the stored transcripts again with the current WER normaliser)

The students make two to three times their share of word errors on the first
word of a sentence (the teachers do not; README, "Quality"). Each mode
decodes every sentence of both sets and scores it with Whisper; the report
gives total errors, errors that touch the first reference word, and the mean
planned silence before a text's first phoneme (after the first audio chunk
is out, the listener waits that long for speech).

    base      leads as the duration predictor plans them (``lead_frames=0``,
              the default before stop 13), all of the opening silence sent
    asr_pad   the same audio with PAD_S of digital silence put before it for
              the scorer only: tells whether Whisper, not the voice, loses
              words that start at once (joe's phrases start on frame 0-1)
    leadN     synthesis with the leading silence unit planned at least N
              frames long (``Synthesizer(lead_frames=N)``; lead8 is the default)
    leadfixN  ... exactly N frames long (``lead_frames=N, lead_max_frames=N``)

A lead mode may end in ``sendM`` or ``sendall``: of the stream's opening
silence, only the last M frames are sent (``lead_send_frames=M``; M=2 is the
default since stop 14) or all of it (the behaviour up to stop 13). The model
and codec decode the whole lead either way; only what the scorer hears and
the reported silence differ.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
from pathlib import Path

import numpy as np
import torch

from tts import Synthesizer
from tts.eval.asr import WhisperASR
from tts.eval.audio import to_16k
from tts.eval.sentences import load_sentences
from tts.eval.wer import align, hypothesis_words, join_split_words, total, wer_normalizer
from tts.synth.segment import text_phrases
from tts.synth.synthesizer import LEAD_SEND_FRAMES

SETS = {"public": "tts/assets/sentences_public.txt", "extended": "tts/assets/sentences_extended.txt"}
PAD_S = 0.3
LEAD_MODE = r"lead(fix)?(\d+)(?:send(\d+|all))?"


def sentences() -> list[tuple[str, int, str]]:
    """(set, index, text) of every sentence of both sets."""
    return [(name, i, t) for name, path in SETS.items() for i, t in enumerate(load_sentences(path).sentences)]


def first_word_errors(ref: list[str], hyp: list[str]) -> int:
    """Errors of the alignment's edit blocks that start at the first reference word."""
    ops = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal" and i1 == 0)


def first_lead_ms(synth, text: str, voice: str) -> float:
    """Silence sent before the first phoneme of ``text`` (the wait for speech after the first chunk)."""
    vec, lang = synth.resolve_voice(voice)
    phrase = text_phrases(synth._frontend(lang), text, synth.clause_min_chars)[0]
    plan = synth.plan_phrase(phrase.ids(), vec)
    return 1000.0 * (int(plan.frames[0]) - synth.lead_skip_frames(plan)) / synth.frame_rate


def score_text(normalize, text: str, hyp: str):
    """-> (word errors, first-word errors) of one transcript against its sentence."""
    ref_w = normalize(text).split()
    hyp_w = join_split_words(ref_w, hypothesis_words(text, hyp, normalize))
    return align(ref_w, hyp_w), first_word_errors(ref_w, hyp_w)


def rescore(report: dict, normalize) -> dict:
    """``report`` with every stored transcript scored again by ``normalize``
    (errors, first-word errors and the totals; leads and transcripts stay)."""
    texts = {(name, i): t for name, i, t in sentences()}
    for mode in report["modes"].values():
        for v in mode["voices"].values():
            errs, firsts = [], 0
            for row in v["rows"]:
                e, row["first"] = score_text(normalize, texts[(row["set"], row["index"])], row["hypothesis"])
                row["errors"] = e.errors
                errs.append(e)
                firsts += row["first"]
            t = total(errs)
            v.update(errors=t.errors, first_word_errors=firsts, words=t.ref_words)
        mode["total_errors"] = sum(v["errors"] for v in mode["voices"].values())
        mode["first_word_errors"] = sum(v["first_word_errors"] for v in mode["voices"].values())
    report["scorer"] = "tts.eval.wer.wer_normalizer"
    return report


def write(out: Path, report: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voices-dir", default=None, help="voice bundle (default: the shipped one)")
    ap.add_argument("--voice", action="append", help="voices to decode (default: all five)")
    ap.add_argument("--modes", default="base,asr_pad,lead8")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("results/onset_ab.json"))
    ap.add_argument("--rescore", type=Path, default=None, metavar="FILE",
                    help="score the transcripts stored in FILE again and write --out (no synthesis)")
    args = ap.parse_args()
    normalize = wer_normalizer()
    if args.rescore is not None:
        report = rescore(json.loads(args.rescore.read_text()), normalize)
        write(args.out, report)
        for mode, m in report["modes"].items():
            per = " / ".join(str(v["errors"]) for v in m["voices"].values())
            print(f"{mode}: {per}, total {m['total_errors']} (first words {m['first_word_errors']})")
        print(f"-> {args.out}")
        return
    voices = args.voice or ["af_heart", "am_michael", "bf_emma", "bm_george", "joe"]
    modes = args.modes.split(",")
    for m in modes:
        if m not in ("base", "asr_pad") and not re.fullmatch(LEAD_MODE, m):
            raise SystemExit(f"unknown mode {m!r}")
    torch.set_num_threads(1)
    items = sentences()[:args.limit]
    asr = WhisperASR()
    report = {"sentences": len(items), "pad_s": PAD_S, "scorer": "tts.eval.wer.wer_normalizer", "modes": {}}
    audio_cache: dict[tuple[str, int], np.ndarray] = {}  # base audio, reused by asr_pad
    for mode in modes:
        lm = re.fullmatch(LEAD_MODE, mode)
        lead = int(lm.group(2)) if lm else 0
        cap = lead if lm and lm.group(1) else 0
        send = {None: LEAD_SEND_FRAMES, "all": None}.get(lm.group(3), lm.group(3)) if lm else None
        synth = Synthesizer.load(args.voices_dir, threads=1, lead_frames=lead, lead_max_frames=cap,
                                 lead_send_frames=send if send is None else int(send))
        per_voice = {}
        for voice in voices:
            errs, firsts, rows, leads = [], 0, [], []
            for k, (name, i, text) in enumerate(items):
                key = (voice, k)
                if mode == "asr_pad" and key in audio_cache:
                    clip = audio_cache[key]
                else:
                    pcm, _ = synth.synthesize(text, voice=voice)
                    clip = to_16k(pcm, synth.sample_rate)
                    if mode == "base":
                        audio_cache[key] = clip
                if mode == "asr_pad":
                    clip = np.concatenate([np.zeros(int(PAD_S * 16000), np.float32), clip])
                hyp = asr.transcribe_one(clip)
                e, f = score_text(normalize, text, hyp)
                errs.append(e)
                firsts += f
                leads.append(first_lead_ms(synth, text, voice))
                rows.append({"set": name, "index": i, "errors": e.errors, "first": f, "hypothesis": hyp})
            t = total(errs)
            lead_ms = sum(leads) / len(leads)
            per_voice[voice] = {"errors": t.errors, "first_word_errors": firsts, "words": t.ref_words,
                                "mean_first_lead_ms": round(lead_ms, 1), "rows": rows}
            print(f"{mode:8s} {voice:11s} {t.errors:4d} errors ({firsts} on first words) / {t.ref_words} words, "
                  f"silence before the first phoneme {lead_ms:.0f} ms", flush=True)
            report["modes"][mode] = {"total_errors": sum(v["errors"] for v in per_voice.values()),
                                     "first_word_errors": sum(v["first_word_errors"] for v in per_voice.values()),
                                     "voices": per_voice}
            write(args.out, report)  # after every voice: a long run stopped early keeps what it measured
        print(f"{mode:8s} total {report['modes'][mode]['total_errors']} "
              f"(first words {report['modes'][mode]['first_word_errors']})", flush=True)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
