"""Map-reduce summaries through any OpenAI-compatible chat endpoint (OpenAI, llama.cpp, Ollama's /v1).

Each transcript part becomes notes in the transcript's own language, names
copied as heard (map, cached on disk by a hash of its prompt so a rerun
resumes); the notes become the digest in the digest's language (reduce),
condensed in a tree first when they do not fit one call. Prompts are
templates per language (assets/prompts/zh for Chinese, en for the others).
Replies are JSON validated with pydantic; a bad reply is sent back once with
the error. The quality gates (engines.llm.gates) review the digest and it is sent
back once with what they found.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError

from core.errors import EngineError, EngineUnavailable
from core.text import clock, seconds_of
from core.workspace import write_json

from ..openai_client import engine_error
from . import gates
from .base import DETAIL_LOGGER, LANGUAGES, MAX_HIGHLIGHTS, MIN_HIGHLIGHTS, Notes, Part, Request, Result, Summarizer, Usage, estimate_tokens
from .script import PASSAGE_CHARS, Restater, Section, Writer, shown_title, told

PROMPTS = Path(__file__).resolve().parents[2] / "assets" / "prompts"
PROMPT_VERSION = "3"
SERVICE = "LLM endpoint"
log = logging.getLogger(__name__)
detail = logging.getLogger(DETAIL_LOGGER)


@functools.lru_cache(maxsize=1)
def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(PROMPTS), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["clock"] = clock
    return env


class Prompts:
    """The prompts of one language: Chinese ones for Chinese, English ones (naming the language) for every other."""

    def __init__(self, language: str) -> None:
        self.folder = "zh" if language == "zh" else "en"
        self.language_name = LANGUAGES.get(language, language)

    def __call__(self, name: str, **values: Any) -> str:
        return _templates().get_template(f"{self.folder}/{name}.txt").render(language_name=self.language_name, **values).strip()

    def problem(self, found: gates.Problem) -> str:
        macros = _templates().get_template(f"{self.folder}/problems.txt").make_module({"language_name": self.language_name})
        return str(getattr(macros, found.gate)(found.field, **found.values)).strip()


def json_block(text: str) -> str:
    """The JSON object of a reply, tolerating code fences and chatter around it."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


class RateLimiter:
    """At most ``per_minute`` calls a minute, spaced evenly, across threads."""

    def __init__(self, per_minute: float) -> None:
        self._interval = 60.0 / per_minute
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = max(0.0, self._next - now)
            self._next = max(now, self._next) + self._interval
        if delay:
            time.sleep(delay)


RESAMPLE_TEMPERATURE = 0.7  # a sentence sampled again: another seed, and hotter, so it is not the same sentence
SENTENCE_TOKENS = 160  # one sentence's reply, JSON included
# the Chinese restate prompt's example of rewording (a line, then told): the model copies lines unless shown what rewording is,
# and then sometimes answers with the example itself ("节目中提到，公司去年的收入翻了一番。" for going-global's line on Hungary)
RESTATE_EXAMPLE = ("我们去年的营收涨了一倍", "公司去年的收入翻了一番")
# its claim, which an answer also makes with a name put in ("节目中提到，Databricks去年的收入翻了一番。", tech-weekly): no line said it
RESTATE_EXAMPLE_CLAIM = "翻了一番"
BUDGET_FLOOR_TOKENS = 6000  # the transcript length the reading budget counts at least: a short episode's prompts are mostly instructions


class Sentence(BaseModel):
    """One sentence the presenter says about a section."""

    sentence: str = Field(json_schema_extra={"maxLength": 300})


class Restated(Sentence):
    """One line of the episode, told by the presenter in reported speech."""


LOOP_SHOWN = 600  # characters of a cut-off reply shown back to the model
LOOP_PENALTY = 0.5  # frequency penalty of the retry after a cut-off reply


