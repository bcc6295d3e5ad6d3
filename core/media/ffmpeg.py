"""The one front end to FFmpeg, and audio samples in memory.

Every ffmpeg/ffprobe call on an episode's audio goes through here with two
input restrictions: only plain container demuxers (``-format_whitelist``: no
HLS playlist, no concat list, nothing that opens other files) and only the
``file`` protocol. A downloaded "audio" file that is really a playlist naming
``file:///...`` is refused instead of followed.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile

from core.errors import AudioError, EngineError
from core.workspace import atomic_path

AUDIO_EXTENSIONS = {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".webm", ".wma", ".aiff", ".aif", ".amr", ".mka", ".m4b"}
_FORMAT_EXTENSION = {"mp3": ".mp3", "mp4": ".m4a", "flac": ".flac", "ogg": ".ogg", "wav": ".wav", "webm": ".webm", "aiff": ".aiff", "asf": ".wma", "amr": ".amr", "aac": ".aac"}
# Demuxers that read one self-contained file. hls, concat, image2 patterns and friends are not among them.
SAFE_DEMUXERS = "mp3,mov,flac,ogg,wav,w64,matroska,aac,asf,aiff,amr,caf,wv"
SAFE_INPUT = ("-format_whitelist", SAFE_DEMUXERS, "-protocol_whitelist", "file,pipe")

# x264's superfast motion search with veryfast's bit allocation (mb-tree over a 10-frame lookahead): measured 1.5x
# veryfast's speed on a talking head at 720 for 6-15 % more bytes at the same CRF (bench/lipsync.py);
# compose's default and lipsync.mp4's encoding
X264_PRESET, X264_PARAMS = "superfast", "mbtree=1:rc-lookahead=10"


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


_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what a writer that streamed its output puts in the header: not a claim


def declared_size(head: bytes) -> int | None:
    """The file size a WAV's RIFF header declares, or None if it declares none (streamed output) or is not WAV.

    FFmpeg estimates a truncated WAV's duration from the file's size, so the
    two agree and only the header's own size shows the missing part. (AIFF
    needs no such check: FFmpeg reads its duration from the frame count.)
    """
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    size = int.from_bytes(head[4:8], "little")
    return None if size in _UNKNOWN_SIZES else size + 8


def truncation(path: Path) -> str | None:
    """Why the WAV file is shorter than its own header says, or None if it is not (or declares no size, or is no WAV)."""
    with open(path, "rb") as handle:
        declared = declared_size(handle.read(12))
    actual = Path(path).stat().st_size
    if declared is None or actual >= declared - 1:  # one byte of slack: writers often leave out the final pad byte
        return None
    return f"its header declares {declared:,} bytes but the file has {actual:,}"


def looks_like_markup(head: bytes) -> bool:
    """True for HTML or XML: what a web server sends instead of audio on an error or login page."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"<rss", b"<feed", b"<"))


def extension_for(fmt: str | None, fallback: str = ".audio") -> str:
    return _FORMAT_EXTENSION.get(fmt or "", fallback)


def _last_line(stderr: bytes | str) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed"


@dataclass(frozen=True)
class Probe:
    duration: float | None
    tags: dict[str, str]
    format_name: str


def probe_audio(path: Path) -> Probe:
    """ffprobe a file through the safe demuxers; AudioError if it is not one audio file."""
    done = subprocess.run(
        [require_tool("ffprobe"), "-v", "error", *SAFE_INPUT, "-show_format", "-show_streams", "-of", "json", "-i", str(path)],
        capture_output=True,
    )
    if done.returncode != 0:
        raise AudioError(
            f"{path} is not a readable audio file ({_last_line(done.stderr)}).",
            "Check that it is a podcast episode in a common format (MP3, M4A, OGG, FLAC, WAV).",
        )
    info = json.loads(done.stdout or b"{}")
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        raise AudioError(
            f"{path} has no audio stream.",
            "Give the episode's audio file (MP3, M4A, OGG, FLAC, WAV), not a video-only or other file.",
        )
    fmt = info.get("format", {})
    duration = fmt.get("duration") or streams[0].get("duration")
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    return Probe(float(duration) if duration else None, tags, fmt.get("format_name", ""))


def decode_audio(path: Path, rate: int) -> np.ndarray:
    """The whole file as mono int16 samples at ``rate``, decoded through the safe demuxers."""
    done = subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-nostdin", *SAFE_INPUT, "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
        capture_output=True,
    )
    if done.returncode != 0:
        raise AudioError(
            f"{path} could not be decoded as audio ({_last_line(done.stderr)}).",
            "The file is damaged or not audio; re-download it or give another file.",
        )
    return np.frombuffer(done.stdout, dtype="<i2")


