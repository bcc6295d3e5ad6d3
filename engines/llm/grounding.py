"""Faithfulness check: which numbers, dates and names in a summary the transcript does not contain.

Small models invent details. Every claim-like item of the generated text is
looked up in the transcript after both are normalised the same way: NFKC
(full-width to half-width), case, thousands separators, Chinese numerals and
English number words to Arabic digits.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from core.glossary import near_sound
from core.text import CJK as _CJK

TERMS = Path(__file__).resolve().parents[2] / "assets" / "zh" / "terms.txt"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
MAGNITUDES = {"万": 10_000, "亿": 100_000_000}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 4,680电池 (no word boundary before a Chinese character); ASCII only: not "2024，100家"
_ENGLISH_ENTITY = re.compile(r"[A-Z][A-Za-z0-9'’\-]*(?:[ \t]+[A-Z][A-Za-z0-9'’\-]*)*")  # Latin only: in Chinese text \w would run on into 迁移到
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:;\"“]\s*|\n\s*)$")
_COMMON_CAPITALISED = {
    "a", "an", "the", "this", "that", "these", "those", "he", "she", "it", "we", "they", "you", "i", "in", "on", "at",
    "and", "but", "or", "so", "if", "when", "while", "after", "before", "as", "for", "with", "today", "here", "there",
    "what", "why", "how", "who", "our", "their", "his", "her", "its", "my", "your", "also", "finally", "first", "then",
    "episode", "podcast", "host", "hosts", "guest", "guests", "speaker", "speakers", "listeners", "welcome", "join",
    "chapter", "summary", "highlights", "introduction", "conclusion", "overview", "discussion", "q", "ok",
}
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORDS = re.compile(
    r"\b(?:" + "|".join(_UNITS) + r")\b(?:[\s-]+(?:and[\s-]+)?(?:" + "|".join([*_UNITS, *_SCALES]) + r")\b)*", re.IGNORECASE
)


def _english_number(words: str) -> str:
    total = current = 0
    for word in re.split(r"[\s-]+", words.lower().strip()):
        if word in _UNITS:
            current += _UNITS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return str(total + current)


_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*(hundred|thousand|million|billion|万|亿)", re.IGNORECASE)
_SCALE_FACTORS = {**_SCALES, "万": 10_000, "亿": 100_000_000}


def _scaled(match: re.Match) -> str:
    value = float(match.group(1)) * _SCALE_FACTORS[match.group(2).lower()]
    return str(int(value)) if value.is_integer() else str(value)


def normalise(text: str) -> str:
    """Text reduced so that the same fact written two ways compares equal."""
    text = _THOUSANDS.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    if _CJK.search(text):
        import warnings

        import cn2an

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns on every mixed form such as "320万"
            text = cn2an.transform(text, "cn2an")
    text = _SCALED.sub(_scaled, text)
    text = _NUMBER_WORDS.sub(lambda m: " " + _english_number(m.group(0)) + " ", text)
    return re.sub(r"\s+", " ", text.lower()).strip()


def numbers(text: str) -> set[str]:
    """Numbers of a normalised text, in a canonical form (no trailing .0)."""
    found = set()
    for match in _NUMBER.findall(text):
        value = float(match)
        found.add(str(int(value)) if value.is_integer() else str(value))
    return found


def _english_entities(text: str) -> set[str]:
    entities = set()
    for match in _ENGLISH_ENTITY.finditer(text):
        words = match.group(0).split()
        if _SENTENCE_START.search(text[: match.start()]) and words[0].lower() in _COMMON_CAPITALISED | {"i"}:
            words = words[1:]
        elif _SENTENCE_START.search(text[: match.start()]) and len(words) == 1:
            continue  # a lone capitalised word opening a sentence is usually not a name
        words = [w for w in words if w.lower() not in _COMMON_CAPITALISED]
        if words and not (len(words) == 1 and len(words[0]) < 2):
            entities.add(" ".join(words).strip("'’-"))
    return entities


_JOINING = "和与跟及"  # "and" between two names


def _chinese_entities(text: str) -> set[str]:
    import jieba.posseg

    proper = {"nr", "nrfg", "nrt", "ns", "nt", "nz"}
    found = set()
    for word, flag in jieba.posseg.cut(text):
        if flag in proper and len(word) >= 3 and word[-1] in _JOINING:
            word = word[:-1]  # "林晓和张伟聊了": jieba reads 林晓和 as one name
        if flag in proper and len(word) >= 2:
            found.add(word)
    return found



def claims(text: str, names: bool = True) -> list[str]:
    """Numbers (2 and up: 'one of' and '一个' say nothing) and, if ``names``, named entities in ``text``."""
    items = {n for n in numbers(normalise(text)) if float(n) >= 2}
    if names:
        items |= _english_entities(text)
        if _CJK.search(text):
            items |= _chinese_entities(text)
    return sorted(items)


_COUNTED = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)((?: [a-z]+){0,4})")  # a number of a normalised English text and the words after it


def _counted(text: str, reach: int) -> dict[str, set[str]]:
    """Each number of a normalised English ``text`` with the words said right after it: up to ``reach`` of them ("six
    more engineers"), each occurrence one string ("" where none is)."""
    found: dict[str, set[str]] = {}
    for match in _COUNTED.finditer(text):
        found.setdefault(match.group(1), set()).add(" ".join(match.group(2).split()[:reach]))
    return found


_NOT_COUNTED = {"this", "across", "plus", "does", "was", "has", "is", "as", "always", "perhaps", "less", "unless", "thus", "whereas", "versus"}


def mismeasured(text: str, transcript: str) -> list[str]:
    """English numbers that ``text`` counts in a thing the transcript never counts them in: "a model with 7 billion
    tokens per second" where the episode said "seven billion parameters" and "seven billion model" (edge-cases). Only a
    plural noun after the number is read ("6 engineers", not "6 worked"; not a year), and only a number the transcript
    always says with words after it, none of them that noun ("six more engineers" counts engineers)."""
    return _mismeasured(normalise(text), normalise(transcript))


def _mismeasured(said: str, source: str) -> list[str]:
    """``mismeasured`` on texts normalised already (``ungrounded`` has the transcript's)."""
    if _CJK.search(said) or _CJK.search(source):
        return []
    heard = _counted(source, 4)
    found = []
    for number, words in _counted(said, 1).items():
        after_number = heard.get(number)
        if not after_number or "" in after_number or 1900 <= float(number) <= 2100:
            continue
        after = {w.rstrip("s") for occurrence in after_number for w in occurrence.split()}
        found += [f"{number} {word}" for word in words if len(word) > 3 and word.endswith("s") and word not in _NOT_COUNTED and word.rstrip("s") not in after]
    return found


def ungrounded(text: str, transcript: str, names: bool = True) -> list[str]:
    """The claims of ``text`` that ``transcript`` does not contain, a number counting something else among them."""
    source = normalise(transcript)
    source_numbers = numbers(source)
    source_words = set(re.findall(r"\w+", source))
    missing = _mismeasured(normalise(text), source)
    for item in claims(text, names):
        if _NUMBER.fullmatch(item):
            if item not in source_numbers and not _magnitude_heard(item, transcript):
                missing.append(item)
            continue
        key = normalise(item)
        if key in source:
            continue
        if not _CJK.search(key) and all(word in source_words for word in re.findall(r"\w+", key)):
            continue  # "President Kennedy" when the transcript says "Kennedy" ... "President"
        if _CJK.search(key) and (_common_word_heard(key, source) or _of_heard_term(key, normalise(text), source)):
            continue  # 匈牙利 where Whisper wrote 匈牙里, 月活 for 月火: a word every dictionary holds, said with the same sounds
        missing.append(item)
    return missing


def magnitude_sounds(char: str) -> list[str]:
    """万 or 亿 where ``char`` sounds like it, or like it without its final nasal: Whisper wrote 1000瓦 for 1000万."""
    (sound,) = toneless(char) if len(char) == 1 and _CJK.match(char) else ("",)
    said = lambda magnitude: toneless(magnitude)[0]
    return [m for m in MAGNITUDES if m != char and (near_sound(sound) == near_sound(said(m)) or sound + "n" == said(m))]


def _magnitude_heard(number: str, transcript: str) -> bool:
    """Whether ``transcript`` writes ``number`` as digits and then a character of its own (jieba's word) that sounds like
    its 万 or 亿 (1000瓦 for 1000万; not 100以上, nor the 一 of 统一以, which the normalised text writes as 1)."""
    import jieba

    said = _THOUSANDS.sub("", transcript)
    value = float(number)
    for magnitude, size in MAGNITUDES.items():
        scaled = value / size
        figure = str(int(scaled)) if scaled.is_integer() else str(scaled)
        for match in re.finditer(rf"(?<![\d.]){re.escape(figure)}([\u4e00-\u9fff]+)", said) if scaled >= 1 else ():
            first = next(iter(jieba.cut(match.group(1), HMM=False)))
            if len(first) == 1 and magnitude in magnitude_sounds(first):
                return True
    return False


def _common_word_heard(word: str, source: str) -> bool:
    """Whether ``word`` is a common dictionary word (jieba's, from COMMON_WORD: a place, a company everyone knows, never a
    person's name such as 张薇 for 张伟; or one of today's ``terms``) whose sounds, tones aside, the transcript says."""
    import jieba

    from core.glossary import COMMON_WORD

    jieba.dt.check_initialized()
    if jieba.dt.FREQ.get(word, 0) < COMMON_WORD and word not in terms():
        return False
    return f" {' '.join(toneless(word))} " in _sounds_of(source)


@functools.lru_cache(maxsize=1)
def terms() -> frozenset[str]:
    """Words of today's Chinese tech talk that jieba's dictionary lacks or holds as rare (月活, 磷酸铁锂, 昇腾): assets/zh/terms.txt."""
    lines = TERMS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _of_heard_term(claim: str, text: str, source: str) -> bool:
    """Whether ``claim`` is a piece jieba cut across one of today's ``terms`` in ``text`` (锂电池 of 磷酸铁锂电池), where the
    transcript says the sounds of both (磷酸铁里电池)."""
    heard = lambda word: f" {' '.join(toneless(word))} " in _sounds_of(source)
    return heard(claim) and any(term in text and set(term) & set(claim) and heard(term) for term in terms())


def toneless(text: str) -> list[str]:
    """``text``'s syllables without tones; a run of other characters is one '|'."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(text, errors=lambda chars: "|")  # "|": a break no syllable crosses


@functools.lru_cache(maxsize=8)
def _sounds_of(source: str) -> str:
    return f" {' '.join(toneless(source))} "


def mentions(text: str, item: str) -> bool:
    """Whether ``text`` says ``item`` as this check reads it: a number by its value, a name as whole words (a CJK edge as a run).

    Not a bare substring: "5" is not said by "25", nor "AI" by "OpenAI".
    """
    said = normalise(text)
    if _NUMBER.fullmatch(item):
        return item in numbers(said)
    key = normalise(item)
    if not key:
        return False
    before = r"(?<![a-z0-9])" if key[0].isascii() and key[0].isalnum() else ""
    after = r"(?![a-z0-9])" if key[-1].isascii() and key[-1].isalnum() else ""
    return re.search(before + re.escape(key) + after, said) is not None


def first_said(item: str, text: str) -> int:
    """Where ``text`` first says ``item`` (as normalised for this check); past the end when it never does."""
    said, key = normalise(text), normalise(item)
    found = said.find(key) if key else -1
    return found if found >= 0 else len(said)
