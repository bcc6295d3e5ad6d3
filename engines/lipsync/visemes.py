"""Mouth shapes from the narration's phoneme timings (pinyin initials/finals and IPA), frame by frame."""

from __future__ import annotations

import numpy as np

from core.artifacts import Narration

OPEN, MID, CLOSE, SHUT = 1.0, 0.55, 0.3, 0.0
_BILABIAL = {"b", "p", "m"}
_LABIODENTAL = {"f", "v"}
_MARKS = "ˈˌːˑ↓→↗↘ʰʲ̃ᵊ"  # stress, length, Mandarin tone arrows (Kokoro), aspiration: they do not change the mouth's shape
# misaki's one-letter diphthongs (Kokoro's English): A = eɪ, I = aɪ, O = oʊ, Q = əʊ, W = aʊ, Y = ɔɪ
_DIPHTHONGS = {"A": "eɪ", "I": "aɪ", "O": "oʊ", "Q": "əʊ", "W": "aʊ", "Y": "ɔɪ"}


def symbol_of(unit: str) -> str:
    """A unit as the viseme rules read it: marks removed, misaki's diphthong letters spelled out, lower case, no tone digit."""
    core = unit.strip(_MARKS)
    core = "".join(_DIPHTHONGS.get(c, c) for c in core)
    return core.lower().rstrip("012345")


def viseme(unit: str) -> float:
    """Mouth opening (0 shut .. 1 wide) for one pinyin initial/final or IPA phoneme (piper's, espeak's or Kokoro's)."""
    symbol = symbol_of(unit)
    if not symbol or symbol == "sil":
        return SHUT
    if symbol in _BILABIAL:
        return SHUT
    if symbol in _LABIODENTAL:
        return 0.15
    if symbol[0] in "aɑæʌɐ" or (len(symbol) > 1 and symbol[0] in "iuvwy" and "a" in symbol):
        return OPEN  # a, ai, ao, an, ang, ia, ua, uan...; ɑ, æ, aɪ, aʊ, ʌ
    if symbol[0] in "eɛəɜoɔɚɤøœ" or symbol in ("er", "uo", "ie", "ve", "ou", "ei", "ong"):
        return MID
    if symbol[0] in "iɪuʊyvɨɯ":
        return CLOSE
    return 0.3  # other consonants: the neighbouring vowel shapes the mouth


def is_bilabial(unit: str) -> bool:
    return symbol_of(unit) in _BILABIAL


def is_open_vowel(unit: str) -> bool:
    return viseme(unit) == OPEN


def loudness(audio: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    """Per-frame RMS relative to the 95th percentile, in 0..1."""
    hop = rate / fps
    rms = np.array([np.sqrt(np.mean(audio[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12) for i in range(frames)])
    reference = np.percentile(rms, 95) if len(rms) else 1.0
    return np.clip(rms / (reference + 1e-9), 0, 1).astype(np.float32)


def openings(narration: Narration, audio: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    """Per-frame mouth opening from the phoneme timeline, blended with loudness; 0 in pauses."""
    loud = loudness(audio, rate, fps, frames)
    units = narration.units()
    if not units:  # voices without timings: loudness alone (weaker: no closures on b/p/m)
        return np.clip(loud * 1.2, 0, 1) * (loud > 0.08)
    times = (np.arange(frames) + 0.5) / fps
    target = np.zeros(frames, np.float32)
    starts = np.array([u.start for u in units])
    index = np.searchsorted(starts, times, side="right") - 1
    for i, (t, k) in enumerate(zip(times, index)):
        if k >= 0 and units[k].start <= t < units[k].end:
            target[i] = viseme(units[k].unit)
    smooth = np.convolve(np.pad(target, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")  # coarticulation
    smooth *= 0.75 + 0.25 * loud
    for unit in units:
        first = int(unit.start * fps)
        last = max(first, int(np.ceil(unit.end * fps)) - 1)
        if is_bilabial(unit.unit):  # shut from the onset frame: never late on b/p/m
            smooth[first : last + 1] = 0.0
        elif is_open_vowel(unit.unit):
            middle = min(frames - 1, int((unit.start + unit.end) / 2 * fps))
            smooth[middle] = max(smooth[middle], OPEN * (0.85 + 0.15 * loud[middle]))
    spoken = np.zeros(frames, bool)
    for unit in units:
        if unit.unit != "sil":
            spoken[int(unit.start * fps) : int(np.ceil(unit.end * fps))] = True
    return np.where(spoken, np.clip(smooth, 0, 1), 0.0).astype(np.float32)