def decode_span(path: Path, rate: int, start: float, seconds: float) -> np.ndarray:
    """``seconds`` of the file from ``start``, as mono float32 at ``rate``: any channel count and rate folded in (ffmpeg's downmix)."""
    done = subprocess.run(
        [
            require_tool("ffmpeg"), "-v", "error", "-nostdin", *SAFE_INPUT, "-ss", f"{max(0.0, start):.4f}", "-i", str(path), "-t", f"{seconds:.4f}",
            "-vn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-",
        ],
        capture_output=True,
    )
    if done.returncode != 0:
        raise AudioError(f"{path} could not be decoded from {start:.2f} s ({_last_line(done.stderr)}).", "The file is damaged or not audio; re-download it.")
    return np.frombuffer(done.stdout, dtype="<f4").copy()


def decoded_seconds(path: Path) -> float:
    """How many seconds of the file's audio actually decode (a truncated file decodes less than it claims)."""
    done = subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-nostdin", "-nostats", *SAFE_INPUT, "-i", str(path), "-vn", "-f", "null", "-progress", "pipe:1", "-"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise AudioError(f"{path} could not be decoded as audio ({_last_line(done.stderr)}).", "The file is damaged or not audio.")
    times = re.findall(r"^out_time_us=(\d+)$", done.stdout, flags=re.MULTILINE)
    return int(times[-1]) / 1e6 if times else 0.0


def probe_media(path: Path) -> dict:
    """Streams (codec, size, pixel format, frame rate) and duration of a file this project wrote."""
    done = subprocess.run(
        [require_tool("ffprobe"), "-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height,pix_fmt,r_frame_rate:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)


# --- WAV -----------------------------------------------------------------------------------


def read_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Float32 mono samples in [-1, 1] (channels averaged) and the sample rate, from any PCM or float WAV (soundfile).

    16-bit samples come back exactly as the project always read them (s / 32768 in float32, then the mean of the
    channels in float32), bit for bit: libsndfile scales 16-bit PCM by 1 / 0x8000 too.
    """
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError) as error:
        raise AudioError(f"Unreadable WAV ({error}).", "Convert it to PCM WAV (ffmpeg -c:a pcm_s16le).") from None
    return np.clip(samples.mean(axis=1), -1.0, 1.0), rate


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    return read_wav_bytes(Path(path).read_bytes())


def read_chunk(path: Path) -> np.ndarray:
    """A chunk the split stage wrote (16 kHz mono WAV), as float32 samples; anything else means split must rerun."""
    audio, rate = read_wav(path)
    if rate != 16_000:
        raise EngineError(f"{path} is not 16 kHz mono 16-bit WAV.", "Rerun the split stage.")
    return audio


def resample(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    if source == target or not len(audio):
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    common = gcd(source, target)
    return resample_poly(audio, target // common, source // common).astype(np.float32)


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """16-bit PCM mono WAV of float samples, clipped to [-1, 1] and scaled by 32767, truncated toward zero.

    The integers are made here, not by libsndfile: its own float conversion writes floor(x * 32768), which moves 70 %
    of the samples by 1 or 2 steps from what this project has always written, and that is enough to move Whisper's
    timestamps by up to 0.16 s and the synthetic three-speaker conversation's DER with them (tests/test_diarize.py).
    """
    buffer = io.BytesIO()
    soundfile.write(buffer, (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2"), rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(wav_bytes(audio, rate))
    return Path(path)


# --- video ----------------------------------------------------------------------------------


def rgb_of(frame: np.ndarray) -> np.ndarray:
    """A YUV 4:2:0 frame, laid out as OpenCV's COLOR_RGB2YUV_I420 makes it, as RGB."""
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)


def encode_video(frames: Iterable[np.ndarray], out: Path, size: int, fps: int, audio: Path, crf: int) -> Path:
    """Pipe YUV 4:2:0 frames to ffmpeg (H.264) and mux the narration (AAC); ``out`` appears only on success.

    Frames are laid out as OpenCV's COLOR_RGB2YUV_I420 makes them: half the
    bytes of RGB through the pipe, and OpenCV converts faster than ffmpeg.
    """
    with atomic_path(out) as tmp:
        command = [
            require_tool("ffmpeg"), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{size}x{size}",
            "-r", str(fps), "-i", "pipe:0", "-i", str(audio), "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", X264_PRESET, "-x264-params", X264_PARAMS, "-crf", str(crf), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
            "-f", "mp4", str(tmp),
        ]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdin is not None and process.stderr is not None
        try:
            for frame in frames:
                process.stdin.write(frame.tobytes())
        except BrokenPipeError:
            pass  # ffmpeg stopped; its message is read below
        finally:
            process.stdin.close()
        error = process.stderr.read().decode(errors="replace")
        if process.wait() != 0:
            raise EngineError(f"ffmpeg could not encode {Path(out).name}: {error.strip()[-400:]}", "Check that ffmpeg has libx264 and AAC (Debian's ffmpeg does).")
    return Path(out)


def decode_video(video: Path, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """RGB frames of a video (scaled so its longer side is ``max_side``) and its frame rate."""
    info = probe_media(video)
    stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    width, height = int(stream["width"]), int(stream["height"])
    num, den = stream["r_frame_rate"].split("/")
    if max_side:
        scale = max_side / max(width, height)
        width, height = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
    raw = subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-i", str(video), "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3), float(num) / float(den)
