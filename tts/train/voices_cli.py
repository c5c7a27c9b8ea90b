"""`statecast train voices`: pack trained checkpoints into the shipped voice bundle.

    statecast train voices --acoustic-run main --codec-run dec --out voices
    statecast train voices --acoustic-run jit --keep-codec --out voices   # new acoustic model only
    statecast train voices --codec-run gta --keep-acoustic --out voices   # new codec decoder only

Exports the acoustic model and the codec (newest checkpoint of each run, or
the files given), writes voices.json from tts.catalogue for every shipped
voice the acoustic model knows, and loads the result back as the server
would. Before writing anything it checks that the codec makes the tokens the
acoustic model was trained on (the encoder hash recorded in the token cache):
a decoder fine-tuned with a frozen encoder passes, any other codec is refused,
because its token vocabulary would turn the model's output into noise.
"""

from __future__ import annotations

import argparse

from ..errors import StatecastError
from .cli_args import checkpoint_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--acoustic-run", default="main", help="acoustic training run (newest checkpoint)")
    p.add_argument("--acoustic-checkpoint", help="this acoustic checkpoint file instead")
    p.add_argument("--codec-run", default="main", help="codec training run (newest checkpoint)")
    p.add_argument("--codec-checkpoint", help="this codec checkpoint file instead")
    p.add_argument("--keep-codec", action="store_true",
                   help="keep the codec already packed in --out; the new acoustic model must have been "
                        "trained on the same token cache as the one packed with it")
    p.add_argument("--keep-acoustic", action="store_true",
                   help="keep the acoustic model already packed in --out; the new codec must tokenise as the "
                        "one packed with it (a decoder fine-tuned with its encoder frozen)")
    p.add_argument("--out", default="voices", help="bundle directory (default: voices)")
    p.add_argument("--default", dest="default_voice", help="default voice (default: tts.catalogue's)")
    p.add_argument("--fp32", action="store_true", help="store float32 weights (default float16: half the size)")
    p.add_argument("--skip-token-check", action="store_true",
                   help="pack even when the token cache that proves codec and model match is absent")


def check_tokens_match(codec, codec_id: str, skip: bool) -> str:
    """The codec must tokenise as the one that made <cache>/tokens/<codec_id>. -> a one-line verdict."""
    import json

    from .codec_tokens import ID_FILE, codec_identity, same_tokenizer, token_dir

    id_path = token_dir(codec_id) / ID_FILE
    if not id_path.is_file():
        if skip:
            return f"token cache {codec_id!r} absent: match not checked (--skip-token-check)"
        raise StatecastError(f"cannot check that this codec matches the acoustic model: no {id_path} "
                             "(pass --skip-token-check to pack anyway)")
    made = json.loads(id_path.read_text())
    # Only a record with an encoder hash can vouch for a fine-tuned decoder's codec.
    if not (made.get("encoder_sha256") and same_tokenizer(made, codec_identity(codec, ""))):
        raise StatecastError(f"the codec does not make the tokens the acoustic model was trained on "
                             f"(token cache {codec_id!r} came from {made.get('source')})")
    return f"codec tokenises as token cache {codec_id!r} ({made.get('source')})"


def check_kept_codec(out, codec_id: str) -> str:
    """--keep-codec: the bundle's codec was checked against the token cache of the acoustic model
    packed with it, so a new acoustic model trained on that same cache may join it. -> a verdict."""
    from ..model.weights import read_config
    from ..voices import ACOUSTIC_DIR, CODEC_DIR
    from ..weights_io import CONFIG

    if not all((out / d / CONFIG).is_file() for d in (ACOUSTIC_DIR, CODEC_DIR)):
        raise StatecastError(f"--keep-codec needs a packed bundle in {out} (codec and acoustic model)")
    packed = read_config(out / ACOUSTIC_DIR)[0].codec_id
    if packed != codec_id:
        raise StatecastError(f"the acoustic model was trained on token cache {codec_id!r}, but the codec in "
                             f"{out} was packed for {packed!r}")
    return f"keeping the codec in {out}: packed for token cache {codec_id!r}, as this acoustic model was"


