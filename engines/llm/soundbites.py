"""Soundbites: the episode's own voices in the digest, chosen, linked and placed among the script's beats (issue 26).

A soundbite is 5 to 15 seconds of one speaker's own turn (diarization), with
no other voice in it or within its margins, from the first word of a sentence
to the last word of a sentence (Whisper's word times). It must stand on its
own: it does not open with a word that needs what came before ("And", "He",
"所以", "他"), and holds no question, nor a prompt written as a statement ("Walk me
through a normal day.", "说说你的看法。"), nor a sentence cut short ("…开源 Whisper 之后。"). Candidates are ranked by centrality (the
extractive ranker's TF-IDF similarity) to the whole episode and to their own
section, named speakers first; no two come from the same minute.

Before each soundbite the presenter says a link line that names the speaker
("Here is how Maria Lopez puts it:", "下面听听雪芝怎么说："); a speaker nobody
named is "a guest" / "一位嘉宾", never a guessed name. The link passes the
sentence verifier like every script sentence, or the soundbite is not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.artifacts import Beat, Speaker, Transcript, Word
from core.text import unspaced

from . import grounding
from .verify import NEW_SHARE, VERB_EN, Verifier, novelty

SHORTEST, LONGEST = 5.0, 15.0  # seconds of a soundbite, first word's start to last word's end
BRIEF = 10.0  # seconds beyond which a longer soundbite must be that much more central to win
MARGIN = 0.08  # seconds cut around the words: no other voice may speak there
SPACING = 60.0  # seconds between the starts of two soundbites: never two from the same minute
LONG_EPISODE = 180.0  # from this length an episode gets two soundbites by default, else one
NAMED_BONUS = 1.5  # a named speaker's soundbite outranks an unnamed one's of nearly the same centrality
UNNAMED = {False: "a guest", True: "一位嘉宾"}
SHORTEST_OPENING = {False: 4, True: 6}  # words (characters in Chinese) of a soundbite's first sentence
_NOT_A_NAME = {"guest", "a guest", "嘉宾", "一位嘉宾"}

_ENDS = re.compile(r"[.!?。！？…][\"'”’」』)）]*$")
_QUESTION = re.compile(r"[?？]|吗[\"'”’」』)）]*$")
_PROMPT = {  # a question Whisper wrote with a full stop, or a host's prompt: "Walk me through a normal day." needs its answer
    False: re.compile(
        r"^\W*(?:(?:so|and|now|okay|ok)\W+)?(?:(?:walk|talk|take) (?:me|us) through|(?:tell|show|give) (?:me|us)\b|"
        r"(?:can|could|would|will|do|does|did) (?:you|we)\b|(?:what|why|how|who|where|when|which) (?:is|are|was|were|do|does|did|has|have|would|could|should|can|about|makes?|made|happens?|happened|changed)\b|"
        r"how (?:big|much|many|long|often|far|fast)\b|"
        r"(?-i:[A-Z])[\w'’-]+, you\b|(?:is|are|was|were|it['’]s) \w+ always\b)",  # "Kenji, you see many companies…", "It's streaming always worth it."
        re.IGNORECASE,
    ),
    True: re.compile(r"你觉得|你认为|你怎么看|说说|讲讲|聊聊|聊起|先从|介绍一下|能不能|是不是|为什么|怎么样"),  # 先从/聊起: "我们先从 Whisper 聊起"
}
# openers that need what came before: conjunctions, pronouns, answers
_OPENERS_EN = {
    "and", "but", "so", "or", "because", "then", "also", "which", "who", "that", "this", "these", "those", "it", "its", "it's",
    "he", "she", "they", "them", "his", "her", "their", "him", "there", "yes", "no", "yeah", "well", "oh", "right", "okay", "ok",
    "exactly", "anyway", "plus", "though", "although", "however", "still", "otherwise", "actually", "um", "uh",
}
_OPENERS_ZH = (
    "所以", "但是", "但", "可是", "而且", "而", "然后", "因为", "并且", "还有", "另外", "那么", "那", "这", "他", "她", "它",
    "对", "是的", "嗯", "啊", "呃", "就是", "其实", "不过", "然而", "因此", "于是", "或者", "也",
)
_CEREMONY = {  # greetings, introductions, thanks and sign-offs: the talk around the content, never worth quoting
    False: re.compile(
        r"\b(?:welcome|hello|hi|thanks|thank you|goodbye|bye|my name is|I['’]m (?-i:[A-Z])\w*|your host|(?:my|our|two|three) guests?|joining (?:me|us)|this is (?-i:[A-Z])\w+ (?:from|with|and)|see you)\b",
        re.IGNORECASE,
    ),
    True: re.compile(r"欢迎|谢谢|感谢|我是|大家好|你好|再见|下期|收听|主持人|嘉宾|^(?:另)?一位是"),  # "另一位是 Databricks 的产品经理 Emily"
}
# a sentence Whisper closed on a word that opens a clause ("David 说, OpenAI 开源 Whisper 之后。", "…because."): cut short
_DANGLING = {
    False: re.compile(r"\b(?:after|before|because|when|while|if|although|and|but|or|the|a|an|of|to|with)\W*$", re.IGNORECASE),
    True: re.compile(r"(?:之后|以后|之前|以前|的时候|因为|如果|虽然|但是|而且|然后|的)\W*$"),
}
LINKS = {  # the link line's wordings, tried in turn until one passes the verifier (two links never read alike)
    False: ("Here is how {name} puts it:", "Now listen to {name} in the episode:", "This is {name}, in the episode's own words:"),
    True: ("下面听听{name}怎么说：", "再来听一段{name}在节目里的原话：", "接下来是{name}在节目中的一段话："),
}


NO_ONE = {  # one voice heard, yet others introduced: whose words these are is not known, so no one is named
    False: ("Here is a moment from the episode itself:", "Now listen to the episode's own audio:"),
    True: ("下面听一段节目里的原声：", "再来听一段节目原声："),
}


@dataclass
class Soundbite:
    """A span of the episode to play as it is: its words (episode times), its speaker (None: unnamed), its rank."""

    words: list[Word]
    text: str
    label: str | None = None  # the speaker's label in the transcript ("Maria Lopez", "Speaker 2")
    name: str | None = None  # the name the speaker gave; None: "a guest"
    score: float = 0.0
    link: str = ""
    sentences: list[str] = field(default_factory=list)
    anonymous: bool = False  # one voice heard though others were introduced: no one is named, "a guest" included

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def seconds(self) -> float:
        return self.end - self.start


def count_for(duration: float, setting: int | None) -> int:
    """How many soundbites: the setting, else 2 for an episode of 3 minutes or more and 1 for a shorter one."""
    return setting if setting is not None else (2 if duration >= LONG_EPISODE else 1)


def _text(words: Sequence[Word], chinese: bool) -> str:
    text = "".join(w.word for w in words) if chinese or any(w.word.startswith(" ") for w in words[1:]) else " ".join(w.word.strip() for w in words)
    return re.sub(r"\s+", " ", text).strip()


_OPENING_PHRASES_EN = re.compile(  # phrases that point back at what was said before
    r"[\W_]*(?:at the same time|on the other hand|in that case|in this case|(?:and )?that['’]?s (?:why|how|what|because)|that is (?:why|how|what)|because of (?:that|this)"
    r"|for example|for instance|in fact|of course|as (?:i|you) said|like (?:i|you) said|after that|before that|even so|in other words|i think (?:that|this|it)['’]?s?\b)",
    re.IGNORECASE,
)


_POINTING_BACK = {"it", "its", "this", "that", "these", "those", "they", "them", "their", "he", "she", "him", "his", "her"}


def _opens_badly(text: str, chinese: bool) -> bool:
    if chinese:
        return text.lstrip("“「\"'").startswith(_OPENERS_ZH) or bool(re.search(r"[他她它]", text[:3]))
    if _OPENING_PHRASES_EN.match(text):
        return True
    if any(w in _POINTING_BACK for w in re.findall(r"[a-z']+", text.lower())[:3]):
        return True  # "Without it, …", "For them, …": a pronoun in the first words refers to what came before
    if not VERB_EN.search(re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]):
        return True  # "About nine months, with a team of six engineers.": the answer to a question the listener did not hear
    first = re.match(r"[\W_]*([A-Za-z']+)", text)
    return bool(first) and first.group(1).lower() in _OPENERS_EN  # type: ignore[union-attr]


def _turns(transcript: Transcript) -> list[tuple[int | None, list[Word]]]:
    """Consecutive segments of one speaker, as (speaker number, their words); a word another voice was heard in splits a turn."""
    turns: list[tuple[int | None, list[Word]]] = []
    for segment in transcript.segments:
        for word in segment.words:
            who = word.speaker if word.speaker is not None else segment.speaker
            if turns and turns[-1][0] == who:
                turns[-1][1].append(word)
            else:
                turns.append((who, [word]))
    return turns


def _sentences(words: list[Word]) -> list[list[Word]]:
    """A turn's whole sentences: each from a word after a sentence end to a word that ends one; an unfinished tail is dropped."""
    found: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if _ENDS.search(word.word.strip()):
            found.append(current)
            current = []
    return found


