"""Mouth shapes from the narration's phoneme timings (pinyin initials/finals and IPA), frame by frame."""

from __future__ import annotations

import numpy as np

from core.artifacts import Narration

OPEN, MID, CLOSE, SHUT = 1.0, 0.65, 0.4, 0.0
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


_ROUNDED = ("o", "u", "ɔ", "ʊ", "w", "y", "v", "ø", "œ", "ɒ")  # lips pushed together and forward: o, u, ou, w, ü
_SPREAD = ("i", "ɪ", "e", "ɛ", "j", "ɨ")  # lips drawn back: i, ɪ, e, ei, ie, iː
_TONGUE_TIP = {"l", "n", "t", "d", "ɾ", "ɹ", "θ", "ð", "s", "z"}  # the tongue shows behind the teeth


def viseme(unit: str) -> float:
    """Jaw opening (0 shut .. 1 wide) for one pinyin initial/final or IPA phoneme (piper's, espeak's or Kokoro's)."""
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
    return 0.35  # other consonants: the neighbouring vowel shapes the mouth


def shape(unit: str) -> tuple[float, float, float, float]:
    """(jaw, spread, rounding, tongue), each 0..1: how far the jaw drops, the lips draw back or purse forward, and the tongue shows.

    Rounding and spreading follow the vowel's (or glide's) lip posture; the
    open vowels keep a slight spread; consonants are neutral and take their
    shape from the neighbouring vowels by coarticulation.
    """
    symbol = symbol_of(unit)
    jaw = viseme(unit)
    if not symbol or symbol == "sil" or symbol in _BILABIAL or symbol in _LABIODENTAL:
        return jaw, 0.0, 0.0, 0.0
    if symbol in _TONGUE_TIP:
        return jaw, 0.3, 0.0, 1.0
    if jaw == OPEN:
        return jaw, 0.3, 0.0 if symbol[-1] not in "uʊwo" else 0.4, 0.6  # ao, aʊ end rounded
    if symbol[0] in _ROUNDED or symbol in ("uo", "ou", "ong", "ɚ") or (symbol[0] in "ɤə" and symbol.endswith(("ʊ", "u"))):
        return jaw, 0.0, 1.0, 0.0
    if symbol[0] in _SPREAD or symbol in ("ei", "ie", "er"):
        return jaw, 1.0, 0.0, 0.2
    return jaw, 0.2, 0.0, 0.2


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


DOMINANCE = 0.04  # seconds: how far a phoneme's shape reaches into its neighbours (coarticulation)


def openings(narration: Narration, audio: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    """Per-frame mouth shape, (frames, 4): jaw, spread, rounding, tongue (``shape``); closed in pauses.

    Each phoneme's shape is blended into its neighbours with an exponential
    dominance function (Cohen and Massaro), so motion at 25 fps is smooth and
    never jitters; the jaw follows loudness a little; lips shut from the onset
    frame of b/p/m and open wide in the middle of open vowels, whatever the blend.
    """
    loud = loudness(audio, rate, fps, frames)
    units = narration.units()
    track = np.zeros((frames, 4), np.float32)
    if not units:  # voices without timings: loudness alone (weaker: no closures on b/p/m)
        track[:, 0] = np.clip(loud * 1.2, 0, 1) * (loud > 0.08)
        return track
    times = (np.arange(frames) + 0.5) / fps
    weights = np.zeros(frames, np.float32)
    for unit in units:
        centre = (unit.start + unit.end) / 2
        half = max((unit.end - unit.start) / 2, 1e-3)
        distance = np.maximum(np.abs(times - centre) - half, 0)
        dominance = np.exp(-distance / DOMINANCE) * (1.0 if unit.unit != "sil" else 0.5)
        track += dominance[:, None] * np.array(shape(unit.unit), np.float32)
        weights += dominance
    track /= np.maximum(weights, 1e-6)[:, None]
    track[:, 0] *= 0.8 + 0.2 * loud
    for unit in units:
        first = int(unit.start * fps)
        last = max(first, int(np.ceil(unit.end * fps)) - 1)
        if is_bilabial(unit.unit):  # shut from the onset frame: never late on b/p/m
            track[first : last + 1, 0] = 0.0
        elif is_open_vowel(unit.unit):  # wide through the middle of the vowel
            span = unit.end - unit.start
            for i in range(int((unit.start + 0.2 * span) * fps), min(frames, int(np.ceil((unit.end - 0.2 * span) * fps)))):
                track[i, 0] = max(track[i, 0], OPEN * (0.85 + 0.15 * loud[i]))
    spoken = np.zeros(frames, bool)
    for unit in units:
        if unit.unit != "sil":
            spoken[int(unit.start * fps) : int(np.ceil(unit.end * fps))] = True
    track[~spoken, 0] = 0.0  # the jaw rests in pauses; the lips relax into them over a few frames
    relaxed = np.convolve(np.pad(spoken.astype(np.float32), 2, mode="edge"), np.ones(5) / 5, mode="valid")
    track[:, 1:] *= relaxed[:, None]
    return np.clip(track, 0, 1)
