"""The presenter's script: an intro built from facts, then verified sentences per section, told in the third person.

The script is a list of beats (text, section, times, speaker, where it came
from). The first beat is the intro, built deterministically from what the
pipeline knows (show, host and guests named by diarization, topic from the
title), each fact kept only where the transcript says it. Every other beat is a
sentence that passes the verifier (engines.llm.verify): one the model wrote in
its digest (ended before a late clause that breaks a rule, where that is what
fails), else one of the key points its map notes wrote for the section, else,
where the section would go unsaid, one sampled again for it (another seed and
temperature, up to ``attempts`` times); after that, a sentence in reported
speech built from the section's transcript ("Maria Lopez said that …" /
"王磊提到，……"), never a bare quote. A short script takes the other key points,
then has the model tell, one at a time, the lines of each section that carry a
number or a show-notes name (a short prompt, a short answer, verified like the
rest), then asks each section for another point. Nothing is padded to reach a
length.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.text import CJK, split_sentences

from . import grounding
from .ranking import _confidence, rank, whole_sentences
from .verify import ATTRIBUTION, COPY_CHARS, COPY_WORDS, NEW_SHARE, VERB_EN, Verifier, chars_of, copy_size, novelty, units_of, words_of

SECTION_SECONDS = 180.0  # about one section per 3 minutes of speech: a 3-minute clip gets one, an hour 20
MAX_SECTIONS = 25
COHESION_WINDOW = 4  # segments on each side of a candidate cut whose words are compared
PASSAGE_CHARS = {True: 1000, False: 2400}  # of a section's text shown to the model for one sentence (Chinese, other)


@dataclass
class Section:
    index: int
    start: float
    end: float
    segments: list[Any]
    speakers: list[str]  # named speakers, most talk first
    numbers: list[str] = field(default_factory=list)  # the numbers the model's notes found in it ("14 gigabytes")

    def text(self, glue: str, limit: int = 0) -> str:
        text = glue.join(s.text.strip() for s in self.segments)
        return text[:limit] if limit else text


@dataclass
class Beat:
    text: str
    section: int | None
    start: float
    end: float
    speaker: str | None
    source: str  # intro, model, resampled, reported, quoted
    origin: str = ""  # the transcript sentence a reported beat comes from (not written)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "section": self.section, "start": round(self.start, 2), "end": round(self.end, 2), "speaker": self.speaker, "source": self.source}


@dataclass
class Facts:
    """What the pipeline knows about the episode apart from its words."""

    show: str = ""
    title: str = ""
    host: str | None = None
    guests: list[str] = field(default_factory=list)
    voices: int = 0  # how many voices diarization heard (0: unknown)


# A writer asks the model for one sentence about a section: (section, attempt, the rejected sentence and why, what is said
# about the section already) -> sentence or None.
Writer = Callable[[Section, int, str, Sequence[str]], "str | None"]
# A restater tells one line of the episode in reported speech: (the lines up to it, each (speaker, text); its speaker; the
# numbers it says; attempt; the rejected sentence and why) -> sentence or None.
Restater = Callable[[Sequence[tuple[str, str]], str, Sequence[str], int, str], "str | None"]
MODEL_SHARE = 0.8  # of the script's sentences between intro and outro, the model's at least, before a figure is reported instead
MORE_ROUNDS = 2  # below the target length, each section has this many more of its lines told
RESTATE_CONTEXT = 2  # lines before the one told, shown with it: what it answers


def speaker_names(segments: Sequence[Any], speaker_of: Callable[[Any], str | None]) -> list[str]:
    """Named speakers of ``segments``, most talk first."""
    talk: dict[str, float] = {}
    for segment in segments:
        name = speaker_of(segment)
        if name:
            talk[name] = talk.get(name, 0.0) + segment.end - segment.start
    return [n for n, _ in sorted(talk.items(), key=lambda item: -item[1])]


def _terms(text: str, chinese: bool) -> Counter[str]:
    """The content words of ``text``: jieba's words of two characters or more (Chinese), else words of four letters or more."""
    if chinese:
        import jieba

        return Counter(w.lower() for w in jieba.cut(text) if len(w.strip()) >= 2 and not w.isdigit())
    return Counter(w for w in re.findall(r"[a-z][a-z'’-]{3,}", text.lower()))


def _cohesion(before: Counter[str], after: Counter[str]) -> float:
    """Cosine similarity of two bags of words: high where one stretch goes on with the other's topic."""
    shared = sum(before[w] * after[w] for w in before.keys() & after.keys())
    size = math.sqrt(sum(v * v for v in before.values()) * sum(v * v for v in after.values()))
    return shared / size if size else 0.0


def section_count(duration: float) -> int:
    """About one section per SECTION_SECONDS of the episode, at least one, at most MAX_SECTIONS."""
    return max(1, min(MAX_SECTIONS, round(duration / SECTION_SECONDS)))


def sections(segments: Sequence[Any], duration: float, speaker_of: Callable[[Any], str | None], *, chinese: bool = False) -> list[Section]:
    """The episode cut at segment starts into sections of about SECTION_SECONDS each.

    Each cut is chosen within a third of a share of its even place, where the
    talk changes topic: the lowest lexical cohesion between the segments just
    before and just after it (TextTiling's measure), lowered further by a pause
    and by a change of speaker.
    """
    if not segments:
        return []
    count = section_count(duration)
    terms = [_terms(s.text, chinese) for s in segments]

    def gap(i: int) -> float:  # how good a cut before segment i is: lower is better
        before, after = sum(terms[max(0, i - COHESION_WINDOW) : i], Counter()), sum(terms[i : i + COHESION_WINDOW], Counter())
        pause = min(2.0, max(0.0, segments[i].start - segments[i - 1].end)) / 2.0
        turn = speaker_of(segments[i]) != speaker_of(segments[i - 1])
        return _cohesion(before, after) - 0.3 * pause - 0.2 * turn

    share = duration / count
    cuts = [0]
    for k in range(1, count):
        near = [i for i in range(cuts[-1] + 1, len(segments)) if abs(segments[i].start - k * share) <= share / 3]
        if not near:  # long segments: the start nearest the even place, as long as it moves on
            near = [min(range(len(segments)), key=lambda i: abs(segments[i].start - k * share))]
        if near[0] > cuts[-1]:
            cuts.append(min(near, key=lambda i: (gap(i), abs(segments[i].start - k * share))))
    bounds = [*cuts[1:], len(segments)]
    found = []
    for index, (a, b) in enumerate(zip(cuts, bounds)):
        chosen = list(segments[a:b])
        found.append(Section(index, chosen[0].start, chosen[-1].end, chosen, speaker_names(chosen, speaker_of)))
    return found


# --- the intro -------------------------------------------------------------------------------------

_GUEST_CUE = {
    False: re.compile(r"\b(?:[Mm]y|[Oo]ur|[Tt]oday's) guests? (?:today )?(?:is|are) ([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)"),
    True: re.compile(r"(?:请到了|请来了|邀请到了|邀请了|嘉宾是)"),
}


def guests_said(transcript: str, chinese: bool) -> list[str]:
    """Guests the host introduces in so many words ("My guest is Maria Lopez", "今天我们请到了王磊"): names no voice said of itself."""
    if not chinese:
        return list(dict.fromkeys(m.group(1) for m in _GUEST_CUE[False].finditer(transcript)))
    import jieba.posseg

    found = []
    for match in _GUEST_CUE[True].finditer(transcript):
        clause = re.split(r"[，。！？、；,]", transcript[match.end() : match.end() + 20])[0]
        # the last name of the clause: "请到了宁德时代前工程师王磊" is 王磊 (jieba also reads 宁德 of 宁德时代 as a name)
        name = next((w for w, flag in reversed(list(jieba.posseg.cut(clause))) if flag in ("nr", "nrfg", "nrt") and len(w) >= 2), None)
        if name:
            found.append(name)
    return list(dict.fromkeys(found))


_EPISODE_NUMBER = re.compile(r"^\s*(?:(?:ep(?:isode)?|no)\.?\s*\d+\s*[.:：\-–—|]?|#\s*\d+\s*[.:：\-–—|]?|第\s*\d+\s*[期集]\s*[.:：\-–—|]?)\s*", re.IGNORECASE)
_WITH_SUFFIX = re.compile(r"(?:^|\s+)(?:[Ww]ith|[Ff]eat\.?|[Ff]t\.?|[Ff]eaturing)\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*\s*$")


_HEADLINE = re.compile(r"[A-Z0-9][\w'’-]*(?:\s+(?:[A-Z0-9][\w'’-]*|a|an|the|and|or|of|on|in|to|for|with|at|by|vs\.?))*\s+[A-Z0-9][\w'’-]*")

_TITLE_GUESTS = {
    False: re.compile(r"\s+(?:with|feat\.?|ft\.?|featuring)\s+([A-Z][\w.'’-]*(?:\s+(?:and\s+)?[A-Z][\w.'’-]*)*)\s*$"),
    True: re.compile(r"和\s*([^：:，,。]{2,40}?)\s*聊聊?\s*"),
}


_HOST_CUE = {
    False: re.compile(r"\bI['’]m your host,? ([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)|\b([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?) here,? (?:your|and this is)"),
    True: re.compile(r"我是(?:主持人|你们的主持人|本期主持人)?"),
}


def host_said(transcript: str, chinese: bool) -> str | None:
    """The host who says who they are in the episode's first minute or so ("I'm your host, Dana Whitfield", "我是主持人王磊")."""
    opening = transcript[: 400 if chinese else 1200]
    if not chinese:
        match = _HOST_CUE[False].search(opening)
        return next((g for g in match.groups() if g), None) if match else None
    import jieba.posseg

    for match in _HOST_CUE[True].finditer(opening):
        words = list(jieba.posseg.cut(opening[match.end() : match.end() + 12]))
        name = next((w for w, flag in words[:2] if flag in ("nr", "nrfg", "nrt") and len(w) >= 2), None)
        if name:
            return name
    return None


def guests_in_title(title: str, chinese: bool) -> list[str]:
    """Guests a title names: "… with Maria Lopez", "和 David、Emily 聊 …"."""
    match = _TITLE_GUESTS[chinese].search(title)
    if not match:
        return []
    names = [n.strip() for n in re.split(r"、|,|，|\band\b|和", match.group(1)) if n.strip()]
    return [n.rpartition("的")[2] for n in names] if chinese else names  # "月之暗面的张伟": 张伟


_CLAIMED_FIGURE = re.compile(r"\s+(?:by|to|from|with|at|in|for)\s+(?:\S+\s+)?\$?\d[^,]*$")


def shown_title(title: str, transcript: str) -> str:
    """The title as the model is shown it for one sentence: without a figure it claims that the transcript does not say
    ("How Stripe cut fraud-check latency[ by 85 percent], with Raj Patel": the small model told the 85 percent, twice,
    when asked for the line on six weeks of side-by-side runs)."""
    if CJK.search(title) or not any(grounding.numbers(c) for c in grounding.ungrounded(title, transcript, names=False)):
        return title
    head, comma, rest = title.partition(",")
    return _CLAIMED_FIGURE.sub("", head) + comma + rest


def topic_of(title: str, transcript: str, show: str = "") -> str:
    """The episode's topic from its title: episode numbers, the show's name and "with <guest>" left out; empty when it names what the transcript does not say."""
    topic = _EPISODE_NUMBER.sub("", title.strip())
    if show:
        topic = re.sub(r"\s*[|｜\-–—]\s*" + re.escape(show) + r"\s*$", "", topic)
    topic = re.sub(r"\s*[(（][^)）]*[)）]\s*$", "", topic)  # "(sample)", "(Part 2)"
    topic = _TITLE_GUESTS[True].sub("", _WITH_SUFFIX.sub("", topic))
    topic = re.sub(r"\s*[：:｜|]\s*(?:对话|专访|访谈)\S*$", "", topic).strip(" .。!！,，:：")  # "中国电池出海：对话宁德时代前工程师王磊"
    if not CJK.search(topic):
        topic = topic.split(", ")[0]  # "Home batteries, explained" -> "Home batteries"
    if grounding.ungrounded(topic, transcript) and not CJK.search(topic):  # "… latency by 85 percent": the topic without the figure it claims
        cut = _CLAIMED_FIGURE.sub("", topic)
        topic = cut if len(cut.split()) >= 3 else ""  # "Costs up" says nothing
    if not topic or grounding.ungrounded(topic, transcript) or bool(CJK.search(topic)) != bool(CJK.search(transcript)):
        return ""  # names what the transcript does not say, or in another language than the episode's
    if _HEADLINE.fullmatch(topic):
        return ""  # "Ask Not", "Why Batteries Last": a headline in title case is a name for the episode, not a topic to talk about
    first = topic.split()[0]
    if not CJK.search(topic) and first[1:] == first[1:].lower() and first.lower() in re.findall(r"[a-z0-9'’]+", transcript.lower()):
        topic = topic[0].lower() + topic[1:]  # "Home batteries" -> "home batteries", "ChatGPT" stays
    return topic


