"""Glossary terms Whisper still misheard, put back: a near-homophone of a term becomes the term.

Chinese spans are compared by toneless pinyin (similar initials and finals,
z/zh, l/n, an/ang..., count half); Latin spans of one to three words by their
letters, or, for capitalised or multi-word spans, by how they sound (espeak-ng
phonemes: "Cooper Netties" sounds like "Kubernetes"). A span is replaced only
when it is close enough, and never when it is itself a common word, so
ordinary speech is left alone. Every repair is recorded with its time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from core.artifacts import Correction, Segment
from core.glossary import COMMON_WORD, Glossary, syllable_distance
from core.text import CJK

LATIN_SIMILARITY = 0.85  # of letters
SOUND_SIMILARITY = 0.85  # of phonemes (voicing and vowel length ignored), for spans that look like names
_LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'.\-]*")


def _pinyin(text: str, tones: bool = False) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(text, style=Style.TONE3 if tones else Style.NORMAL, errors="ignore", neutral_tone_with_five=True)


def _common(word: str) -> bool:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(word, 0) >= COMMON_WORD


def _chinese_repairs(text: str, term: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that sound like ``term``.

    A two-character term must come back as an exact homophone, tones included
    (Whisper hears tones: 王蕾 for 王磊, never 忘了 for 王乐); a longer one may
    have one syllable half-alike (z/zh, an/ang...).
    """
    n = len(term)
    short = n <= 2
    target = _pinyin(term, tones=short)
    if n < 2 or len(target) != n:
        return []
    allowed = 0.0 if short else 0.5
    spans, i = [], 0
    while i + n <= len(text):
        window = text[i : i + n]
        if window != term and all(CJK.match(c) for c in window):
            sounds = _pinyin(window, tones=short)
            if len(sounds) == n and sum(syllable_distance(a, b) for a, b in zip(target, sounds)) <= allowed and not _common(window):
                spans.append((i, i + n))
                i += n
                continue
        i += 1
    return spans


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# voiced and voiceless pairs, lax and tense vowels: what a recogniser confuses in a name it does not know
_SOUND_CLASSES = str.maketrans({"b": "p", "d": "t", "ɡ": "k", "g": "k", "v": "f", "z": "s", "ð": "θ", "ʒ": "ʃ", "ɪ": "i", "ʊ": "u", "ɛ": "e", "ɔ": "o", "ɑ": "a", "æ": "a", "ʌ": "ə", "ɾ": "t"})


@functools.lru_cache(maxsize=4096)
def _sound(text: str) -> str:
    """Stress-free espeak-ng phonemes of ``text`` ('' when espeak is not there)."""
    try:
        from misaki import espeak
    except ImportError:
        return ""
    phonemes, _ = _espeak(espeak)(text)
    return re.sub(r"[ˈˌː\s]", "", phonemes).translate(_SOUND_CLASSES)


@functools.lru_cache(maxsize=1)
def _espeak(module):
    return module.EspeakG2P(language="en-us")


def _alike(window: str, term: str) -> bool:
    from rapidfuzz.distance import Levenshtein

    letters, wanted = _squash(window), _squash(term)
    similarity = Levenshtein.normalized_similarity(letters, wanted)
    if letters[:1] == wanted[:1] and similarity >= LATIN_SIMILARITY:
        return True
    looks_like_a_name = any(c.isupper() for c in window) or " " in window.strip()
    if not looks_like_a_name or len(letters) < 4 or len(wanted) < 4 or similarity < 0.4:
        return False
    heard, said = _sound(window), _sound(term)
    return bool(heard and said) and Levenshtein.normalized_similarity(heard, said) >= SOUND_SIMILARITY


def _latin_repairs(text: str, term: str) -> list[tuple[int, int]]:
    """Runs of one to three Latin words that spell or sound like ``term``."""
    if len(_squash(term)) < 4:
        return []
    tokens = list(_LATIN_TOKEN.finditer(text))
    spans: list[tuple[int, int]] = []
    for first in range(len(tokens)):
        if spans and tokens[first].start() < spans[-1][1]:
            continue
        for last in range(first, min(first + 3, len(tokens))):
            start, end = tokens[first].start(), tokens[last].end()
            window = text[start:end]
            if term.lower() not in window.lower() and _alike(window, term):
                spans.append((start, end))
                break
    return spans


def repair(segments: list[Segment], glossary: Glossary) -> tuple[list[Segment], list[Correction]]:
    """Segments with misheard glossary terms replaced, and the list of replacements."""
    corrections: list[Correction] = []
    repaired = []
    for segment in segments:
        text, found = segment.text, []
        for term in sorted(glossary.terms, key=len, reverse=True):  # longer terms first: 宁德时代 before 时代
            finder = _chinese_repairs if CJK.search(term) else _latin_repairs
            for start, end in reversed(finder(text, term)):
                found.append((segment.text.find(text[start:end]), Correction(original=text[start:end], term=term, time=segment.start)))
                text = text[:start] + term + text[end:]
        corrections += [c for _, c in sorted(found, key=lambda item: item[0])]
        repaired.append(replace(segment, text=text) if text != segment.text else segment)
    return repaired, corrections
