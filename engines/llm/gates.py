"""Quality gates on a digest a language model wrote, and what happens to a field that fails them.

Every answer is checked: its language, empty or duplicate chapter titles, crowded chapters,
highlights that repeat the summary, a summary or script that repeats its own
sentences, a script far from its length, a speaker
label or keyword list in the script, a list of names in place of prose, a
placeholder show name, names and numbers the transcript does not contain,
and central glossary names left out. A chat
engine sends the answer back once with what was found; what still fails here
is replaced by a field built from the transcript (labelled extractive), and a
script sentence that still holds an unverified item, or says one that another
field lists as unverified, is dropped, so nothing unverified is ever spoken.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from core.artifacts import Chapter, Written
from core.text import CJK, FINISHED, LATIN_WORD, cjk_count, split_sentences

from . import grounding
from .ranking import Extract

_SPEAKER_LABEL = re.compile(r"^\s*(?:[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,2}|" + CJK.pattern + r"{2,4})\s*[:：]\s*")
_KEYWORD_TAIL = re.compile(r"(?:[.!?。！？]\s*)((?:[^.!?。！？,，]{1,30}[,，]\s*){3,}[^.!?。！？,，]{1,30})\s*$")
_LISTED = re.compile(r"(?:[^、。！？；，,\n]{1,20}、){4,}|(?:\b[A-Z][\w.\-]*(?: [A-Z][\w.\-]*)?, ){5,}")  # five or more names in a row
PLACEHOLDERS = ("local audio", "本地音频")
LANGUAGE_SHARE = 0.9  # of a field's letters in the digest's script, names and terms aside
REPEAT = 0.8  # word overlap (Jaccard) from which two sentences say the same
SHORTEST, LONGEST = 0.5, 1.5  # of the target script length: outside, the length gate fires
LONG_TITLE = {True: 24, False: 12}  # a chapter title over this many characters (Chinese) or words is a sentence, not a title
CHAPTER_SECONDS = 30  # the shortest average chapter of a list rebuilt from the transcript


class Draft(Protocol):
    """A digest as the gates read it: the model's reply (base.Digest) or the written digest (core.artifacts.Written)."""

    title: str
    summary: str
    highlights: list[str]
    script: str

    @property
    def chapter_titles(self) -> list[str]: ...


@dataclass
class Problem:
    """One gate that fired: on which field, which gate, and what the message to the model needs."""

    field: str
    gate: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Review:
    """What the gates compare a draft with."""

    language: str
    transcript: str
    target_size: int
    by_characters: bool
    glossary: list[str] = dataclasses.field(default_factory=list)

    def spoken_size(self, text: str) -> int:
        return cjk_count(text) if self.by_characters else len(text.split())

    @property
    def central_names(self) -> list[str]:
        """Glossary terms the transcript says at least twice: the names a digest should keep."""
        return self.names_heard(2)

    def names_heard(self, times: int = 1) -> list[str]:
        """Glossary terms the transcript says at least ``times`` times."""
        heard = grounding.normalise(self.transcript)
        return [term for term in self.glossary if heard.count(grounding.normalise(term)) >= times]


# --- single checks -----------------------------------------------------------------------------------


def voice_problems(script: str) -> list[str]:
    """Small models write the script as a transcript line ("Maria: Hello, I'm Maria") or end it with keywords."""
    found = []
    if _SPEAKER_LABEL.match(script):
        found.append("speaker_label")
    if _KEYWORD_TAIL.search(script):
        found.append("keyword_tail")
    return found


def crowded(starts: list[float], duration: float) -> bool:
    """Chapters that leave the episode's second half out, or two that start within a quarter of an even share apart.

    A small model copies the times of the notes' first few points (00:32, 00:35, 00:37 ... in a
    2-minute episode); the notes are all it sees, so asking again cannot spread them.
    """
    if len(starts) < 2 or duration <= 0:
        return False
    closest = min(b - a for a, b in zip(starts, starts[1:]))
    return starts[-1] < duration / 2 or closest < duration / (4 * len(starts))


def clean_script(script: str) -> str:
    """What is left of those habits after the revision is cut: a leading label, a trailing keyword list, an unfinished last sentence.

    A reply that loops is cut mid-sentence by the grammar's length cap; that fragment is never spoken.
    """
    script = _SPEAKER_LABEL.sub("", script, count=1)
    tail = _KEYWORD_TAIL.search(script)
    if tail:
        script = script[: tail.start(1)].rstrip()
    sentences = split_sentences(script)
    if len(sentences) > 1 and not FINISHED.search(script):
        script = script[: script.rindex(sentences[-1])]
    return script.strip()


def language_share(text: str, language: str, transcript: str, glossary: list[str]) -> float:
    """How much of ``text`` is in the language's script, names and terms (from the transcript or glossary) aside."""
    if language == "zh":
        known = {w.lower() for w in LATIN_WORD.findall(transcript + " " + " ".join(glossary))}
        foreign = sum(len(w) for w in LATIN_WORD.findall(text) if w.lower() not in known)
        native = cjk_count(text)
    else:
        foreign = sum(len(run) for run in re.findall(CJK.pattern + "+", text) if run not in transcript) * 2
        native = sum(len(w) for w in LATIN_WORD.findall(text))
    return native / (native + foreign) if native + foreign else 1.0


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w", text.lower())) if cjk_count(text) > len(text) / 3 else set(re.findall(r"\w+", text.lower()))


