"""The sentence verifier: one rule set that every sentence the presenter says must pass, with a name per rule.

Used by the summarize stage (a script sentence that breaks a rule is sampled
again, then replaced by reported speech) and by the evaluation's rubric (which
rules each digest breaks). The rules:

- ``language``: the sentence is in the digest's language (names and terms of the transcript aside);
- ``ungrounded``: every name and number in it is in the transcript (``grounding``);
- ``first_person``: no "I", "my", "我" in the presenter's voice;
- ``host_voice``: no host's "we", "our", "welcome", "thank you", "I'm your host", "我们", "咱们", "欢迎收听", "谢谢";
- ``copied``: no run longer than 12 words (or 20 Chinese characters, a Latin word or a number counted as one) copied from the transcript;
- ``list``: not a list of names or keywords (nor a sentence saying which names are "the main names");
- ``fragment``: a whole sentence: it ends like one, has no speaker label ("Maria:"), is no answer ("Yes, …", "对，…"),
  no clause left waiting ("…之后。") and no reported clause without a verb ("X explains that the model server over the network.");
- ``length``: within the length band (6 to 40 words, 8 to 90 Chinese characters);
- ``question``: not a question (the presenter asks nothing nobody answers);
- ``repeat``: not what an earlier sentence said (most of its words in an earlier one);
- ``quote``: words in quotation marks are the transcript's own, word for word, at most 12 words (20 characters);
- ``relation``: a sentence saying what one show-notes name is to another ("月之暗面是Kimi的用户之一。", "Solar Grid is
  Maria Lopez's partner.") is heard: one transcript sentence holds both names and the words saying the relation.

A quotation, attributed ("Maria said: “…”"), is someone else's words: the
presenter's voice rules (first person, host's voice, question, list) read
only what is outside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from core.text import CJK, FINISHED, LATIN_WORD, cjk_count, split_sentences, unspaced

from . import grounding

RULES = ("language", "ungrounded", "first_person", "host_voice", "copied", "unattributed", "list", "fragment", "length", "question", "repeat", "quote", "relation")
COPY_WORDS, COPY_CHARS = 12, 20  # the longest run a sentence may share with the transcript
BARE_QUOTE = 4  # words (Chinese characters) from which a transcript sentence spoken whole, unattributed, is a quote
WORD_BAND, CHAR_BAND = (6, 40), (8, 90)
REPEAT_SHARE = 0.8  # of a sentence's words found in an earlier one: said already
NEW_SHARE = 0.4  # of a further sentence's (or soundbite's) words that must be new to what is said already

_FIRST_PERSON = {
    "en": re.compile(r"\bI\b|\bI['’](?:m|ve|d|ll)\b|\b(?:[Mm]e|[Mm]y|[Mm]ine|[Mm]yself)\b"),  # "I" only as a capital
    "zh": re.compile(r"我(?!们)"),
}
_HOST_VOICE = {
    "en": re.compile(
        r"\b(?:we|we['’](?:re|ve|ll|d)|(?-i:us)|our|ours|ourselves|let['’]s|welcome|your host|you['’]re listening|thanks|thank you|stay tuned)\b",
        re.IGNORECASE,
    ),
    "zh": re.compile(r"我们|咱们|欢迎(?:收听|来到|回到|大家|各位)|^欢迎|大家好|各位听众|本期节目的主持人|谢谢|感谢(?:收听|大家|各位|你|您)"),
}
_LABEL = re.compile(r"^\s*(?:[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,2}|" + CJK.pattern + r"{2,4})\s*[:：]\s*\S")
_DANGLING = re.compile(r"(?:之后|以后|之前|以前|的时候|的话)[。！]$")  # "嘉宾提到Opener i开源 Whisper之后。": a clause waiting for its main one
# the prompt's own words, which a listener never heard of: "Maria Lopez gave the passage, and it measures 13 kilowatt hours."
# and its asks: "The episode concludes with a summary of the key points and a call to action…" (data-stack), which no one said
_PROMPT_WORDS = re.compile(
    r"\b(?:the|this|that) (?:passage|transcript|excerpt|lines? above)\b|\bkey points\b|\bcall to action\b|文字稿|这段文字|这几句话|上面这段|^(?:本节|这一节|本段|这一段)",
    re.IGNORECASE,
)
# the digest's own, where the episode does not speak of one: "Elena Rossi says the presenter highlights the importance of
# compressing the context cache…" (edge-cases)
_DIGEST_WORDS = re.compile(r"\b(?:the|this|that) (?:presenter|digest)\b", re.IGNORECASE)
_UNNAMED = re.compile(r"^(?:这|那)(?:比|就|也|才|样|些|种)")  # "这比出新论文更有用。" (reported or not): what "this" is was said in the episode, not in the digest
# what is reported goes on from a clause that is not there: "Emily还说，但是Ladency 和 Thrupp 之间总要做取舍。"
_CONTINUING = re.compile(r"^(?:但是|但(?!凡|愿)|可是|不过|而是|而且|所以|因此|并且|(?:but|and|or)\b|so\b(?![\s-](?:many|much|far|called|that)\b))", re.IGNORECASE)
_ANSWER = re.compile(r"^\W*(?:(?:yes|yeah|yep|no|nope|exactly|right|sure|absolutely|definitely|okay|ok|well)\b\s*[,.!]|(?:对|是的|没错|嗯|好的|当然)[，,。！])", re.IGNORECASE)
_LISTED = re.compile(r"(?:[^、。！？；，,\n]{1,20}[、﹑]){3,}|(?:\b[\w.\-]+(?: [\w.\-]+)?, ){4,}")
_QUESTION = re.compile(r"[?？]|吗[。！]?$")
# two sentences run into one: a clause with its verb, a comma, then a second verb with no subject ("She introduces the
# topic of home batteries, explains that five years ago, home batteries were a luxury."); an appositive ("Raj Patel, a
# staff engineer at Stripe, says that…") has no verb before its comma
# build-notes: "Raj Patel notes that about nine months, with a team of six engineers, they loaded the model into the
# service itself.": the answer to "How long did it take?" glued to what the team changed (a measure with no verb, then a
# clause with its own subject)
_GLUED_EN = re.compile(
    r"\b(?:says|said|adds|added|notes|noted|explains|explained|mentions|mentioned)(?: that)? (?P<measure>(?:about|around|roughly|nearly|almost) [^,]{1,40}),"
    r"(?: [^,]{1,60},)? (?:they|we|he|she|it|I) ",
    re.IGNORECASE,
)
_RUN_ON_EN = re.compile(r"^(?P<first>[^,]+),\s+(?:explains|says|adds|notes|argues|states|points out|describes|discusses|mentions)\s+(?:that|how|why|what)\b", re.IGNORECASE)
_REPORTED_EN = re.compile(r"\b(?:says|said|explains|explained|adds|added|notes|noted|points out|pointed out|believes|thinks|argues|states)\s+that\s+(.+)$", re.IGNORECASE)
_REPORTED_ZH = re.compile(r"^[^，,。：:]{1,12}?(?:提到|指出|谈到|还说|认为|表示|说)[，,：:]\s*(.+)$")  # "张伟指出，过去一年。"
# a verb that takes a whole clause, anywhere in the sentence ("…，王磊认为磷酸铁里电池。"); not 提到, which takes a noun
# (提到了Redis), nor 说 of 听说, 比如说, 小说, 说到 or 说了
_CLAUSE_VERB_ZH = re.compile(r"(?:认为|觉得|表示|(?<![听据如是以再来小])说)(?![了到起明过法服])[，,：:]?")
_MISTAGGED_ZH = {"还要", "还得", "也要", "就要"}  # verbs jieba tags as conjunctions ("固态电池还要五年")
_APPOSITIVE_ZH = re.compile(r"[，,](?:也就是|即|就是)[^，,。！]*")  # "磷酸铁锂电池，也就是LFP": another name, no predicate
_NAMES_OF = re.compile(r"\b(?:main|key|important) (?:names|people|players|terms|companies)\b|\bare (?:all )?mentioned\b", re.IGNORECASE)


# a reported clause needs a verb: "about nine months, with a team of six engineers" (an answer) and "a model with 1.5
# billion parameters" (a clause cut from its verb) report nothing; a rough English test: an auxiliary, a common verb or "-ed"
VERB_EN = re.compile(
    r"\b(?:is|are|was|were|be|been|being|am|has|have|had|do|does|did|can|could|will|would|shall|should|may|might|must|"
    r"(?:go|get|make|take|run|need|start|work|use|cut|move|grow|fit|cost|keep|find|give|say|think|know|see|come|want|help|show|"
    r"try|call|build|buy|sell|pay|last|hold|lose|save|spend|mean|matter|seem|become|bring|leave|let|put|set|stay|turn|write|read|"
    r"serve|ship|change|charge|cover|drop|fall|rise|beat|fail|win|scale|store|send|learn|believe|expect|depend|produce|rank|compare)"
    r"(?:s|es)?|\w+ed|went|got|made|took|ran|found|gave|said|thought|knew|saw|came|built|bought|sold|paid|held|lost|spent|meant|"
    r"became|brought|left|wrote|fell|rose|won|grew|kept|sent|gone|done|seen|taken|given|known|shown|written|fallen|grown)\b",
    re.IGNORECASE,
)

# "A is/是 B's C": the subject, the copula and what is said of it
_COPULA = {"en": re.compile(r"^(?P<subject>.+?)\s(?:is|are|was|were)\s(?P<predicate>.+)$"), "zh": re.compile(r"^(?P<subject>[^是，,]+?)是(?P<predicate>.+)$")}
_LINKING_EN = {  # the words of an English predicate that say no relation of their own
    "a", "an", "the", "of", "at", "for", "in", "on", "and", "one", "who", "that", "with", "to", "its", "his", "her", "their", "from",
    "by", "as", "also", "both", "s", "now", "still", "former", "behind",
}

_QUOTED = re.compile(r"“([^”]*)”|「([^」]*)」|\"([^\"]*)\"")


def quotations(text: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)]


def unquoted(text: str) -> str:
    """The presenter's own words: ``text`` with each quotation replaced by a placeholder."""
    return _QUOTED.sub("“…”", text)


