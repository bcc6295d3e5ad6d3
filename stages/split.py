"""split: decode an episode to 16 kHz mono and cut it into chunks at pauses.

Each cut is placed at the quietest moment within ``search_seconds`` of the
target boundary, so no word is cut in half, and each chunk records its offset
so that every later timestamp lies on the episode's own timeline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from presenter.errors import AudioError
from presenter.media import probe_audio, require_tool
from presenter.settings import SplitSettings
from presenter.workspace import atomic_path, write_json

SAMPLE_RATE = 16_000
FRAME_SECONDS = 0.05
CHUNKS_FILE = "chunks.json"


@dataclass(frozen=True)
class Chunk:
    index: int
    path: Path
    offset: float
    duration: float
    silent: bool

    def to_dict(self, folder: Path) -> dict:
        return {**asdict(self), "path": str(self.path.relative_to(folder))}


def decode(path: Path):
    """The whole file as a 16 kHz mono 16-bit pydub AudioSegment; AudioError when it is not whole audio."""
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    require_tool("ffmpeg")
    path = Path(path)
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes).", "Re-download the episode or give another file.")
    probe = probe_audio(path)
    try:
        audio = AudioSegment.from_file(path, parameters=["-ar", str(SAMPLE_RATE), "-ac", "1"])
    except CouldntDecodeError as error:
        last = str(error).strip().splitlines()[-1:] or ["ffmpeg failed"]
        raise AudioError(
            f"{path} could not be decoded as audio ({last[0]}).",
            "The file is damaged or not audio; re-download it or give another file.",
        ) from None
    audio = audio.set_frame_rate(SAMPLE_RATE).set_channels(1).set_sample_width(2)
    decoded = len(audio) / 1000
    if decoded == 0:
        raise AudioError(f"{path} contains no audio samples.", "Give a complete audio file.")
    if probe.duration and decoded < 0.9 * probe.duration - 0.5:
        raise AudioError(
            f"{path} is truncated: only {decoded:.1f} s of its {probe.duration:.1f} s decode.",
            "Delete it and rerun to download it again, or give a complete copy.",
        )
    return audio


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


def split(audio_path: Path, folder: Path, settings: SplitSettings) -> list[Chunk]:
    """Write ``folder/chunks/NNN.wav`` and ``folder/chunks.json``; return the chunks in order."""
    audio = decode(audio_path)
    samples = np.array(audio.get_array_of_samples(), dtype=np.int16)
    frame = int(SAMPLE_RATE * FRAME_SECONDS)
    loudness = frame_loudness(samples, frame)
    total = len(samples) / SAMPLE_RATE
    bounds = [0.0, *cut_points(loudness, FRAME_SECONDS, total, settings.chunk_seconds, settings.search_seconds), total]

    chunk_dir = folder / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    chunks = []
    for index, (start, end) in enumerate(zip(bounds, bounds[1:])):
        piece = audio[int(start * 1000) : int(end * 1000)]
        level = loudness[int(start / FRAME_SECONDS) : max(int(start / FRAME_SECONDS) + 1, int(end / FRAME_SECONDS))]
        path = chunk_dir / f"{index:03d}.wav"
        with atomic_path(path) as tmp:
            piece.export(tmp, format="wav")
        silent = bool(level.max() < settings.silence_dbfs)
        chunks.append(Chunk(index, path, round(start, 3), round(len(piece) / 1000, 3), silent))
    for stale in chunk_dir.glob("*.wav"):
        if stale not in {c.path for c in chunks}:
            stale.unlink()
    write_json(folder / CHUNKS_FILE, {"source": str(audio_path), "duration": total, "chunks": [c.to_dict(folder) for c in chunks]})
    return chunks
