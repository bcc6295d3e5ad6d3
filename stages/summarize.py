"""summarize: a transcript of any length to a title, summary, highlights, chapters and a narration script.

Map-reduce: the transcript is cut on segment boundaries into parts that fit
the model's context; each part becomes notes (map); the notes become the
digest (reduce), in a tree when they do not fit one call. Replies are JSON
validated with pydantic. Numbers and names the transcript does not contain
are sent back once, then listed as unverified.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Callable, Protocol

from pydantic import BaseModel, Field, ValidationError, field_validator

from presenter import grounding
from presenter.errors import EngineError, EngineUnavailable, PresenterError
from presenter.settings import Settings, SummarizeSettings
from presenter.workspace import write_json, write_text

PROMPTS = Path(__file__).resolve().parents[1] / "assets" / "prompts"
PROMPT_VERSION = "1"
LANGUAGES = {"en": "English", "zh": "Simplified Chinese (简体中文)", "ja": "Japanese", "fr": "French", "de": "German", "es": "Spanish"}
MIN_HIGHLIGHTS, MAX_HIGHLIGHTS = 3, 7
_CJK = re.compile(r"[\u3400-\u9fff]")


class SummaryError(PresenterError):
    """The transcript cannot be summarized (too short, or every engine failed)."""



# --- Schemas the models must fill -----------------------------------------------------------


def _short(limit: int, **kwargs):
    """A string whose schema caps its length: llama.cpp's grammar enforces it, so a small model cannot ramble."""
    return Field(json_schema_extra={"maxLength": limit}, **kwargs)


class Point(BaseModel):
    time: str = _short(8, description="mm:ss of the line the point comes from")
    point: str = _short(200)


def _bounded(limit: int):
    """A list field whose schema caps its length (llama.cpp's grammar enforces it) and whose value is clipped."""
    return Field(default_factory=list, json_schema_extra={"maxItems": limit})


class Notes(BaseModel):
    summary: str = _short(700)
    points: list[Point] = _bounded(5)
    people: list[Annotated[str, _short(60)]] = _bounded(6)
    numbers: list[Annotated[str, _short(100)]] = _bounded(6)

    @field_validator("points", "people", "numbers", mode="before")
    @classmethod
    def _clip(cls, value, info):
        limit = cls.model_fields[info.field_name].json_schema_extra["maxItems"]
        return value[:limit] if isinstance(value, list) else value


class Chapter(BaseModel):
    start: str = _short(12, description="mm:ss")
    title: str = _short(80)


class Digest(BaseModel):
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    highlights: list[Annotated[str, _short(240)]] = Field(min_length=MIN_HIGHLIGHTS, json_schema_extra={"maxItems": MAX_HIGHLIGHTS})
    chapters: list[Chapter] = Field(min_length=1, json_schema_extra={"maxItems": 12})
    script: str = Field(min_length=1)

    @field_validator("highlights")
    @classmethod
    def _at_most_seven(cls, value: list[str]) -> list[str]:
        return [h.strip() for h in value if h.strip()][:MAX_HIGHLIGHTS]


# --- Transcript parts ------------------------------------------------------------------------


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def seconds_of(stamp: str, default: float) -> float:
    match = re.search(r"(?:(\d+):)?(\d{1,3}):(\d{2})", stamp or "")
    if not match:
        return default
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def estimate_tokens(text: str) -> int:
    """Rough token count: about one token per Chinese character, four Latin characters per token."""
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk) // 4 + 1


@dataclass
class Part:
    start: float
    end: float
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def split_transcript(segments: list[dict], budget_tokens: int) -> list[Part]:
    """Consecutive segments grouped into parts of at most ``budget_tokens``; a segment is never cut."""
    parts: list[Part] = []
    current: Part | None = None
    used = 0
    for segment in segments:
        line = f"[{clock(segment['start'])}] {segment['text'].strip()}"
        cost = estimate_tokens(line)
        if current is None or used + cost > budget_tokens:
            current = Part(segment["start"], segment["end"], [])
            parts.append(current)
            used = 0
        current.lines.append(line)
        current.end = segment["end"]
        used += cost
    return parts