def _clear(start: float, end: float, speaker: int | None, transcript: Transcript) -> bool:
    """No other voice in [start - MARGIN, end + MARGIN]: no segment or word of another speaker overlaps it."""
    for segment in transcript.segments:
        if segment.end <= start - MARGIN or segment.start >= end + MARGIN:
            continue
        for word in segment.words or []:
            who = word.speaker if word.speaker is not None else segment.speaker
            if who != speaker and word.end > start - MARGIN and word.start < end + MARGIN:
                return False
        if not segment.words and segment.speaker != speaker:
            return False
    return True


def _sentence_starts(transcript: Transcript) -> set[int]:
    """The words (by id) that open a sentence of the whole transcript: the first, and each after a word that ends one, whoever said it."""
    starts, after_end = set(), True
    for segment in transcript.segments:
        for word in segment.words:
            if after_end:
                starts.add(id(word))
            after_end = bool(_ENDS.search(word.word.strip()))
    return starts


def candidates(transcript: Transcript, language: str) -> list[Soundbite]:
    """Every span of whole sentences of one turn, 5 to 15 s, standing on its own, with no question and no other voice."""
    chinese = unspaced(language)
    voices = len(transcript.speakers)
    opening = _sentence_starts(transcript)  # a turn that begins inside a sentence (a change of voice put mid-sentence) starts nothing
    found: list[Soundbite] = []
    for who, words in _turns(transcript):
        if voices > 1 and who is None:
            continue  # a stretch diarization gave no speaker: whose voice it is is not known
        speaker: Speaker | None = transcript.speakers[who - 1] if who and who <= voices else None
        sentences = _sentences(words)
        for i in range(len(sentences)):
            first = _text(sentences[i], chinese)
            if id(sentences[i][0]) not in opening or _opens_badly(first, chinese) or (not chinese and not re.match(r"[\W_]*[A-Z0-9]", first)):
                continue
            if (len(re.findall(r"\w", first)) if chinese else len(first.split())) < SHORTEST_OPENING[chinese]:
                continue  # "Mostly price.", "对。": an answer, which needs its question
            for j in range(i, len(sentences)):
                span = [w for s in sentences[i : j + 1] for w in s]
                seconds = span[-1].end - span[0].start
                if seconds > LONGEST:
                    break
                said = [_text(s, chinese) for s in sentences[i : j + 1]]
                if any(_QUESTION.search(s) or _PROMPT[chinese].search(s) or _CEREMONY[chinese].search(s) or _DANGLING[chinese].search(s) for s in said):
                    break
                if seconds < SHORTEST or not _clear(span[0].start, span[-1].end, who, transcript):
                    continue
                found.append(Soundbite(
                    words=[Word(w.start, w.end, w.word, w.probability, w.speaker) for w in span], text=_text(span, chinese),
                    label=speaker.label if speaker else None, name=speaker.name if speaker else None, sentences=said,
                ))
    return found