def title_for(written: str, facts: Facts, transcript: str, chinese: bool) -> str:
    """The digest's title: the model's where it may stand (gates.title_fits), else the episode's topic from its own title
    ("How Stripe cut fraud-check latency by 85 percent" said no 85: "Stripe Reduces Fraud Check Latency by 85%" may not
    stand either), else the show's name; the model's as it is where none fits."""
    from .gates import title_fits

    topic = topic_of(facts.title, transcript, facts.show)
    for candidate in (written, topic[:1].upper() + topic[1:], facts.show):
        if candidate and title_fits(candidate, transcript, chinese):
            return candidate
    return written


def _heard(item: str, transcript: str) -> bool:
    return bool(item) and not grounding.ungrounded(item, transcript) and grounding.normalise(item) in grounding.normalise(transcript)


def intro(facts: Facts, transcript: str, chinese: bool) -> str:
    """The first sentence: whose show it is, who talks in it, about what; each fact only where the transcript says it."""
    topic = topic_of(facts.title, transcript, facts.show)
    said = _intro(facts, transcript, chinese, topic)
    if topic and grounding.ungrounded(said, transcript):  # mid-sentence the topic reads as a name: "is about Good news"
        said = _intro(facts, transcript, chinese, "")
    return said


def _intro(facts: Facts, transcript: str, chinese: bool, topic: str) -> str:
    show = facts.show if _heard(facts.show, transcript) else ""
    people = [p for p in [facts.host, *facts.guests] if p and _heard(p, transcript)]
    host, guests = (people[0], people[1:]) if people else (None, [])
    if chinese:
        where = f"在这一期《{show}》里" if show else "在这一期节目里"
        about = (f"“{topic}”" if re.search(r"[\s，,。：:？?！!]", topic) else topic) if topic else ""
        if host:
            who = host + (f"和{'、'.join(guests)}" if guests else "")
            return f"{where}，{who}聊了{about or '这期的话题'}。"
        if about:
            return f"{where}，聊的是{about}。"
        title = f"“{facts.title.strip()}”" if _heard(facts.title.strip(), transcript) else ""
        voices = f"，有{_CHINESE_COUNT.get(facts.voices, str(facts.voices))}位讲话人" if facts.voices else ""
        said = f"这期节目{title}" + (f"来自《{show}》" if show else "") + voices
        return said + "。" if said != "这期节目" else "这是一期节目。"
    where = f"In this episode of {show}" if show else "In this episode"
    about = f" about {'the move ' if topic.startswith('from ') else ''}{topic}" if topic else ""  # "from nightly batch to streaming"
    if host:
        with_guests = f" talks with {_and(guests)}" if guests else " talks"
        return f"{where}, {host}{with_guests}{about}."
    if topic:
        return f"This episode{' of ' + show if show else ''} is about {topic}."
    voices = f" with {_COUNT.get(facts.voices, str(facts.voices))} speaker{'s' if facts.voices > 1 else ''}" if facts.voices else ""
    if _heard(facts.title.strip(), transcript):
        return f"This digest is about “{facts.title.strip()}”, an episode{' of ' + show if show else ''}{voices}."
    return f"This is an episode{' of ' + show if show else ''}{voices}."


def outro(facts: Facts, transcript: str, chinese: bool) -> str:
    """The last sentence, so the digest ends rather than stops (after a soundbite most of all): whose show it was, with whom."""
    show = facts.show if _heard(facts.show, transcript) else ""
    people = [p for p in [facts.host, *facts.guests] if p and _heard(p, transcript)]
    if chinese:
        where = f"这一期《{show}》" if show else "这期节目"
        return f"以上是{'和'.join(['、'.join(people[:-1]), people[-1]] if len(people) > 1 else people)}在{where}里聊的内容。" if people else f"以上是{where}的主要内容。"
    if people:
        return f"That was {show or 'this episode'}, with {_and(people)}."
    return f"That was this episode of {show}." if show else "That was the episode in brief."


def affiliations(people: Sequence[str], terms: Sequence[str], transcript: str, chinese: bool) -> list[tuple[str, str]]:
    """(person, organisation) pairs the episode's opening says: "在 Microsoft Research 做研究的 David", "Maria Lopez from Solar Grid".

    Only glossary terms count as organisations, and only within one clause of the opening, so nothing is guessed.
    """
    opening = transcript[: 600 if chinese else 1500]
    clauses = re.split(r"[，。；！？]" if chinese else r"[.;!?]", opening)
    found: list[tuple[str, str]] = []
    for person in people:
        for clause in clauses:
            if person not in clause:
                continue
            at = clause.index(person)
            if chinese:  # "<organisation> ... 的 ... <person>"
                orgs = [t for t in terms if t not in people and t in clause[:at] and "的" in clause[clause.index(t) + len(t) : at]]
            else:  # "<person>, ... from/at/of <organisation>" within a few words
                orgs = [t for t in terms if t not in people and re.search(re.escape(person) + r"\W+(?:[\w'’-]+\W+){0,5}?(?:from|at|of)\s+" + re.escape(t) + r"\b", clause)]
            if orgs:
                found.append((person, orgs[0]))
                break
    return found


def who_is_who(pairs: Sequence[tuple[str, str]], chinese: bool) -> str:
    """One sentence: "David来自Microsoft Research，Emily来自Databricks。" / "Maria Lopez is from Solar Grid."."""
    if chinese:
        return "，".join(f"{person}来自{org}" for person, org in pairs) + "。"
    said = [f"{person} is from {org}" for person, org in pairs]
    return (said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]) + "."


_ROLE = r"(?:, |\s+is\s+)((?:a|an)\s+(?:[\w-]+\s+){0,3}[\w-]+)\s+(at|from|of|with)\s+"  # "Raj Patel, a staff engineer at Stripe"
_LEADS = r"\s+((?:leads|heads|runs|founded|co-founded|manages)\s+(?:[\w-]+\s+){0,4}?)(at|of)\s+"  # "Priya Nair leads the data platform team at Shopify"


# a Chinese role ends in one of these (Whisper's 长屏经历 for 产品经理 ends in none, so it is never spoken)
_CHINESE_ROLE = "(?:工程师|研究员|科学家|经理|总监|创始人|负责人|架构师|设计师|分析师|教授|主编|记者|投资人|合伙人|CEO|CTO|COO)"


def role_of(person: str, org: str, transcript: str) -> str:
    """What the opening says the person does where ("Raj Patel is a staff engineer at Stripe." / "Priya Nair leads the data
    platform team at Shopify." / "王磊是宁德时代的前电池工程师。"); empty where it says no more than the organisation."""
    if CJK.search(transcript[:200]):  # "宁德时代的前电池工程师王磊", "在 Microsoft Research 做语音识别的研究员 David": the words after the last 的
        match = re.search(re.escape(org) + r"[^，。！？]{0,16}的\s*([\u4e00-\u9fff]{0,4}" + _CHINESE_ROLE + r")\s*" + re.escape(person), transcript[:600])
        return f"{person}是{org}的{match.group(1)}。" if match else ""
    opening = transcript[:1500]
    for pattern, verb in ((_ROLE, "is "), (_LEADS, "")):
        match = re.search(re.escape(person) + pattern + re.escape(org) + r"\b", opening)
        if match:
            return f"{person} {verb}{match.group(1).strip()} {match.group(2)} {org}."
    return ""


_COUNT = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_CHINESE_COUNT = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六"}


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- reported speech: the deterministic fallback -------------------------------------------------------

_DISCOURSE = {  # words that open a spoken turn, not a statement
    False: re.compile(r"^(?:(?:yes|yeah|no|so|and|but|well|exactly|right|okay|oh|sure|mostly|also|now)\b[,.!]?\s*)+", re.IGNORECASE),
    True: re.compile(r"^(?:(?:最后|接着|然后|首先|另外|其实|所以|因此|于是|那么|但是|不过|可是|而且|并且|而(?![是言])|对|嗯|好|是的)[，,]?\s*)+"),
}
_PERSONAL = {
    False: re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|we|we're|we've|us|our|you|you're|your|let's|this|that|these|those|it|its|they|he|she)\b", re.IGNORECASE),
    True: re.compile(r"我|你|咱|您|欢迎|吗|呢|吧|这个|那个|他|她|它"),
}
_THEIR_TEAM = {False: re.compile(r"\bthey\b", re.IGNORECASE), True: re.compile(r"他们|她们")}  # in a named speaker's line, their team's
_BUILT = ("unattributed",)  # the intro's sentences about who is who are the pipeline's, in the third person, even in the opening's words
_NOT_VOICE = ("language", "ungrounded", "copied", "unattributed", "list", "fragment", "length", "question", "repeat", "quote", "relation")  # the rules left: first_person, host_voice
_SAYS = {  # a clause that says who said it: "Maria says ..." / "王磊说，..."; that name reports it
    False: re.compile(r"([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?) (?:says|said|thinks|believes|explains|argues)(?: that)?\s+"),
    True: re.compile(r"([A-Z][A-Za-z0-9'’-]+(?: [A-Z][A-Za-z0-9'’-]+)?|" + CJK.pattern + r"{2,4}?)\s*(?:补充|还|也)?(?:说|认为|提到|表示|觉得)[，,：:]?"),  # "Emily 补充说，…"
}


def _reporter(text: str, chinese: bool) -> re.Match[str] | None:
    """The opening that says who said ``text`` ("Maria says …", "王磊说，…"), where it names someone (not "She says")."""
    said = _SAYS[chinese].match(text)
    return said if said and (chinese or said.group(1).lower() not in ("she", "he", "it", "they")) else None


_REPORTS = {  # an opening that reports what the named person said: what follows is in their words, shifted
    False: re.compile(
        r"([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?) (?:also |then |further )?(?:says|said|adds|added|explains|explained|notes|noted|mentions|mentioned"
        r"|points out|pointed out|thinks|believes|argues|describes|recalls|admits)(?: that)?\s+"
    ),
    True: re.compile(r"([A-Z][A-Za-z0-9'’-]+(?: [A-Z][A-Za-z0-9'’-]+)?|" + CJK.pattern + r"{2,4}?)\s*(?:还|也)?(?:说|认为|提到|表示|觉得|指出|谈到|介绍|补充说?)[，,：:]?"),
}
_OURS = {  # a guest's "we" is their team's: reported, it is "they"
    False: ((re.compile(r"\b[Ww]e\b"), "they"), (re.compile(r"\bus\b"), "them"), (re.compile(r"\b[Oo]urs\b"), "theirs"),
            (re.compile(r"\b[Oo]urselves\b"), "themselves"), (re.compile(r"\b[Oo]ur\b"), "their")),
    True: ((re.compile(r"我们|咱们"), "他们"),),
}
_WE = {chinese: re.compile("|".join(p.pattern for p, _ in shifts)) for chinese, shifts in _OURS.items()}  # a sentence in a team's voice


def backshifted(sentence: str, chinese: bool, voices: Sequence[str], host: str | None) -> str:
    """``sentence`` with a guest's "we" and "our" in what it reports made "they" and "their", as reported speech says
    it: "Raj Patel explains that we ran both services side by side…" is the presenter speaking as Raj's team; "…that
    they ran…" is the presenter telling what Raj said. Only where the sentence opens by naming one of ``voices`` (who
    may have said it) other than the ``host``, whose "we" is the show's."""
    said = _REPORTS[chinese].match(sentence)
    if not said or said.group(1) not in voices or said.group(1) == host:
        return sentence
    told = sentence[said.end() :]
    for pattern, theirs in _OURS[chinese]:
        told = pattern.sub(theirs, told)
    return sentence[: said.end()] + told