# --- Engines ---------------------------------------------------------------------------------


@dataclass
class Request:
    """What the digest is about and how long its script should be."""

    title: str
    show: str
    language: str
    target_seconds: float

    @property
    def language_name(self) -> str:
        return LANGUAGES.get(self.language, self.language)

    @property
    def by_characters(self) -> bool:
        return self.language in ("zh", "ja")

    @property
    def target_size(self) -> int:
        """Script length for the target speaking time: 4.5 characters or 2.5 words a second."""
        return round(self.target_seconds * (4.5 if self.by_characters else 2.5))

    def spoken_size(self, text: str) -> int:
        return len(_CJK.findall(text)) if self.by_characters else len(text.split())

    @property
    def script_length(self) -> str:
        unit = "characters" if self.by_characters else "words"
        return f"{self.target_size} {unit} ({round(self.target_seconds)} seconds spoken)"


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, prompt: int, completion: int, seconds: float) -> None:
        with self._lock:
            self.calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.seconds += seconds

    def to_dict(self) -> dict:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "seconds": round(self.seconds, 2)}


class SummaryEngine(Protocol):
    name: str
    model: str
    extractive: bool

    def summarize(self, parts: list[Part], transcript: str, request: Request, workdir: Path, on_progress: Callable[[str], None] | None) -> "Result":
        """Produce the digest of the transcript ``parts``."""

    def close(self) -> None:
        """Release what the engine started (servers, connections)."""


@dataclass
class Result:
    digest: Digest
    ungrounded: list[str]
    levels: int = 1
    usage: Usage = field(default_factory=Usage)


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


def _prompt(name: str, **values) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8").strip().format(**values)


