"""Speech audio touch-ups: trimming a voice's own silence, loudness to a target under a peak limiter."""

from __future__ import annotations

import numpy as np

PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS


def trim(audio: np.ndarray, rate: int, floor_db: float = -45.0, margin: float = 0.02) -> tuple[np.ndarray, float]:
    """Cut leading and trailing silence (the caller's pauses replace it); returns audio and seconds cut at the start."""
    if not len(audio):
        return audio, 0.0
    level = np.abs(audio)
    loud = np.flatnonzero(level > level.max() * 10 ** (floor_db / 20))
    if not len(loud):
        return audio[:0], 0.0
    pad = int(margin * rate)
    start, end = max(0, loud[0] - pad), min(len(audio), loud[-1] + pad + 1)
    return audio[start:end], start / rate


def limit_peaks(audio: np.ndarray, rate: int, window: float = 0.005) -> np.ndarray:
    """A look-ahead limiter: the gain dips smoothly (5 ms) around every sample that would exceed -1 dBFS."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

    size = max(3, int(window * rate) | 1)
    envelope = maximum_filter1d(np.abs(audio), size=size)
    gain = np.minimum(1.0, PEAK_LIMIT / np.maximum(envelope, 1e-9))
    gain = uniform_filter1d(minimum_filter1d(gain, size=size), size=size)  # every peak stays at or under its gain
    return (audio * gain).astype(np.float32)


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
