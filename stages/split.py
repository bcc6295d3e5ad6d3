"""split: decode an episode to 16 kHz mono and cut it into chunks at pauses (pydub).

Each cut is placed at the quietest moment within ``search_seconds`` of the
target boundary, so no word is cut in half, and each chunk records its offset
so that every later timestamp lies on the episode's own timeline.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ConfigDict

from core.artifacts import CHUNK_DIR, ChunkInfo, Chunks, StageRecord
from core.errors import AudioError
from core.media.ffmpeg import decode_audio, probe_audio, truncation
from core.settings import SplitSettings
from core.workspace import atomic_path

SAMPLE_RATE = 16_000
FRAME_SECONDS = 0.05


@dataclass(frozen=True)
class Chunk:
    index: int
    path: Path
    offset: float
    duration: float
    silent: bool


class SplitRecord(StageRecord):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    chunks: list[Chunk]
    duration: float


def decode(path: Path):
    """The whole file as a 16 kHz mono 16-bit pydub AudioSegment; AudioError when it is not whole audio."""
    from pydub import AudioSegment

    path = Path(path)
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes).", "Re-download the episode or give another file.")
    probe = probe_audio(path)
    samples = decode_audio(path, SAMPLE_RATE)
    decoded = len(samples) / SAMPLE_RATE
    if decoded == 0:
        raise AudioError(f"{path} contains no audio samples.", "Give a complete audio file.")
    if probe.duration and decoded < 0.9 * probe.duration - 0.5:
        raise AudioError(
            f"{path} is truncated: only {decoded:.1f} s of its {probe.duration:.1f} s decode.",
            "Delete it and rerun to download it again, or give a complete copy.",
        )
    if short := truncation(path):  # a cut WAV: FFmpeg measures it by its size, so only its header tells
        raise AudioError(f"{path} is truncated: {short}.", "Delete it and rerun to download it again, or give a complete copy.")
    return AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=SAMPLE_RATE, channels=1)


def frame_loudness(samples: np.ndarray, frame: int) -> np.ndarray:
    """RMS loudness in dBFS of consecutive frames of ``frame`` samples (int16 input)."""
    count = max(1, len(samples) // frame)
    frames = samples[: count * frame].astype(np.float32).reshape(count, -1) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-10
    return 20 * np.log10(rms)


def cut_points(loudness: np.ndarray, frame_seconds: float, total: float, target: float, search: float) -> list[float]:
    """Boundaries (seconds) near each multiple of ``target``, each at the quietest 250 ms nearby."""
    smooth = np.convolve(loudness, np.ones(5) / 5, mode="same")
    cuts: list[float] = []
    start = 0.0
    while total - start > target + search:
        lo = int((start + target - search) / frame_seconds)
        hi = int((start + target + search) / frame_seconds)
        quietest = lo + int(np.argmin(smooth[lo:hi]))
        cut = (quietest + 0.5) * frame_seconds
        cuts.append(cut)
        start = cut
    return cuts


def split(audio_path: Path, folder: Path, settings: SplitSettings) -> SplitRecord:
    """Write ``folder/chunks/NNN.wav`` and ``folder/chunks.json``; return the chunks in order."""
    started = time.perf_counter()
    audio = decode(audio_path)
    samples = np.array(audio.get_array_of_samples(), dtype=np.int16)
    frame = int(SAMPLE_RATE * FRAME_SECONDS)
    loudness = frame_loudness(samples, frame)
    total = len(samples) / SAMPLE_RATE
    bounds = [0.0, *cut_points(loudness, FRAME_SECONDS, total, settings.chunk_seconds, settings.search_seconds), total]

    chunk_dir = Path(folder) / CHUNK_DIR
    chunk_dir.mkdir(parents=True, exist_ok=True)
    chunks = []
    for index, (start, end) in enumerate(zip(bounds, bounds[1:])):
        piece = audio[int(start * 1000) : int(end * 1000)]
        level = loudness[int(start / FRAME_SECONDS) : max(int(start / FRAME_SECONDS) + 1, int(end / FRAME_SECONDS))]
        path = chunk_dir / f"{index:03d}.wav"
        wav = io.BytesIO()  # pydub leaves its WAV writer open when a write fails (a full disk), so it writes to memory
        piece.export(wav, format="wav")
        with atomic_path(path) as tmp:
            tmp.write_bytes(wav.getvalue())
        silent = bool(level.max() < settings.silence_dbfs)
        chunks.append(Chunk(index, path, round(start, 3), round(len(piece) / 1000, 3), silent))
    for stale in chunk_dir.glob("*.wav"):
        if stale not in {c.path for c in chunks}:
            stale.unlink()
    listing = Chunks(
        source=str(audio_path), duration=total,
        chunks=[ChunkInfo(index=c.index, path=str(c.path.relative_to(folder)), offset=c.offset, duration=c.duration, silent=c.silent) for c in chunks],
    ).write(folder)
    return SplitRecord(
        outputs=[listing, *(c.path for c in chunks)], seconds=round(time.perf_counter() - started, 3),
        chunks=chunks, duration=sum(c.duration for c in chunks),
    )
