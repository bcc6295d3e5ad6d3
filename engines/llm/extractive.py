"""extractive: no language model; the transcript's most central sentences, quoted, and labelled as extractive everywhere."""

from __future__ import annotations

from core.registry import Check
from core.text import clock
from core.weights.packaged import installed

from .base import MAX_HIGHLIGHTS, MIN_HIGHLIGHTS, Digest, DraftChapter, Result, Summarizer
from .ranking import Extract


class ExtractiveSummarizer(Summarizer, name="extractive", summary="no LLM; sentences quoted from the transcript"):
    model = "centrality ranking"
    extractive = True

    def summarize(self, parts, transcript, request, workdir, progress=None) -> Result:
        extract = Extract(request.segments, request.source_language, request.glossary)
        digest = Digest(
            title=request.title,
            summary=extract.summary(),
            highlights=extract.highlights(count=MAX_HIGHLIGHTS, minimum=MIN_HIGHLIGHTS, fill=request.title),
            chapters=[DraftChapter(start=clock(start), title=title) for start, title in extract.chapters([p.start for p in parts], request.title)],
            script=extract.script(request.target_size, request.by_characters),
        )
        return Result(digest)

    @classmethod
    def check(cls, section, context) -> Check:
        return Check("ok" if installed("jieba") else "missing", cls.summary)
