"""Sentence ranking without a language model: how central each sentence is to the whole text.

Centrality is each sentence's summed cosine similarity (TF-IDF over words;
jieba words for Chinese) to every other sentence, as in LexRank's degree
variant, weighted by how sure Whisper was of its words. It needs no data
files, so it works offline in both languages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.text import FINISHED, split_sentences, unspaced

_STOPWORDS = set(
    "a an the and or but so if of to in on at for with by from as is are was were be been being it its this that these those "
    "i you he she we they me him her us them my your his our their what which who whom do does did have has had not no "
    "yes just very really like um uh yeah okay oh well then there here can could would should will shall may might must "
    "about into over than too also all any some more most such only own same other up out down off again".split()
)


LONGEST_JOINED = 160  # characters: a transcript without punctuation is not one endless sentence


def whole_sentences(segments: Sequence[Any], glue: str) -> list[tuple[Any, str]]:
    """(the segment it starts in, sentence): a sentence the recogniser split across segments is joined again, so no fragment is quoted."""
    found: list[tuple[Any, str]] = []
    pending: tuple[Any, str] | None = None
    for segment in segments:
        for piece in split_sentences(segment.text.replace("\n", " ")):
            start, text = pending or (segment, "")
            text = f"{text}{glue}{piece}" if text else piece
            pending = None
            if FINISHED.search(piece) or len(text) > LONGEST_JOINED:
                found.append((start, text))
            else:
                pending = (start, text)
    if pending:
        found.append(pending)
    return [(segment, text) for segment, text in found if len(re.findall(r"\w", text)) >= 3]


def _words(sentence: str, chinese: bool) -> list[str]:
    if chinese:
        import jieba

        return [w for w in jieba.lcut(sentence) if re.search(r"\w", w) and len(w.strip()) > 1]
    return [w for w in re.findall(r"[a-z0-9']+", sentence.lower()) if w not in _STOPWORDS and len(w) > 1]


def rank(items: list[str], language: str) -> list[float]:
    """A centrality score per sentence (higher = more representative)."""
    if not items:
        return []
    bags = [Counter(_words(s, unspaced(language))) for s in items]
    vocabulary = sorted({w for bag in bags for w in bag})
    if not vocabulary:
        return [0.0] * len(items)
    index = {w: i for i, w in enumerate(vocabulary)}
    documents = Counter(w for bag in bags for w in bag)
    matrix = np.zeros((len(items), len(vocabulary)), dtype=np.float32)
    for row, bag in enumerate(bags):
        for word, count in bag.items():
            matrix[row, index[word]] = count * math.log(1 + len(items) / documents[word])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1, norms)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, 0)
    return similarity.sum(axis=1).tolist()


NAME_BONUS = 0.5  # per glossary name a sentence says (two at most)


class Extract:
    """Fields of a digest built from the transcript itself: its most central sentences, quoted."""

    def __init__(self, segments: Sequence[Any], language: str, names: Sequence[str] = ()) -> None:
        """``names`` (the episode's glossary) lift the sentences that say them: a digest should name its people."""
        self.language = language
        self.glue = "" if unspaced(language) else " "
        whole = whole_sentences(segments, self.glue)
        self.items = [(segment.start, sentence) for segment, sentence in whole]
        heard = [_confidence(segment) for segment, _ in whole]
        named = [_names_in(sentence, names) for _, sentence in self.items]
        scores = [centrality * sure * (1 + NAME_BONUS * min(2, k)) for centrality, sure, k in zip(rank([s for _, s in self.items], language), heard, named)]
        self.order = _said_once(sorted(range(len(self.items)), key=lambda i: -scores[i]), self.items)  # most central first
        self.scores = scores

    def _text(self, indices: list[int]) -> str:
        return self.glue.join(self.items[i][1] for i in sorted(indices))

    def summary(self, count: int = 3) -> str:
        return self._text(self.order[:count])

    def highlights(self, exclude: Sequence[str] = (), count: int = 5, minimum: int = 3, fill: str = "") -> list[str]:
        chosen = [i for i in self.order if self.items[i][1] not in exclude][:count]
        found = [self.items[i][1] for i in sorted(chosen)]
        if len(found) < minimum:  # a short transcript: its clauses stand in for sentences
            clauses = [c.strip() for h in found for c in re.split(r"[,;，；、]", h) if len(c.strip()) > 3]
            found = (clauses + [fill] * minimum)[: max(minimum, min(len(clauses), count))]
        return found

    def spread(self, count: int, duration: float) -> list[float]:
        """``count`` chapter starts over the whole episode: the first at 0, each other at the sentence start nearest its even share."""
        starts = [0.0]
        for k in range(1, count):
            nearest = min((t for t, _ in self.items), key=lambda t: abs(t - k * duration / count), default=0.0)
            if nearest > starts[-1]:
                starts.append(nearest)
        return starts

    def chapters(self, starts: list[float], fallback: str) -> list[tuple[float, str]]:
        """One title per chapter start: the chapter's most central sentence, its first clause, each title distinct.

        A chapter with no sentence of its own to name it is merged into the one before.
        """
        titles: list[tuple[float, str]] = []
        bounds = [*starts[1:], float("inf")]
        used: set[str] = set()
        for start, end in zip(starts, bounds):
            inside = sorted((i for i, (t, _) in enumerate(self.items) if start <= t < end), key=lambda i: -self.scores[i])
            title = next((t for t in (_headline(self.items[i][1], self.language) for i in inside) if t not in used), "")
            if not title and titles:
                continue  # nothing new to call it: the chapter runs on into the previous one (never "<episode title> (2)")
            title = title or fallback
            used.add(title)
            titles.append((start, title))
        return titles

    def script(self, budget: int, by_characters: bool, exclude: Sequence[str] = ()) -> str:
        """Central sentences, in order, up to ``budget`` characters (Chinese) or words."""
        chosen: list[int] = []
        size = 0
        for i in self.order:
            sentence = self.items[i][1]
            if sentence in exclude:
                continue
            cost = len(re.findall(r"\w", sentence)) if by_characters else len(sentence.split())
            if size + cost > budget and chosen:
                continue
            chosen.append(i)
            size += cost
        return self._text(chosen)


def _said_once(order: list[int], items: list[tuple[float, str]]) -> list[int]:
    """``order`` without sentences said again later (a catchphrase, a repeated question): no digest quotes one twice."""
    seen: set[str] = set()
    kept = []
    for i in order:
        said = " ".join(re.findall(r"\w+", items[i][1].casefold()))
        if said not in seen:
            seen.add(said)
            kept.append(i)
    return kept


def _names_in(sentence: str, names: Sequence[str]) -> int:
    folded = sentence.casefold()
    return sum(1 for name in names if name.casefold() in folded)


def _confidence(segment: Any) -> float:
    """How sure the recogniser was of a segment (mean word probability; 1 without word timings): a misheard sentence is not quoted first."""
    probabilities = [w.probability for w in getattr(segment, "words", None) or [] if w.probability is not None]
    return sum(probabilities) / len(probabilities) if probabilities else 1.0


_SPEAKERS_VOICE = {  # a clause in someone's own voice names no chapter: "I'm your host", "欢迎收听"
    False: re.compile(r"\b(?:I|I'm|I've|me|my|we|we're|our|us|you|you're|your|let's|thanks|welcome)\b", re.IGNORECASE),
    True: re.compile(r"我|你|咱|您|欢迎|谢谢"),
}


def _headline(sentence: str, language: str) -> str:
    """A chapter title from a sentence: its first clause of two words or more (three characters), not a bare name, in no one's own voice, short; empty for a question."""
    chinese = unspaced(language)
    if re.search(r"[?？]\s*$", sentence):
        return ""
    clauses = [c.strip() for c in re.split(r"[,;:，；：。！？.!?]", sentence) if c.strip()]
    # not a bare name, nor a word that only opens the talk ("本期，我们请到了…": 本期 names no chapter)
    says = lambda c: len(re.findall(r"\w", c)) >= 3 if chinese else len(c.split()) > 1 and re.search(r"\b[a-z]{3,}", c)
    clause = next((c for c in clauses if not _SPEAKERS_VOICE[chinese].search(c) and says(c)), "")
    limit = 16 if chinese else 60
    return clause if len(clause) <= limit else clause[:limit].rstrip() + "…"
