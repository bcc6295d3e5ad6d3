"""The listener-side rubric: every digest read sentence by sentence, each failure named by the rule it breaks.

- ``script``: every sentence after the intro passes the verifier (engines.llm.verify), the outro all but its repeat rule; the intro is the first sentence;
- ``clean``: no separator letter ("Ｇ"), no "﹑" or "、" where a sentence ends, no chapter titled "<episode title> (n)";
- ``chapters``: distinct titles; as many as the section rule gives (about one per 3 minutes), the first at the start;
- ``summary``, ``highlights``: every sentence passes the verifier, like the script's;
- ``highlights``: whole sentences, distinct from each other and from the summary;
- ``title``: grounded in the transcript and short (at most 12 words or 24 characters).

Used by the tests (tests/test_chinese_eval.py) and bench/summarize.py, which print it.
"""

from __future__ import annotations

import re
from typing import Any

from core.text import FINISHED, split_sentences


def as_read(summary: dict[str, Any], transcript: str) -> str:
    """The transcript as the summary stage read it: with the sentences whose figures it put right (快适到物备 → 快四到五倍,
    where the model clearly read them so; summary.json's ``figures_heard``), which are what the episode says."""
    return "\n".join([transcript, *(c["sentence"] for c in summary.get("figures_heard", []))])


def check(summary: dict[str, Any], transcript: str, duration: float = 0.0) -> list[tuple[str, str, str]]:
    """(where, rule, text) for each failure of one digest (summary.json as a dict); empty when it passes.

    ``duration``: the episode's, in seconds, for the chapter count (0: not checked).
    """
    from engines.llm import gates, script, soundbites
    from engines.llm.verify import Verifier

    found: list[tuple[str, str, str]] = []
    transcript = as_read(summary, transcript)
    verifier = Verifier(transcript, summary["language"], summary.get("glossary", []))
    beats = summary.get("beats") or [{"text": s, "source": "model"} for s in split_sentences(summary["script"])]
    if beats and beats[0].get("source") != "intro":
        found.append(("script", "intro", beats[0]["text"]))
    said: list[str] = []
    for beat in beats:
        if beat.get("source") == "soundbite":
            continue  # the episode's own voice, played as it is: not the presenter's sentence
        if beat.get("source") == "link":
            found += [("script", rule, beat["text"]) for rule in soundbites.link_broken(beat["text"], verifier, said)]
        elif beat.get("source") == "outro":  # built from the intro's facts: it may echo the intro
            found += [("script", rule, beat["text"]) for rule in verifier.broken(beat["text"], said, skip=("repeat",))]
        elif beat.get("source") != "intro":
            found += [("script", rule, beat["text"]) for rule in verifier.broken(beat["text"], said)]
        said.append(beat["text"])
    fields = {"title": [summary["title"]], "summary": [summary["summary"]], "highlights": summary["highlights"], "chapters": [c["title"] for c in summary["chapters"]], "script": [summary["script"]]}
    for where, texts in fields.items():
        found += [(where, "clean", t) for t in texts if gates.clean_text(t) != t]
    numbered = re.compile(re.escape(summary.get("episode_title", "") or "\0") + r"\s*[(（]\d+[)）]")
    titles = [c["title"] for c in summary["chapters"]]
    found += [("chapters", "clean", t) for t in titles if numbered.fullmatch(t)]
    if len({t.lower() for t in titles}) < len(titles):
        found.append(("chapters", "distinct", " | ".join(titles)))
    starts = [c["start"] for c in summary["chapters"]]
    if duration and (not starts or starts[0] != 0 or len(starts) > script.section_count(duration)):
        found.append(("chapters", "sections", f"{len(starts)} chapters at {starts} for {duration:.0f} s"))
    summary_sentences = split_sentences(summary["summary"])
    for i, sentence in enumerate(summary_sentences):
        found += [("summary", rule, sentence) for rule in verifier.broken(sentence, summary_sentences[:i])]
    for i, highlight in enumerate(summary["highlights"]):
        found += [("highlights", rule, highlight) for rule in verifier.broken(highlight, summary["highlights"][:i])]
        if not FINISHED.search(highlight):
            found.append(("highlights", "sentence", highlight))
        if any(gates.similar(highlight, h) for h in summary["highlights"][:i]) or any(gates.similar(highlight, s) for s in summary_sentences):
            found.append(("highlights", "distinct", highlight))
    if not gates.title_fits(summary["title"], transcript, verifier.chinese):
        found.append(("title", "grounded_short", summary["title"]))
    return found


def report(found: list[tuple[str, str, str]]) -> str:
    """One line per failure: where, the rule, the text."""
    return "\n".join(f"  {where}: {rule}: {text}" for where, rule, text in found) or "  (passes)"


def model_share(summary: dict[str, Any]) -> float:
    """The share of the script's sentences between the intro and the outro that the model wrote (verified), not a fallback."""
    body = [b for b in summary.get("beats", []) if b.get("source") not in ("intro", "outro", "link", "soundbite")]
    return sum(b["source"] in ("model", "resampled") for b in body) / len(body) if body else 0.0
