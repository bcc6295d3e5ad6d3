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
PAUSE = 0.12  # seconds: a pause this long (no phoneme, or the voice quiet) shows the neutral closed mouth
QUIET = 0.06  # of the 95th-percentile frame loudness: below this the voice is silent
_REDUCED = ("ə", "ᵻ", "ɐ", "ɚ")  # English's reduced vowels: the jaw hardly moves
_STRESS = {"ˈ": 1.0, "ˌ": 0.6}


def is_vowel(unit: str) -> bool:
    """A vowel, or a pinyin final: a syllable's nucleus (what opens the jaw and carries stress)."""
    symbol = symbol_of(unit)
    return bool(symbol) and symbol != "sil" and viseme(unit) in (OPEN, MID, CLOSE) and symbol[0] not in "wjɥ"


def prominence(narration: Narration, audio: np.ndarray, rate: int) -> list[float]:
    """Per unit, how prominent its syllable is, 0..1: lexical stress (English; Chinese syllables are all full), duration and loudness.

    Stress comes from the voice's stress marks (Kokoro and espeak put ˈ/ˌ on
    the syllable's onset or its vowel); length and loudness (the unit's RMS)
    are measured against the narration's own vowels, so a stressed, long,
    loud open vowel is the widest and most syllables open only a little.
    """
    units = narration.units()
    rms = np.array([np.sqrt(np.mean(audio[int(u.start * rate) : max(int(u.start * rate) + 1, int(u.end * rate))] ** 2) + 1e-12) for u in units])
    vowels = [k for k, u in enumerate(units) if is_vowel(u.unit)]
    if not vowels:
        return [0.5] * len(units)
    loud_ref = float(np.percentile(rms[vowels], 90))
    length_ref = float(np.median([units[k].end - units[k].start for k in vowels]))
    marked = {id(u) for s in narration.sentences if any(m in v.unit for v in s.units for m in _STRESS) for u in s.units}
    out, pending = [0.5] * len(units), 0.0
    for k, unit in enumerate(units):
        pending = max(pending, *(weight for mark, weight in _STRESS.items() if mark in unit.unit), 0.0)
        if not is_vowel(unit.unit):
            if not unit.unit.strip() or unit.unit == "sil":
                pending = 0.0
            continue
        stress = (0.1 if symbol_of(unit.unit).startswith(_REDUCED) else 0.3) if id(unit) in marked else 0.6
        stress = max(stress, pending)
        pending = 0.0
        length = np.clip(((unit.end - unit.start) / max(length_ref, 1e-3) - 0.5) / 1.0, 0, 1)
        loud = np.clip((rms[k] / (loud_ref + 1e-9) - 0.3) / 0.7, 0, 1)
        out[k] = float(0.5 * stress + 0.25 * length + 0.25 * loud)
    return out


def pause_frames(narration: Narration, loud: np.ndarray, fps: int, frames: int) -> np.ndarray:
    """Frames of pauses of PAUSE seconds or more: no phoneme but 'sil' (from the frame whose centre enters the gap), or the voice quiet that long."""
    times = (np.arange(frames) + 0.5) / fps
    spans = sorted((u.start, u.end) for u in narration.units() if u.unit.strip() and u.unit != "sil")
    paused = np.zeros(frames, bool)
    last = 0.0
    for start, end in [*spans, (frames / fps + PAUSE, frames / fps + PAUSE)]:
        if start - last >= PAUSE:
            paused |= (times >= last) & (times < start)
        last = max(last, end)
    quiet = loud < QUIET
    run = int(np.ceil(PAUSE * fps))
    i = 0
    while i < frames:  # the voice silent inside a unit's span (a long final n, a breath): closed as well
        j = i
        while j < frames and quiet[j]:
            j += 1
        if j - i >= run:
            paused[i:j] = True
        i = max(j, i + 1)
    return paused


def openings(narration: Narration, audio: np.ndarray, rate: int, fps: int, frames: int) -> np.ndarray:
    """Per-frame mouth shape, (frames, 4): jaw, spread, rounding, tongue (``shape``); the neutral closed mouth in pauses.

    Each phoneme's shape, its jaw scaled by its syllable's prominence (stress,
    length, loudness), is blended into its neighbours with an exponential
    dominance function (Cohen and Massaro), so motion at 25 fps is smooth and
    never jitters. Lips shut from the onset frame of b/p/m and each vowel
    reaches its own opening in its middle, whatever the blend; pauses of
    120 ms or more close the mouth from their first frame.
    """
    loud = loudness(audio, rate, fps, frames)
    units = narration.units()
    track = np.zeros((frames, 4), np.float32)
    if not units:  # voices without timings: loudness alone (weaker: no closures on b/p/m)
        track[:, 0] = np.clip(loud * 0.8, 0, 0.8) * (loud > 0.08)
        return track
    times = (np.arange(frames) + 0.5) / fps
    weights = np.zeros(frames, np.float32)
    amplitude = [0.45 + 0.55 * p for p in prominence(narration, audio, rate)]
    targets = []
    for unit, gain in zip(units, amplitude):
        target = np.array(shape(unit.unit), np.float32)
        target[0] *= gain if is_vowel(unit.unit) else 0.7  # consonants: the jaw nearly closed; the vowels around them shape it
        targets.append(target)
        centre = (unit.start + unit.end) / 2
        half = max((unit.end - unit.start) / 2, 1e-3)
        distance = np.maximum(np.abs(times - centre) - half, 0)
        dominance = np.exp(-distance / DOMINANCE) * (1.0 if unit.unit != "sil" else 0.5)
        track += dominance[:, None] * target
        weights += dominance
    track /= np.maximum(weights, 1e-6)[:, None]
    for unit, target in zip(units, targets):
        first = int(unit.start * fps)
        last = max(first, int(np.ceil(unit.end * fps)) - 1)
        if is_bilabial(unit.unit):  # shut from the onset frame: never late on b/p/m
            track[first : last + 1, 0] = 0.0
        elif is_vowel(unit.unit):  # the vowel's own opening through its middle
            span = unit.end - unit.start
            middle = slice(int((unit.start + 0.25 * span) * fps), min(frames, int(np.ceil((unit.end - 0.25 * span) * fps))))
            track[middle, 0] = np.maximum(track[middle, 0], target[0])
    paused = pause_frames(narration, loud, fps, frames)
    track[paused] = 0.0  # the neutral closed mouth: jaw shut, lips relaxed
    near = np.convolve(np.pad(paused.astype(np.float32), 1, mode="edge"), np.ones(3) / 3, mode="valid")
    track[:, 1:] *= (1 - near)[:, None]  # the lips ease into and out of a pause over a frame
    return np.clip(track, 0, 1)