def similar(a: str, b: str) -> bool:
    """Whether two sentences say the same (words, or characters for Chinese, overlapping by REPEAT)."""
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= REPEAT


def unrepeated(sentences: list[str]) -> list[str]:
    """The sentences, each said once: a small model that loops says the same sentence again and again."""
    kept: list[str] = []
    for sentence in sentences:
        if not any(similar(sentence, earlier) for earlier in kept):
            kept.append(sentence)
    return kept


def length_problem(script: str, review: Review) -> Problem | None:
    size, wanted = review.spoken_size(script), review.target_size
    if SHORTEST * wanted <= size <= LONGEST * wanted:
        return None
    return Problem("script", "length", {"size": size, "target": wanted, "unit": "characters" if review.by_characters else "words"})


def ungrounded(draft: Draft, transcript: str) -> list[str]:
    """Ungrounded items: names and numbers in the prose; numbers only in the Title Case headings."""
    prose = "\n".join([draft.summary, *draft.highlights, draft.script])
    headings = "\n".join([draft.title, *draft.chapter_titles])
    return sorted(set(grounding.ungrounded(prose, transcript)) | set(grounding.ungrounded(headings, transcript, names=False)))


def spoken_unverified(script: str, listed: list[str], transcript: str) -> list[str]:
    """What the script says that is not verified: each sentence's own ungrounded items, and every ``listed`` item it mentions.

    The one rule the summary stage enforces and the evaluation checks; empty for every digest written.
    """
    found = {item for sentence in split_sentences(script) for item in grounding.ungrounded(sentence, transcript)}
    found |= {item for item in listed if grounding.mentions(script, item)}
    return sorted(found)


def missing_names(text: str, review: Review, times: int = 2) -> list[str]:
    """Glossary names the transcript says at least ``times`` times (2: the central ones) that ``text`` leaves out."""
    said = grounding.normalise(text)
    return [term for term in review.names_heard(times) if grounding.normalise(term) not in said]


# --- all of them -------------------------------------------------------------------------------------


def review(draft: Draft, context: Review) -> list[Problem]:
    """Every gate on every field of ``draft``."""
    problems = []
    texts = {"title": draft.title, "summary": draft.summary, "highlights": " ".join(draft.highlights), "chapters": " ".join(draft.chapter_titles), "script": draft.script}
    for name, text in texts.items():
        if language_share(text, context.language, context.transcript, context.glossary) < LANGUAGE_SHARE:
            problems.append(Problem(name, "language"))
        for placeholder in PLACEHOLDERS:
            if placeholder in text.lower():
                problems.append(Problem(name, "placeholder", {"name": placeholder}))
        if name in ("summary", "script") and _LISTED.search(text):
            problems.append(Problem(name, "list"))
        if name in ("summary", "script") and len(unrepeated(split_sentences(text))) < len(split_sentences(text)):
            problems.append(Problem(name, "repeat"))
    titles = [t.strip() for t in draft.chapter_titles]
    if any(not t for t in titles):
        problems.append(Problem("chapters", "chapters", {"kind": "empty"}))
    elif any(context.spoken_size(t) + len(LATIN_WORD.findall(t)) * context.by_characters > LONG_TITLE[context.by_characters] for t in titles):
        problems.append(Problem("chapters", "chapters", {"kind": "long"}))
    elif len({t.lower() for t in titles}) < len(titles) or any(similar(a, b) for i, a in enumerate(titles) for b in titles[i + 1 :]):
        problems.append(Problem("chapters", "chapters", {"kind": "duplicate"}))
    summary_sentences = split_sentences(draft.summary) or [draft.summary]
    if any(similar(h, s) for h in draft.highlights for s in summary_sentences):
        problems.append(Problem("highlights", "highlights", {"kind": "repeat"}))
    elif any(similar(a, b) for i, a in enumerate(draft.highlights) for b in draft.highlights[i + 1 :]):
        problems.append(Problem("highlights", "highlights", {"kind": "duplicate"}))
    problems += [Problem("script", gate) for gate in voice_problems(draft.script)]
    length = length_problem(draft.script, context)
    if length:
        problems.append(length)
    missing = ungrounded(draft, context.transcript)
    if missing:
        problems.append(Problem("digest", "ungrounded", {"items": missing}))
    absent = missing_names(draft.summary + "\n" + draft.script, context)
    if absent:
        problems.append(Problem("digest", "missing_names", {"names": absent}))
    return problems


@dataclass
class Verdict:
    """What the gates did to the final digest: for summary.json and summary.md."""

    fired: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    extractive_fields: list[str] = dataclasses.field(default_factory=list)


