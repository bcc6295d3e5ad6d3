"""Sentence ranking without a language model: how central each sentence is to the whole text.

Centrality is each sentence's summed cosine similarity (TF-IDF over words;
jieba words for Chinese) to every other sentence, as in LexRank's degree
variant. It needs no data files, so it works offline in both languages.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from .text import split_sentences, unspaced

_STOPWORDS = set(
    "a an the and or but so if of to in on at for with by from as is are was were be been being it its this that these those "
    "i you he she we they me him her us them my your his our their what which who whom do does did have has had not no "
    "yes just very really like um uh yeah okay oh well then there here can could would should will shall may might must "
    "about into over than too also all any some more most such only own same other up out down off again".split()
)


def sentences(text: str) -> list[str]:
    """Sentences with at least three word characters (fillers such as "Um." are not summaries)."""
    return [s for s in split_sentences(text.replace("\n", " ")) if len(re.findall(r"\w", s)) >= 3]


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