_SPEECH_TAG = {  # a clause that only says someone spoke ("Emily 补充说"): nothing to report
    False: re.compile(r"\b(?:says|said|adds|added|asks|asked|explains|explained)$"),
    True: re.compile(r"(?:说|认为|提到|表示|觉得|补充|指出)$"),
}
_CLAUSE = {False: re.compile(r"(?<=[,;:—])\s+"), True: re.compile(r"(?<=[，；：、])")}
_CONTINUES = {  # a clause opening with one of these goes on from what came before it: "而是数据质量" cannot stand alone
    False: re.compile(
        r"^(?:and|but|or|nor|because|since|which|who|whom|whose|then|than|though|although|instead|rather|like|such as|with|including|especially|for example"
        r"|first|second|third|fourth|fifth|next|finally|also|so|how|what)\b",  # "third, ask whether backup is included": an item of a list
        re.IGNORECASE,
    ),
    # 为了…: what for; 说到技术路线…: the topic, what is said of it follows
    True: re.compile(r"^(?:而是|而且|而|但是|但|可是|不过|因为|因此|并且|或者|还是|就是|也就是|比如|例如|包括|以及|还有|然后|于是|甚至|否则|不然|第[一二三四五]|其次|最后|另外|所以|为了"
                     r"|说到|谈到|讲到|提到|至于|关于|对于)"),
}
_IMPERATIVE_EN = re.compile(
    r"^(?:start|measure|pay|use|try|keep|make|take|go|ask|compare|look|think|read|buy|check|avoid|don['’]t|do not|never|always|just"
    r"|remember|consider|stop|get|pick|choose|only then)\b",
    re.IGNORECASE,
)
# what an English clause that begins mid-sentence opens on when it has a subject of its own: a name or number, a determiner, a pronoun
_SUBJECT_EN = re.compile(r"^(?:[A-Z0-9]|(?:the|a|an|every|each|most|some|all|many|much|no|both|half|our|their|its|his|her|they|it|there|this|that|these|those|we|you|he|she)\b)")
_SUBORDINATE_EN = re.compile(r"^(?:when|whenever|if|unless|while|whereas|until|once|after|before)\b", re.IGNORECASE)
# a Chinese clause opening on its verb (not a noun that starts alike: 能量, 会员): "会继续占据主流" after "王磊认为磷酸铁锂电池，也就是LFP，"
_VERB_FIRST_ZH = re.compile(r"^(?:就(?!业)|会(?!员|议|计)|是(?!否)|要(?!素|求)|能(?!量|源|力|耗)|可以|也|都(?!市)|还(?!原)|才(?!能)|又|已经|将(?!来)|便(?!宜)|则|却|只(?!有)|比(?!如|较|赛|例|特|亚))")
# what opens the predicate of a subject put before the comma ("光是在欧洲的营收，就超过了一亿欧元"); not 也/还/又…, which go on
# from a clause complete in itself ("他们在欧洲卖得很好，还拿到了宝马的订单")
_PREDICATE_NEXT_ZH = re.compile(r"^(?:就(?!业)|才(?!能)|便(?!宜)|则)")
_VERBS = {False: ("said that", "pointed out that", "noted that"), True: ("提到", "谈到", "指出")}  # varied, so three reported sentences do not open alike


_NOT_THIS = re.compile(r"^(?P<head>[^，]*?[^，并也都还就根从])不是(?P<denied>[^，]+?)[，]?$")  # "出海最难的不是技术，" (not "并不是", "都不是": turned, they read otherwise)
_BUT_THAT = re.compile(r"^而是(?P<meant>[^，。；：、]+)(?P<end>[，；：、]?)")  # … "而是本地化的管理和供应链"
_TURNS = {False: re.compile(r"^(?:but|rather)\b", re.IGNORECASE), True: re.compile(r"^而(?:是)?")}  # what the denial before it was leading to
_DENIES = {False: re.compile(r"\bnot\b|n['’]t\b", re.IGNORECASE), True: re.compile(r"不是|并非|不在于")}


def _point_first(pieces: list[str]) -> list[str]:
    """Chinese clauses with "A不是X，而是Y" told the point first, "A是Y，而不是X": the first half alone says only what it is
    not ("出海最难的不是技术"), and the turned sentence is no copied run."""
    merged: list[str] = []
    for piece in pieces:
        denial = _NOT_THIS.match(merged[-1]) if merged else None
        meant = _BUT_THAT.match(piece)
        if denial and meant and denial.group("head"):
            merged[-1] = f"{denial.group('head')}是{meant.group('meant')}，而不是{denial.group('denied')}{meant.group('end')}"
        else:
            merged.append(piece)
    return merged


def _clauses(sentence: str, chinese: bool) -> list[str]:
    """Runs of consecutive clauses of ``sentence`` short enough to report without copying (<= 12 words, <= 20 characters), longest first."""
    pieces = [p.strip() for p in _CLAUSE[chinese].split(sentence.strip()) if p.strip()]
    if chinese:
        pieces = _point_first(pieces)
    found = []
    for i in range(len(pieces)):
        for j in range(i + 1, len(pieces) + 1):
            run = ("" if chinese else " ").join(pieces[i:j])
            run = re.sub(r"[,;:—，；：、.!?。！？…]+$", "", _DISCOURSE[chinese].sub("", run)).strip()
            if chinese:
                run = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", run)  # "自己 最近" as the recogniser spaced it
            if _CONTINUES[chinese].match(run) or _SPEECH_TAG[chinese].search(run) or (not chinese and not VERB_EN.search(run)):
                continue
            if not chinese and j == i + 1 and _SUBORDINATE_EN.match(run):
                continue  # "When the big models are one API call away." (Whisper cut it from its question): no main clause
            if j < len(pieces) and _TURNS[chinese].match(pieces[j]) and _DENIES[chinese].search(run):
                continue  # "Speed is not the problem" without ", but memory is": only what it is not
            if i and (_VERB_FIRST_ZH.match(run) if chinese else not _SUBJECT_EN.match(run) and VERB_EN.search(" ".join(pieces[:i]))):
                continue  # "joins them, and writes the results", "就超过了一亿欧元": the subject was before the comma
            if chinese and j < len(pieces) and _PREDICATE_NEXT_ZH.match(pieces[j]):
                continue  # "去年有一家电池企业光是在欧洲的营收" before "就超过了一亿欧元": a subject whose predicate is after the comma
            if not chinese and (len(pieces[i].split()) == 1 or _IMPERATIVE_EN.match(run)):
                continue  # "Priya, Shopify moved…" (a name called, no clause); "Start simple…" (advice, not a statement to report)
            turned = chinese and "，而不是" in run and "，而不是" not in sentence
            # a turned run's copies: its head and "是" + what it is, then "不是" + what it is not; who said it ("王磊认为")
            # is told in the digest's own words, so it is no part of the copy
            said = _reporter(run, chinese)
            told_part = run[said.end() :] if said else run
            size = max(copy_size(part, True) + 1 for part in told_part.split("，而不是")) if turned else copy_size(told_part, chinese)
            if not chinese and size > COPY_WORDS:
                run = _without_last_phrases(run)  # "…needs about 14 gigabytes of memory in its original form": its point, not its setting
                size = len(run.split())
            if (6 if chinese else 5) <= size <= (COPY_CHARS if chinese else COPY_WORDS) and (chinese or VERB_EN.search(run)):
                found.append(run)
    return sorted(dict.fromkeys(found), key=lambda r: -len(r))


_PREPOSITION_EN = {"in", "on", "at", "for", "from", "into", "during", "across", "over", "under", "before", "after", "within", "without", "between"}


def _without_last_phrases(clause: str) -> str:
    """An English clause too long to report without copying, cut before its trailing prepositional phrases until it is
    short enough ("A model with 7 billion parameters needs about 14 gigabytes of memory in its original form." → "…of
    memory"); unchanged where no such cut leaves it short enough with its verb."""
    words = clause.split()
    for k in range(min(len(words) - 1, COPY_WORDS), 4, -1):
        if words[k].lower() in _PREPOSITION_EN and VERB_EN.search(" ".join(words[:k])):
            return re.sub(r",\s*\w+$", "", " ".join(words[:k])).rstrip(",;:")  # "…last year, mostly": its adverb goes with the phrase
    return clause


def _lowered(clause: str, transcript: str) -> str:
    first = clause.split()[0]
    if first.isupper() and len(first) > 1 or re.search(r"(?<=[a-z] )" + re.escape(first) + r"\b", transcript):
        return clause  # an acronym, or a word the transcript capitalises mid-sentence: a name
    return clause[0].lower() + clause[1:]


def reported(
    section: Section, verifier: Verifier, earlier: Sequence[str], speaker_of: Callable[[Any], str | None], used: Sequence[str] = (), *,
    voices: int = 0, about: str = "",
) -> Beat | None:
    """One sentence in reported speech from the section's most central sentences, passing the verifier; None if none does.

    Where no clause can be told without its "you" or "I", the best clause is
    quoted instead, in quotation marks and attributed ("source": "quoted").
    ``voices`` (1: the only voice) says how to name a speaker diarization did not name;
    ``about``: only a clause that says this name or term.
    """
    chinese = verifier.chinese
    glue = "" if chinese else " "
    whole = whole_sentences(section.segments, glue)
    if not whole:
        return None
    scores = [c * _confidence(s) * _informative(t, verifier.glossary) for c, (s, t) in zip(rank([t for _, t in whole], verifier.language), whole)]
    quotes: list[Beat] = []  # attributed quotations, the last resort where no clause can be reported without its "you" or "I"
    for index in sorted(range(len(whole)), key=lambda i: -scores[i]):
        segment, sentence = whole[index]
        voice = verifier.broken(sentence, skip=_NOT_VOICE)
        if re.search(r"[?？]\s*$", sentence) or sentence in used or "host_voice" in voice or _CEREMONY.search(sentence):
            continue  # a question, said already, the host's own words ("今天我们请到了王磊，聊聊…") or who is who ("今天的嘉宾是…", which the intro says)
        if about and not _says(about, sentence):
            continue
        for clause in _clauses(sentence, chinese):
            if about and not _says(about, clause):
                continue
            name = speaker_of(segment)
            said = _reporter(clause, chinese)
            if said:
                name, clause = said.group(1), clause[said.end() :].strip()
            if not clause:
                continue
            if voice or _PERSONAL[chinese].search(clause):
                quote = _quotation(clause, name, chinese, voices)
                if not quotes and verifier.passes(quote, earlier):
                    quotes.append(Beat(quote, section.index, section.start, section.end, name, "quoted", sentence))
                continue
            text = _in_reported_speech(clause, name, verifier, earlier, voices)
            if verifier.passes(text, earlier):
                return Beat(text, section.index, section.start, section.end, name, "reported", sentence)
    return quotes[0] if quotes else None


def _in_reported_speech(clause: str, name: str | None, verifier: Verifier, earlier: Sequence[str], voices: int) -> str:
    """``clause`` told as ``name``'s (or, unnamed, the episode's): "王磊提到，…。" / "Maria Lopez pointed out that …."; the verb
    the one ``earlier`` used least lately, so three reported sentences do not open alike."""
    verbs = _VERBS[verifier.chinese]
    verb = verbs[sum(any(f"{v} " in e or f"{v}，" in e for v in verbs) for e in earlier) % len(verbs)]
    if verifier.chinese:
        return f"{name or _NOBODY[True][voices == 1]}{verb}，{clause}。"
    return f"{name or _NOBODY[False][voices == 1]} {verb} {_lowered(clause, verifier.transcript)}."


_NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|sixty|hundred|thousand|million|billion|percent|half|third)\b"
    r"|[二三四五六七八九十百千万亿]|百分之|一半",
    re.IGNORECASE,
)


def _informative(sentence: str, glossary: Sequence[str]) -> float:
    """How much a listener learns from a sentence, beside its centrality: a number or a name from the show notes is worth
    half as much again each (what a listener must hear is mostly who, and how much)."""
    lowered = sentence.lower()
    return 1.0 + 0.5 * bool(_NUMBER.search(sentence)) + 0.5 * any(term.lower() in lowered for term in glossary)


def _says(name: str, text: str) -> bool:
    return grounding.normalise(name) in grounding.normalise(text)


def naming(
    names: Sequence[str], segments: Sequence[Any], verifier: Verifier, earlier: Sequence[str], speaker_of: Callable[[Any], str | None], *,
    voices: int = 0, people: dict[str, str] | None = None,
) -> list[str]:
    """Sentences for central names the digest leaves out: up to three told in reported speech from a clause that says
    each; the others gathered in one sentence saying the episode mentions them ("节目里还提到了Databricks。"), but one of
    the ``people`` who talk in it (name: "host" or "guest") is said to be who they are (tech-weekly's "节目里还提到了
    David、DeepSeek和vLLM。" made a guest something the episode mentions: "David是这期节目的来宾。")."""
    people = people or {}
    whole = Section(0, segments[0].start, segments[-1].end, list(segments), []) if segments else None
    told: list[str] = []
    left = []
    for name in names:
        beat = reported(whole, verifier, [*earlier, *told], speaker_of, voices=voices, about=name) if whole and len(told) < 3 else None
        if beat and beat.source == "reported":
            told.append(beat.text)
        elif name in people:
            who = _WHO_IS_WHO[verifier.chinese][people[name]].format(name=name)
            told += [] if verifier.broken(who, [*earlier, *told], skip=("length",)) else [who]
        else:
            left.append(name)
    left = left[:3]  # more would be a list
    if left:
        chinese = verifier.chinese
        listed = "、".join(left[:-1]) + "和" + left[-1] if chinese and len(left) > 1 else (left[0] if len(left) == 1 else ", ".join(left[:-1]) + " and " + left[-1])
        text = f"节目里还提到了{listed}。" if chinese else f"The episode also mentions {listed}."
        if not verifier.broken(text, [*earlier, *told], skip=("length",)):
            told.append(text)
    return told


