"""Words Whisper misheard in a Chinese digest, put right before they are spoken: 偷产 → 投产, 匈牙里 → 匈牙利.

Whisper base writes a common word as another with the same sound (toneless
pinyin). A run of two to four characters that jieba's dictionary (without its
guesses at new words) leaves as single characters, and that sounds exactly like
a dictionary word, is a candidate; a name (jieba's person tag), a glossary term
or a speaker's name is never one. The summary model then judges it: given the
sentence up to the first character that differs, how likely is the next token to
start with the dictionary word's character rather than the heard one? Only a
clear preference (``CLEAR``, at least ``LIKELY``) changes the word; every change
is recorded. A figure's 万 or 亿 is a candidate too where Whisper wrote a
character after the figure that sounds like it, or like it without its final
nasal (beyond-code's "月活用户已经超过1000瓦": 1000万). The model only reads: it writes nothing that could be spoken.

Measured on the Chinese evaluation set's transcripts (Whisper base): 偷产 → 投产,
匈牙里 → 匈牙利, 升成 → 生成, and no change anywhere in the three scripts as
written (the same test on correct text).

The next token cannot see a word the model would not expect before it comes:
after "David 认为，真正的" its likeliest are 数学 and 幸福, and 瓶 is not among
the top 20. So a word of two or more characters is also judged by its clause
(``corrected``'s second reading, an engine's ``likelihood``): after what the
episode is ("《show》：title") and the sentence before it, the clause with the
meant word against the clause as heard. Whisper's nonsense pair is unlikely
whatever comes before it (苹 then 仅: each outside the 1000 likeliest), so
words that only sound nearly alike (in/ing, s/sh …: 苹仅, ping jin, for 瓶颈)
are candidates for this reading. Measured on the eval runs' digests, after the
title: 苹仅 → 瓶颈, 两华 → 量化, 圆码 → 源码, 生疼 → 昇腾, 探租计 → 碳足迹, each
10 to 37 nats likelier as meant; on the three scripts as said, the likeliest
change read 5.5 nats less likely than the words said.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.glossary import near_sound
from core.text import CJK, split_sentences

from .grounding import magnitude_sounds, terms, toneless
from .verify import ATTRIBUTION

DICTIONARY_FREQUENCY = 50  # jieba's frequency from which a dictionary word may be what was meant
LIKELY = 0.01  # the model's probability, at least, that the meant word's first character comes next
CLEAR = 10.0  # how many times likelier than the heard character it must be
NUMERALS = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": ""}  # and the digit a model may write for each
TIMES = "倍"
_RANGE = re.compile(r"(?=([\u4e00-\u9fff0-9])[到至]([\u4e00-\u9fff0-9]))")  # "A到B", overlapping: 三到四到五, 4到物
MARGIN = 6.0  # how much likelier (log, nats: about 400 times) a clause must read with the meant word than as heard
REST = 6  # characters of the clause after a word that are read with it
NextTokens = Callable[[str], "dict[str, float] | None"]  # the model's most likely next tokens after a text, with their probabilities
Likelihood = Callable[[str, str], "tuple[float, bool] | None"]  # (log P(text | prefix), whether an upper bound only), for (prefix, text)
Finder = Callable[[str, Sequence[str]], "list[tuple[int, str, str]]"]  # (position, heard, meant) of a sentence, given its protected terms


@dataclass(frozen=True)
class Correction:
    heard: str
    said: str
    sentence: str  # as corrected

    def to_dict(self) -> dict[str, str]:
        return {"heard": self.heard, "said": self.said, "sentence": self.sentence}


def _pinyin(text: str) -> tuple[str, ...]:
    return tuple(toneless(text))  # only runs of Chinese characters are asked: no '|' in them


def _near(text: str) -> tuple[str, ...]:
    return tuple(near_sound(syllable) for syllable in _pinyin(text))


@functools.lru_cache(maxsize=1)
def _near_sounds() -> dict[tuple[str, ...], list[str]]:
    """``_sounds`` by the sounds a recogniser confuses (in/ing, s/sh …: 苹仅 and 瓶颈)."""
    found: dict[tuple[str, ...], list[str]] = {}
    for words in _sounds().values():
        found.setdefault(_near(words[0]), []).extend(words)
    return found


@functools.lru_cache(maxsize=1)
def _sounds() -> dict[tuple[str, ...], list[str]]:
    """The dictionary's words of 2 to 4 Chinese characters by their toneless pinyin, the most frequent first (today's
    ``grounding.terms`` among them)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.check_initialized()
    frequency = jieba.dt.FREQ
    words = sorted((w for w, f in frequency.items() if f >= DICTIONARY_FREQUENCY and 2 <= len(w) <= 4 and all(CJK.match(c) for c in w)), key=lambda w: -frequency[w])
    found: dict[tuple[str, ...], list[str]] = {}
    for word in [*sorted(w for w in terms() if 2 <= len(w) <= 4 and frequency.get(w, 0) < DICTIONARY_FREQUENCY), *words]:
        found.setdefault(_pinyin(word), []).append(word)
    return found