def centrality(texts: Sequence[str], pool: Sequence[str], language: str) -> list[float]:
    """Each text's summed TF-IDF cosine similarity to the pool's sentences (the ranker's measure, the pool alone weighing the words)."""
    from collections import Counter

    import numpy as np

    from .ranking import _words

    chinese = unspaced(language)
    bags = [Counter(_words(t, chinese)) for t in pool]
    documents = Counter(w for bag in bags for w in bag)
    if not texts or not documents:
        return [0.0] * len(texts)
    index = {w: i for i, w in enumerate(sorted(documents))}

    def vectors(items: list[Counter[str]]) -> Any:
        matrix = np.zeros((len(items), len(index)), np.float32)
        for row, bag in enumerate(items):
            for word, n in bag.items():
                if word in index:
                    matrix[row, index[word]] = n * np.log(1 + len(pool) / documents[word])
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)

    return (vectors([Counter(_words(t, chinese)) for t in texts]) @ vectors(bags).T).sum(axis=1).tolist()


def _scores(bites: list[Soundbite], transcript: Transcript, language: str, sections: Sequence[tuple[float, float]]) -> list[float]:
    """Centrality to the episode and to the soundbite's own section (each scaled to its best), named speakers lifted, misheard ones lowered."""
    chinese = unspaced(language)
    pool = [(s.start, s.text) for s in transcript.segments if s.text.strip()]
    episode = centrality([b.text for b in bites], [t for _, t in pool], language)
    best = max(episode, default=0.0) or 1.0
    local = [0.0] * len(bites)
    for start, end in sections or [(0.0, float("inf"))]:
        inside = [k for k, b in enumerate(bites) if start <= b.start < end]
        said = [t for t0, t in pool if start <= t0 < end]
        if inside and said:
            near = centrality([bites[k].text for k in inside], said, language)
            top = max(near) or 1.0
            for k, value in zip(inside, near):
                local[k] = value / top
    scores = []
    for k, bite in enumerate(bites):
        sure = [w.probability for w in bite.words if w.probability is not None]
        confidence = sum(sure) / len(sure) if sure else 1.0
        fuller = 1.0 if chinese or len(bite.text.split()) > 6 else 0.8
        brief = min(1.0, (BRIEF / bite.seconds) ** 0.5)  # summed similarity grows with length; every second also costs a second of video
        scores.append((0.5 * episode[k] / best + 0.5 * local[k]) * confidence * (NAMED_BONUS if bite.name else 1.0) * fuller * brief)
    return scores


