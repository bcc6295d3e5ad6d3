"""extractive: no language model; the transcript's most central sentences, quoted, and labelled as extractive everywhere."""

from __future__ import annotations

import re

from core import extractive
from core.registry import Check
from core.text import clock, joiner
from core.weights import installed

from .base import MAX_HIGHLIGHTS, MIN_HIGHLIGHTS, Digest, DraftChapter, Result, Summarizer


class ExtractiveSummarizer(Summarizer, name="extractive", summary="no LLM; sentences quoted from the transcript"):
    model = "centrality ranking"
    extractive = True

    def summarize(self, parts, transcript, request, workdir, progress=None) -> Result:
        sentences = [(p.start, s) for p in parts for s in extractive.sentences("\n".join(re.sub(r"^\[\d+:\d+\] ", "", line) for line in p.lines))]
        ranked = extractive.rank([s for _, s in sentences], request.language)
        order = sorted(range(len(sentences)), key=lambda i: -ranked[i])  # most central first
        highlights = [sentences[i][1] for i in sorted(order[:MAX_HIGHLIGHTS])]
        if len(highlights) < MIN_HIGHLIGHTS:  # a short transcript: its clauses stand in for sentences
            clauses = [c.strip() for h in highlights for c in re.split(r"[,;，；、]", h) if len(c.strip()) > 3]
            highlights = (clauses + [request.title] * MIN_HIGHLIGHTS)[: max(MIN_HIGHLIGHTS, min(len(clauses), MAX_HIGHLIGHTS))]
        chapters = []
        for part in parts:
            inside = [i for i, (start, _) in enumerate(sentences) if start == part.start]
            best = max(inside, key=lambda i: ranked[i]) if inside else None
            title = sentences[best][1] if best is not None else request.title
            chapters.append(DraftChapter(start=clock(part.start), title=title[:80]))
        budget = request.target_size
        script: list[int] = []
        size = 0.0
        for i in order:
            cost = request.spoken_size(sentences[i][1])
            if size + cost > budget and script:
                continue
            script.append(i)
            size += cost
        glue = joiner(request.language)
        digest = Digest(
            title=request.title,
            summary=glue.join(sentences[i][1] for i in sorted(order[:3])),
            highlights=highlights,
            chapters=chapters,
            script=glue.join(sentences[i][1] for i in sorted(script)),
        )
        return Result(digest, [])

    @classmethod
    def check(cls, section, context) -> Check:
        return Check("ok" if installed("jieba") else "missing", cls.summary)