# who said it, before what was said: "David提到，" / "节目中谈到，" / "Maria Lopez said that "
ATTRIBUTION = re.compile(r"^[^，,：:。]{1,16}?(?:提到|谈到|指出|认为|表示|说)[，,：:]\s*|^[\w .'’-]{1,40}? (?:said|says|adds|added|pointed out|notes|noted|explains|explained) (?:that )?")


def _contained(a: str, b: str) -> bool:
    """Whether most of sentence ``a``'s words (characters for Chinese) are in the earlier ``b``: "王磊聊了电池。" after
    "王磊聊了电动汽车的电池。"; who said it aside, so one claim told twice under two names ("节目中谈到，用 VLLM…" and
    "David提到，用 VLLM…") is a repeat. A longer sentence that goes on from a short earlier one ("Raj Patel is a staff
    engineer at Stripe." then "Raj Patel, a staff engineer at Stripe, rebuilt …") says something new."""
    unit = (lambda t: set(chars_of(t))) if cjk_count(a + b) > len(a + b) / 3 else (lambda t: set(words_of(t)))
    for x, y in ((a, b), (ATTRIBUTION.sub("", a), ATTRIBUTION.sub("", b))):
        wa, wb = unit(x), unit(y)
        if wa and wb and len(wa & wb) / len(wa) >= REPEAT_SHARE:
            return True
    return False


