"""An episode's glossary: the names and terms its metadata and the user give, spelled right.

It steers Whisper (initial prompt, hotwords), repairs what Whisper still
misspells (a near-homophone of a term becomes the term, each repair
recorded), and tells the summarizer how names are written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import CJK, has_cjk

_QUOTED = re.compile(r"[《「『“\"]([^》」』”\"]{2,30})[》」』”\"]")
_LATIN_NAME = re.compile(
    r"\b(?:[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+"  # CamelCase: OpenAI, PyTorch
    r"|[A-Za-z]*[A-Z]{2,}[A-Za-z0-9]*(?:-[A-Za-z0-9.]+)?"  # acronyms: GPT-4, vLLM, AWS
    r"|[A-Z][a-z]+(?:[ -][A-Z][a-z0-9]+){0,2}(?:-[0-9][0-9.]*[A-Za-z]?)?"  # Capitalised words: Google Brain, Llama-3
    r"|[A-Za-z]+-?[0-9][0-9.]*[A-Za-z]?)\b"  # words with numbers: Python3, Qwen2.5
)
_COMMON = set(
    "A An The This That These Those In On At For With And But Or So If When While After Before Today Here There What Why How Who "
    "We They You He She It I My Our Their Your His Her Its Also Then Now Welcome Episode Podcast Show Part Chapter Listen Thanks".split()
)
PROPER_TAGS = {"nr", "nrfg", "nrt", "ns", "nt", "nz"}
MAX_PROMPT_TERMS = 40
COMMON_WORD = 300  # jieba dictionary frequency from which a word is ordinary (北京, 嘉宾), not a name (比亚迪, 腾讯)


def _unique(items: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        item = item.strip(" ,.;:!?、，。；：！？")
        if len(item) >= 2 and item.lower() not in seen:
            seen[item.lower()] = item
    return list(seen.values())


_SENTENCE_START = re.compile(r"(?:^|[.!?:|]\s+)$")


def _latin_names(text: str, context: str) -> list[str]:
    """Capitalised and technical words of ``text``. A sentence's first word is capitalised anyway: alone ("From nightly
    batch…") it is a name only where ``context`` also writes it so mid-sentence ("…at Stripe"); at the head of a longer run
    ("Host Sarah Chen talks…") it is left out likewise."""
    mid_sentence = lambda word: re.search(r"(?<![.!?:|]\s)(?<!^)\b" + re.escape(word) + r"\b", context, re.MULTILINE) is not None
    found = []
    for match in _LATIN_NAME.finditer(text):
        name = match.group(0)
        while " " in name and name.split()[0] in _COMMON:
            name = name.split(" ", 1)[1]  # "How Stripe", "The Data Stack": the name after the common word
        if name in _COMMON:
            continue
        if _SENTENCE_START.search(text[: match.start()]) and " " not in name and not mid_sentence(name):
            continue
        if _SENTENCE_START.search(text[: match.start()]) and len(name.split()) >= 3 and not mid_sentence(name.split()[0]):
            name = name.split(" ", 1)[1]
        found.append(name)
    return found


def terms_in(text: str, context: str = "") -> list[str]:
    """Names and terms written in a text: quoted titles, Chinese proper nouns, capitalised and technical Latin words
    (``context``: more of the episode's metadata, where a sentence's first word may also be written)."""
    found = [m.group(1) for m in _QUOTED.finditer(text)]
    found += _latin_names(text, f"{text}\n{context}")
    if has_cjk(text):
        import jieba
        import jieba.posseg

        jieba.dt.check_initialized()
        found += [
            word for word, tag in jieba.posseg.cut(text)
            if tag in PROPER_TAGS and len(word) >= 2 and CJK.search(word) and jieba.dt.FREQ.get(word, 0) < COMMON_WORD
        ]
    return _unique(found)


@dataclass
class Glossary:
    """Terms in order of authority: the user's first, then the episode's metadata."""

    terms: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, *, show: str = "", title: str = "", description: str = "", keywords: list[str] | None = None, user: list[str] | None = None) -> Glossary:
        listed = [*(user or []), *(keywords or [])]
        named = [show] if 2 <= len(show) <= 30 else []  # the show's own name is the term most often misheard
        context = "\n".join((show, title, description))
        return cls(_unique([*listed, *named, *terms_in(show, context), *terms_in(title, context), *terms_in(description, context)]))

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def chinese(self) -> list[str]:
        return [t for t in self.terms if has_cjk(t)]

    @property
    def latin(self) -> list[str]:
        return [t for t in self.terms if not has_cjk(t)]


# what a recogniser confuses in Chinese: these initials and finals sound alike (z/zh, l/n, in/ing ...)
FUZZY_INITIALS = [{"z", "zh"}, {"c", "ch"}, {"s", "sh"}, {"l", "n"}, {"f", "h"}]
FUZZY_FINALS = [{"an", "ang"}, {"en", "eng"}, {"in", "ing"}, {"ian", "iang"}, {"uan", "uang"}]
_ALIKE = {sound: min(group, key=len) for group in FUZZY_INITIALS + FUZZY_FINALS for sound in group}
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s", "y", "w")


def near_sound(syllable: str) -> str:
    """A toneless pinyin syllable with its initial and final written as the ones they are confused with: "jing" and
    "jin" are both "jin", "shi" and "si" both "si"."""
    initial = next((i for i in _INITIALS if syllable.startswith(i)), "")
    final = syllable[len(initial) :]
    return _ALIKE.get(initial, initial) + _ALIKE.get(final, final)


def syllable_distance(a: str, b: str) -> float:
    """0 for the same toneless syllable, 0.5 when initials or finals are commonly confused, 1 otherwise."""
    return 0.0 if a == b else 0.5 if near_sound(a) == near_sound(b) else 1.0


def whisper_prompt(glossary: Glossary, language: str | None, show: str = "", title: str = "") -> str:
    """Whisper's initial prompt: a normal sentence in the episode's language, punctuated as the transcript should be.

    Whisper imitates its prompt: a bare list makes it write lists (or every mark
    as "："), so the terms sit inside an ordinary sentence. With no metadata a
    Chinese prompt still shows simplified Chinese with its usual punctuation;
    other languages get none (Whisper punctuates them well unprompted).
    """
    terms = glossary.terms[:MAX_PROMPT_TERMS]
    if language == "zh" or (language is None and has_cjk(show + title + "".join(terms))):
        opening = f"欢迎收听《{show}》。" if show else "欢迎收听本期节目。"
        about = f"这一期的题目是“{title}”。" if title else ""
        mentions = f"节目里会提到{'、'.join(terms)}等名字。" if terms else ""
        return f"{opening}{about}{mentions}我们用简体中文和正常的标点符号，比如逗号、句号和问号，把节目记录下来。"
    if not (show or title or terms):
        return ""
    opening = f"Welcome to {show}." if show else "Welcome to the show."
    about = f" This episode: {title}." if title else ""
    mentions = f" We talk about {', '.join(terms)}." if terms else ""
    return f"{opening}{about}{mentions}"


def hotwords(glossary: Glossary) -> str | None:
    """faster-whisper's hotwords: the terms, separated by spaces."""
    return " ".join(glossary.terms[:MAX_PROMPT_TERMS]) or None