def _others_introduced(transcript: Transcript, language: str) -> bool:
    """Whether the episode introduces a guest by name although diarization heard one voice (a show read by one voice, voices too alike)."""
    from .script import guests_said

    one = transcript.speakers[0].name if transcript.speakers else None
    return any(g != one for g in guests_said(transcript.text, unspaced(language)))


def link(bite: Soundbite, language: str, verifier: Verifier, earlier: Sequence[str]) -> str | None:
    """The first link wording that passes the verifier (the colon read as a full stop), or None."""
    chinese = unspaced(language)
    name = bite.name or UNNAMED[chinese]
    for wording in NO_ONE[chinese] if bite.anonymous else LINKS[chinese]:
        text = wording.format(name=name)
        if not link_broken(text, verifier, earlier):
            return text
    return None


def link_broken(text: str, verifier: Verifier, earlier: Sequence[str] = ()) -> list[str]:
    """The verifier's rules a link line breaks, its closing colon read as a full stop; "a guest"/"一位嘉宾" is no claimed name."""
    said = re.sub(r"[:：]\s*$", "。" if verifier.chinese else ".", text.strip())
    broken = verifier.broken(said, earlier)
    if "ungrounded" in broken and not set(grounding.ungrounded(said, verifier.transcript)) - _NOT_A_NAME:
        broken.remove("ungrounded")  # how the digest says that no one named the speaker, not a name it claims
    return broken


def choose(
    transcript: Transcript, count: int, language: str, verifier: Verifier, *,
    sections: Sequence[tuple[float, float]] = (), earlier: Sequence[str] = (),
) -> list[Soundbite]:
    """Up to ``count`` soundbites, best first, each with a verified link line; none two from the same minute, and none
    with little new beside ``earlier`` (the script)."""
    if count <= 0:
        return []
    bites = candidates(transcript, language)
    if not bites:
        return []
    if len(transcript.speakers) <= 1 and _others_introduced(transcript, language):
        for bite in bites:
            bite.anonymous, bite.name = True, None  # not named at all, not even "a guest": it may be the host
    scores = _scores(bites, transcript, language, sections)
    chosen: list[Soundbite] = []
    said = list(earlier)
    for k in sorted(range(len(bites)), key=lambda k: -scores[k]):
        bite = bites[k]
        if any(abs(bite.start - c.start) < SPACING or (bite.start < c.end and c.start < bite.end) for c in chosen):
            continue
        if earlier and novelty(bite.text, earlier) < NEW_SHARE:
            continue  # the script says it already: data-stack's host introducing both guests, after the intro did
        line = link(bite, language, verifier, said)
        if line is None:
            continue
        bite.link, bite.score = line, round(scores[k], 4)
        chosen.append(bite)
        said.append(line)
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda b: b.start)