_WHO_IS_WHO = {False: {"host": "{name} hosts the show.", "guest": "{name} is a guest on the episode."}, True: {"host": "{name}是节目的主播。", "guest": "{name}是这期节目的来宾。"}}


# who said it, where diarization named no one: [chinese][the only voice]; "讲话人提到" read like a form, "节目中提到" as a listener says it
_NOBODY = {False: ("One of the speakers", "The speaker"), True: ("节目里", "节目中")}


def _quotation(clause: str, name: str | None, chinese: bool, voices: int) -> str:
    """A clause as the speaker's own words, in quotation marks and attributed: "Maria said: “Ask what you can do.”"."""
    if chinese:
        return f"{name or '节目里有人'}说：“{clause}。”"
    return f"{name or _NOBODY[False][voices == 1]} said: “{clause[0].upper() + clause[1:]}.”"


# a figure as a line says it: "800", "two billion", "30%", "百分之三十", "20亿", "两千"
_FIGURE = re.compile(
    r"(?<![A-Za-z\d.,-])\d+(?:[.,]\d+)*(?:\s*(?:%|percent|billion|million|thousand|x\b|倍|亿|万|千|个))?"  # not a name's: p99, GPT-4
    r"|\b(?:(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion)\b[\s-]?)+(?:percent\b)?"
    r"|\bhalf\b|一半"
    r"|百分之[零一二两三四五六七八九十百点]+|[零一二两三四五六七八九十百千万亿]{2,}(?:倍|个|年)?|[二两三四五六七八九十](?:倍|个|年|月|天|小时|分钟|秒|成)",
    re.IGNORECASE,
)


def figures_in(sentence: str) -> list[str]:
    found = (m.group(0).strip(" -") for m in _FIGURE.finditer(sentence))
    return list(dict.fromkeys(f for f in found if f and f.lower() != "one"))  # "the one dashboard", "one of them": no figure


NEW_PAIRS = 4  # pairs of units (a Chinese character, a Latin word) no earlier sentence has, in one clause: news, where the share is small
_CLAUSE_BREAK = re.compile(r"[，,；;：:、。！？!?]")


def _pairs(text: str) -> set[tuple[str, str]]:
    units = units_of(text)
    return set(zip(units, units[1:]))


def adds(sentence: str, earlier: Sequence[str]) -> bool:
    """``sentence`` says something new beside ``earlier``: NEW_SHARE of its words, a figure not said yet ("…a model
    with 1.5 billion parameters is 3 times faster." after "…a 7 billion model writes about 20 tokens per second."), or
    in Chinese a clause mostly of new words ("David提到，真正的瓶颈不是模型，而是数据质量和评估。" after "David提到，真正的瓶颈不是
    模型。": single characters repeat too often to tell). Not new words scattered over a sentence said already ("王磊说磷酸
    铁锂电池，也就是LFP，会继续占据主流。" after "王磊还说，磷酸铁锂电池会继续占据主流，…": the same claim twice)."""
    if novelty(sentence, earlier) >= NEW_SHARE or any(not told(f, " ".join(earlier)) for f in figures_in(sentence)):
        return True
    if not CJK.search(sentence):
        return False
    known = set().union(*map(_pairs, earlier))
    return any(len(new := _pairs(clause) - known) >= NEW_PAIRS and 2 * len(new) >= len(_pairs(clause)) for clause in _CLAUSE_BREAK.split(sentence))


_CEREMONY = re.compile(r"\bI['’]m (?:your host|[A-Z])|\bmy guests?\b|\b(?:welcome|thank you|thanks)\b|我是|嘉宾是|欢迎|感谢|谢谢", re.IGNORECASE)  # who is who, hello, thanks
_ASKS = {False: re.compile(r"\?\s*$"), True: re.compile(r"(?:[?？]|(?:吗|呢|怎么样|如何)[。.]?)\s*$|^我(?:想)?问(?:你|他|她|一下)")}  # a question (Whisper ends some with "。")
_SHORT_LINE = {False: 10, True: 20}  # words, characters: a line this short goes on from the one before it
_SPEAKER = {False: "Speaker", True: "说话人"}  # a voice diarization did not name, in the lines shown


@dataclass
class FactLine:
    """A line a listener must hear, as the model is shown it: the lines up to it (speaker, text), who says it (empty: no
    one named), its figures (a short line's with those of the line before it, which it goes on from), and of them its own
    (``required``: the ones a sentence telling it must keep)."""

    lines: list[tuple[str, str]]
    speaker: str
    figures: list[str]
    text: str
    start: float
    required: list[str] = field(default_factory=list)
    claim: bool = False  # neither a figure nor a show-notes name: a statement of its own (the written summary's, last)
    names: list[str] = field(default_factory=list)  # its show-notes names but the show's and the speaker's: what a line without figures is about
    compared: bool = False  # its figures go on from the line before's, in the same measure: both are asked for, its own needed


_NOT_MEASURE = {*_PREPOSITION_EN, "and", "or", "the", "a", "an", "is", "are", "was", "were", "so", "but", "的", "和", "到", "了", "是", "在", "多", "左"}


def _measures(figure: str, sentence: str) -> set[str]:
    """The words right after ``figure`` in ``sentence``: what it counts ("gigabytes" in "about 14 gigabytes of memory")."""
    after = re.finditer(r"(?<![\w.])" + re.escape(figure) + r"\s*([A-Za-z]+|[\u4e00-\u9fff])", sentence)
    return {m.group(1).lower() for m in after} - _NOT_MEASURE


def _measures_of(figures: Sequence[str], sentence: str) -> set[str]:
    return set().union(*(_measures(f, sentence) for f in figures))


def fact_lines(
    section: Section, verifier: Verifier, speaker_of: Callable[[Any], str | None], show: str = "", claims: bool = False, people: Sequence[str] = (),
) -> list[FactLine]:
    """The section's lines a listener must hear, for the model to tell one at a time: statements with a number, then those
    with a show-notes name other than the ``show``'s own ("Tech Weekly comes out every Monday." is no news), most central
    first; with ``claims``, then the other statements (the written summary's: "当时欧盟的电池法规对碳足迹的要求越来越严"
    names nothing the show notes list, and is news). Who says a line: its voice, the person it says speaks, or where one
    voice reads it all, the one of ``people`` whose turn the lines before give ("他提到，去年…" after "王磊说，…")."""
    chinese = verifier.chinese
    whole = whole_sentences(section.segments, "" if chinese else " ")
    if not whole:
        return []
    # central lines first, and of those as central the one with more figures ("from 800 to 120" before "around 800")
    texts = [t for _, t in whole]
    each = [figures_in(t) for t in texts]  # the figures of each line, found once
    scores = [c * _confidence(s) * (1 + 0.5 * min(3, len(f))) for c, (s, _), f in zip(rank(texts, verifier.language), whole, each)]
    found: list[FactLine] = []
    for index in sorted(range(len(whole)), key=lambda i: -scores[i]):
        segment, sentence = whole[index]
        figures = own = each[index]
        before = whole[index - 1] if index else None
        previous = before[1] if before else ""
        same_voice = before is not None and speaker_of(before[0]) is not None and speaker_of(before[0]) == speaker_of(segment)
        # an answer goes on from its question: "About nine months, with a team of six engineers." after "How long did the
        # rebuild take?"; "他说呢，是一个很好的工程尝试，但是良率一直是个问题。" after "我问他，特斯拉的4680电池怎么样。"
        answers = before is not None and bool(_ASKS[chinese].search(previous)) and not same_voice
        compared: list[str] = []
        if answers:
            figures = [*each[index - 1], *own]
        elif figures and same_voice and verifier.size(sentence) <= _SHORT_LINE[chinese]:
            figures = [*each[index - 1], *figures]  # "Now they are less than 5 minutes old." after "…up to 24 hours old."
        elif figures and same_voice and (compared := [f for f in each[index - 1] if f not in own and _measures(f, previous) & _measures_of(own, sentence)]):
            figures = [*compared, *own]  # "…it fits in about 4 gigabytes." after "…needs about 14 gigabytes of memory…"
        named = any(term.lower() in sentence.lower() for term in verifier.glossary if term.lower() not in show.lower())
        if not (figures or named or claims) or _ASKS[chinese].search(sentence) or _CEREMONY.search(sentence):
            continue
        if not figures and verifier.broken(sentence, skip=_NOT_VOICE):
            continue  # the host's "I'm Sarah Chen and with me today is…": no claim; a guest's "we cut it to 120" is one
        if not (figures or named) and (verifier.size(sentence) < _SHORT_LINE[chinese] or not _clauses(sentence, chinese) or show and show.lower() in sentence.lower()):
            continue  # a claim of its own, with a clause to report it by: not "Exactly.", "Long documents.", nor one about the show
        # an answer is shown with its question only: the small model told an earlier line instead ("…about nine months, with
        # a team of six engineers, they loaded the model…")
        lines = [(speaker_of(s) or _SPEAKER[chinese], t) for s, t in whole[index - 1 if answers else max(0, index - RESTATE_CONTEXT) : index + 1]]
        said = _reporter(_DISCOURSE[chinese].sub("", sentence), chinese)  # one voice reading "(最后)David 说，…": David says it
        speaker = speaker_of(segment) or (said.group(1) if said else "") or (_voice_before(texts, index, people, chinese) or "" if people else "")
        names = [t for t in verifier.glossary if grounding.mentions(sentence, t) and t.lower() not in f"{show} {speaker}".lower() and t not in people]
        names = [t for t in names if not any(t != other and t.lower() in other.lower() for other in names)]  # "Ray" in "Ray Serve": one
        found.append(FactLine(lines, speaker, figures, sentence, segment.start, own, claim=not (figures or named), compared=bool(compared), names=names))
    return sorted(found, key=lambda f: (not f.figures, f.claim))


def retold(line: FactLine, restate: Restater, verifier: Verifier, earlier: Sequence[str], rejected: list[dict[str, Any]], host: str | None = None) -> str:
    """The model's sentence telling ``line``: passing the verifier, new beside ``earlier`` and keeping the line's figures
    (ended before a late clause that breaks a rule, like the model's other sentences); asked once more, with another seed
    and what broke, where the first answer fails (the second may keep only some figures). A line without figures is about
    its names: the answer keeps them all, the second all but one of three or more ("Emily还说，他们使用 Prefect 做调度。" lost
    Kubernetes, Spark and Ray; "张伟还说，CUDA生态的迁移成本很高。" lost 华为, whose chips they test). A guest's "we" the answer
    copies is theirs (``backshifted``; the ``host``'s is the show's). Empty where neither passes; each failed answer goes
    to ``rejected``."""
    avoid = ""
    for attempt in range(2):
        text = (restate(line.lines, line.speaker, line.figures or line.names, attempt, avoid) or "").strip()
        rules = avoid[avoid.rindex(" (") :] if avoid else ""
        if rules and text.endswith(rules):
            text = text[: -len(rules)].strip()  # the rules it was told of, copied onto its answer
        text = backshifted(text, verifier.chinese, [line.speaker], host)
        if not text:
            return ""
        broken = verifier.broken(text, earlier) or (["repeat"] if not adds(text, earlier) else [])
        if "repeat" in broken and any(told(f, text) and not told(f, " ".join(earlier)) for f in line.figures):
            broken.remove("repeat")  # "from 800 to 120 milliseconds" after "around 800 milliseconds": the 120 is news
        head = trimmed(text, verifier, earlier) if broken and "repeat" not in broken else ""
        dropped = [f for f in line.figures if not told(f, head or text)]
        short = len(line.figures) > len(line.required)  # "Now they are less than 5 minutes old." says nothing without "24 hours"
        must = line.figures if short and not (line.compared and attempt) else line.required  # "…4 gigabytes." does, once asked for the 14
        lost = [f for f in must if f in dropped]
        lost_rule = ["figures"] if lost and (attempt == 0 or short or len(lost) == len(must)) else []
        broken = ((broken if lost_rule else []) if head else broken) + lost_rule  # asked again: what the whole broke too ("copied")
        unnamed = [] if line.figures else [n for n in line.names if n.lower() not in (head or text).lower()]
        if unnamed and (attempt == 0 or len(unnamed) > (len(line.names) >= 3)):  # asked again, one of three or more may go
            broken, dropped = [*broken, "names"], unnamed
        if not broken:
            return head or text
        rejected.append({"text": text, "source": "restated", "rules": broken})
        if "repeat" in broken:
            return ""  # the line is told already, in other words
        avoid = f"{text} ({', '.join(broken)}{': keep ' + ', '.join(dropped) if dropped else ''})"
    return ""