def candidates(sentence: str, protected: Sequence[str] = ()) -> list[tuple[int, str, str]]:
    """(position, heard, meant): runs of single characters (jieba, no new-word guessing) that sound like a dictionary
    word, or nearly (``near_sound``); never a change to one of today's terms as it stands (昇腾 is no misheard 升腾, nor
    its 昇 the 胜 of 得胜)."""
    import jieba
    import jieba.posseg

    sounds, known = _near_sounds(), terms()
    kept = _protected_spans(sentence, [*protected, *(term for term in known if term in sentence)])  # today's terms as said, too
    found = []
    for run in re.finditer(r"[\u4e00-\u9fff]+", sentence):
        text, offset = run.group(), run.start()
        pieces, at = [], 0
        for piece in jieba.cut(text, HMM=False):
            pieces.append((at, piece))
            at += len(piece)
        names, at = [], 0
        for word, tag in jieba.posseg.cut(text):
            if tag.startswith("nr"):
                names.append((at, at + len(word)))
            at += len(word)
        for k in range(len(pieces)):
            for n in (4, 3, 2):
                group = pieces[k : k + n]
                if len(group) < n or any(len(p) != 1 for _, p in group):
                    continue
                start, end = group[0][0], group[0][0] + n
                if any(s < end and start < e for s, e in names):
                    continue
                heard = text[start:end]
                found += [(offset + start, heard, meant) for meant in sounds.get(_near(heard), []) if meant != heard]
        # today's terms are looked for across jieba's words too: 磷酸铁里 (磷酸 / 铁 / 里) for 磷酸铁锂, 生疼 for 昇腾; a name
        # holding the whole run is kept, one jieba guessed across it (铁里) is not
        for start in range(len(text)):
            for n in (4, 3, 2):
                heard, end = text[start : start + n], start + n
                if len(heard) < n or any(s <= start and end <= e for s, e in names):
                    continue
                found += [(offset + start, heard, meant) for meant in _term_sounds().get(_pinyin(heard), []) if meant != heard]
    return _unprotected([*found, *figure_candidates(sentence)], kept)


def _unprotected(found: list[tuple[int, str, str]], kept: list[tuple[int, int]]) -> list[tuple[int, str, str]]:
    """``found`` without repeats, less those that change a character of a protected term (a change that keeps its
    characters stands: the glossary's 磷酸 in 磷酸铁里 → 磷酸铁锂)."""
    changes = lambda at, heard, meant: {at + i for i in range(len(heard)) if heard[i] != meant[i]}
    return [c for c in dict.fromkeys(found) if not any(s <= i < e for s, e in kept for i in changes(*c))]


