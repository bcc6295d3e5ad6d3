"""paddlespeech: PaddleSpeech FastSpeech2 + a vocoder from local files, with the offline pypinyin front end (no G2PW download).

Installed as the 'paddle' extra in its own environment (make paddle);
imported only here because importing it takes tens of seconds.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from pydantic import Field

from core.errors import EngineError, EngineUnavailable
from core.registry import Check, EngineSettings, Remote, Weight
from core.weights.packaged import installed
from core.weights.pull import find, upstream_table

from .base import Speech, Voice

FILES = ("am_config", "am_ckpt", "am_stat", "phones_dict", "voc_config", "voc_ckpt", "voc_stat")
INSTALL = "'make paddle' builds .venv-paddle with PaddleSpeech"
# tag: (key in PaddleSpeech's tts_dynamic_pretrained_models, MB about, what it is)
PULLABLE = {
    "fastspeech2_csmsc": ("fastspeech2_csmsc-zh", 146, "Mandarin acoustic model (CSMSC, one female voice)"),
    "hifigan_csmsc": ("hifigan_csmsc-zh", 50, "HiFiGAN vocoder for CSMSC"),
    "pwgan_csmsc": ("pwgan_csmsc-zh", 15, "Parallel WaveGAN vocoder for CSMSC (faster, rougher)"),
    "fastspeech2_mix": ("fastspeech2_mix-mix", 170, "Chinese-English mixed acoustic model (pulled; this engine speaks single-speaker Mandarin models)"),
}


def table_entry(tag: str) -> dict:
    """PaddleSpeech's own record of a model: its zip URL and md5, and the file names inside (newest version)."""
    table = upstream_table("paddlespeech", "resource/pretrained_models.py", "tts_dynamic_pretrained_models", INSTALL)
    versions = table[PULLABLE[tag][0]]
    return versions[max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))]


def _zip(tag: str) -> list[Remote]:
    entry = table_entry(tag)
    return [Remote(entry["url"].rsplit("/", 1)[-1], entry["url"], md5=entry["md5"], archive=True)]


WEIGHTS = {
    tag: Weight(f"paddlespeech:{tag}", "paddlespeech", mb, "Apache-2.0 code; trained on CSMSC (non-commercial)" if "csmsc" in tag else "Apache-2.0 code; CSMSC + LJSpeech data (CSMSC non-commercial)",
                f"PaddleSpeech's pretrained_models table (md5): {what}", files=functools.partial(_zip, tag), non_commercial=True)
    for tag, (_, mb, what) in PULLABLE.items()
}
ROLES = {  # setting: the file's name in PaddleSpeech's zips
    "am": {"am_config": "default.yaml", "am_ckpt": "*.pdz", "am_stat": "speech_stats.npy", "phones_dict": "phone_id_map.txt"},
    "voc": {"voc_config": "default.yaml", "voc_ckpt": "*.pdz", "voc_stat": "feats_stats.npy"},
}


def pulled_paths(paths: PaddleSpeechSettings, cache_dir: Path) -> PaddleSpeechSettings:
    """The settings with each unset file filled in from the pulled model of its tag, where that model is pulled."""
    filled = {}
    for role, files in ROLES.items():
        weight = WEIGHTS.get(getattr(paths, role))
        if weight and weight.installed(cache_dir):
            filled.update({name: find(weight.folder(cache_dir), pattern) for name, pattern in files.items() if not getattr(paths, name)})
    return paths.model_copy(update=filled)


class PaddleSpeechSettings(EngineSettings):
    """A FastSpeech2 acoustic model and a vocoder: pulled by tag ('presenter weights pull paddlespeech:<tag>'), or local files."""

    am: str = Field("fastspeech2_csmsc", description="Acoustic model kind and data set, as PaddleSpeech names it; a pulled tag fills the four am files.")
    am_config: Path | None = Field(None, description="Acoustic model YAML (e.g. default.yaml of fastspeech2_csmsc).")
    am_ckpt: Path | None = Field(None, description="Acoustic model checkpoint (.pdz).")
    am_stat: Path | None = Field(None, description="Acoustic feature statistics (speech_stats.npy).")
    phones_dict: Path | None = Field(None, description="Phone ids (phone_id_map.txt).")
    voc: str = Field("hifigan_csmsc", description="Vocoder kind and data set (hifigan_csmsc, pwgan_csmsc, ...); a pulled tag fills the three voc files.")
    voc_config: Path | None = Field(None, description="Vocoder YAML.")
    voc_ckpt: Path | None = Field(None, description="Vocoder checkpoint (.pdz).")
    voc_stat: Path | None = Field(None, description="Vocoder feature statistics (feats_stats.npy).")
    pitch_shift: float = Field(0.0, description="Added to the predicted pitch, in standard deviations of the voice's log-F0.")
    energy_scale: float = Field(1.0, gt=0, description="Multiplies the predicted energy.")


