"""espeak: espeak-ng, robotic but tiny and everywhere; the last resort (sentence timings only)."""

from __future__ import annotations

import shutil
import subprocess

from core.errors import EngineError, EngineUnavailable
from core.media.ffmpeg import read_wav_bytes
from core.registry import Check

from .base import Speech, Voice


class EspeakVoice(Voice, name="espeak", summary="espeak-ng (Debian package); robotic, any language"):
    model = "espeak-ng"
    license = "GPL-3.0"
    _codes = {"zh": "cmn", "en": "en-us"}

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        program = shutil.which("espeak-ng") or shutil.which("espeak")
        if program is None:
            raise EngineUnavailable("The program 'espeak-ng' is not on PATH.", "Install it (Debian/Ubuntu: 'apt-get install espeak-ng').")
        self.program = program
        self.words_per_minute = round(165 * section.speed)

    def speak(self, text: str, language: str) -> Speech:
        voice = self._codes.get(language, language)
        # the text goes on stdin: a sentence that starts with '-f<file>' or '-w<file>' is read aloud, never taken as an option
        done = subprocess.run([self.program, "-v", voice, "-s", str(self.words_per_minute), "--stdout", "--stdin"], input=text.encode("utf-8"), capture_output=True, check=False)
        if done.returncode != 0 or not done.stdout:
            raise EngineError(f"espeak-ng failed on {text[:40]!r}: {done.stderr.decode(errors='replace').strip()}", "Check that espeak-ng knows the language.")
        return Speech(*read_wav_bytes(done.stdout))

    @classmethod
    def check(cls, section, context) -> Check:
        program = shutil.which("espeak-ng")
        return Check("ok", program) if program else Check("optional", "apt-get install espeak-ng")
