"""Text rules used everywhere: scripts (CJK or not), sentences, clock formats, and cleaning text from strangers."""

from __future__ import annotations

import html
import re
import unicodedata

# CJK Unified Ideographs with extension A and the compatibility block: what "Chinese characters" means here.
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’+.\-]*[A-Za-z0-9+]|[A-Za-z]")
UNSPACED_LANGUAGES = ("zh", "ja", "yue")  # written without spaces between words
SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])\s*|(?<=[.])\s+")
FINISHED = re.compile(r"[.!?。！？…][\"'”’」』)）]*\s*$")  # a sentence's end, closing quotes or brackets allowed


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def cjk_count(text: str) -> int:
    return len(CJK.findall(text))


def is_mostly_cjk(text: str, share: float = 1 / 3) -> bool:
    return cjk_count(text) > len(text) * share


_FULL_WIDTH = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_ASCII_MARK_BY_CJK = re.compile(r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])\s*([,?!:;])\s*|\s*([,?!:;])\s*(?=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


# The "small form variants" (U+FE50-FE57) of Big5-era traditional text: Whisper learned them from such subtitles and writes
# "﹑" (three byte tokens; OpenCC keeps it) where a clause or a sentence ended. They are the ordinary marks, written small.
_SMALL_FORMS = str.maketrans("﹐﹑﹒﹔﹕﹖﹗", "，、。；：？！")


def small_forms(text: str) -> str:
    """The small-form marks ﹐﹑﹒﹔﹕﹖﹗ written as the ordinary full-width ones (，、。；：？！)."""
    return text.translate(_SMALL_FORMS)


def chinese_punctuation(text: str) -> str:
    """ASCII , ? ! : ; next to a Chinese character become their full-width forms (Whisper mixes both); 4,680 and "Hi, Bob" stay.

    The small forms (﹑﹐…) become the ordinary full-width marks too.
    """
    return _ASCII_MARK_BY_CJK.sub(lambda m: _FULL_WIDTH[m.group(1) or m.group(2)], small_forms(text.replace("\ufffd", "")))


def unspaced(language: str | None) -> bool:
    """True for languages written without spaces between words (Chinese, Japanese, Cantonese)."""
    return (language or "") in UNSPACED_LANGUAGES


def joiner(language: str | None) -> str:
    return "" if unspaced(language) else " "


def word_count(text: str) -> int:
    """Words, counting two Chinese characters as one word (about how Chinese is read)."""
    return cjk_count(text) // 2 + len(re.findall(r"[A-Za-z0-9]+", text))


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, line by line, cut after 。！？!?；;… and after '.' followed by a space."""
    sentences = []
    for paragraph in text.splitlines():
        sentences += [s.strip() for s in SENTENCE_END.split(paragraph.strip()) if s.strip()]
    return sentences


# --- clocks --------------------------------------------------------------------------------


def clock(seconds: float) -> str:
    """mm:ss (minutes may pass 59), the form transcript lines and chapters use in prompts."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def seconds_of(stamp: str, default: float) -> float:
    """Seconds of a 'mm:ss' or 'h:mm:ss' stamp, or ``default`` when there is none."""
    match = re.search(r"(?:(\d+):)?(\d{1,3}):(\d{2})", stamp or "")
    if not match:
        return default
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def duration_clock(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour: how players show a length."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def timestamp(seconds: float, separator: str) -> str:
    """hh:mm:ss,mmm (SRT, separator ',') or hh:mm:ss.mmm (WebVTT, '.')."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


# --- text from strangers -------------------------------------------------------------------

_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"))
# Every character XML 1.0 forbids (§2.2): C0 controls but tab, newline and carriage return; lone surrogates; U+FFFE and U+FFFF.
XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """Feed text made safe to store and republish: no control, bidirectional-override or XML-forbidden characters."""
    text = XML_FORBIDDEN.sub("", (text or "").translate(_BIDI_CONTROLS))
    return "".join(c for c in text if c in "\t\n" or unicodedata.category(c) != "Cc")


def plain_text(value: str) -> str:
    """Markup removed and entities decoded, whitespace collapsed, control characters gone."""
    text = re.sub(r"<[^>]+>", " ", value or "")
    return re.sub(r"\s+", " ", clean(html.unescape(text))).strip()