def novelty(sentence: str, earlier: Sequence[str]) -> float:
    """The share of the sentence's words (characters for Chinese) that no earlier sentence has: what it adds."""
    chinese = cjk_count(sentence) > len(sentence) / 3
    unit = (lambda t: set(chars_of(t))) if chinese else (lambda t: set(words_of(t)))
    own, said = unit(sentence), set().union(*(unit(e) for e in earlier)) if earlier else set()
    return len(own - said) / len(own) if own else 0.0


def _language_of(language: str) -> str:
    return "zh" if unspaced(language) else "en"


def words_of(text: str) -> list[str]:
    """Lower-case words; "1.5", "2,000" and "don't" are one word each, as a listener hears them."""
    return re.findall(r"[a-z0-9]+(?:['’][a-z]+|(?<=\d)[.,](?=\d)\d+)*", text.lower())


def chars_of(text: str) -> str:
    """The characters that count for a copied run: Chinese characters, Latin letters and digits, lower case."""
    return "".join(re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffa-z0-9]", text.lower()))


def units_of(text: str) -> list[str]:
    """What a Chinese copied run is counted in: each Chinese character, and each Latin word or number as one, as it is
    heard ("在 Kubernetes 上跑 Spark 和 Ray 的任务" is 10, not 23: a sentence naming a few tools is not a copy for that)."""
    return re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[a-z0-9]+", text.lower())


def copy_units(text: str, chinese: bool) -> list[str]:
    """What a copied run is counted in: units (Chinese) or words."""
    return units_of(text) if chinese else words_of(text)


def copy_size(text: str, chinese: bool) -> int:
    return len(copy_units(text, chinese))