REPLACED_BY_EXTRACT = {"language", "placeholder", "chapters", "highlights", "list"}


def enforce(draft: Written, context: Review, extract: Extract, duration: float, title: str) -> Verdict:
    """Make ``draft`` (changed in place) pass: failing fields rebuilt from the transcript.

    Crowded chapters are rebuilt at starts spread over the episode, as many as fit at ``CHAPTER_SECONDS`` each.
    The script's gates are recorded, its sentences left as they are: the stage builds the script sentence by
    sentence under the verifier (engines.llm.script).
    """
    verdict = Verdict()
    draft.script = clean_script(draft.script)
    chapter_starts = [c.start for c in draft.chapters]
    problems = review(draft, context)
    if crowded(chapter_starts, duration):
        problems.append(Problem("chapters", "chapters", {"kind": "crowded"}))
        chapter_starts = extract.spread(min(len(chapter_starts), max(2, int(duration // CHAPTER_SECONDS))), duration)
    for problem in problems:
        verdict.fired.append(problem.to_dict())
        if problem.field == "script":
            continue
        if problem.gate == "repeat":  # each sentence kept once
            glue = "" if context.by_characters else " "
            setattr(draft, problem.field, glue.join(unrepeated(split_sentences(getattr(draft, problem.field)))))
            continue
        if problem.gate not in REPLACED_BY_EXTRACT or problem.field in verdict.extractive_fields:
            continue
        verdict.extractive_fields.append(problem.field)
        if problem.field == "title":
            draft.title = title
        elif problem.field == "summary":
            draft.summary = extract.summary()
        elif problem.field == "highlights":
            draft.highlights = extract.highlights(exclude=split_sentences(draft.summary))
        elif problem.field == "chapters":
            draft.chapters = [Chapter(start=start, title=text) for start, text in extract.chapters(chapter_starts, title)]
    return verdict


_SEPARATOR = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff。，！？；、：])\s*[\uff21-\uff3a\uff41-\uff5a]\s*(?=[\u3400-\u9fff\uf900-\ufaff])")
_OPEN_END = re.compile(r"[、﹑，]+\s*(?=$|\n)")  # a Chinese sentence left open at its end
_BEFORE_END = re.compile(r"[、﹑，]+(?=[。！？])")


_NOT_HEADLINE = re.compile(
    r"^(?:\S{1,6}(?:说|讲|问|提到)|(?:感谢|谢谢)(?:大家)?(?:收听|收看|观看)|(?:thanks?|thank you) for (?:listening|watching)|\w+ (?:says|said|asks|asked))[。.!！]?$",
    re.IGNORECASE,
)


_HYPE = re.compile(
    r"game[- ]?changer|revolution\w*|ultimate|unlock\w*|unleash\w*|secrets?\b|incredible|amazing|mind[- ]blowing|must[- ]know|deep dive"
    r"|a new era|the future of|transform\w*|supercharg\w*|next[- ]level|skyrocket\w*"
    r"|颠覆|革命性|重磅|震撼|揭秘|必看|炸裂|!|！",
    re.IGNORECASE,
)


def title_fits(title: str, transcript: str, chinese: bool) -> bool:
    """Whether a digest's title may stand: every name and number in it heard, short (12 words, 24 Chinese characters), and
    no hype the episode does not say itself ("Home Batteries: A Game-Changer", "Shopify's Streaming Reporting: A
    Game-Changer": the model's words for every episode)."""
    if not title.strip() or grounding.ungrounded(title, transcript, names=False):
        return False
    hype = [h for h in _HYPE.findall(title) if h.lower() not in transcript.lower()]
    return not hype and not _said_twice(title) and (cjk_count(title) <= 24 if chinese else len(title.split()) <= 12)


def _said_twice(title: str) -> bool:
    """A title that says a name or a word twice: "宁德时代出海：中国电池出海：对话宁德时代前工程师王磊" (the model's words
    glued to the episode's own title), "Batteries: Home Batteries Explained"."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]{3,}", title.lower()) if w not in ("with", "from", "that", "this", "what", "your")]
    chinese = "".join(re.findall(r"[\u4e00-\u9fff]+", title))
    return len(set(words)) < len(words) or any(chinese.count(chinese[i : i + 4]) > 1 for i in range(len(chinese) - 3))


def fit_headline(title: str) -> bool:
    """Whether a chapter title says what the chapter is about: not someone's speech tag ("David说") or the sign-off ("感谢收听")."""
    return bool(title.strip()) and not _NOT_HEADLINE.match(title.strip())


def clean_text(text: str) -> str:
    """Text fit for the digest: no full-width letter standing as a separator between Chinese sentences ("…电池Ｇ王磊…"),
    no "﹑" or "、" where a sentence ended, "﹑" written as "、"."""
    text = _SEPARATOR.sub(lambda m: "" if re.search(r"[。，！？；、：]$", text[: m.start()]) else "。", text)
    text = _OPEN_END.sub("。", _BEFORE_END.sub("", text))
    return text.replace("﹑", "、").replace("。。", "。")