MODEL = ("model", "resampled")  # the sources of the model's own sentences


def _model_share_kept(beats: list[Beat]) -> list[Beat]:
    """``beats`` without the reported sentences (the last first) of sections the model tells too, while the model's
    sentences are under ``script.MODEL_SHARE`` of the body: a figure is reported beside the model's sentences only while
    the model writes that share (``script.compose``), and a soundbite that took a model sentence's place can break it
    (beyond-code: "张伟还说，因为达的高端显卡…" went for the guest's own words, leaving the reported "张伟指出，现在能支持200万字的数路。"
    one of four). A section no model sentence tells keeps its reported one: it would go unsaid."""
    from .script import MODEL_SHARE

    out = list(beats)
    while True:
        body = [b for b in out if b.source not in ("intro", "outro", "link", "soundbite")]
        told = {b.section for b in body if b.source in MODEL}
        spare = [b for b in body if b.source == "reported" and b.section in told]
        if not spare or sum(b.source in MODEL for b in body) >= MODEL_SHARE * len(body):
            return out
        out.remove(spare[-1])


def placed(beats: list[Beat], bites: list[Soundbite], language: str) -> list[Beat]:
    """The beats with each soundbite (after its link line) placed after the last beat of the section it comes from.

    A beat's start is its section's start; a soundbite before every body beat's section comes right after the intro.
    A sentence of the script that only retells a soundbite is left out: the listener hears it from the speaker
    (build-notes: "Raj Patel adds that every single one of the 40 differences … was a bug" right after Raj said so);
    where that was the model's, the model's share of the script is kept (``_model_share_kept``).
    """
    chinese = unspaced(language)
    out = [b for b in beats if b.source in ("intro", "outro") or not any(novelty(b.text, [bite.text]) < NEW_SHARE for bite in bites)]
    if any(b.source in MODEL and b not in out for b in beats):
        out = _model_share_kept(out)
    for bite in sorted(bites, key=lambda b: b.start, reverse=True):  # from the last: earlier insertions keep their places
        body = [i for i, b in enumerate(out) if b.source not in ("intro", "link", "soundbite") and b.start <= bite.start]
        intro = [i for i, b in enumerate(out) if b.source == "intro"]
        at = (body[-1] + 1) if body else (intro[-1] + 1 if intro else 0)
        at = next((i for i in range(at, len(out)) if out[i].source not in ("link", "soundbite")), len(out)) if at < len(out) and out[at].source == "soundbite" else at
        section = out[at - 1].section if at and out[at - 1].source != "intro" else None
        speaker = None if bite.anonymous else bite.name or UNNAMED[chinese]
        out[at:at] = [
            Beat(text=bite.link, section=section, start=round(bite.start, 3), end=round(bite.end, 3), speaker=speaker, source="link"),
            Beat(text=bite.text, section=section, start=round(bite.start, 3), end=round(bite.end, 3), speaker=speaker, source="soundbite", words=bite.words),
        ]
    return out


def add_to(summary: Any, transcript: Transcript, setting: int | None, verifier: Verifier, log: Callable[..., Any] | None = None) -> Any:
    """The summary with its soundbites among its beats (and their link lines in its script); unchanged when none is found."""
    from core.text import joiner

    duration = transcript.duration or (transcript.segments[-1].end if transcript.segments else 0.0)
    count = count_for(duration, setting)
    beats: list[Beat] = list(summary.beats)
    starts = sorted({b.start for b in beats if b.section is not None})
    ends = sorted({b.end for b in beats if b.section is not None})
    sections = list(zip(starts, ends)) if len(starts) == len(ends) else []
    bites = choose(transcript, count, summary.language, verifier, sections=sections, earlier=[b.text for b in beats])
    if log:
        log("soundbites: %d of %d chosen: %s", len(bites), count, "; ".join(f"{b.name or 'unnamed'} {b.start:.2f}-{b.end:.2f} s" for b in bites) or "none fits")
    if not bites:
        return summary
    program = placed(beats, bites, summary.language)
    script = joiner(summary.language).join(b.text for b in program if b.source != "soundbite")
    return summary.model_copy(update={"beats": program, "script": script})