class ChatSummarizer(Summarizer):
    """Map-reduce over a chat client; subclasses say how the client is made and how many calls run at once."""

    concurrency = 1
    limiter: RateLimiter | None = None
    stream = False  # streamed replies: the timeout then bounds silence, so a slow but answering server is never cut off

    def client(self) -> Any:
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        raise NotImplementedError

    @property
    def timeout(self) -> float | None:
        return self.context.openai.timeout

    def _call(
        self, messages: list[dict], schema: type[BaseModel], usage: Usage, penalty: float = 0.0, *,
        temperature: float | None = None, seed: int | None = None, max_tokens: int | None = None,
    ) -> tuple[str, bool]:
        """The reply's text, and whether it was cut off at max_tokens; ``penalty`` (frequency) breaks a reply that loops.

        ``temperature``, ``seed`` and ``max_tokens`` replace the settings' for one call (a sentence sampled again).
        """
        import openai

        if self.limiter:
            self.limiter.wait()
        options = self.section
        request = {
            "model": self.model, "messages": messages, "max_tokens": max_tokens or options.max_tokens,
            "temperature": options.temperature if temperature is None else temperature, "seed": options.seed if seed is None else seed,
            "response_format": {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()}},
        }
        if penalty:
            request["frequency_penalty"] = penalty
        started = time.perf_counter()
        try:
            text, finish, prompt_tokens, completion_tokens, read = self._streamed(request) if self.stream else self._whole(request)
        except (openai.OpenAIError, httpx.HTTPError) as error:
            raise engine_error(error, SERVICE, self.endpoint, self.timeout) from None
        seconds = time.perf_counter() - started
        usage.add(prompt_tokens, completion_tokens, seconds, read)
        detail.debug(
            "%s from %s: %d prompt + %d completion tokens in %.1f s (%.1f tok/s), finish %s\n%s",
            schema.__name__, self.model, prompt_tokens, completion_tokens, seconds, completion_tokens / seconds if seconds else 0.0, finish, text,
        )
        return text, finish == "length"

    def _whole(self, request: dict[str, Any]) -> tuple[str, str | None, int, int, int | None]:
        reply = self.client().chat.completions.create(**request)
        counts = (reply.usage.prompt_tokens, reply.usage.completion_tokens) if reply.usage else (0, 0)
        return reply.choices[0].message.content or "", reply.choices[0].finish_reason, *counts, _read(reply)

    def _streamed(self, request: dict[str, Any]) -> tuple[str, str | None, int, int, int | None]:
        pieces: list[str] = []
        finish, prompt_tokens, completion_tokens, read = None, 0, 0, None
        for chunk in self.client().chat.completions.create(**request, stream=True, stream_options={"include_usage": True}):
            if chunk.usage:
                prompt_tokens, completion_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
            read = _read(chunk) if read is None else read
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    pieces.append(choice.delta.content)
                finish = choice.finish_reason or finish
        return "".join(pieces), finish, prompt_tokens, completion_tokens or len(pieces), read

    def ask(self, prompts: Prompts, text: str, schema: type[BaseModel], usage: Usage, history: list[dict] | None = None) -> tuple[Any, list[dict]]:
        """One structured call: JSON validated against ``schema``; one retry showing the error, then a failure."""
        messages = [{"role": "system", "content": prompts("system")}, *(history or []), {"role": "user", "content": text}]
        problem, penalty = "", 0.0
        for _ in range(2):
            reply, cut = self._call(messages, schema, usage, penalty)
            try:
                return schema.model_validate_json(json_block(reply)), [*messages[1:], {"role": "assistant", "content": reply}]
            except ValidationError as error:
                problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in error.errors()[:5])
                if cut:  # most often a small model repeating itself: show only the start, and penalise repeats on the retry
                    problem = f"the reply was cut off after {self.section.max_tokens} tokens; write less ({problem})"
                    reply, penalty = reply[:LOOP_SHOWN] + " …", LOOP_PENALTY
                messages = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": prompts("fix", error=problem)}]
        raise EngineUnavailable(  # the next engine (the extractive one, by default) writes the digest instead, labelled so
            f"The model {self.model} at {self.endpoint} twice returned JSON that does not match the {schema.__name__} schema ({problem}).",
            "Try a larger model (PRESENTER_SUMMARIZE__OPENAI__MODEL), or the extractive engine.",
        )

    def summarize(self, parts, transcript, request, workdir, progress=None) -> Result:
        usage = Usage()
        steps = len(parts) + 2
        notes = self._map(parts, request, workdir, usage, lambda done: progress(done, steps, _rate(usage)) if progress else None)
        points = [(seconds_of(p.time, part.start), p.point) for part, note in notes for p in note.points]
        numbers = [(part.start, part.end, number) for part, note in notes for number in note.numbers]
        levels = 1
        budget = self.section.context_tokens - self.section.max_tokens - 600
        while estimate_tokens(self._notes(notes, request)) > budget and len(notes) > 1:
            notes = self._condense(notes, request, budget, usage)
            levels += 1
            log.info("tree reduce: level %d, %d notes", levels, len(notes))
        prompts = Prompts(request.language)
        reduce = prompts(
            "reduce", title=request.title, show=request.show, notes=self._notes(notes, request), glossary=request.review.central_names,
            min_highlights=MIN_HIGHLIGHTS, max_highlights=MAX_HIGHLIGHTS,
            script_size=request.target_size, script_seconds=round(request.target_seconds), script_sentences=request.script_sentences,
        )
        schema = request.digest_schema()
        digest, history = self.ask(prompts, reduce, schema, usage)
        if progress:
            progress(len(parts) + 1, steps, _rate(usage))
        # a script too long is not worth a second digest (about 500 tokens written): the script is composed from verified
        # sentences and cut to its target (engines.llm.script.compose); one under half its target is asked for again
        revisable = lambda draft: [p for p in gates.review(draft, request.review) if p.gate != "length" or p.values["size"] < p.values["target"]]
        problems = revisable(digest)
        if problems:
            log.info("revising: %s", ", ".join(sorted({f"{p.field} ({p.gate})" for p in problems})))
            retry, _ = self.ask(prompts, prompts("revise", problems=[prompts.problem(p) for p in problems]), schema, usage, history)
            if len(revisable(retry)) <= len(problems):
                digest = retry
        if progress:
            progress(steps, steps, _rate(usage))
        return Result(digest, levels, usage, points, numbers)

    def writer(self, request: Request, usage: Usage) -> Writer:
        """One third-person sentence about a section, asked of the model: attempt 0 with the settings' sampling, each next one hotter and with another seed.

        The section's passage comes first in the prompt, so llama.cpp reuses its cache across attempts.
        """
        prompts = Prompts(request.language)
        title = shown_title(request.title, request.transcript)  # once: the model never sees a figure the episode does not say
        chinese = request.by_characters
        budget = self._reading(request)

        def write(section: Section, attempt: int, avoid: str, said: Sequence[str] = ()) -> str | None:
            passage = section.text("" if chinese else " ", PASSAGE_CHARS[chinese])
            untold = [n for n in section.numbers if not told(n, " ".join(said))] if said else []
            text = prompts(
                "sentence", title=title, show=request.show, passage=passage, speakers=section.speakers, avoid=avoid, said=list(said), numbers=untold[:4],
            )
            seed = (self.section.seed or 0) + attempt
            temperature = self.section.temperature if attempt == 0 else round(min(1.0, RESAMPLE_TEMPERATURE + 0.1 * (attempt - 1)), 2)
            messages = [{"role": "system", "content": prompts("system")}, {"role": "user", "content": text}]
            if not self._affordable(budget, usage, messages):
                return None
            try:
                reply, _ = self._call(messages, Sentence, usage, temperature=temperature, seed=seed, max_tokens=SENTENCE_TOKENS)
                return Sentence.model_validate_json(json_block(reply)).sentence
            except (ValidationError, EngineError):  # a sentence the model cannot give falls back to reported speech
                return None

        return write

    def restater(self, request: Request, usage: Usage) -> Restater:
        """One line of the episode (after the lines before it, for context) told in one third-person sentence: a short
        prompt and a short answer, so a small model can do it and the verifier can check it; each attempt another seed."""
        prompts = Prompts(request.language)
        title = shown_title(request.title, request.transcript)  # once: the model never sees a figure the episode does not say
        budget = self._reading(request)

        def restate(lines: Sequence[tuple[str, str]], speaker: str, numbers: Sequence[str], attempt: int, avoid: str = "") -> str | None:
            text = prompts(
                "restate", title=title, show=request.show, lines=list(lines), speaker=speaker, numbers=list(numbers), avoid=avoid, example=RESTATE_EXAMPLE,
            )
            temperature = self.section.temperature if attempt == 0 else RESAMPLE_TEMPERATURE
            messages = [{"role": "system", "content": prompts("system")}, {"role": "user", "content": text}]
            heard = "".join(line for _, line in lines)
            for draw in range(2):  # an answer that is the prompt's example, not the line, is drawn once more
                if not self._affordable(budget, usage, messages):
                    return None
                try:
                    reply, _ = self._call(
                        messages, Restated, usage, temperature=temperature, seed=(self.section.seed or 0) + attempt + 100 * draw, max_tokens=SENTENCE_TOKENS,
                    )
                    said = Restated.model_validate_json(json_block(reply)).sentence
                except (ValidationError, EngineError):
                    return None
                if RESTATE_EXAMPLE_CLAIM not in said or RESTATE_EXAMPLE_CLAIM in heard:
                    return said
            return None

        return restate

    def tokens(self, text: str) -> int:
        """``text``'s length in the model's tokens; here an estimate (an endpoint's tokenizer is not known)."""
        return estimate_tokens(text)

    def _reading(self, request: Request) -> float:
        """The prompt tokens the model may read for the episode: ``read_budget`` times its transcript's."""
        return self.section.read_budget * max(self.tokens(request.transcript), BUDGET_FLOOR_TOKENS)

    def _affordable(self, reading: float, usage: Usage, messages: list[dict]) -> bool:
        """Whether one more sentence call keeps the episode within its budget: the prompt tokens read at most ``reading``,
        the tokens written at most ``write_budget`` (this call's prompt, estimated high, and longest reply counted).
        Past it, a sentence is not asked: the section goes to reported speech or stays unsaid."""
        prompt = sum(estimate_tokens(m["content"]) for m in messages)
        if usage.read_tokens + prompt <= reading and usage.completion_tokens + SENTENCE_TOKENS <= self.section.write_budget:
            return True
        if not usage.declined:
            log.info(
                "the episode's budget is spent (read %d of %d tokens, wrote %d of %d): no further sentence is asked of the model",
                usage.read_tokens, reading, usage.completion_tokens, self.section.write_budget,
            )
        usage.declined += 1
        return False

    def _notes(self, notes: list[tuple[Part, Notes]], request: Request) -> str:
        return Prompts(request.source_language)("notes", notes=notes)

    def _map(self, parts: list[Part], request: Request, workdir: Path, usage: Usage, report: Any) -> list[tuple[Part, Notes]]:
        """Notes per part in the transcript's language, each cached in ``workdir`` by a hash of its input so a rerun resumes."""
        workdir.mkdir(parents=True, exist_ok=True)
        prompts = Prompts(request.source_language)
        done = [0]
        lock = threading.Lock()

        def one(index: int) -> tuple[Part, Notes]:
            part = parts[index]
            said = [t for t in request.glossary if t.lower() in part.text.lower()]  # only names this part has: a small model copies a long list into its notes
            text = prompts("map", part=index + 1, parts=len(parts), title=request.title, show=request.show, transcript=part.text, glossary=said)
            key = hashlib.sha256(json.dumps([PROMPT_VERSION, self.name, self.model, text]).encode()).hexdigest()[:16]
            cached = workdir / f"notes-{index:03d}-{key}.json"
            if cached.exists():
                notes = Notes.model_validate_json(cached.read_text(encoding="utf-8"))
            else:
                notes, _ = self.ask(prompts, text, Notes, usage)
                write_json(cached, notes.model_dump())
            with lock:
                done[0] += 1
                log.info("map: part %d of %d", done[0], len(parts))
                report(done[0])
            return part, notes

        if self.concurrency > 1 and len(parts) > 1:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                return list(pool.map(one, range(len(parts))))
        return [one(i) for i in range(len(parts))]

    def _condense(self, notes: list[tuple[Part, Notes]], request: Request, budget: int, usage: Usage) -> list[tuple[Part, Notes]]:
        prompts = Prompts(request.source_language)
        groups: list[list[tuple[Part, Notes]]] = [[]]
        for item in notes:
            if groups[-1] and estimate_tokens(self._notes([*groups[-1], item], request)) > budget:
                groups.append([])
            groups[-1].append(item)
        if len(groups) == len(notes):  # each note alone fills the budget: pair them so the tree still shrinks
            groups = [notes[i : i + 2] for i in range(0, len(notes), 2)]
        condensed = []
        for group in groups:
            merged, _ = self.ask(prompts, prompts("condense", title=request.title, notes=self._notes(group, request)), Notes, usage)
            condensed.append((Part(group[0][0].start, group[-1][0].end, []), merged))
        return condensed


def _read(reply: Any) -> int | None:
    """The prompt tokens a llama.cpp server processed for this reply (its ``timings``), those from its cache left out; None elsewhere."""
    timings = (getattr(reply, "model_extra", None) or {}).get("timings") or {}
    return int(timings["prompt_n"]) if isinstance(timings.get("prompt_n"), int) and timings["prompt_n"] >= 0 else None


def _rate(usage: Usage) -> str:
    """Tokens generated per second so far, for the progress bar."""
    return f"{usage.completion_tokens / usage.seconds:.0f} tok/s" if usage.seconds else ""
