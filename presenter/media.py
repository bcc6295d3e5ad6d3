"""Small media helpers shared by stages: finding ffmpeg, recognising audio bytes, probing files, 16-bit WAV in and out."""

from __future__ import annotations

import io
import shutil
import wave
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

from .errors import AudioError, EngineError
from .workspace import atomic_path

AUDIO_EXTENSIONS = {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".webm", ".wma", ".aiff", ".aif", ".amr", ".mka", ".m4b"}
_FORMAT_EXTENSION = {"mp3": ".mp3", "mp4": ".m4a", "flac": ".flac", "ogg": ".ogg", "wav": ".wav", "webm": ".webm", "aiff": ".aiff", "asf": ".wma", "amr": ".amr", "aac": ".aac"}


def quiet_native_logs() -> None:
    """Keep LiteRT's C++ INFO lines out of the terminal (must be set before it loads)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def require_tool(name: str) -> str:
    """Path of an external program, or an error that says how to install it."""
    path = shutil.which(name)
    if path is None:
        raise EngineError(
            f"The program '{name}' is not on PATH.",
            "Install FFmpeg (Debian/Ubuntu: 'apt-get install ffmpeg'; or run 'make setup', which does it).",
        )
    return path


def sniff_audio(head: bytes) -> str | None:
    """The container format named by a file's first bytes, or None if they are not a known audio format."""
    if head.startswith(b"ID3"):
        return "mp3"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"):
        return "asf"
    if head.startswith(b"#!AMR"):
        return "amr"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return "aac"  # ADTS
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mp3"  # MPEG audio frame sync without an ID3 tag
    return None


def looks_like_markup(head: bytes) -> bool:
    """True for HTML or XML: what a web server sends instead of audio on an error or login page."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"<rss", b"<feed", b"<"))


def extension_for(fmt: str | None, fallback: str = ".audio") -> str:
    return _FORMAT_EXTENSION.get(fmt or "", fallback)


@dataclass(frozen=True)
class Probe:
    duration: float | None
    tags: dict[str, str]


def probe_audio(path: Path) -> Probe:
    """ffprobe a file; AudioError if it has no audio stream."""
    import ffmpeg

    try:
        info = ffmpeg.probe(str(path), cmd=require_tool("ffprobe"))
    except ffmpeg.Error as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise AudioError(
            f"{path} is not a readable audio file ({detail[-1] if detail else 'ffprobe failed'}).",
            "Check that it is a podcast episode in a common format (MP3, M4A, OGG, FLAC, WAV).",
        ) from None
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        raise AudioError(
            f"{path} has no audio stream.",
            "Give the episode's audio file (MP3, M4A, OGG, FLAC, WAV), not a video-only or other file.",
        )
    fmt = info.get("format", {})
    duration = fmt.get("duration") or streams[0].get("duration")
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    return Probe(float(duration) if duration else None, tags)


# --- 16-bit PCM WAV, as the narrate and lipsync stages read and write it ---------------------------


def read_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Float32 mono samples in [-1, 1] (channels averaged) and the sample rate."""
    with wave.open(io.BytesIO(data), "rb") as handle:
        rate, width, channels = handle.getframerate(), handle.getsampwidth(), handle.getnchannels()
        frames = handle.readframes(handle.getnframes())
    if width != 2:
        raise AudioError(f"Unexpected {8 * width}-bit WAV; 16-bit PCM is expected.", "Convert it to 16-bit PCM (ffmpeg -c:a pcm_s16le).")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    return samples.reshape(-1, channels).mean(axis=1), rate


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    return read_wav_bytes(Path(path).read_bytes())


def resample(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    if source == target or not len(audio):
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    common = gcd(source, target)
    return resample_poly(audio, target // common, source // common).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes(pcm.tobytes())
    return Path(path)