@dataclass
class Verifier:
    """The rules for one episode: its transcript, language, glossary."""

    transcript: str
    language: str
    glossary: list[str] = field(default_factory=list)

    @property
    def chinese(self) -> bool:
        return _language_of(self.language) == "zh"

    @cached_property
    def _longest(self) -> int:
        return COPY_CHARS if self.chinese else COPY_WORDS

    @cached_property
    def _runs(self) -> set[tuple[str, ...]]:
        """Every run of one unit more than a copy may have (words; Chinese characters and Latin words) in the transcript."""
        units, n = copy_units(self.transcript, self.chinese), self._longest + 1
        return {tuple(units[i : i + n]) for i in range(max(0, len(units) - n + 1))}

    def copied(self, sentence: str) -> bool:
        """Whether the sentence shares a run longer than 12 words (20 Chinese characters and Latin words) with the transcript."""
        units, n = copy_units(sentence, self.chinese), self._longest + 1
        return any(tuple(units[i : i + n]) in self._runs for i in range(max(0, len(units) - n + 1)))

    @cached_property
    def _spoken(self) -> str:
        """The transcript as copy checks read it: its characters (Chinese) or its words between spaces."""
        return chars_of(self.transcript) if self.chinese else f" {' '.join(words_of(self.transcript))} "

    def verbatim(self, text: str) -> bool:
        """Whether ``text`` is, word for word, a stretch of the transcript: a quote, however short."""
        said = chars_of(text) if self.chinese else f" {' '.join(words_of(text))} "
        return bool(said.strip()) and said in self._spoken

    @staticmethod
    def _goes_on(sentence: str) -> bool:
        """Whether what the sentence reports goes on from a clause it leaves out ("Emily还说，但是…")."""
        return bool(ATTRIBUTION.match(sentence) and _CONTINUING.match(ATTRIBUTION.sub("", sentence)))

    def _bare_quote(self, sentence: str) -> bool:
        """Whether ``sentence`` is a whole stretch of the transcript, word for word, with no one named as saying it: the
        presenter would speak someone's words as its own (tech-weekly's "最后，两位嘉宾都推荐了自己最近在读的论文。")."""
        return not ATTRIBUTION.match(sentence) and copy_size(sentence, self.chinese) >= BARE_QUOTE and self.verbatim(sentence)

    def misquoted(self, sentence: str) -> bool:
        """Whether a quotation is not the transcript's words, word for word, or longer than a copied run may be."""
        for quote in quotations(sentence):
            size = copy_size(quote, self.chinese)
            if not size or size > self._longest or not self.verbatim(quote):
                return True
        return False

    def size(self, sentence: str) -> int:
        """Chinese characters (and Latin words) for Chinese, words for the others."""
        return cjk_count(sentence) + len(LATIN_WORD.findall(sentence)) if self.chinese else len(sentence.split())

    def broken(self, sentence: str, earlier: Sequence[str] = (), skip: Sequence[str] = ()) -> list[str]:
        """The names of the rules ``sentence`` breaks (empty: it may be spoken); ``earlier`` sentences are not to be repeated."""
        from .gates import language_share, similar

        key = _language_of(self.language)
        text = sentence.strip()
        own = unquoted(text)
        checks = {
            "language": lambda: language_share(text, self.language, self.transcript, self.glossary) < 0.9,
            "ungrounded": lambda: bool(grounding.ungrounded(text, self.transcript)),
            "first_person": lambda: bool(_FIRST_PERSON[key].search(own)),
            "host_voice": lambda: bool(_HOST_VOICE[key].search(own)),
            "copied": lambda: self.copied(text),
            "unattributed": lambda: self._bare_quote(text),
            "list": lambda: bool(_LISTED.search(own) or _NAMES_OF.search(own)),  # "Databricks, Priya Nair, and Kenji Watanabe are the main names…"
            "fragment": lambda: not FINISHED.search(text) or bool(
                _LABEL.match(text) or _ANSWER.match(own) or _UNNAMED.match(ATTRIBUTION.sub("", own)) or self._goes_on(own) or _DANGLING.search(own) or self._prompt_words(own) or self._verbless(own) or self._run_on(own)
            ),
            "length": lambda: not (CHAR_BAND if self.chinese else WORD_BAND)[0] <= self.size(text) <= (CHAR_BAND if self.chinese else WORD_BAND)[1],
            "question": lambda: bool(_QUESTION.search(own)),
            "repeat": lambda: any(similar(text, e) or _contained(text, e) for e in earlier),
            "quote": lambda: self.misquoted(text),
            "relation": lambda: self.unheard_relation(own),
        }
        return [name for name in RULES if name not in skip and checks[name]()]

    def _prompt_words(self, sentence: str) -> bool:
        """``sentence`` speaks of the prompt, or of the digest in words the episode itself does not use."""
        return bool(_PROMPT_WORDS.search(sentence)) or bool(_DIGEST_WORDS.search(sentence)) and not _DIGEST_WORDS.search(self.transcript)

    @cached_property
    def _heard_sentences(self) -> list[str]:
        return [grounding.normalise(s) for s in split_sentences(self.transcript)]

    def unheard_relation(self, sentence: str) -> bool:
        """Whether the sentence says what one show-notes name is to another ("月之暗面是Kimi的用户之一。": the small model's
        guess at how two names it read go together) where no transcript sentence holds both names and the predicate's
        words (工程师 in "张伟是月之暗面的工程师" of "今天的嘉宾是月之暗面的工程师张伟"; "staff engineer" for "Raj Patel is a staff
        engineer at Stripe")."""
        key = _language_of(self.language)
        said = _COPULA[key].match(ATTRIBUTION.sub("", sentence).strip().rstrip("。.！!"))
        if not said:
            return False
        within = lambda name, text: grounding.normalise(name) in grounding.normalise(text)
        names = sorted({n.strip() for n in self.glossary if len(n.strip()) >= 2}, key=len, reverse=True)
        subject = next((n for n in names if within(n, said.group("subject"))), None)
        other = next((n for n in names if within(n, said.group("predicate")) and not within(n, subject or "") and not within(subject or "", n)), None)
        if not subject or not other:
            return False
        predicate = said.group("predicate")
        for name in names:
            predicate = re.sub(re.escape(name), " ", predicate, flags=re.IGNORECASE)
        if self.chinese:
            import jieba.posseg

            words = [w for w, flag in jieba.posseg.cut(predicate) if len(w) >= 2 and flag[:1] in "nv" and CJK.search(w)]
        else:
            words = [w.rstrip("s") for w in words_of(predicate) if w not in _LINKING_EN and not w.isdigit()]
        wanted = [grounding.normalise(w) for w in [subject, other, *words]]
        return not any(all(w in heard for w in wanted) for heard in self._heard_sentences)

    def _run_on(self, sentence: str) -> bool:
        """Two English predicates joined by a bare comma, the second without its subject; or an answer's bare measure
        glued to another claim (``_GLUED_EN``)."""
        if self.chinese:
            return False
        glued = _GLUED_EN.search(sentence)
        if glued and not VERB_EN.search(glued.group("measure")):
            return True
        joined = _RUN_ON_EN.match(sentence)
        if not joined:
            return False
        first = joined.group("first")
        return bool(VERB_EN.search(first) or re.search(r"[a-z]s\b", first.split(" ", 2)[-1]))  # a verb before the comma (its first words may be a name)

    def _verbless(self, sentence: str) -> bool:
        """"Raj Patel explains that the model server over the network." / "张伟指出，过去一年。": what is reported has no verb
        (VERB_EN's list is short, so a word ending in -s may be one: "the pipeline processes 2 billion events"; for Chinese,
        jieba's tags: a verb, an adjective (成本很高) or an adverb, which comes with a predicate jieba may mistag (更关心);
        a verbal noun such as 营收 not counted)."""
        if self.chinese:
            import jieba.posseg

            def predicate(text: str) -> bool:
                cut = list(jieba.posseg.cut(text))
                return any(
                    flag[0] in "vad" and flag != "vn" or word in _MISTAGGED_ZH or flag == "vn" and i + 1 < len(cut) and cut[i + 1].word in ("了", "过", "着")
                    for i, (word, flag) in enumerate(cut)
                )  # 测试了: a verbal noun with an aspect particle is the verb
            reported = _REPORTED_ZH.match(sentence)
            if reported is not None and not predicate(_APPOSITIVE_ZH.sub("", reported.group(1))):
                return True
            verbs = list(_CLAUSE_VERB_ZH.finditer(sentence))
            said = _APPOSITIVE_ZH.sub("", sentence[verbs[-1].end() :]).strip("。！ ") if verbs else ""
            return bool(said) and not predicate(said)
        reported = _REPORTED_EN.search(sentence)
        return reported is not None and not VERB_EN.search(reported.group(1)) and not re.search(r"[a-z]s\b", reported.group(1))

    def passes(self, sentence: str, earlier: Sequence[str] = ()) -> bool:
        return not self.broken(sentence, earlier)