class ChatEngine:
    """Map-reduce through any OpenAI-compatible chat endpoint (OpenAI, llama.cpp, Ollama's /v1)."""

    extractive = False

    def __init__(self, name: str, model: str, client_kwargs: dict, options: SummarizeSettings, concurrent: bool, endpoint: str) -> None:
        self.name, self.model = name, model
        self._client_kwargs = client_kwargs
        self._options = options
        self._concurrent = concurrent
        self.endpoint = endpoint
        self._limiter = RateLimiter(options.requests_per_minute) if concurrent else None
        self._client = None

    # The embedded engine overrides this to start its server first.
    def client(self):
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(**self._client_kwargs)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, messages: list[dict], schema: type[BaseModel], usage: Usage) -> tuple[str, bool]:
        """The reply's text, and whether it was cut off at max_tokens."""
        import openai

        if self._limiter:
            self._limiter.wait()
        started = time.perf_counter()
        try:
            reply = self.client().chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=self._options.max_tokens,
                temperature=self._options.temperature,
                seed=self._options.seed,
                response_format={"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()}},
            )
        except openai.AuthenticationError:
            raise EngineError(
                f"The LLM endpoint {self.endpoint} rejected the API key (HTTP 401).",
                "Set OPENAI_API_KEY or PRESENTER_OPENAI__API_KEY to a valid key.",
            ) from None
        except openai.APITimeoutError:
            raise EngineUnavailable(
                f"The LLM endpoint {self.endpoint} did not answer within {self._client_kwargs.get('timeout')} s.",
                "Check that the server is up and not overloaded, or raise PRESENTER_OPENAI__TIMEOUT.",
            ) from None
        except openai.APIConnectionError:
            raise EngineUnavailable(
                f"Cannot reach the LLM endpoint {self.endpoint}.",
                "Check PRESENTER_OPENAI__BASE_URL / OPENAI_BASE_URL and that the server is running.",
            ) from None
        except openai.APIStatusError as error:
            raise EngineError(
                f"The LLM endpoint {self.endpoint} answered HTTP {error.status_code}: {error.message}",
                "Check the model name (PRESENTER_SUMMARIZE__MODEL) and the server's logs; rerun later on 429/5xx.",
            ) from None
        if reply.usage:
            usage.add(reply.usage.prompt_tokens, reply.usage.completion_tokens, time.perf_counter() - started)
        choice = reply.choices[0]
        return choice.message.content or "", choice.finish_reason == "length"

    def ask(self, prompt: str, schema: type[BaseModel], usage: Usage, history: list[dict] | None = None):
        """One structured call: JSON validated against ``schema``; one retry showing the error, then a failure."""
        messages = [{"role": "system", "content": _prompt("system")}, *(history or []), {"role": "user", "content": prompt}]
        for _ in range(2):
            text, cut = self._call(messages, schema, usage)
            try:
                return schema.model_validate_json(_json_block(text)), [*messages[1:], {"role": "assistant", "content": text}]
            except ValidationError as error:
                problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in error.errors()[:5])
                if cut:
                    problem = f"the reply was cut off after {self._options.max_tokens} tokens; write less ({problem})"
                messages = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": _prompt("fix", error=problem)}]
        raise EngineError(
            f"The model {self.model} at {self.endpoint} twice returned JSON that does not match the {schema.__name__} schema ({problem}).",
            "Try a larger model (PRESENTER_SUMMARIZE__MODEL), or the extractive engine.",
        )

    def summarize(self, parts, transcript, request, workdir, on_progress=None) -> Result:
        usage = Usage()
        notes = self._map(parts, request, workdir, usage, on_progress)
        levels = 1
        budget = self._options.context_tokens - self._options.max_tokens - 600
        while estimate_tokens(_notes_text(notes)) > budget and len(notes) > 1:
            notes = self._condense(notes, request, budget, usage)
            levels += 1
            if on_progress:
                on_progress(f"tree reduce: level {levels}, {len(notes)} notes")
        prompt = _prompt(
            "reduce", title=request.title, show=request.show, notes=_notes_text(notes), language=request.language_name,
            min_highlights=MIN_HIGHLIGHTS, max_highlights=MAX_HIGHLIGHTS, script_length=request.script_length,
        )
        digest, history = self.ask(prompt, Digest, usage)
        missing = _check(digest, transcript)
        problems = ([_prompt("ground", items=", ".join(missing))] if missing else []) + _length_problems(digest.script, request) + _voice_problems(digest.script)
        if problems:
            if on_progress:
                on_progress(f"revising: {len(missing)} ungrounded items, script {request.spoken_size(digest.script)} of ~{request.target_size}")
            retry, _ = self.ask("\n".join(problems) + "\n" + _prompt("revise"), Digest, usage, history)
            still = _check(retry, transcript)
            if len(still) <= len(missing):
                digest, missing = retry, still
        return Result(digest, missing, levels, usage)

    def _map(self, parts: list[Part], request: Request, workdir: Path, usage: Usage, on_progress) -> list[tuple[Part, Notes]]:
        """Notes per part, each cached in ``workdir`` by a hash of its input so a rerun resumes."""
        workdir.mkdir(parents=True, exist_ok=True)

        def one(index: int) -> tuple[Part, Notes]:
            part = parts[index]
            prompt = _prompt("map", part=index + 1, parts=len(parts), title=request.title, show=request.show, transcript=part.text, language=request.language_name)
            key = hashlib.sha256(json.dumps([PROMPT_VERSION, self.name, self.model, prompt]).encode()).hexdigest()[:16]
            cached = workdir / f"notes-{index:03d}-{key}.json"
            if cached.exists():
                return part, Notes.model_validate_json(cached.read_text(encoding="utf-8"))
            notes, _ = self.ask(prompt, Notes, usage)
            write_json(cached, notes.model_dump())
            if on_progress:
                on_progress(f"map: part {index + 1} of {len(parts)}")
            return part, notes

        if self._concurrent and len(parts) > 1:
            with ThreadPoolExecutor(max_workers=self._options.concurrency) as pool:
                return list(pool.map(one, range(len(parts))))
        return [one(i) for i in range(len(parts))]

    def _condense(self, notes: list[tuple[Part, Notes]], request: Request, budget: int, usage: Usage) -> list[tuple[Part, Notes]]:
        groups: list[list[tuple[Part, Notes]]] = [[]]
        for item in notes:
            if groups[-1] and estimate_tokens(_notes_text([*groups[-1], item])) > budget:
                groups.append([])
            groups[-1].append(item)
        if len(groups) == len(notes):  # each note alone fills the budget: pair them so the tree still shrinks
            groups = [notes[i : i + 2] for i in range(0, len(notes), 2)]
        condensed = []
        for group in groups:
            merged, _ = self.ask(_prompt("condense", title=request.title, notes=_notes_text(group), language=request.language_name), Notes, usage)
            condensed.append((Part(group[0][0].start, group[-1][0].end, []), merged))
        return condensed


