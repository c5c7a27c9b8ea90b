"""``statecast say``: speak a text into a file (or stdout) with the installed voices.

    statecast say "Hello there." -o hello.wav
    statecast say "Cheerio." -o out.flac --voice bf_emma --speed 1.2
    statecast say "A blend." -o mix.wav --mix af_heart=0.7,bf_emma=0.3
    statecast say "Streaming." -o - | aplay -f S16_LE -r 24000 -c 1     # raw PCM to stdout
    echo "From stdin." | statecast say - -o out.wav
    statecast say --list-voices

Audio is written as it is synthesised, so raw output to stdout starts
playing after the first chunk.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from .errors import StatecastError

FORMATS = ("wav", "flac", "raw")


def add_arguments(parser) -> None:
    parser.add_argument("text", nargs="?", help="text to speak; '-' reads it from stdin")
    parser.add_argument("-o", "--output", help="output file, or '-' for stdout (raw s16le PCM unless --format)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--voice", help="voice name (see --list-voices); default: the bundle's default voice")
    who.add_argument("--mix", help="blend of voices, e.g. af_heart=0.7,bf_emma=0.3")
    parser.add_argument("--speed", type=float, default=1.0, help="speaking rate factor (default 1.0)")
    parser.add_argument("--format", choices=FORMATS,
                        help="wav (16-bit), flac or raw (s16le mono); default: from the file name, raw for '-'")
    parser.add_argument("--voices-dir", help="voice bundle directory (default: $STATECAST_VOICES or <repo>/voices)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0: greedy)")
    parser.add_argument("--seed", type=int, help="seed for sampling")
    parser.add_argument("--words", action="store_true", help="print word timestamps (start, end, word) to stderr")
    parser.add_argument("--list-voices", action="store_true", help="list the installed voices and exit")


def _format_for(output: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    if output == "-":
        return "raw"
    suffix = Path(output).suffix.lower().lstrip(".")
    return {"flac": "flac", "raw": "raw", "pcm": "raw"}.get(suffix, "wav")


def _s16(pcm) -> bytes:
    import numpy as np

    return (np.clip(pcm, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def run(args) -> int:
    from .synth import Synthesizer
    from .voices import parse_mix

    if args.list_voices:
        synth = Synthesizer.load(args.voices_dir, threads=args.threads, warm=False)
        for v in synth.voices():
            mark = "*" if v["name"] == synth.default_voice else " "
            print(f"{mark} {v['name']:<12} {v['lang']:<6} {v['gender']:<7} {v['accent']:<9} {v['description']}")
        return 0
    if args.text is None:
        raise StatecastError("say what? give the text (or '-' to read stdin)")
    if not args.output:
        raise StatecastError("no output: give -o FILE (or -o - for raw PCM on stdout)")
    text = sys.stdin.read() if args.text == "-" else args.text
    voice = parse_mix(args.mix) if args.mix else args.voice
    fmt = _format_for(args.output, args.format)

    synth = Synthesizer.load(args.voices_dir, threads=args.threads)
    t0 = time.perf_counter()
    chunks = synth.stream(text, voice=voice, speed=args.speed, temperature=args.temperature, seed=args.seed)
    to_stdout = args.output == "-"
    sink = sys.stdout.buffer if to_stdout and fmt == "raw" else None
    if not to_stdout and fmt == "raw":
        sink = _open_output(args.output)
    pieces, words, first = [], [], None
    try:
        for chunk in chunks:
            if first is None:
                first = time.perf_counter() - t0
            words.extend(chunk.words)
            if sink is not None:
                sink.write(_s16(chunk.pcm))
                sink.flush()
            else:
                pieces.append(chunk.pcm)
    finally:
        if sink is not None and not to_stdout:
            sink.close()
    compute = time.perf_counter() - t0
    n = sum(p.shape[0] for p in pieces) if sink is None else None
    if sink is None:
        _write_soundfile(args.output, fmt, pieces, synth.sample_rate, to_stdout)
    if args.words:
        for w in words:
            print(f"{w.start:.3f}\t{w.end:.3f}\t{w.word}", file=sys.stderr)
    if not to_stdout:
        seconds = (n if n is not None else Path(args.output).stat().st_size // 2) / synth.sample_rate
        # A player starting on the first chunk reaches the first word after its timestamp.
        spoken = f", first word {(first + words[0].start) * 1000:.0f} ms" if words else ""
        print(f"wrote {args.output}: {seconds:.2f} s at {synth.sample_rate} Hz ({fmt}), "
              f"first audio {first * 1000:.0f} ms{spoken}, real-time factor {compute / max(seconds, 1e-9):.3f}",
              file=sys.stderr)
    return 0


def _open_output(path: str):
    try:
        return open(path, "wb")
    except OSError as exc:
        raise StatecastError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_soundfile(output: str, fmt: str, pieces: list, sample_rate: int, to_stdout: bool) -> None:
    import numpy as np
    import soundfile as sf

    pcm = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    kind = {"wav": "WAV", "flac": "FLAC"}[fmt]
    if to_stdout:
        buf = io.BytesIO()
        sf.write(buf, pcm, sample_rate, format=kind, subtype="PCM_16")
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    try:
        sf.write(output, pcm, sample_rate, format=kind, subtype="PCM_16")
    except (OSError, RuntimeError) as exc:  # soundfile reports an unwritable path as a RuntimeError
        raise StatecastError(f"cannot write {output}: {exc}") from None