def reported_line(line: FactLine, verifier: Verifier, earlier: Sequence[str], voices: int = 0, apart_from: Sequence[str] = ()) -> str:
    """``line`` in reported speech, where the model's telling failed: a run of its clauses short enough not to copy
    ("张伟提到，高峰时每秒要处理三万个请求。"), keeping one of the figures it must keep (else, with none, a show-notes name),
    passing the verifier and new beside ``earlier`` (and not told already by the sentences ``apart_from``). Empty where
    no clause does; never a quote."""
    chinese = verifier.chinese
    if "host_voice" in verifier.broken(line.text, skip=_NOT_VOICE):
        return ""  # the host's own words: nothing to report
    if (together := _reported_with_line_before(line, verifier, earlier, voices)):
        return together
    for clause in sorted(_clauses(line.text, chinese), key=lambda c: (-sum(told(f, c) for f in line.required), -sum(n.lower() in c.lower() for n in line.names))):  # the most figures, names kept, then the longest
        name = line.speaker or None
        said = _reporter(clause, chinese)
        if said:
            name, clause = said.group(1), clause[said.end() :].strip()
        if not clause or _PERSONAL[chinese].search(_THEIR_TEAM[chinese].sub("", clause) if name else clause):
            continue  # "张伟提到，他们也在测试华为的芯片": their team, where who said it is named
        if apart_from and _told_already(clause, apart_from, verifier):
            continue  # told already, by the sentences ``apart_from``
        # its figure kept; without one, its show-notes name, who said it among them ("最后王磊说，出海最难的…": 王磊 tells it)
        # where it has no figure, one of its names in the clause itself: "Kenji Watanabe said that the same tables serve both."
        # lost "Delta Lake", and says nothing
        kept = (
            any(told(f, clause) for f in line.required) if line.required
            else any(n.lower() in clause.lower() for n in line.names) if line.names
            else line.claim or any(term.lower() in f"{name or ''} {clause}".lower() for term in verifier.glossary)
        )
        framed = _on_its_names(clause, line, verifier) if kept else ""
        for told_so in [*([framed] if framed else []), *([clause] if kept else [])]:
            text = _in_reported_speech(told_so, name, verifier, earlier, voices)
            if verifier.passes(text, earlier) and adds(text, earlier):
                return text
    return ""


def _on_its_names(clause: str, line: FactLine, verifier: Verifier) -> str:
    """A Chinese figure's clause with what its line says it is about, where the clause names none of the line's show-notes
    names: "说到faster-whisper和CTranslate2，速度比原版快四到五倍" (tech-weekly: "速度比原版快四到五倍" alone says nothing of
    what is faster; a Chinese clause leaves its topic to the clause before). Empty where there is nothing to add."""
    names = [n for n in line.names if n.lower() not in clause.lower()]
    if not verifier.chinese or not line.required or not names or len(names) > 2 or len(names) < len(line.names):
        return ""
    return f"说到{'和'.join(names)}，{clause}"


def _reported_with_line_before(line: FactLine, verifier: Verifier, earlier: Sequence[str], voices: int) -> str:
    """A short line that goes on from the same voice's line before it, reported with that line's clause holding the
    figure it goes on from: "Priya Nair said that the numbers in the dashboard were up to 24 hours old, and now they are
    less than 5 minutes old." (apart, "now they are…" says nothing of what changed). Empty where no such pair passes."""
    borrowed = [f for f in line.figures if f not in line.required]
    if not borrowed or len(line.lines) < 2 or line.lines[-2][0] != line.lines[-1][0]:
        return ""
    when = re.match(r"(?:now|today|these days|currently|since then)\b", line.text.strip(), re.IGNORECASE)  # what changed: "Now they are…"
    glue = "，" if verifier.chinese else ", and " + (when.group().lower() + " " if when else "")
    for before in (c for c in _clauses(line.lines[-2][1], verifier.chinese) if any(told(f, c) for f in borrowed)):
        for clause in (c for c in _clauses(line.text, verifier.chinese) if any(told(f, c) for f in line.required)):
            said = _reporter(before, verifier.chinese)
            name, before = (said.group(1), before[said.end() :].strip()) if said else (line.speaker or None, before)
            joined = before.rstrip("。.") + glue + (clause if verifier.chinese else _lowered(clause, verifier.transcript))
            text = _in_reported_speech(joined, name, verifier, earlier, voices)
            if not _PERSONAL[verifier.chinese].search(_THEIR_TEAM[verifier.chinese].sub("", joined) if name else joined) and verifier.passes(text, earlier) and adds(text, earlier):
                return text
    return ""


def _joined_with_told(text: str, line: FactLine, verifier: Verifier, earlier: Sequence[str]) -> str:
    """``text``, the model's telling of a line in the same measure as the one before (``FactLine.compared``) that kept only
    its own figures, joined to the sentence already telling the line before, by the same person: "Elena Rossi says that a
    model with 7 billion parameters needs about 14 gigabytes of memory, and after quantizing the model to 4 bits, it
    fits in about 4 gigabytes." (two verified sentences, one change told as one). ``text`` where none passes."""
    borrowed = [f for f in line.figures if f not in line.required]
    said = _REPORTS[verifier.chinese].match(text)
    if not (line.compared and said) or all(told(f, text) for f in borrowed):
        return text
    for before in reversed(earlier):
        opening = _REPORTS[verifier.chinese].match(before)
        if opening and opening.group(1) == said.group(1) and all(told(f, before) for f in borrowed):
            rest = text[said.end() :].strip()
            glue = "，" if verifier.chinese else ", and "
            joined = before.rstrip("。.") + glue + (rest if verifier.chinese else _lowered(rest, verifier.transcript))
            others = [e for e in earlier if e != before]
            return joined if verifier.passes(joined, others) else text
    return text


def _said_as(figure: str, line: str, text: str) -> bool:
    """``text`` says ``figure`` as ``line`` counts it: build-notes' "six weeks" side by side is not said by "a team of six
    engineers" (the line was skipped as told)."""
    bare = bool(re.fullmatch(r"[\d.]+", grounding.normalise(figure)))  # "six" counts what follows it; "40 percent" is whole
    return told(figure, text) and (not bare or all(m.rstrip("s") in text.lower() for m in _measures(figure, line)))


def _holds(sentence: str, other: str) -> bool:
    """``sentence`` says all ``other`` does: its figures and nearly all its words."""
    return novelty(other, [sentence]) < 0.2 and all(told(f, sentence) for f in figures_in(other))


@dataclass
class Told:
    """The written summary's further sentences (``facts_told``): each the model's, or where it failed twice, the line in
    reported speech (``reported``, listed in summary.json); the model's answers not used."""

    sentences: list[str]
    reported: list[str]
    rejected: list[dict[str, Any]]


def _its_claim(line: FactLine, verifier: Verifier, earlier: Sequence[str], voices: int) -> str:
    """A line whose figure neither the model nor reported speech can tell, reported by its other clause as a statement
    of its own: going-global's "…营收，就超过了一亿欧远，当时欧盟的电池法规对探租计的要求越来越延。" (the revenue clause is
    a subject and a predicate too long to report apart) still says that the EU's rules grow stricter. Empty otherwise."""
    if not line.figures:
        return ""
    claim = replace(line, figures=[], required=[], names=[], claim=True)
    return reported_line(claim, verifier, earlier, voices)


def _content(text: str, chinese: bool) -> set[str]:
    """What a clause says, as words to compare: jieba's words of two characters or more, Latin words of four letters or
    more, and numbers (not 的, "that", "the")."""
    if chinese:
        import jieba

        return {w.lower() for w in jieba.cut(text) if len(w.strip()) >= 2 and (CJK.search(w) or w.strip().isalnum())}
    return {w for w in words_of(text) if len(w) >= 4 or w.isdigit()}


def _told_already(clause: str, tellings: Sequence[str], verifier: Verifier) -> bool:
    """Whether the sentences that told a line say ``clause`` already, in their own words: a figure, a show-notes name or
    a fifth of its words in common ("张伟提到，他们在试用华为的芯片，…" tells "他们也在测试华为的生疼芯片")."""
    said = " ".join(tellings)
    if any(told(f, said) for f in figures_in(clause)) or any(grounding.mentions(clause, t) and grounding.mentions(said, t) for t in verifier.glossary):
        return True
    words, heard = _content(clause, verifier.chinese), _content(said, verifier.chinese)
    return bool(words) and len(words & heard) >= len(words) / 5


def _in_line_order(told_now: list[str], text: str, line: str, tellings: Sequence[str], chinese: bool) -> None:
    """``text`` (what else a line says) moved next to the summary's sentences that told the rest of its line, in the
    line's order: beyond-code's "所以他们也在测试华为的生疼芯片，但是 CUDA生态的千里成本很高。" reads Huawei's chips first."""
    if text not in told_now or not (here := [t for t in tellings if t in told_now and t != text]):
        return  # its line was told by the script: it stays after the summary's other lines

    def where(sentence: str) -> int:
        said = sentence[m.end() :] if (m := ATTRIBUTION.match(sentence)) else sentence
        return min((line.lower().find(w) for w in _content(said, chinese) if w in line.lower()), default=len(line))

    told_now.remove(text)
    after = [told_now.index(t) for t in here if where(t) <= where(text)]
    told_now.insert(max(after) + 1 if after else min(told_now.index(t) for t in here), text)


def facts_told(
    found: Sequence[Section], verifier: Verifier, speaker_of: Callable[[Any], str | None], restate: Restater, said: Sequence[str], count: int,
    asked: Sequence[str] = (), voices: int = 0, show: str = "", host: str | None = None, people: Sequence[str] = (),
) -> Told:
    """Up to ``count`` sentences for the written summary, each a line with a figure that nothing ``said`` tells yet (then
    one with a show-notes name, then any other statement, whose words are mostly unsaid), told by the model and
    verified, one section after another:
    a reader gets the figures and claims the spoken script had no room for. Where the model's telling fails twice, the
    line in reported speech (``reported_line``): a figure is worth reading even where the small model only copies it.
    Lines in ``asked`` (the script's) are not asked again, as the same prompt gives the same answer: where the script
    could not tell one, it comes next, in reported speech. Last, what else the lines told by one clause say, in reported
    speech: each clause that the sentences telling its line do not say already (``_told_already``; beyond-code's
    "所以他们也在测试华为的生疼芯片，但是 CUDA生态的千里成本很高。", told by the model as "张伟提到，CUDA生态的迁移成本很高。",
    still says that they test Huawei's chips)."""
    found_lines = [fact_lines(s, verifier, speaker_of, show, claims=True, people=people) for s in found]
    # the host's statements frame the talk ("Elena, you spend your days making language models run on laptops."): no claim
    found_lines = [[line for line in lines if not (line.claim and host and line.speaker == host)] for lines in found_lines]
    waiting = [[line for line in lines if line.text not in asked] for lines in found_lines]
    told_now: list[str] = []
    by_code: list[str] = []
    rejected: list[dict[str, Any]] = []
    unsaid = lambda line: not all(_said_as(f, line.text, " ".join([*said, *told_now])) for f in line.figures) if line.figures else adds(line.text, [*said, *told_now])
    # its figures are not said yet; a line without one, most of its words (in Chinese, or a clause of new character pairs:
    # "…超过了一亿欧元，当时欧盟的电池法规…" after the revenue was told)

    def tell(text: str) -> None:  # in place of what it says again: "…24 hours old, and now…" says "…24 hours old."
        told_now[:] = [t for t in told_now if not _holds(text, t)] + [text]
        by_code[:] = [t for t in by_code if t in told_now]

    # lines told by one clause, with the sentences that told them: what else they say comes after every other line
    rests: list[tuple[FactLine, list[str]]] = []

    def rest(line: FactLine, tellings: list[str]) -> None:
        if not (host and line.speaker == host):  # the host's statements frame the talk: no claim
            rests.append((replace(line, figures=[], required=[], names=[], claim=True), tellings))  # a statement of its own

    while len(told_now) < count and any(waiting):
        for queue in waiting:
            while queue and len(told_now) < count:
                line = queue.pop(0)
                if not unsaid(line):
                    continue
                earlier = [*said, *told_now]
                model = _joined_with_told(retold(line, restate, verifier, earlier, rejected, host), line, verifier, earlier)
                if (text := model or reported_line(line, verifier, earlier, voices) or _its_claim(line, verifier, earlier, voices)):
                    by_code += [] if model else [text]
                    tell(text)
                    rest(line, [text])
                break
    for line in (line for lines in found_lines for line in lines if line.text in asked):
        if len(told_now) >= count:
            break
        if not unsaid(line) and (line.figures or line.names):  # the script told it ("…会继续占据主流，而固态电池至少还要5年…" by its 5 years): what else it says, later
            rest(line, [s for s in said if any(_said_as(f, line.text, s) for f in line.figures) or any(n.lower() in s.lower() for n in line.names)])
        elif (text := reported_line(line, verifier, [*said, *told_now], voices) or _its_claim(line, verifier, [*said, *told_now], voices)):
            by_code.append(text)
            tell(text)
            rest(line, [text])
    while rests and len(told_now) < count:
        line, tellings = rests.pop(0)
        if unsaid(line) and (text := reported_line(line, verifier, [*said, *told_now], voices, apart_from=tellings)):
            by_code.append(text)
            tell(text)
            _in_line_order(told_now, text, line.text, tellings, verifier.chinese)
            rests.append((line, [*tellings, text]))
    return Told(told_now, by_code, rejected)


