"""Tokenise the corpus with a codec: the acoustic model's training targets.

Writes `<cache>/tokens/<codec_id>/<clip id>.npy`, (K, T) int16 with
T = ceil(samples / hop), for every manifest clip (held-out ones too: the
acoustic model evaluates on them). Resumable: clips whose file exists are
skipped. `codec.json` beside them records which codec made the tokens, and a
second run with a different codec into the same directory is refused rather
than mixing two vocabularies.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from ..codec import Codec
from ..codec.config import DECODER_FIELDS
from ..data.manifest import corpus_dir, read_manifest
from ..errors import StatecastError
from ..paths import cache_root, writable_dir

ID_FILE = "codec.json"


def token_dir(codec_id: str) -> Path:
    """Same place tts.model.data.token_cache_dir reads from."""
    return cache_root() / "tokens" / codec_id


def weights_sha256(state: dict) -> str:
    """Hash of a state dict's names and float32 values (what identifies trained weights)."""
    h = hashlib.sha256()
    for name, t in sorted(state.items()):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def encoder_identity(codec: Codec) -> str:
    """Hash of the weights that decide the tokens (encoder + quantizer).

    A decoder fine-tuned with the encoder frozen (`--freeze-encoder`) keeps this
    hash, so tokens made before the fine-tuning stay valid for it.
    """
    return weights_sha256({f"encoder.{k}": v for k, v in codec.encoder.state_dict().items()}
                | {f"quantizer.{k}": v for k, v in codec.quantizer.state_dict().items()})


def codec_identity(codec: Codec, source: str) -> dict:
    # Hashes of the weights, not just the config: two trainings of one config are different codecs.
    return {"config": codec.cfg.to_dict(), "tokens": codec.cfg.describe(),
            "weights_sha256": weights_sha256(codec.state_dict()),
            "encoder_sha256": encoder_identity(codec), "source": source}


def token_fields(config: dict | None) -> dict | None:
    return None if config is None else {k: v for k, v in config.items() if k not in DECODER_FIELDS}


def same_tokenizer(recorded: dict, ident: dict) -> bool:
    """Do two codec identities (codec_identity) make the same tokens?

    Same config up to decoder-only fields, and the same encoder + quantizer weights; a record written
    before encoder hashes were kept is matched on all the weights instead.
    """
    if token_fields(recorded.get("config")) != token_fields(ident["config"]):
        return False
    if recorded.get("encoder_sha256"):
        return recorded["encoder_sha256"] == ident["encoder_sha256"]
    return recorded.get("weights_sha256") == ident["weights_sha256"]


def tokenize_corpus(codec: Codec, out_dir: Path, manifest: Path | str | None = None, source: str = "",
                    progress: bool = True) -> dict:
    """Encode every manifest clip not yet in out_dir. -> counts {written, skipped, total}."""
    import soundfile as sf

    out_dir = writable_dir(out_dir, "token cache")
    ident = codec_identity(codec, source)
    id_path = out_dir / ID_FILE
    if id_path.exists():
        old = json.loads(id_path.read_text())
        if not same_tokenizer(old, ident):
            raise StatecastError(f"{out_dir} holds tokens of another codec ({old.get('source')}); "
                                 "use another --codec-id or delete that directory")
    else:
        id_path.write_text(json.dumps(ident, indent=2) + "\n")

    path = Path(manifest) if manifest else corpus_dir()
    root = path if path.is_dir() else path.parent
    rows = read_manifest(manifest)
    todo = [r for r in rows if not (out_dir / f"{r['id']}.npy").exists()]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"tokenise -> {out_dir.name}", unit="clip", dynamic_ncols=True)
    for r in todo:
        audio, rate = sf.read(str(root / r["audio"]), dtype="float32", always_2d=False)
        tokens = codec.encode(audio, rate)  # (K, T); rejects wrong rate / stereo / NaN clearly
        tmp = out_dir / f"{r['id']}.tmp.npy"
        np.save(tmp, tokens.cpu().numpy().astype(np.int16))
        tmp.replace(out_dir / f"{r['id']}.npy")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return {"written": len(todo), "skipped": len(rows) - len(todo), "total": len(rows)}