def _protected_spans(sentence: str, protected: Sequence[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for term in protected if term.strip() for m in re.finditer(re.escape(term.strip()), sentence)]


def _numerals_like(char: str) -> list[str]:
    """The numerals ``char`` sounds like, tones aside and commonly confused sounds alike (适: 四 and 十); none for a numeral."""
    if char in NUMERALS or not CJK.match(char):
        return []
    (sound,) = toneless(char)
    return [n for n in NUMERALS if near_sound(toneless(n)[0]) == near_sound(sound)]


def _after_figure(char: str) -> list[str]:
    """What ``char`` may be after a figure: 万 or 亿 (``grounding.magnitude_sounds``), or 倍 where it sounds the same."""
    times = [TIMES] if char != TIMES and CJK.match(char) and toneless(char) == toneless(TIMES) else []
    return [*magnitude_sounds(char), *times]


def figure_candidates(sentence: str, protected: Sequence[str] = ()) -> list[tuple[int, str, str]]:
    """(position, heard, meant): a figure's characters Whisper wrote as other words. In a range "A到B" (or 至) whose
    sides are each a numeral or sound like one, a side that is none (tech-weekly's 快适到物备: 四到五); after a figure
    (digits, or a numeral jieba reads as a word of its own), a character of its own that sounds like 倍, or like 万 or
    亿 with or without its final nasal (beyond-code's 1000瓦: 1000万; not the 一 of 统一以, nor the 瓦 of 千瓦)."""
    import jieba

    found = []
    for match in _RANGE.finditer(sentence):
        sides = [(match.start(1), match.group(1)), (match.start(2), match.group(2))]
        if all(char in NUMERALS or char.isdigit() or _numerals_like(char) for _, char in sides):
            digits = any(char.isdigit() for _, char in sides)  # "4到物倍": 4到5倍, in the same writing
            found += [(at, char, NUMERALS[meant] if digits and NUMERALS[meant] else meant) for at, char in sides for meant in _numerals_like(char)]
    at, previous = 0, ""
    for piece in jieba.cut(sentence, HMM=False):
        if len(piece) == 1 and (previous[-1:].isdigit() or previous in NUMERALS):
            found += [(at, piece, meant) for meant in _after_figure(piece)]
        at, previous = at + len(piece), piece
    return _unprotected(found, _protected_spans(sentence, protected))


@functools.lru_cache(maxsize=1)
def _term_sounds() -> dict[tuple[str, ...], list[str]]:
    found: dict[tuple[str, ...], list[str]] = {}
    for term in sorted(terms()):
        if 2 <= len(term) <= 4:
            found.setdefault(_pinyin(term), []).append(term)
    return found


def corrected(
    text: str, next_tokens: NextTokens, protected: Sequence[str] = (), keep: Callable[[str, str], bool] | None = None, find: Finder | None = None,
    likelihood: Likelihood | None = None, context: str = "",
) -> tuple[str, list[Correction]]:
    """``text`` with the misheard words the model clearly prefers in their dictionary form, sentence by sentence, the
    earliest first.

    Two readings, a word put right where either is clear:
    - the next token: given the sentence up to the first character that differs (without the presenter's "王磊提到，"),
      the meant character is ``CLEAR`` times likelier than the heard one, and at least ``LIKELY``; for a word of the same
      sounds, or a figure's character. A numeral is as likely as the digit the model may write for it (after "速度比原版快"
      it expects "4" rather than "四").
    - the clause (``likelihood``): for a word of two characters or more, after ``context`` (what the episode is) and the
      sentence before it, the word and the rest of its clause read at least ``MARGIN`` likelier as meant than as heard,
      every token of the meant reading among the model's likeliest (tech-weekly's 真正的苹仅不是模型: 瓶颈). Whisper's
      nonsense pair is unlikely whatever comes before it, which the next token alone cannot see.

    ``keep(before, after)``: whether a corrected sentence may replace its original (the digest's verifier).
    ``find``: what may be misheard (``candidates``, or ``figure_candidates`` alone).
    """
    find = find or candidates
    asked: dict[str, dict[str, float]] = {}
    read: dict[tuple[str, str], tuple[float, bool] | None] = {}

    def first_clear(sentence: str, frame: int, at: int, heard: str, meant: str) -> float | None:
        """The meant character's probability next, where it is clear."""
        if len(heard) > 1 and _pinyin(heard) != _pinyin(meant):
            return None  # a word that only sounds nearly alike: its clause decides
        k = next(i for i in range(len(heard)) if heard[i] != meant[i])
        before = sentence[frame : at + k] if sentence[frame : at + k].strip() else sentence[: at + k]  # the first word reported: its frame
        if not before.strip():
            return None  # nothing before it to judge by
        if before not in asked:
            asked[before] = next_tokens(before) or {}
        now = sum(p for token, p in asked[before].items() if _starts_with(token, heard[k]))
        then = sum(p for token, p in asked[before].items() if _starts_with(token, meant[k]))
        return then if then >= LIKELY and then >= CLEAR * now else None

    def clause_clear(sentence: str, at: int, heard: str, meant: str) -> float | None:
        """How much likelier (nats) the clause reads as meant, where it is clear."""
        before = context + sentence[:at]
        if likelihood is None or len(heard) < 2 or not before.strip():
            return None
        rest = re.split(r"[，。！？；：、,.!?;:]", sentence[at + len(heard) :], maxsplit=1)[0][:REST]

        def reading(said: str) -> tuple[float, bool] | None:
            if (before, said + rest) not in read:
                read[before, said + rest] = likelihood(before, said + rest)
            return read[before, said + rest]

        as_meant = reading(meant)
        if as_meant is None or as_meant[1]:
            return None  # a meant token outside the likeliest: no reading to trust, and the heard one is not asked
        as_heard = reading(heard)  # (it may be a bound)
        if as_heard is None:
            return None
        gap = as_meant[0] - as_heard[0]
        return gap if gap >= MARGIN else None

    told, changes, cursor = [], [], 0
    for sentence in split_sentences(text) if text.strip() else []:
        if (start := text.find(sentence, cursor)) >= 0:  # what lies between sentences (a space) stays as it was
            told.append(text[cursor:start])
            cursor = start + len(sentence)
        # what was said is judged without the presenter's "王磊提到，": after it, the model expects 已经 more than 投产
        frame = (said.end() if (said := ATTRIBUTION.match(sentence)) else 0)
        done = frame  # characters already decided
        while True:
            found: dict[int, list[tuple[str, str]]] = {}
            for at, heard, meant in sorted(find(sentence, protected)):
                if at >= done:
                    found.setdefault(at, []).append((heard, meant))
            best = None
            for at, pairs in found.items():  # by position: the earliest clear one first, the next-token reading before the clause's
                clearest = lambda found: max(found, key=lambda c: c[0], default=None)  # a tie: the first in position order
                best = clearest((p, at, heard, meant) for heard, meant in pairs if (p := first_clear(sentence, frame, at, heard, meant)) is not None)
                best = best or clearest((g, at, heard, meant) for heard, meant in pairs if (g := clause_clear(sentence, at, heard, meant)) is not None)
                if best:
                    break
            if best is None:
                break
            _, at, heard, meant = best
            fixed = sentence[:at] + meant + sentence[at + len(heard) :]
            if keep is None or keep(sentence, fixed):
                sentence = fixed
                changes.append(Correction(heard, meant, fixed))
            done = at + len(heard)
        told.append(sentence)
    return "".join(told) + (text[cursor:] if cursor else ""), changes


def _starts_with(token: str, char: str) -> bool:
    """Whether ``token`` starts with ``char``, or with the digit of the numeral ``char`` (the model's tokenizer writes a
    number digit by digit; 十 has no digit of its own)."""
    first = token.lstrip()[:1]
    return bool(first) and first in (char, NUMERALS.get(char))


def _whole(sentence: str, at: int, size: int) -> bool:
    """Whether ``sentence[at:at + size]`` starts and ends where jieba's words do (偷产 in 偷/产/电池, not in 偷/产品)."""
    import jieba

    ends, position = {0}, 0
    for piece in jieba.cut(sentence, HMM=False):
        position += len(piece)
        ends.add(position)
    return at in ends and at + size in ends


def put_right_again(text: str, changes: Sequence[Correction], protected: Sequence[str] = (), keep: Callable[[str, str], bool] | None = None) -> tuple[str, list[Correction]]:
    """``text`` with each word the model put right elsewhere in the digest put right here too, sentence by sentence: the
    same sounds in one episode are the same word (going-global's summary kept "宁德时代偷产电池" where another sentence
    read 投产), where it stands as a candidate (``candidates``, on jieba's word boundaries: not the 升成 of 上升成为, nor the 偷产 of 偷产品, nor in a name). A single character
    (瓦 for a figure's 万) is judged where it stands only."""
    learned = {(c.heard, c.said) for c in changes if len(c.heard) > 1}
    told, made = [], []
    for sentence in split_sentences(text) if text.strip() else []:
        decided: set[int] = set()  # each place once: 中地 → 中低 learned in one sentence and 中低 → 中地 in another must not swing
        while found := next(((at, heard, said) for at, heard, said in candidates(sentence, protected) if (heard, said) in learned and at not in decided and _whole(sentence, at, len(heard))), None):
            at, heard, said = found  # where the word stands as a candidate: not the 上升成为 of 升成, nor a name
            fixed = sentence[:at] + said + sentence[at + len(heard) :]
            if keep is None or keep(sentence, fixed):
                sentence = fixed
                made.append(Correction(heard, said, fixed))
            decided.add(at)
        told.append(sentence)
    return "".join(told), made