# --- composition -----------------------------------------------------------------------------------

_INTRO_LIKE = re.compile(r"^(?:(?:in|on) (?:this|today's|the) (?:episode|show)|this episode|today on|welcome)\b|^(?:在)?(?:这一期|本期|这期|今天的)", re.IGNORECASE)


_ROLE_ASIDE = re.compile(r"(?<=[a-z])\s*,\s+(?:the|our|your)\s+(?:host|guest|co-host)(?:\s+of\s+[^,]{1,40})?,", re.IGNORECASE)


def _without_intro(sentence: str, chinese: bool) -> str:
    """The model's sentence without its own intro ("In this episode of X, ..." / "本期节目，...") and without a role it
    gives someone ("Maria Lopez[, the host of Field Notes,] explains…": she is the guest): the intro is built from facts
    and says who is who."""
    sentence = _ROLE_ASIDE.sub("", sentence)
    if not _INTRO_LIKE.search(sentence):
        return sentence
    head, comma, rest = sentence.partition("，" if chinese else ",")
    rest = rest.strip()
    if not comma or not rest:
        return sentence  # all intro: the verifier judges it like any other
    return rest if chinese else rest[0].upper() + rest[1:]


@dataclass
class Script:
    beats: list[Beat]
    rejected: list[dict[str, Any]]  # each sentence not spoken: its text, where it came from and the rules it broke
    sections: list[Section] = field(default_factory=list)  # the episode's topical sections: the chapters
    asked: list[str] = field(default_factory=list)  # the lines the model was asked to tell (``retold``)

    def sources(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for beat in self.beats:
            counts[beat.source] = counts.get(beat.source, 0) + 1
        return counts


def _section_of(sentence: str, found: list[Section], glue: str) -> Section:
    """The section whose words the sentence shares most (the first on a tie)."""
    said = set(chars_of(sentence)) if glue == "" else set(re.findall(r"[a-z0-9]+", sentence.lower()))
    if len(found) == 1 or not said:
        return found[0]

    def overlap(section: Section) -> float:
        text = section.text(glue)
        words = set(chars_of(text)) if glue == "" else set(re.findall(r"[a-z0-9]+", text.lower()))
        return len(said & words) / len(said)

    return max(found, key=overlap)


def _speaker_in(sentence: str, section: Section, names: Sequence[str], before: Sequence[Beat] = ()) -> str | None:
    """The person the sentence names; else the one the sentence before it in the section reported on ("She also …"); else the section's main voice."""
    named = next((n for n in names if n and n.casefold() in sentence.casefold()), None)
    if named:
        return named
    previous = next((b.speaker for b in reversed(before) if b.section == section.index and b.speaker), None)
    return previous or (section.speakers[0] if section.speakers else None)


@functools.lru_cache(maxsize=4096)
def _values(text: str) -> frozenset[str]:
    """The numbers a text says, by value (cached: a section's text is checked for every number of its notes)."""
    return frozenset(grounding.numbers(grounding.normalise(text)))


def told(number: str, text: str) -> bool:
    """Whether ``text`` says a number ("14 gigabytes", "两万个小时", "forty percent"): its values however written ("40%",
    "20000", "2万"), else its first word."""
    values = _values(number)
    if values:
        return values <= _values(text)
    head = number.split()[0] if number.split() else number[:2]
    return bool(head) and head.lower() in text.lower()


SENTENCE_SIZE = {False: 20, True: 40}  # a script sentence's usual size: words, Chinese characters


def spread(found: Sequence[Section], room: float, chinese: bool) -> list[Section]:
    """The sections a script with ``room`` words (characters) left can tell, a sentence each at least: all where they fit,
    else that many spread evenly over the episode, so an hour's digest does not stop two thirds of the way through."""
    fits = max(1, int(room // SENTENCE_SIZE[chinese])) if math.isfinite(room) else len(found)
    if len(found) <= fits:
        return list(found)
    return [found[(k * len(found)) // fits] for k in range(fits)]


def _section_at(seconds: float, found: Sequence[Section]) -> Section:
    """The section a moment of the episode falls in (the first before it starts)."""
    return next((s for s in reversed(found) if s.start <= seconds), found[0])


# where a sentence may end early: before a clause that goes on ("…, which…", "…, resulting in…", "…; …", "… and stopped…"),
# at a Chinese comma; the head keeps the sentence's subject and verb
_CLAUSE_END = {
    False: re.compile(
        r",\s+(?=(?:and|but|which|while|whereas|resulting|so|because|including|making|leading|cutting|reducing|after|before|compared|with|as)\b)"
        r"|;\s+|\s+and\s+(?=[a-z]+ed\b)"
        r"|(?<=[a-z]er)(?<!other)(?<!rather)\s+(?=than\s+[^,;:]*\d)"  # a comparison's other side, with a figure: "…is 3 times faster[ than a model with 7 billion tokens…]."
        # a purpose with a figure: "…took about nine months[ to cut latency by 85 percent]." (not "…, which led[ to a 50% cut]")
        r"|(?<!managed)(?<!able)(?<!wanted)(?<!needed)(?<!need)(?<!tried)(?<!used)(?<!helped)(?<!going)(?<!planned)(?<!aimed)(?<!hoped)"
        r"(?<!expected)(?<!has)(?<!have)(?<!had)(?<!how)\s+(?=to\s+(?:cut|reduce|lower|improve|increase|boost|speed|save|make|bring|get|achieve|handle|serve|process)\s[^,;:]*\d[^,;:]*$)"
    ),
    True: re.compile(r"[，；]"),
}
_SHORTEST_HEAD = {False: 8, True: 12}  # words, characters


# an English setting or example the model copied along with a point: "…explains that [with llama.cpp on a MacBook Air,] a 7
# billion model writes…", "…1.5 billion parameters[ like Qwen 2.5] is 3 times faster" (never "without…", "except…": the point turns on it)
_ASIDE_WORDS = r"(?:[^,.]|\.(?=\w)){1,60}"  # a phrase's words, "llama.cpp" among them
_ASIDES = (
    re.compile(r"(?<=\bthat )(?:with|in|on|at|for|during|after|before|by|across|over|using|through)\s" + _ASIDE_WORDS + r",\s+", re.IGNORECASE),
    re.compile(r"\s+(?:like|such as)\s+[A-Z][\w.+-]*(?:\s+(?:[A-Z][\w.+-]*|\d[\w.+-]*))*(?=\s[a-z])"),
)
_TRAILING_PHRASE = re.compile(r"\s+(?=(?:" + "|".join(sorted(_PREPOSITION_EN - {"without"})) + r")\s+[^,;:]{1,40}[.!]$)")


def _without_asides(sentence: str) -> list[str]:
    """``sentence`` with one of its asides (``_ASIDES``) or its trailing prepositional phrase left out, where what is left
    out holds no figure (a version in a name, "Qwen 2.5", is none): each way, longest first."""
    found = []
    cuts = [(m.start(), m.end()) for aside in _ASIDES for m in aside.finditer(sentence)]
    if (last := list(_TRAILING_PHRASE.finditer(sentence))[-1:]) and VERB_EN.search(sentence[: last[0].start()].split(" that ", 1)[-1]):
        cuts.append((last[0].start(), len(sentence) - 1))  # "…needs about 14 gigabytes of memory[ in its original form]."
    for start, end in cuts:
        if not figures_in(re.sub(r"\b[A-Z][\w.+-]*\s+\d[\w.+-]*", "", sentence[start:end])):
            head = re.sub(r",\s*\w+$", "", sentence[:start]).rstrip(",;:") if end == len(sentence) - 1 else sentence[:start]  # "…last year[, mostly]"
            found.append(head + sentence[end:])
    return sorted(dict.fromkeys(found), key=len, reverse=True)


def trimmed(sentence: str, verifier: Verifier, earlier: Sequence[str]) -> str:
    """The model's sentence without a copied setting or example that holds no figure (English, ``_without_asides``), or
    ended after an earlier clause, where the whole breaks a rule (a copied run, too long, a number the transcript lacks)
    and the shorter one passes; empty where none does. The longest such: what the model chose to say,
    in its words, with nothing added."""
    chinese = verifier.chinese
    for text in [] if chinese else _without_asides(sentence):
        if verifier.size(text) >= _SHORTEST_HEAD[chinese] and not verifier.verbatim(text[:-1]) and not verifier.broken(text, earlier) and adds(text, earlier):
            return text
    for match in reversed(list(_CLAUSE_END[chinese].finditer(sentence))):
        head = sentence[: match.start()].rstrip(" ,，;；")
        if verifier.size(head) < _SHORTEST_HEAD[chinese]:
            break
        if _TURNS[chinese].match(sentence[match.end() :].strip()) and _DENIES[chinese].search(head):
            continue  # "出海最难的不是技术" without "而是本地化的管理": only what it is not
        if chinese and _VERB_FIRST_ZH.match(sentence[match.end() :].strip()):
            continue  # "去年有一家电池企业光是在欧洲的营收" without "就超过了一亿欧元": a subject with no predicate
        if sentence[match.end() :].startswith("than") and not (figures_in(head) or re.search(r"\btimes\b", head)):
            continue  # "…is never older[ than 15 minutes]." misleads; "…is 3 times faster[ than …]." does not
        text = head + ("。" if chinese else ".")
        if len(parts := split_sentences(text)) > 1 and any(verifier.broken(part, earlier) for part in parts):
            continue  # "嘉宾提到 Open Our Eye 开源 Whisper 之后。很多团队。": each sentence of it is a fragment
        if not verifier.verbatim(head) and not verifier.broken(text, earlier) and adds(text, earlier):
            return text  # (a head that is the transcript's own words would be a quote in the presenter's voice)
    return ""


_ADVICE = {False: re.compile(r"\b(?:should|must|ought to|need to|needs to|have to|has to)\b", re.IGNORECASE), True: re.compile(r"应该|应当|建议|必须|需要")}
_POINT_VERBS = {False: ("says", "adds that", "explains that", "notes that"), True: ("提到", "还说", "谈到", "指出")}  # one voice's points in turn


_SAYING = {False: r"\s+(?:says|said|thinks|believes|explains|argues)\b", True: r"\s*(?:说|认为|提到|表示|觉得)"}
_SOMEONE_ELSE = {  # an opening that says whose point it is already, or that it is the episode's: nothing to credit
    False: re.compile(
        r"^(?:she|he|they|it|this|these|that|those|both|his|her|their|its|in this|on this|today|the (?:episode|show|hosts?|guests?|speakers?|conversation|discussion))\b",
        re.IGNORECASE,
    ),
    True: re.compile(r"^(?:他|她|它|这|那|节目|在?本期|在?这一?期|今天|嘉宾|主持人|两位)"),
}


def _said_by(line: str, names: Sequence[str], chinese: bool) -> str | None:
    """The one person of ``names`` a line says is speaking ("说到技术路线，王磊认为…"): who a point is from where diarization
    named no voice (one voice reads the whole episode)."""
    found = [n for n in names if re.search(re.escape(n) + _SAYING[chinese], line)]
    return found[0] if len(found) == 1 else None


# goes on in the voice before; so does the host's "我问他，…", whose answer is his who was speaking
_PRONOUN_OPENS = {False: re.compile(r"^(?:she|he)\b", re.IGNORECASE), True: re.compile(r"^(?:他|她)(?!们)|^我(?:想)?问(?:他|她)(?!们)")}
_HOST_WORDS = {False: re.compile(r"\b(?:I|[Ww]e|[Oo]ur|[Uu]s)\b"), True: re.compile(r"我")}  # the one voice reading speaks as the host
_ADDRESSES = {False: re.compile(r"\b(?:you|your)\b", re.IGNORECASE), True: re.compile(r"你|您")}
_GROUP_OPENS = {  # a line about both guests, the show or the day: no one's turn
    False: re.compile(r"^(?:both|the (?:hosts?|guests?|episode|show)|today|in this)\b", re.IGNORECASE),
    True: re.compile(r"^(?:两位|嘉宾|主持人|大家|节目|本期|这一?期|今天)"),
}
VOICE_LOOKBACK = 4  # sentences, at most, back to the one that says whose turn it is


def _voice_before(sentences: Sequence[str], index: int, names: Sequence[str], chinese: bool) -> str | None:
    """Who says ``sentences[index]`` where one voice reads the whole episode: the person of ``names`` the nearest sentence
    at or before it opens on or says speaks ("Emily 则更关心成本。她说，用 vLLM 部署一个 7B 的模型。一张 H100 每秒…":
    Emily), going back over "她说…", the host's "我问他…" and lines naming no one; None at the host's other words ("我们…"), a line about both
    guests or the show ("最后，两位嘉宾都推荐了…"), or past
    ``VOICE_LOOKBACK`` sentences."""
    for line in reversed(sentences[max(0, index - VOICE_LOOKBACK) : index + 1]):
        opening = _DISCOURSE[chinese].sub("", line.strip())
        named = _said_by(line, names, chinese) or next((n for n in names if n and _opens_on(opening, n)), None)
        if named:
            return named
        if _HOST_WORDS[chinese].search(opening) and not _PRONOUN_OPENS[chinese].match(opening) or _GROUP_OPENS[chinese].match(opening):
            return None
    return None


def _opens_on(line: str, name: str) -> bool:
    """``line`` opens on ``name`` as its subject: not "Elena Rossi, you spend your days…" (the host addressing her), nor
    "David和Emily都认为…" (both)."""
    return line.startswith(name) and not re.match(r"\s*(?:[,，、和与跟及]|and\b|&)", line[len(name) :])


def _whose(
    point: str, seconds: float, segments: Sequence[Any], speaker_of: Callable[[Any], str | None], names: Sequence[str], verifier: Verifier,
    share: float = 0.0,
) -> str | None:
    """Who says the line ``point`` tells: the line sharing most of its words (at least ``share`` of them), the nearest
    ``seconds`` of those as close (a small model's times are rough: The Data Stack's "Teams build two separate
    systems…" came at 00:35, Kenji said it at 01:22); its voice, or the person it says speaks, or where one voice reads
    it all, the one the lines before it give the turn to (``_voice_before``). None where that is not known; with a
    ``share``, also where the line asks or speaks to someone ("So Raj, your team cut it to 120?": the host's words about
    a guest's claim)."""
    chinese = verifier.chinese
    own = _terms(point, chinese)
    shared = lambda text: sum((own & _terms(text, chinese)).values())
    at = max(range(len(segments)), key=lambda i: (shared(segments[i].text), -abs(segments[i].start - seconds)), default=None)
    if at is None or not shared(segments[at].text):
        return None  # no line tells it
    mine = split_sentences(segments[at].text)
    line = max(range(len(mine)), key=lambda i: shared(mine[i]), default=0)  # the sentence it tells: a segment may hold two voices
    if share and (shared(mine[line]) < share * sum(own.values()) or _ASKS[chinese].search(mine[line]) or _ADDRESSES[chinese].search(mine[line])):
        return None
    if (name := speaker_of(segments[at])):
        return name
    earlier = [t for s in segments[:at] for t in split_sentences(s.text)]  # only where one voice reads it all
    return _voice_before([*earlier, *mine], len(earlier) + line, names, chinese)


def _attributed(
    point: str, seconds: float, segments: Sequence[Any], speaker_of: Callable[[Any], str | None], names: Sequence[str], verifier: Verifier,
    told: list[str] | None = None,
) -> str:
    """A key point that names no one, told as said by the voice speaking at its time ("Raj Patel says the cache was the
    easy part." / "王磊提到，电池成本下降了百分之四十。"): the presenter states no claim as its own."""
    told = [] if told is None else told  # the voices already named for a point, in order: each time another verb
    point = point.strip()
    first_names = [n.split()[0] for n in names if " " in n.strip()]  # "Maria explains…" names Maria Lopez
    if not point or any(n and n.casefold() in point.casefold() for n in names) or any(re.search(rf"\b{re.escape(n)}\b", point) for n in first_names):
        return point
    name = _whose(point, seconds, segments, speaker_of, names, verifier)
    if not name:
        return point
    verb = _POINT_VERBS[verifier.chinese][told.count(name) % len(_POINT_VERBS[verifier.chinese])]
    told.append(name)
    return f"{name}{verb}，{point}" if verifier.chinese else f"{name} {verb} {_lowered(point, verifier.transcript)}"


_SEQUENCE = {  # "Finally, she explains…" is hers already
    False: re.compile(r"^(?:(?:finally|then|next|first|second|lastly|also|later|meanwhile|however)\b,?\s*)+", re.IGNORECASE),
    True: re.compile(r"^(?:(?:最后|然后|接着|另外|此外|同时|首先|其次)[，,]?)+"),
}
SOURCE_SHARE = 0.5  # of a credited sentence's words, at least, that the line found to tell it shares: whose it is, surely


def credited(
    sentence: str, seconds: float, segments: Sequence[Any], speaker_of: Callable[[Any], str | None], names: Sequence[str], verifier: Verifier,
    told: list[str] | None = None,
) -> str:
    """The model's sentence told as whose it is (``_attributed``) where it says a claim in no one's name: advice ("Teams
    should start simple…" is someone's, never the presenter's), a guest's team's "we" ("We ran both services side by
    side…", backshifted when offered), or any claim not opening on who says it ("磷酸铁锂电池会继续占据主流" is 王磊's,
    not the presenter's prediction). Where it opens on one person and the line it tells is surely another's, that one's
    name ("David提到，一张 H100 每秒能生成几千个token。": Emily said it)."""
    chinese = verifier.chinese
    sentence = _ROLE_ASIDE.sub("", sentence)  # "Maria Lopez, the host, says…": the intro says who is who
    said = _REPORTS[chinese].match(sentence)
    if said and said.group(1) in names:
        other = _whose(sentence[said.end() :], seconds, segments, speaker_of, names, verifier, SOURCE_SHARE)
        return sentence if not other or other == said.group(1) else other + sentence[said.end(1) :]
    if _ADVICE[chinese].search(sentence) or _WE[chinese].search(sentence) or not _SOMEONE_ELSE[chinese].match(_SEQUENCE[chinese].sub("", sentence)):
        return _attributed(sentence, seconds, segments, speaker_of, names, verifier, told)
    return sentence


def compose(
    facts: Facts, segments: Sequence[Any], duration: float, verifier: Verifier, candidates: Sequence[str], *,
    speaker_of: Callable[[Any], str | None], writer: Writer | None = None, attempts: int = 3, target_size: int = 0,
    points: Sequence[tuple[float, str]] = (), numbers: Sequence[tuple[float, float, str]] = (), restate: Restater | None = None,
) -> Script:
    """The script's beats: the intro (and who is from where, where the opening says so), then per section the model's
    sentences that pass, resampled or reported where they fail; short of the target, the model's key points of the
    episode (``points``: its map notes, (seconds, sentence)), then each section's lines with a number or a name not said
    yet, told by the model (``restate``); ``numbers`` (the notes', with their part's start and end) are the sections' for
    the sentences asked again."""
    chinese = verifier.chinese
    glue = "" if chinese else " "
    found = sections(segments, duration, speaker_of, chinese=chinese)
    for section in found:  # the notes' numbers the section says (a small model lists numbers from its prompt's examples too)
        said = section.text(glue)
        section.numbers = list(dict.fromkeys(n for start, end, n in numbers if start < section.end and section.start < end and told(n, said)))
    beats = [Beat(intro(facts, verifier.transcript, chinese), None, 0.0, duration, facts.host if facts.host and _heard(facts.host, verifier.transcript) else None, "intro")]
    rejected: list[dict[str, Any]] = []
    names = [n for n in [facts.host, *facts.guests] if n]
    pairs = affiliations([n for n in names if _heard(n, verifier.transcript)], verifier.glossary, verifier.transcript, chinese)
    for person, org in list(pairs):  # each one's role, where the opening says it
        said = role_of(person, org, verifier.transcript)
        if said and not verifier.broken(said, [b.text for b in beats], skip=_BUILT):
            beats.append(Beat(said, None, 0.0, duration, None, "intro"))
            pairs.remove((person, org))
    if pairs and not verifier.broken(who_is_who(pairs, chinese), [b.text for b in beats], skip=("length", *_BUILT)):
        beats.append(Beat(who_is_who(pairs, chinese), None, 0.0, duration, None, "intro"))
    if not found:
        return Script(beats, rejected, found)
    spoken = lambda: [b.text for b in beats]
    size = lambda: sum(verifier.size(b.text) for b in beats)
    longest = 1.5 * target_size if target_size else math.inf

    telling = spread(found, longest - size(), chinese)  # the sections the script has room to tell
    by_section: dict[int, list[str]] = {s.index: [] for s in telling}
    voices: list[str] = []  # the voices credited so far with a point or advice, in order (each time another verb)
    for sentence in candidates:
        sentence = _without_intro(sentence.strip(), chinese)
        if sentence:
            section = _section_of(sentence, telling, glue)
            by_section[section.index].append(credited(sentence, section.start, section.segments, speaker_of, names, verifier, voices))

    def resample(section: Section, avoid: str) -> None:
        for attempt in range(1, attempts + 1) if writer else ():
            assert writer is not None
            text = backshifted((writer(section, attempt, avoid, ()) or "").strip(), chinese, names, facts.host)
            if not text:
                continue
            broken = verifier.broken(text, spoken())
            if not broken:
                beats.append(Beat(text, section.index, section.start, section.end, _speaker_in(text, section, names, beats), "resampled"))
                return
            stuck = any(r["text"] == text for r in rejected)
            rejected.append({"text": text, "source": "resampled", "rules": broken})
            if stuck:
                break  # the same rejected sentence again: another draw would cost as much and say it once more
            avoid = f"{text} ({', '.join(broken)})"
        fallback = reported(section, verifier, spoken(), speaker_of, voices=facts.voices)
        if fallback:
            beats.append(fallback)

    announced: list[tuple[str, Section]] = []  # the model's sentences that only announce a topic, past the first: said last, if room is left

    def offer(text: str, section: Section, source: str, fresh: bool = True) -> list[str]:
        """A sentence of the model's for the section: spoken where it passes (and, if ``fresh``, adds NEW_SHARE of new words
        to what is said), else ended before a late clause that breaks a rule (``trimmed``). The rules it broke: none where
        something of it is spoken."""
        text = backshifted(_without_intro(text.strip(), chinese), chinese, names, facts.host)
        broken = verifier.broken(text, spoken()) if text else ["empty"]
        if text and fresh and not broken and not adds(text, spoken()):
            broken = ["repeat"]  # the same point in other words (the sample: "…a normal family consideration five years ago…" again)
        if text and not broken and not chinese and announces(text) and any(announces(b.text) for b in beats if b.source == "model"):
            announced.append((text, section))  # one overview first: "She explains the size of a typical system." says no size
            return ["vague"]
        if text and broken:
            rejected.append({"text": text, "source": source, "rules": broken})
        said = text if not broken else trimmed(text, verifier, spoken()) if text and broken != ["repeat"] else ""
        if said:
            beats.append(Beat(said, section.index, section.start, section.end, _speaker_in(said, section, names, beats), "model"))
            return []
        return broken

    # the map notes' key points, by section: written already, so they cost no further reading
    noted: dict[int, list[str]] = {s.index: [] for s in telling}
    for at, text in points:
        noted[_section_at(at, telling).index].append(_attributed(text, at, segments, speaker_of, names, verifier, voices))

    share = (longest - size()) / len(telling)  # of the room, each told section's
    later: list[tuple[str, Section]] = []  # the model's sentences past their section's share: said if room is left at the end
    for section in telling:
        if size() >= longest:
            break
        failed = ""  # the first of the section's sentences that broke a rule, and which
        for sentence in by_section[section.index]:
            if size() >= longest:
                break
            if sum(verifier.size(b.text) for b in beats if b.section == section.index) >= share:
                later.append((sentence, section))
                continue
            broken = offer(sentence, section, "model", fresh=False)
            if broken and broken != ["repeat"] and not failed:  # a sentence said twice is said once: nothing to replace
                failed = f"{sentence} ({', '.join(broken)})"
        while noted[section.index] and not any(b.section == section.index for b in beats):
            offer(noted[section.index].pop(0), section, "point")
        if any(b.section == section.index for b in beats) or size() >= longest:
            continue  # a failed sentence is replaced only where its section would go unsaid: each draw reads the passage again
        if writer and not failed:  # the digest said nothing of this section: one sentence asked for
            text = (writer(section, 0, "", ()) or "").strip()
            broken = offer(text, section, "model", fresh=False)
            if not broken:
                continue
            failed = f"{text} ({', '.join(broken)})" if text else ""
        resample(section, failed)
    for sentence, section in later if target_size else ():  # short of the target: the model's sentences that waited
        if size() < target_size:
            offer(sentence, section, "model")
    for section in telling if target_size else ():  # short of the target: the other key points
        while noted[section.index] and size() < target_size:
            offer(noted[section.index].pop(0), section, "point")
    asked: list[str] = []
    failed_lines: list[tuple[FactLine, Section]] = []  # lines with a figure the model could not tell: reported at the end, where the share allows
    if restate and target_size:  # still short: each section's lines with a number or a name, told by the model one at a time
        waiting = {s.index: fact_lines(s, verifier, speaker_of, facts.show, people=names) for s in telling}
        for _ in range(MORE_ROUNDS):
            for section in telling:
                while waiting[section.index] and size() < target_size:
                    line = waiting[section.index].pop(0)
                    if line.figures and all(told(f, " ".join(spoken())) for f in line.figures):
                        continue  # its numbers are said already
                    asked.append(line.text)
                    text = retold(line, restate, verifier, spoken(), rejected, facts.host)
                    if text:
                        beats.append(Beat(text, section.index, line.start, section.end, _speaker_in(text, section, names, beats), "model"))
                    elif line.figures:
                        failed_lines.append((line, section))
                    break  # one line a section a round: the script goes through the episode in order
    if writer and target_size:  # still short: the model asked for another point of each section, told what is said of it
        for round_ in range(MORE_ROUNDS):
            for section in telling:
                if size() >= 0.8 * target_size:
                    break  # each round another seed: the same prompt and seed gave the same rejected sentence again
                offer(writer(section, round_, "", [b.text for b in beats if b.section == section.index]) or "", section, "model")
    for text, section in announced:  # the topics the model only announced, where the script is below half its target: better than nothing said
        if target_size and size() < 0.5 * target_size and not verifier.broken(text, spoken()):
            beats.append(Beat(text, section.index, section.start, section.end, _speaker_in(text, section, names, beats), "model"))
        else:
            rejected.append({"text": text, "source": "model", "rules": ["vague"]})
    for line, section in failed_lines:  # a figure in reported speech rather than none, while the model still writes MODEL_SHARE of the script
        body = [b for b in beats if b.source not in ("intro", "outro")]
        if size() >= longest or sum(b.source in ("model", "resampled") for b in body) < MODEL_SHARE * (len(body) + 1):
            break
        if line.figures and not all(told(f, " ".join(spoken())) for f in line.figures) and (text := reported_line(line, verifier, spoken(), facts.voices)):
            beats.append(Beat(text, section.index, line.start, section.end, line.speaker or None, "reported", line.text))
    if not writer:  # no model: below half the target, each section's next sentence in reported speech (never a quote)
        for _ in range(2):
            for section in telling:
                if target_size and size() < 0.5 * target_size:
                    more = reported(section, verifier, spoken(), speaker_of, [b.origin for b in beats], voices=facts.voices)
                    if more:
                        beats.append(more)
    beats[1:] = sorted(beats[1:], key=lambda b: b.start)
    _varied(beats, names, chinese)
    closing = outro(facts, verifier.transcript, chinese)
    if not verifier.broken(closing, spoken(), skip=("length", "repeat")):  # it echoes the intro by design; at the episode's end, so soundbites go before it
        beats.append(Beat(closing, None, duration, duration, None, "outro"))
    return Script(beats, rejected, found, asked)


# an English sentence that names a topic and says nothing of it: "She then explains the differences between…" (the sample).
# Chinese has no such test: "王磊介绍了宁德时代在德国的工厂投产。" is a statement
_ANNOUNCES = re.compile(
    r"^(?:[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?|She|He|They)(?: (?:then|also|further|briefly))? (?:explains|discusses|introduces|describes|talks about"
    r"|covers|mentions|highlights|outlines|shares|goes over|touches on)\b(?!.*\b(?:that|because|so|but)\b)[^,;]*[.!]$"
)


def announces(sentence: str) -> bool:
    """Whether an English ``sentence`` only announces a topic (no figure, no claim): the listener hears that something
    was explained, never what."""
    return bool(_ANNOUNCES.match(sentence.strip())) and not figures_in(sentence)


def _varied(beats: list[Beat], names: Sequence[str], chinese: bool) -> None:
    """Read aloud, a run of "Raj Patel says…" drones: the same voice's sentences in a row open with another verb each
    (``varied``), and a role the intro said is not said again ("Raj Patel, a staff engineer at Stripe, improved…" →
    "Raj Patel improved…")."""
    who = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    introduced = {n for n in names for b in beats if b.source == "intro" and b.text.startswith(n + ("是" if chinese else " "))}
    again = re.compile(rf"^({who}), (?:a|an|the) [^,]{{3,60}}, ")  # "Raj Patel, a staff engineer at Stripe, …"
    body = [b for b in beats if b.source not in ("intro", "outro")]
    for beat in body:
        role = None if chinese else again.match(beat.text)
        if role and role.group(1) in introduced:
            beat.text = f"{role.group(1)} {beat.text[role.end():]}"
    for beat, text in zip(body, varied([b.text for b in body], names, chinese)):
        beat.text = text


def varied(sentences: Sequence[str], names: Sequence[str], chinese: bool) -> list[str]:
    """``sentences`` with each of a run that opens with the same voice and a verb of saying opening with the next verb:
    "Raj Patel says…", "Raj Patel adds that…"; "节目中提到，…", "节目中还说，…" (tech-weekly's summary had "节目中提到" four
    times in a row). ``names``: the voices; the unnamed are told as "节目中", "One of the speakers"."""
    names = [*names, *_NOBODY[chinese]]
    who = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    verbs = _POINT_VERBS[chinese]
    opening = re.compile(
        rf"^({who})(?:提到|还说|谈到|指出|说)[，,]?" if chinese else rf"^({who}) (?:says that|says|adds that|explains that|notes that|said that|pointed out that|noted that) "
    )
    out, voice, run = [], "", 0
    for text in sentences:
        match = opening.match(text)
        run = run + 1 if match and match.group(1) == voice else 0
        voice = match.group(1) if match else ""
        if match and run:
            verb = verbs[run % len(verbs)]
            text = (f"{voice}{verb}，" if chinese else f"{_surname(voice)} {verb} ") + text[match.end() :]
        out.append(text)
    return out


_SURNAME_FIRST = {  # common Chinese surnames in pinyin: "Zhang Wei" is Zhang, not Wei
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin",
    "luo", "gao", "zheng", "liang", "xie", "song", "tang", "han", "feng", "deng", "cao", "peng", "zeng", "xiao", "tian", "dong", "pan",
}


def _surname(name: str) -> str:
    """How an English digest names a person again in a run of their points: "Maria Lopez explains…", then "Lopez adds
    that…" (nine sentences opening "Maria Lopez" read like a list). A one-word name, a name of three words or more, or
    one whose first word is a Chinese surname, stays whole."""
    words = name.split()
    if len(words) != 2 or not all(w[:1].isupper() and w.isalpha() for w in words) or words[0].lower() in _SURNAME_FIRST:
        return name
    return words[1]


def chapters(found: Sequence[Section], offered: Sequence[tuple[float, str]], extracted: dict[float, str]) -> tuple[list[tuple[float, str]], bool]:
    """One chapter per section, at its start: titled by the first title offered (the model's) that starts within it, else
    by the section's headline from the transcript (``extracted``, by start); a section with no new title runs on in the
    chapter before. Also whether any title came from the transcript."""
    titled: list[tuple[float, str]] = []
    from_transcript = False
    for position, section in enumerate(found):
        end = found[position + 1].start if position + 1 < len(found) else math.inf
        used = {t for _, t in titled}
        mine = next((t for start, t in offered if (position == 0 or start >= section.start) and start < end and t not in used), "")
        title = mine or extracted.get(section.start, "")
        if title and title not in used:
            titled.append((section.start, title))
            from_transcript |= not mine
    return titled, from_transcript


@dataclass
class Prose:
    """The written summary and highlights, each sentence verified like the script's."""

    summary: list[str]
    highlights: list[str]
    from_script: list[str]  # the fields that took the script's sentences because none of the model's passed


def prose(summary: Sequence[str], highlights: Sequence[str], beats: Sequence[Beat], verifier: Verifier, count: int = 3) -> Prose:
    """The model's summary and highlight sentences that pass the verifier; where none does, the script's own (verified) sentences.

    Highlights are whole sentences, distinct from each other and from the summary (one that says all an earlier one
    does takes its place); below ``count``, the script's body
    sentences fill them (``topped_up`` adds more once the summary is whole).
    """
    kept: list[str] = []
    for sentence in summary:
        if sentence.strip() and not verifier.broken(sentence.strip(), kept):
            kept.append(sentence.strip())
    body = [b.text for b in beats if b.source not in ("intro", "outro")]
    from_script = []
    if not kept:
        kept, from_script = (body[:count] or [b.text for b in beats[:1]]), ["summary"]
    chosen: list[str] = []

    def take(sentence: str) -> None:  # "Kenji Watanabe says that streaming costs more…, so teams should start…" holds "Teams should start…"
        held = [c for c in chosen if _holds(sentence, c)]
        if sentence and len(chosen) - len(held) < count and sentence not in kept and not verifier.broken(sentence, [*kept, *(c for c in chosen if c not in held)]):
            chosen[:] = [c for c in chosen if c not in held] + [sentence]

    for sentence in map(str.strip, highlights):  # the transcript's own line ("That's the data stack for this week.") is a quote, not a highlight
        if not verifier.verbatim(sentence):
            take(sentence)
    if len(chosen) < count:
        for text in body:
            take(text)
        if "highlights" not in from_script and len(chosen) > len([h for h in highlights if h.strip() in chosen]):
            from_script.append("highlights")
    return Prose(kept, chosen, from_script)


def topped_up(told: Prose, figures: Sequence[str], more: Callable[[list[str]], str | None], count: int = 3) -> Prose:
    """``told`` with the summary's ``figures`` added and its highlights topped up to ``count`` with ``more``'s sentences
    (given what is said already): after the figures, so a figure goes to the summary (which key facts are read from),
    not to a highlight; a highlight that a figure's sentence now says (most of its words) makes room for another."""
    summary = [s for s in told.summary if not any(_holds(f, s) for f in figures)] + list(figures)  # "…14 gigabytes…, and …4 gigabytes." holds "…14 gigabytes…"
    chosen = [h for h in told.highlights if not figures or novelty(h, figures) >= NEW_SHARE]
    kept = len(chosen)
    while len(chosen) < count and (extra := more([*summary, *chosen])):
        chosen.append(extra)
    added = len(chosen) > kept and "highlights" not in told.from_script
    return Prose(summary, chosen, [*told.from_script, *(["highlights"] if added else [])])


def another(found: Sequence[Section], verifier: Verifier, speaker_of: Callable[[Any], str | None], voices: int = 0) -> Callable[[list[str]], str | None]:
    """A source of further sentences in reported speech, one section after another, none repeating what is said already."""
    told: list[str] = []

    def next_sentence(said: list[str]) -> str | None:
        for section in found:
            beat = reported(section, verifier, said, speaker_of, told, voices=voices)
            if beat and beat.source == "reported":
                told.append(beat.origin)
                return beat.text
        return None

    return next_sentence