class EmbeddedEngine(ChatEngine):
    """llama.cpp's own server on 127.0.0.1 (xllamacpp), started at first use and always stopped."""

    def __init__(self, gguf: Path, options: SummarizeSettings, timeout: float) -> None:
        super().__init__("embedded", gguf.stem, {"api_key": "local", "timeout": timeout, "max_retries": 0}, options, concurrent=False, endpoint="embedded llama.cpp server")
        self._gguf = gguf
        self._server = None
        self._lock = threading.Lock()

    def client(self):
        with self._lock:
            if self._server is None:
                try:
                    import xllamacpp
                except ImportError:
                    raise EngineUnavailable("The embedded LLM runtime (xllamacpp) is not installed.", "Run 'make setup'.") from None
                params = xllamacpp.CommonParams()
                params.model.path = str(self._gguf)
                params.n_ctx = self._options.context_tokens
                params.n_parallel = 1
                params.cpuparams.n_threads = self._options.threads
                params.cpuparams_batch.n_threads = self._options.threads
                params.hostnames = ["127.0.0.1"]
                params.port = 0
                try:
                    self._server = xllamacpp.Server(params)
                except Exception as error:  # the runtime raises plain exceptions for a bad model file
                    raise EngineUnavailable(f"The embedded LLM server did not start with {self._gguf} ({error}).", "Check the GGUF file, or run 'make setup'.") from None
                self._client_kwargs["base_url"] = f"{self._server.listening_address}/v1"
                self.endpoint = self._client_kwargs["base_url"]
        return super().client()

    def close(self) -> None:
        super().close()
        with self._lock:
            self._server = None  # xllamacpp stops the server when the object is released


class ExtractiveEngine:
    """No language model: the transcript's most central sentences, quoted. Labelled as extractive everywhere."""

    name = "extractive"
    model = "centrality ranking"
    extractive = True

    def summarize(self, parts, transcript, request, workdir, on_progress=None) -> Result:
        from presenter import extractive

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
            chapters.append(Chapter(start=clock(part.start), title=title[:80]))
        budget = request.target_size
        script, size = [], 0.0
        for i in order:
            cost = request.spoken_size(sentences[i][1])
            if size + cost > budget and script:
                continue
            script.append(i)
            size += cost
        joiner = "" if request.by_characters else " "
        digest = Digest(
            title=request.title,
            summary=joiner.join(sentences[i][1] for i in sorted(order[:3])),
            highlights=highlights,
            chapters=chapters,
            script=joiner.join(sentences[i][1] for i in sorted(script)),
        )
        return Result(digest, [])

    def close(self) -> None:
        pass


# --- Choosing engines ------------------------------------------------------------------------