class PaddleSpeechVoice(Voice, name="paddlespeech", summary="PaddleSpeech FastSpeech2 + HiFiGAN/PWGAN, pulled or from local files", settings=PaddleSpeechSettings):
    languages = frozenset({"zh"})
    license = "Apache-2.0 code; the CSMSC models are non-commercial like their data"
    FILES = FILES
    weights = tuple(WEIGHTS.values())

    @classmethod
    def needs(cls, section):
        paths = section.options(cls.name)
        return [WEIGHTS[tag] for role, files in ROLES.items() if (tag := getattr(paths, role)) in WEIGHTS and not all(getattr(paths, name) for name in files)]

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        paths: PaddleSpeechSettings = pulled_paths(self.options, context.cache_dir)
        if paths.am == "fastspeech2_mix":
            raise EngineUnavailable("fastspeech2_mix is a multi-speaker Chinese-English model; this engine speaks single-speaker Mandarin models.", "Set PRESENTER_NARRATE__PADDLESPEECH__AM=fastspeech2_csmsc.")
        missing = [name for name in FILES if getattr(paths, name) is None]
        if missing:
            raise EngineUnavailable(
                f"PaddleSpeech needs local model files; not configured: {', '.join(missing)}.",
                "Pull them ('presenter weights pull paddlespeech:fastspeech2_csmsc paddlespeech:hifigan_csmsc'), or "
                "set PRESENTER_NARRATE__PADDLESPEECH__<NAME> to each file (am_config=default.yaml, am_ckpt=*.pdz, am_stat=speech_stats.npy, "
                "phones_dict=phone_id_map.txt, voc_config, voc_ckpt, voc_stat=feats_stats.npy).",
            )
        for name in FILES:
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
        am_config = config(paths.am_config)  # type: ignore[arg-type]
        self.sample_rate = int(am_config.fs)
        self.hop = int(am_config.n_shift)
        self.frontend = Frontend(g2p_model="pypinyin", phone_vocab_path=str(paths.phones_dict))
        self.am_inference, self.am = get_am_inference(
            am=paths.am, am_config=am_config, am_ckpt=str(paths.am_ckpt), am_stat=str(paths.am_stat), phones_dict=str(paths.phones_dict), return_am=True,
        )
        self.vocoder = get_voc_inference(voc=paths.voc, voc_config=config(paths.voc_config), voc_ckpt=str(paths.voc_ckpt), voc_stat=str(paths.voc_stat))  # type: ignore[arg-type]
        self.id_to_phone = {int(i): p for p, i in (line.split() for line in Path(paths.phones_dict).read_text(encoding="utf-8").splitlines() if line.strip())}  # type: ignore[arg-type]
        self.model = f"{paths.am} + {paths.voc}"
        self.speed, self.pitch_shift, self.energy_scale = section.speed, paths.pitch_shift, paths.energy_scale

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

    @classmethod
    def check(cls, section, context) -> Check:
        if not installed("paddlespeech"):
            return Check("optional", "'make paddle' builds .venv-paddle (see README); then 'presenter weights pull paddlespeech:fastspeech2_csmsc paddlespeech:hifigan_csmsc'")
        paths = section.options(cls.name)
        lacking = [w for w in cls.needs(section) if not w.installed(context.cache_dir)]
        if lacking:
            return Check("missing", "run '" + " ".join(["presenter weights pull", *(w.name for w in lacking)]) + "'")
        return Check("ok", f"{paths.am} + {paths.voc}")