def check_kept_acoustic(out, codec) -> str:
    """--keep-acoustic: the new codec's encoder and quantizer must equal those of the codec packed
    in `out` (compared at the packed precision), so the packed acoustic model's tokens still mean
    what they meant. -> a one-line verdict."""
    import torch
    from safetensors.torch import load_file

    from ..codec.weights import read_config as read_codec_config
    from ..voices import ACOUSTIC_DIR, CODEC_DIR
    from ..weights_io import CONFIG, WEIGHTS
    from .codec_tokens import token_fields

    if not all((out / d / CONFIG).is_file() for d in (ACOUSTIC_DIR, CODEC_DIR)):
        raise StatecastError(f"--keep-acoustic needs a packed bundle in {out} (codec and acoustic model)")
    packed_cfg, _ = read_codec_config(out / CODEC_DIR)
    if token_fields(packed_cfg.to_dict()) != token_fields(codec.cfg.to_dict()):
        raise StatecastError(f"the codec's token config differs from the one packed in {out}")
    packed = load_file(str(out / CODEC_DIR / WEIGHTS))
    own = codec.state_dict()
    tokenising = [k for k in packed if k.startswith(("encoder.", "quantizer."))]
    if not tokenising or any(k not in own or not torch.equal(own[k].to(packed[k].dtype), packed[k])
                             for k in tokenising):
        raise StatecastError(f"the codec does not make the tokens of the codec packed in {out}: its encoder "
                             "differs (only a decoder fine-tuned from it with --freeze-encoder may replace it)")
    return f"keeping the acoustic model in {out}: the new codec's encoder is the packed one's"


def run(args) -> int:
    from pathlib import Path

    import torch

    from ..catalogue import DEFAULT_VOICE, SHIPPED_VOICES
    from ..model.config import AcousticConfig
    from ..model.training import export_checkpoint as export_acoustic
    from ..model.training import run_dir as acoustic_dir
    from ..voices import ACOUSTIC_DIR, CODEC_DIR, load_bundle, write_catalogue
    from . import checkpoint as ckpt
    from .codec import codec_from_checkpoint
    from .codec import export_checkpoint as export_codec
    from .codec import run_dir as codec_dir

    out = Path(args.out)
    if args.keep_codec and args.keep_acoustic:
        raise StatecastError("--keep-codec and --keep-acoustic together would pack nothing")
    if args.keep_acoustic:
        from ..model.weights import read_config as read_acoustic_config

        a_path = None
        c_path = checkpoint_of(codec_dir, args.codec_run, args.codec_checkpoint)
        print(check_kept_acoustic(out, codec_from_checkpoint(c_path)))
        a_cfg = read_acoustic_config(out / ACOUSTIC_DIR)[0]
    else:
        a_path = checkpoint_of(acoustic_dir, args.acoustic_run, args.acoustic_checkpoint)
        a_cfg = AcousticConfig.from_dict(ckpt.load_checkpoint(a_path)["model_config"])
        if args.keep_codec:
            c_path = None
            print(check_kept_codec(out, a_cfg.codec_id))
        else:
            c_path = checkpoint_of(codec_dir, args.codec_run, args.codec_checkpoint)
            print(check_tokens_match(codec_from_checkpoint(c_path), a_cfg.codec_id, args.skip_token_check))

    voices = [v for v in SHIPPED_VOICES if v.speaker in a_cfg.voices]
    if not voices:
        raise StatecastError(f"the acoustic model knows none of the shipped voices ({', '.join(a_cfg.voices)})")
    default = args.default_voice or DEFAULT_VOICE
    if default not in {v.name for v in voices}:
        raise StatecastError(f"default voice {default!r} is not among {', '.join(v.name for v in voices)}")

    dtype = torch.float32 if args.fp32 else torch.float16
    if a_path is not None:
        export_acoustic(a_path, out / ACOUSTIC_DIR, dtype)
    if c_path is not None:
        export_codec(c_path, out / CODEC_DIR, dtype)
    write_catalogue(out, voices, default)
    bundle = load_bundle(out)  # the server's own loader: fails here, not in production
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    # The run is the checkpoint's folder: with --*-checkpoint the --*-run flags are not what was packed.
    codec_from = "the codec already there" if c_path is None else f"{c_path.name} ({c_path.parent.name})"
    acoustic_from = "the acoustic model already there" if a_path is None else f"{a_path.name} ({a_path.parent.name})"
    print(f"packed {acoustic_from} + {codec_from} -> {out}: "
          f"{len(bundle.voices)} voices, default {bundle.default}, {size / 1e6:.1f} MB")
    return 0