def engine_order(settings: Settings) -> list[str]:
    if settings.summarize.engines:
        return list(settings.summarize.engines)
    configured = settings.openai.base_url or settings.openai.api_key
    if not configured:
        try:
            from openai import OpenAI

            OpenAI()  # finds OPENAI_API_KEY / OPENAI_BASE_URL the way the client itself does
            configured = True
        except Exception:
            configured = False
    return ["openai", "embedded", "extractive"] if configured else ["embedded", "extractive"]


def make_engine(name: str, settings: Settings) -> SummaryEngine:
    options = settings.summarize
    if name == "openai":
        kwargs = settings.openai_client_kwargs()
        return ChatEngine("openai", options.model, kwargs, options, concurrent=True, endpoint=kwargs.get("base_url", "the OpenAI API"))
    if name == "embedded":
        from presenter import weights

        try:
            gguf = weights.gguf_model(options.embedded_model, settings.cache_dir)
        except EngineError as error:
            raise EngineUnavailable(error.problem, error.hint) from None
        return EmbeddedEngine(gguf, options, settings.openai.timeout)
    return ExtractiveEngine()


# --- The stage -------------------------------------------------------------------------------


def _json_block(text: str) -> str:
    """The JSON object of a reply, tolerating code fences and chatter around it."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def _notes_text(notes: list[tuple[Part, Notes]]) -> str:
    blocks = []
    for part, note in notes:
        lines = [f"Part [{clock(part.start)}–{clock(part.end)}]: {note.summary}"]
        lines += [f"- [{p.time}] {p.point}" for p in note.points]
        if note.people:
            lines.append("People: " + ", ".join(note.people))
        if note.numbers:
            lines.append("Numbers: " + "; ".join(note.numbers))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


_SPEAKER_LABEL = re.compile(r"^\s*(?:[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,2}|[\u4e00-\u9fff]{2,4})\s*[:：]\s*")
_KEYWORD_TAIL = re.compile(r"(?:[.!?。！？]\s*)((?:[^.!?。！？,，]{1,30}[,，]\s*){3,}[^.!?。！？,，]{1,30})\s*$")


def _voice_problems(script: str) -> list[str]:
    """Small models write the script as a transcript line ("Maria: Hello, I'm Maria") or end it with keywords."""
    problems = []
    if _SPEAKER_LABEL.match(script):
        problems.append('The "script" starts with a speaker name and a colon; the presenter speaks about the episode in the third person.')
    if _KEYWORD_TAIL.search(script):
        problems.append('The "script" ends with a list of keywords; end it with a sentence.')
    return problems


def clean_script(script: str) -> str:
    """What is left of those habits after the revision is cut: a leading label, a trailing keyword list."""
    script = _SPEAKER_LABEL.sub("", script, count=1)
    tail = _KEYWORD_TAIL.search(script)
    if tail:
        script = script[: tail.start(1)].rstrip()
    return script.strip()


def _length_problems(script: str, request: Request) -> list[str]:
    size, target = request.spoken_size(script), request.target_size
    if 0.6 * target <= size <= 1.5 * target:
        return []
    unit = "characters" if request.by_characters else "words"
    return [f'The "script" has {size} {unit}; it must have about {target} {unit}.']


def _check(digest: Digest, transcript: str) -> list[str]:
    """Ungrounded items: names and numbers in the prose; numbers only in the Title Case headings."""
    prose = "\n".join([digest.summary, *digest.highlights, digest.script])
    headings = "\n".join([digest.title, *(c.title for c in digest.chapters)])
    return sorted(set(grounding.ungrounded(prose, transcript)) | set(grounding.ungrounded(headings, transcript, names=False)))


def _markdown(digest: Digest, chapters: list[dict], meta: dict) -> str:
    lines = [f"# {digest.title}", ""]
    if meta["extractive"]:
        lines += ["> Extractive digest: sentences quoted from the transcript, chosen without a language model.", ""]
    lines += [digest.summary, "", "## Highlights", ""] + [f"- {h}" for h in digest.highlights]
    lines += ["", "## Chapters", ""] + [f"- **{clock(c['start'])}** {c['title']}" for c in chapters]
    lines += ["", "## Narration script", "", digest.script, ""]
    if meta["ungrounded"]:
        lines += ["## Unverified claims", "", "These items appear in the text above but not in the transcript; check them before publishing:", ""]
        lines += [f"- {item}" for item in meta["ungrounded"]] + [""]
    lines += [f"*{meta['episode_title']} — {meta['show']} · written by {meta['engine']} ({meta['model']}), language {meta['language']}*", ""]
    return "\n".join(lines)


def summarize(transcript_path: Path, folder: Path, settings: Settings, *, title: str, show: str, on_progress: Callable[[str], None] | None = None, log: Callable[[str], None] | None = None) -> list[Path]:
    """Write summary.json, summary.md and script.txt into ``folder``; returns their paths."""
    transcript = json.loads(Path(transcript_path).read_text(encoding="utf-8"))
    text = transcript.get("text", "")
    words = len(_CJK.findall(text)) // 2 + len(re.findall(r"[A-Za-z0-9]+", text))
    if words < settings.summarize.min_words:
        raise SummaryError(
            f"The transcript {transcript_path} has only {words} words: too little to summarize without inventing content.",
            "Check that the episode has speech (and the right language: PRESENTER_LANGUAGE); nothing was summarized.",
        )
    language = settings.summarize.language or transcript.get("language") or "en"
    # a digest is never longer than half its episode: a 75 s script about an 11 s clip could only pad or invent
    duration = transcript.get("duration") or (transcript["segments"][-1]["end"] if transcript["segments"] else 0)
    target = min(settings.summarize.target_seconds, max(10.0, duration / 2))
    request = Request(title=title, show=show, language=language, target_seconds=target)
    options = settings.summarize
    parts = split_transcript(transcript["segments"], min(options.part_tokens, options.context_tokens - options.max_tokens - 600))

    failures = []
    for name in engine_order(settings):
        try:
            engine = make_engine(name, settings)
        except EngineUnavailable as error:
            failures.append(f"{name}: {error}")
            if log:
                log(f"summary engine {name} unavailable: {error}; trying the next one")
            continue
        try:
            started = time.perf_counter()
            result = engine.summarize(parts, text, request, folder / "summary-notes", on_progress)
            elapsed = time.perf_counter() - started
            break
        except EngineUnavailable as error:
            failures.append(f"{name}: {error}")
            if log:
                log(f"summary engine {name} unavailable: {error}; trying the next one")
        finally:
            engine.close()
    else:
        raise SummaryError("No summary engine could run: " + " | ".join(failures), "Fix the first engine's problem, or add 'extractive' to PRESENTER_SUMMARIZE__ENGINES.")

    result.digest.script = clean_script(result.digest.script)
    meta = {
        "engine": engine.name, "model": engine.model, "extractive": engine.extractive, "language": language,
        "ungrounded": result.ungrounded, "parts": len(parts), "reduce_levels": result.levels,
        "usage": result.usage.to_dict(), "seconds": round(elapsed, 2), "episode_title": title, "show": show, "target_seconds": target,
        "fallbacks": failures,
    }
    chapters: list[dict] = []
    for chapter in sorted(result.digest.chapters, key=lambda c: seconds_of(c.start, parts[0].start)):
        start = min(max(0.0, seconds_of(chapter.start, parts[0].start)), duration)
        if not chapters or start > chapters[-1]["start"]:  # one chapter per start time
            chapters.append({"start": start, "title": chapter.title})
    data = {**result.digest.model_dump(), "chapters": chapters, **meta}
    return [
        write_json(folder / "summary.json", data),
        write_text(folder / "summary.md", _markdown(result.digest, chapters, meta)),
        write_text(folder / "script.txt", result.digest.script + "\n"),
    ]


def read_summary(folder: Path) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
