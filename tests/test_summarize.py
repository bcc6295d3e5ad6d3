"""summarize: the openai engine against a real chat-completions server on 127.0.0.1, the extractive
engine, fallbacks, bad input, and the embedded llama.cpp engine for real (slow)."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from pathlib import Path

import pytest

from core.errors import EngineError
from core.settings import Settings
from core.text import split_sentences
from engines.llm import gates, script
from engines.llm.openai import OpenAISummarizer
from engines.llm.verify import Verifier
from stages import summarize as S

from .support import Route

ENGLISH = [
    ("Welcome to Tech Weekly. Today Maria Lopez from Solar Grid joins us to talk about home batteries.", 0),
    ("Maria says battery prices fell by forty percent since 2020, which changed the market.", 30),
    ("Solar Grid installed twelve thousand systems last year, mostly in Arizona and Texas.", 65),
    ("The main problem now is grid connection: utilities take up to six months to approve a system.", 110),
    ("She expects approval times to halve once the new federal rules arrive in 2026.", 150),
    ("Her advice for listeners is to compare warranties, not only prices, before buying.", 190),
]

def stretched(lines: list[tuple[str, float]], factor: float) -> list[tuple[str, float]]:
    """The same talk, spread over ``factor`` times as long: an episode long enough for several sections (one per 3 minutes)."""
    return [(text, start * factor) for text, start in lines]


CHINESE = [
    ("欢迎收听科技早知道。今天我们请到了王磊，聊聊电动汽车的电池。", 0),
    ("王磊说，过去三年电池成本下降了百分之四十，续航提升到了六百公里。", 25),
    ("他认为快充技术是下一个竞争重点，宁德时代和比亚迪都在投入。", 55),
    ("最后他建议听众买车时更关注电池质保，而不只是价格。", 90),
]


def write_transcript(folder: Path, lines: list[tuple[str, float]], language: str) -> Path:
    segments = [{"start": start, "end": start + 20, "text": text, "words": []} for text, start in lines]
    joiner = "" if language == "zh" else " "
    data = {"language": language, "duration": lines[-1][1] + 25, "segments": segments, "text": joiner.join(t for t, _ in lines)}
    path = folder / "transcript.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


NOTES = {"summary": "Maria Lopez of Solar Grid talks about home batteries.", "points": [{"time": "00:30", "point": "Battery prices fell 40% since 2020."}], "people": ["Maria Lopez"], "numbers": ["40% since 2020"]}
POINTLESS = {**NOTES, "points": []}  # notes with no key point: where the digest's sentence fails, nothing else tells its section
DIGEST = {
    "title": "Home Batteries With Solar Grid",
    "summary": "Maria Lopez of Solar Grid explains how battery prices fell by 40% since 2020.",
    "highlights": ["Battery prices fell by 40% since 2020.", "Solar Grid installed 12,000 systems.", "Approvals take up to 6 months."],
    "chapters": [{"start": "00:00", "title": "Welcome"}, {"start": "01:05", "title": "Installations"}, {"start": "03:10", "title": "Advice"}],
    "script": "Today on Tech Weekly, Maria Lopez of Solar Grid explains why home batteries got 40% cheaper since 2020.",
}


INTRO = "This episode of Tech Weekly is about batteries."  # the show is heard; no speaker named; the topic from the title
OUTRO = "That was this episode of Tech Weekly."  # the last sentence, from the same facts: the show heard, no speaker named
SAID = "Maria Lopez of Solar Grid explains why home batteries got 40% cheaper since 2020."  # DIGEST's script without its "Today on Tech Weekly,"


class Cut(str):
    """A reply that stopped at max_tokens (finish_reason 'length')."""


class ChatServer:
    """Speaks POST /v1/chat/completions; replies come from per-schema queues (the last one repeats)."""

    def __init__(self, server, replies: dict[str, list], **route) -> None:
        self.replies = {k: list(v) for k, v in replies.items()}
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.server = server
        server.routes["/v1/chat/completions"] = Route(handler=self.handle, content_type="application/json", **route)

    def handle(self, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        schema = request["response_format"]["json_schema"]["name"]
        with self.lock:  # map calls arrive concurrently
            self.calls.append(request)
            queue = self.replies.get(schema)
            if queue is None:  # a schema the test scripts no reply for (one script sentence): refused, never retried
                return 400, json.dumps({"error": {"message": f"no {schema} here"}}).encode()
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, tuple):  # (status, body)
            return reply[0], json.dumps(reply[1]).encode()
        content = reply if isinstance(reply, str) else json.dumps(reply)
        answer = {
            "id": "x", "object": "chat.completion", "created": 0, "model": request["model"],
            "choices": [{"index": 0, "finish_reason": "length" if isinstance(reply, Cut) else "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }
        return 200, json.dumps(answer).encode()

    def prompts(self, schema: str) -> list[str]:
        return [c["messages"][-1]["content"] for c in self.calls if c["response_format"]["json_schema"]["name"] == schema]


def remote(server, **summarize) -> Settings:
    options = {"engines": ["openai"], "openai": {"model": "test-model", "requests_per_minute": 6000}, "target_seconds": 7, **summarize}  # DIGEST's script: 18 words
    return Settings(summarize=options, openai={"api_key": "k", "base_url": server.url("/v1"), "max_retries": 2, "timeout": 5})


def run(settings: Settings, folder: Path, lines=ENGLISH, language="en") -> dict:
    transcript = write_transcript(folder, lines, language)
    files = S.summarize(transcript, folder, settings.summarize, settings.context, title="Batteries", show="Tech Weekly").outputs
    assert [f.name for f in files] == ["summary.json", "summary.md", "script.txt"]
    return json.loads(files[0].read_text())


def test_openai_engine_map_reduce(server, tmp_path):
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]})
    result = run(remote(server, context_tokens=1024, max_tokens=300), tmp_path)
    assert result["engine"] == "openai" and result["model"] == "test-model" and not result["extractive"]
    assert result["parts"] >= 2 and len(chat.prompts("Notes")) == result["parts"]
    assert "[01:05] Solar Grid installed twelve thousand systems" in "".join(chat.prompts("Notes"))
    assert result["ungrounded"] == []  # "12,000" and "twelve thousand", "40%" and "forty percent" agree
    assert [c["start"] for c in result["chapters"]] == [0], "215 s is one section (about one per 3 minutes): one chapter"
    assert (tmp_path / "script.txt").read_text() == INTRO + " " + SAID + " " + OUTRO + "\n", "the model's own opening gives way to the intro built from facts"
    assert "## Highlights" in (tmp_path / "summary.md").read_text()
    assert server.requests[-1][1].get("Authorization") == "Bearer k"
    assert result["usage"]["calls"] == result["parts"] + 1
    log = (tmp_path / "logs" / "llm.log").read_text()
    assert log.count("Notes from test-model: 100 prompt + 50 completion tokens") == result["parts"] and "Home Batteries With Solar Grid" in log, "each call and its raw reply"


def test_rate_limited_then_success(server, tmp_path):
    limited = (429, {"error": {"message": "slow down", "type": "rate_limit"}})
    chat = ChatServer(server, {"Notes": [limited, NOTES], "Digest": [DIGEST]}, headers={"retry-after-ms": "10"})
    result = run(remote(server), tmp_path)
    assert result["engine"] == "openai" and len(chat.prompts("Notes")) == 2


def test_malformed_json_is_retried_with_the_error(server, tmp_path):
    chat = ChatServer(server, {"Notes": ["Sure! Here are the notes: summary is batteries", NOTES], "Digest": [{"title": "x"}, DIGEST]})
    result = run(remote(server), tmp_path)
    assert result["title"] == DIGEST["title"]
    fixes = [p for p in chat.prompts("Notes") + chat.prompts("Digest") if p.startswith("Your previous reply could not be used")]
    assert len(fixes) == 2 and any("highlights" in p for p in fixes)


def test_a_reply_that_loops_is_retried_short_with_a_repeat_penalty(server, tmp_path):
    looping = Cut('{"title": "Batteries", "highlights": [' + '"Maria Lopez talks about batteries.", ' * 200)
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [looping, DIGEST]})
    result = run(remote(server), tmp_path)
    assert result["title"] == DIGEST["title"]
    first, retry = [c for c in chat.calls if c["response_format"]["json_schema"]["name"] == "Digest"][:2]
    assert "frequency_penalty" not in first and retry["frequency_penalty"] == 0.5
    assert len(retry["messages"][-2]["content"]) < 700, "only the start of the loop is shown back"
    assert "cut off" in retry["messages"][-1]["content"]


def test_malformed_twice_is_a_clear_failure(server, tmp_path):
    ChatServer(server, {"Notes": ["not json"], "Digest": [DIGEST]})
    with pytest.raises(S.SummaryError, match="twice returned JSON that does not match the Notes schema"):
        run(remote(server), tmp_path)


def test_a_digest_that_loops_twice_falls_back_to_the_transcript_labelled(server, tmp_path):
    looping = Cut('{"title": "Batteries", "summary": "' + "Maria Lopez talks about batteries. " * 200)
    ChatServer(server, {"Notes": [NOTES], "Digest": [looping]})
    result = run(remote(server, engines=["openai", "extractive"]), tmp_path)
    assert result["engine"] == "extractive" and result["extractive"]
    assert "twice returned JSON that does not match the Digest schema" in result["fallbacks"][0]
    assert "Extractive digest" in (tmp_path / "summary.md").read_text()


def test_the_digest_schema_caps_the_script_so_a_loop_ends(server, tmp_path):
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]})
    run(remote(server, target_seconds=75), tmp_path)
    schema = [c for c in chat.calls if c["response_format"]["json_schema"]["name"] == "Digest"][-1]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["script"]["maxLength"] == round(1.5 * 188 * 7), "half again the target, in characters"
    assert schema["properties"]["summary"]["maxLength"] == 1200


def test_a_script_that_repeats_itself_is_sent_back_then_said_once(server, tmp_path):
    looped = {**DIGEST, "script": " ".join([DIGEST["script"]] * 3)}
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [looped, looped]})
    result = run(remote(server), tmp_path)
    assert 'The "script" says the same sentence more than once' in chat.prompts("Digest")[-1]
    assert result["script"] == INTRO + " " + SAID + " " + OUTRO and {"field": "script", "gate": "repeat", "values": {}} in result["gates"]


def test_invented_number_is_sent_back_then_listed(server, tmp_path):
    invented = {**DIGEST, "summary": DIGEST["summary"] + " Sales reached 75,000 units in Nevada."}
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [invented, invented]})
    result = run(remote(server), tmp_path)
    assert result["ungrounded"] == ["75000", "Nevada"]
    assert "75000, Nevada" in chat.prompts("Digest")[-1]
    markdown = (tmp_path / "summary.md").read_text()
    assert "## Unverified claims" in markdown and "- Nevada" in markdown


def test_script_far_from_the_target_length_is_revised(server, tmp_path):
    longer = {**DIGEST, "script": " ".join(text for text, _ in ENGLISH)}  # 88 words
    chat = ChatServer(server, {"Notes": [POINTLESS], "Digest": [DIGEST, longer]})
    result = run(remote(server, target_seconds=50), tmp_path)
    assert 'The "script" has 18 words; it must have about 125 words.' in chat.prompts("Digest")[-1]
    # the revision is the transcript itself: as the presenter's words it is the host's voice or a copy, so none of it is spoken
    assert {r["text"] for r in result["rejected"] if r["source"] == "model"} == {s for text, _ in ENGLISH for s in split_sentences(text)}
    assert all({"host_voice", "copied"} & set(r["rules"]) for r in result["rejected"] if r["source"] == "model"), result["rejected"]
    beats = result["beats"]
    assert beats[0]["text"] == INTRO and beats[1]["source"] == "reported" and " said that " in beats[1]["text"], [(b["source"], b["text"]) for b in beats]


def test_a_script_too_long_is_cut_not_asked_for_again(server, tmp_path):
    """A second digest to shorten a script costs a whole answer (about 500 tokens written, issue 25's budget): the script
    is composed from verified sentences and cut to its target instead, so the digest is asked for once."""
    said = [
        "Maria Lopez says that battery prices fell by 40% since 2020.", "She adds that Solar Grid installed 12,000 systems.",
        "Approvals take up to 6 months, she notes.", "Maria Lopez expects approval times to halve in 2026.",
        "Her advice is to compare warranties before buying.",
    ]
    chat = ChatServer(server, {"Notes": [POINTLESS], "Digest": [{**DIGEST, "script": " ".join(said)}]})
    result = run(remote(server, target_seconds=6), tmp_path)
    assert len(chat.prompts("Digest")) == 1
    assert [g for g in result["gates"] if g["gate"] == "length"] and result["beats"][-1]["text"] == OUTRO


def test_grounding_retry_that_fixes_the_claim(server, tmp_path):
    invented = {**DIGEST, "script": DIGEST["script"] + " Even rivals like Tesla agree."}
    ChatServer(server, {"Notes": [NOTES], "Digest": [invented, DIGEST]})
    result = run(remote(server), tmp_path)
    assert result["ungrounded"] == [] and "Tesla" not in result["script"]


def test_rejected_key_names_the_setting(server, tmp_path):
    ChatServer(server, {"Notes": [(401, {"error": {"message": "bad key"}})], "Digest": [DIGEST]})
    with pytest.raises(EngineError, match="rejected the API key") as error:
        run(remote(server), tmp_path)
    assert "OPENAI_API_KEY" in error.value.hint


def test_timeout_falls_back_to_the_next_engine(server, tmp_path):
    ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]}, delay=3)
    settings = remote(server, engines=["openai", "extractive"])
    settings.openai.timeout, settings.openai.max_retries = 0.5, 0
    result = run(settings, tmp_path)
    assert result["engine"] == "extractive" and result["extractive"]
    assert "did not answer within 0.5 s" in result["fallbacks"][0]
    assert "Extractive digest" in (tmp_path / "summary.md").read_text()


def test_timeout_without_fallback_is_one_clear_error(server, tmp_path):
    ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]}, delay=3)
    settings = remote(server)
    settings.openai.timeout, settings.openai.max_retries = 0.5, 0
    with pytest.raises(S.SummaryError, match=re.escape(f"{server.url('/v1')} did not answer within 0.5 s")):
        run(settings, tmp_path)


def test_unreachable_endpoint_falls_back(tmp_path):
    settings = Settings(summarize={"engines": ["openai", "extractive"]}, openai={"api_key": "k", "base_url": "http://127.0.0.1:9/v1", "max_retries": 0})
    result = run(settings, tmp_path)
    assert result["engine"] == "extractive" and "Cannot reach the LLM endpoint http://127.0.0.1:9/v1" in result["fallbacks"][0]


def test_a_failing_endpoint_falls_through_and_its_password_is_never_shown(server, tmp_path):
    """HTTP 5xx is an unavailable endpoint (next engine); the URL's credentials are redacted in every message and file."""
    ChatServer(server, {"Notes": [(503, {"error": {"message": "overloaded"}})], "Digest": [DIGEST]})
    base = server.url("/v1").replace("http://", "http://alice:s3cret-pw@")
    settings = Settings(summarize={"engines": ["openai", "extractive"]}, openai={"api_key": "sk-secret-XYZ", "base_url": base, "max_retries": 0})
    result = run(settings, tmp_path)
    assert result["engine"] == "extractive"
    assert f"The LLM endpoint {base.replace('alice:s3cret-pw', '***')} answered HTTP 503" in result["fallbacks"][0]
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir() if p.is_file())
    assert "s3cret-pw" not in written and "sk-secret-XYZ" not in written


def _streamed(delay: float):
    """A chat endpoint that streams its reply a few characters at a time, ``delay`` seconds apart (server-sent events)."""

    def handler(body: bytes):
        request = json.loads(body)
        content = json.dumps(NOTES if request["response_format"]["json_schema"]["name"] == "Notes" else DIGEST)

        def events():
            for i in range(0, len(content), max(1, len(content) // 5)):
                time.sleep(delay)
                delta = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{"index": 0, "delta": {"content": content[i : i + max(1, len(content) // 5)]}, "finish_reason": None}]}
                yield f"data: {json.dumps(delta)}\n\n".encode()
            end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            usage = {  # llama.cpp's server also says how many prompt tokens it processed, the rest coming from its cache
                "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16},
                "timings": {"prompt_n": 4, "cache_n": 6},
            }
            yield f"data: {json.dumps(end)}\n\ndata: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode()

        return 200, events()

    return handler


def test_a_streaming_endpoint_that_keeps_answering_is_not_timed_out(server, tmp_path):
    """Each reply takes about 2 s in all, with a piece every 0.35 s; the timeout (1 s) bounds silence, not the whole answer."""
    server.routes["/v1/chat/completions"] = Route(handler=_streamed(0.35), content_type="text/event-stream")
    settings = remote(server, openai={"model": "m", "requests_per_minute": 6000, "stream": True})
    settings.openai.timeout, settings.openai.max_retries = 1.0, 0
    result = run(settings, tmp_path)
    assert result["engine"] == "openai" and result["title"] == DIGEST["title"] and result["usage"]["completion_tokens"] >= 6
    assert result["usage"]["read_tokens"] == 4 * result["usage"]["calls"] < result["usage"]["prompt_tokens"], "tokens from the server's cache are not read again"
    server.routes["/v1/chat/completions"] = Route(handler=_streamed(1.5), content_type="text/event-stream")
    silent = tmp_path / "silent"
    silent.mkdir()
    with pytest.raises(S.SummaryError, match="did not answer within 1.0 s"):
        run(settings, silent)


def test_long_transcript_is_reduced_in_a_tree(server, tmp_path):
    long_notes = {**NOTES, "summary": " ".join(["Battery prices fell by forty percent since 2020."] * 40)}
    chat = ChatServer(server, {"Notes": [long_notes], "Digest": [DIGEST]})
    lines = [(f"Part {i}: battery prices fell by forty percent since 2020, says Maria Lopez.", i * 30.0) for i in range(60)]
    result = run(remote(server, context_tokens=1024, max_tokens=200), tmp_path, lines)
    assert result["reduce_levels"] >= 2
    assert any(p.startswith("Below are notes on consecutive parts") for p in chat.prompts("Notes"))


@pytest.mark.parametrize("text", ["", "Thank you.", "Um, okay, yeah."])
def test_near_empty_transcript_is_refused(tmp_path, text):
    transcript = tmp_path / "transcript.json"
    transcript.write_text(json.dumps({"language": "en", "segments": [{"start": 0, "end": 1, "text": text}] if text else [], "text": text}))
    with pytest.raises(S.SummaryError, match="too little to summarize") as error:
        settings = Settings(summarize={"engines": ["extractive"]})
        S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="t", show="s")
    assert "nothing was summarized" in error.value.hint
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize(("lines", "language"), [(ENGLISH, "en"), (CHINESE, "zh")])
def test_extractive_engine(tmp_path, lines, language):
    result = run(Settings(summarize={"engines": ["extractive"]}), tmp_path, lines, language)
    assert result["extractive"] and result["engine"] == "extractive" and result["language"] == language
    transcript = "".join(t for t, _ in lines)
    assert 3 <= len(result["highlights"]) <= 7 and all(h in transcript for h in result["highlights"])
    assert result["script"] and result["ungrounded"] == []


def test_map_notes_are_reused_by_a_rerun(server, tmp_path):
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]})
    run(remote(server), tmp_path)
    first = len(chat.prompts("Notes"))
    run(remote(server), tmp_path)
    assert len(chat.prompts("Notes")) == first, "map results are cached on disk by content"


def test_engine_order_defaults(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    order = lambda settings: S.engine_order(settings.summarize, settings.context)
    assert order(Settings()) == ["embedded", "extractive"]
    assert order(Settings(openai={"base_url": "http://127.0.0.1:8080/v1"})) == ["openai", "embedded", "extractive"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert order(Settings())[0] == "openai"


@pytest.mark.slow
def test_embedded_engine_for_real(tmp_path, embedded_llm):
    """English here; the embedded model in Chinese is tests/test_chinese_eval.py's one-episode run (its script, language and names)."""
    settings = Settings(summarize={"engines": ["embedded"], "target_seconds": 30, "embedded": {"threads": 2}})
    result = run(settings, tmp_path, ENGLISH, "en")
    assert result["engine"] == "embedded" and result["model"].startswith("qwen2.5-coder-1.5b")
    assert 3 <= len(result["highlights"]) <= 7 and result["chapters"] and result["script"]
    assert not re.search(r"[\u4e00-\u9fff]", result["script"]), result["script"]
    assert result["usage"]["completion_tokens"] > 50
    assert isinstance(result["ungrounded"], list)


@pytest.mark.slow
def test_embedded_server_starts_lazily_and_is_stopped(tmp_path):
    import httpx

    settings = Settings(summarize={"embedded": {"threads": 1}})  # a shape of its own: not the session's shared server
    engine = S.make_engine("embedded", settings.summarize, settings.context)
    assert engine.endpoint == "embedded llama.cpp server", "nothing is started before the first call"
    engine.client()
    assert httpx.get(f"{engine.endpoint}/models").status_code == 401, "only this process, with its random key, may use the server"
    assert httpx.get(f"{engine.endpoint}/models", headers={"Authorization": f"Bearer {engine._key}"}).status_code == 200
    engine.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{engine.endpoint}/models")


def test_engine_is_closed_when_summarizing_fails(server, tmp_path, monkeypatch):
    ChatServer(server, {"Notes": [(401, {"error": {"message": "bad key"}})], "Digest": [DIGEST]})
    closed = []
    monkeypatch.setattr(OpenAISummarizer, "close", lambda self: closed.append(self.name))
    with pytest.raises(EngineError):
        run(remote(server), tmp_path)
    assert closed == ["openai"]


def test_script_target_is_capped_by_the_episode_length(server, tmp_path):
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]})
    result = run(remote(server, target_seconds=75), tmp_path, ENGLISH[:2])  # a 55-second episode
    assert result["target_seconds"] == 27.5
    assert [(c["start"], c["title"]) for c in result["chapters"]] == [(0, "Welcome")], "one section, titled by the model's first chapter"
    assert "about 69 words (28 seconds spoken)" in chat.prompts("Digest")[0]


def test_script_spoken_as_a_guest_or_ending_in_keywords_is_fixed():
    from engines.llm.gates import clean_script
    from engines.llm.gates import voice_problems as _voice_problems

    bad = "Maria Lopez: Hello, everyone. Batteries move energy in time. Maria Lopez, Solar Grid, inverter, grid, blackout"
    assert len(_voice_problems(bad)) == 2, "both habits are sent back to the model"
    assert clean_script(bad) == "Hello, everyone. Batteries move energy in time."
    assert clean_script("马云：大家好。") == "大家好。"
    for fine in ("In 2023: revenue grew.", "In this episode, we hear about batteries, inverters, grids, and more."):
        assert not _voice_problems(fine) and clean_script(fine) == fine
    cut = "Batteries move energy in time. They pay back in eight years. Maria Lopez discusses the cost"
    assert clean_script(cut) == "Batteries move energy in time. They pay back in eight years.", "a fragment cut by the length cap is never spoken"
    assert clean_script("王磊说电池便宜了。他说“快充是重点。”") == "王磊说电池便宜了。他说“快充是重点。”"


def test_extractive_fields_never_quote_a_sentence_twice():
    from core.artifacts import Segment
    from core.text import split_sentences
    from engines.llm.ranking import Extract

    lines = [text for text, _ in ENGLISH] * 6  # a show that says the same things again
    segments = [Segment(start=i * 10.0, end=i * 10.0 + 9, text=text) for i, text in enumerate(lines)]
    extract = Extract(segments, "en")
    highlights = extract.highlights(count=5)
    assert len(set(highlights)) == len(highlights) == 5
    script = extract.script(200, by_characters=False)
    assert len(set(split_sentences(script))) == len(split_sentences(script))


def test_extractive_fields_join_a_sentence_the_recogniser_split():
    from core.artifacts import Segment
    from engines.llm.ranking import Extract

    pieces = ["张伟说，", "电池成本三年下降了百分之四十。", "他认为，", "快充是下一个竞争重点，宁德时代和比亚迪都在投入。", "最后他建议听众关注电池质保。"]
    extract = Extract([Segment(start=i * 5.0, end=i * 5.0 + 4, text=text) for i, text in enumerate(pieces)], "zh")
    assert [text for _, text in extract.items] == ["张伟说，电池成本三年下降了百分之四十。", "他认为，快充是下一个竞争重点，宁德时代和比亚迪都在投入。", "最后他建议听众关注电池质保。"]
    assert [start for start, _ in extract.items] == [0.0, 10.0, 20.0], "each sentence keeps the time it starts at"
    assert not any(h.endswith("，") for h in extract.highlights(minimum=3))


def _spoken(folder: Path) -> str:
    """What the narration says: the narrate stage run on script.txt (espeak, fast), sentence by sentence."""
    from core.artifacts import SCRIPT, Narration
    from stages import narrate as N

    summary = json.loads((folder / "summary.json").read_text())
    settings = Settings(narrate={"engines": ["espeak"]})
    N.narrate(folder / SCRIPT, folder, settings.narrate, settings.context, language=summary["language"])
    return " ".join(s.text for s in Narration.read(folder).sentences)


def test_a_number_the_model_keeps_inventing_is_never_spoken(server, tmp_path):
    invented = {**DIGEST, "script": DIGEST["script"] + " Sales reached 75,000 units last spring. Her advice is to compare warranties."}
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [invented]})  # the revision invents it again
    result = run(remote(server, target_seconds=12), tmp_path)
    assert len(chat.prompts("Digest")) == 2, "sent back once"
    assert result["dropped_from_script"] == ["Sales reached 75,000 units last spring."]
    assert "75" not in result["script"] and "compare warranties" in result["script"]
    spoken = _spoken(tmp_path)
    assert "75" not in spoken and "seventy" not in spoken.lower() and "Solar Grid" in spoken
    assert {"field": "digest", "gate": "ungrounded", "values": {"items": ["75000"]}} in result["gates"]


CHINESE_NOTES = {"summary": "王磊聊电动汽车电池。", "points": [{"time": "00:25", "point": "电池成本下降百分之四十。"}], "people": ["王磊", "宁德时代", "比亚迪"], "numbers": ["百分之四十"]}
CHINESE_DIGEST = {
    "title": "王磊谈电池",
    "summary": "王磊认为电池成本三年下降了百分之四十，快充是下一个竞争重点。",
    "highlights": ["续航提升到了六百公里。", "宁德时代和比亚迪都在投入快充。", "买车要关注电池质保。"],
    "chapters": [{"start": "00:00", "title": "开场"}, {"start": "00:55", "title": "快充竞争"}, {"start": "01:30", "title": "购车建议"}],
    "script": "本期节目，王磊聊了电动汽车的电池。他说三年来电池成本下降了百分之四十，续航提升到了六百公里。宁德时代和比亚迪都在投入快充。",
}


def test_chinese_prompts_carry_the_glossary_and_a_chinese_digest_passes(server, tmp_path):
    chat = ChatServer(server, {"Notes": [CHINESE_NOTES], "Digest": [CHINESE_DIGEST]})
    transcript = write_transcript(tmp_path, CHINESE, "zh")
    settings = remote(server, target_seconds=15)
    S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="电池", show="科技早知道", glossary=["王磊", "宁德时代"])
    result = json.loads((tmp_path / "summary.json").read_text())
    notes_prompt = chat.prompts("Notes")[0]
    assert "用简体中文为这一部分做笔记" in notes_prompt and "王磊、宁德时代" in notes_prompt, "Chinese prompt, glossary as the spelling of names"
    assert "你为新闻主播总结播客文字稿" in chat.calls[0]["messages"][0]["content"]
    assert result["gates"] == [] and result["extractive_fields"] == [] and result["glossary"] == ["王磊", "宁德时代"]
    assert result["script"] == (
        "在这一期《科技早知道》里，王磊聊了电池。王磊聊了电动汽车的电池。他说三年来电池成本下降了百分之四十。王磊提到，宁德时代和比亚迪都在投入快充。"
        "以上是王磊在这一期《科技早知道》里聊的内容。"
    ), "王磊: introduced as the guest; the copied sentence ends before its copied clause (the notes' key point then says nothing new)"
    assert [(r["text"], r["rules"]) for r in result["rejected"]] == [("他说三年来电池成本下降了百分之四十，续航提升到了六百公里。", ["copied"]), ("王磊还说，电池成本下降百分之四十。", ["repeat"])], "copied; 王磊 again"


def test_a_claim_that_names_no_one_is_credited_to_whoever_the_line_says_is_speaking(server, tmp_path):
    """going-global, one voice reading the whole episode (diarization names none): the model's "磷酸铁锂电池会继续占据主流，…"
    was spoken as the presenter's own prediction; the line it tells says "王磊认为…", so it is 王磊's. A sentence that
    already says whose it is, or that it is the episode's, stays as written; one that names no one after 王磊's line goes
    on in his turn (one voice reads it all: tech-weekly's "一张 H100 每秒…" is Emily's, after "Emily 则更关心成本。她说，…")."""
    digest = {
        **CHINESE_DIGEST, "summary": "过去三年电池成本下降了很多。",
        "script": "本期节目，王磊聊了电动汽车的电池。过去三年电池成本降得很快，续航也提高了。节目里还谈到了快充的竞争。快充技术会是下一个竞争的重点。",
    }
    ChatServer(server, {"Notes": [CHINESE_NOTES], "Digest": [digest]})
    one_segment = [CHINESE[0], (CHINESE[1][0] + "快充技术是下一个竞争重点。", 25), *CHINESE[2:]]  # 王磊's line, then one whose speaker is not said
    transcript = write_transcript(tmp_path, one_segment, "zh")
    settings = remote(server, target_seconds=15)
    S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="电池", show="科技早知道", glossary=["王磊", "宁德时代"])
    result = json.loads((tmp_path / "summary.json").read_text())
    spoken = [b["text"] for b in result["beats"]]
    assert "王磊提到，过去三年电池成本降得很快，续航也提高了。" in spoken, spoken
    assert split_sentences(result["summary"])[0] == "王磊提到，过去三年电池成本下降了很多。", "the written summary's too"
    told = [s for s in [*split_sentences(result["summary"]), *result["highlights"]] if "续航提升到了六百公里" in s]
    assert told and all(s.startswith("王磊") for s in told), ("the rest of 王磊's line, in the summary (or a highlight), is his", told)
    assert "节目里还谈到了快充的竞争。" in spoken, spoken
    assert "王磊还说，快充技术会是下一个竞争的重点。" in spoken, "the line after 王磊's, in his turn"


def test_a_sentence_that_says_whose_it_is_or_tells_no_line_is_not_credited():
    from core.artifacts import Segment
    from engines.llm import script

    segments = [Segment(start=0.0, end=10.0, text="I'm Dana Whitfield and my guest is Maria Lopez.", speaker=1),
                Segment(start=10.0, end=20.0, text="Battery prices fell by forty percent since 2020.", speaker=2)]
    speaker_of = lambda segment: ["Dana Whitfield", "Maria Lopez"][segment.speaker - 1]
    verifier = Verifier(" ".join(s.text for s in segments), "en")
    credit = lambda sentence: script.credited(sentence, 0.0, segments, speaker_of, ["Dana Whitfield", "Maria Lopez"], verifier)
    assert credit("Battery prices fell a lot since 2020.") == "Maria Lopez says battery prices fell a lot since 2020."
    for kept in ("Maria explains why batteries got cheaper.", "In this episode, the hosts discuss batteries.", "Their advice is to compare warranties.", "Solar roofs are popular."):
        assert credit(kept) == kept, "says whose it is, is the episode's, or no line tells it"
    assert credit("Finally, she explains how battery prices fell.") == "Finally, she explains how battery prices fell.", "hers already"
    assert credit("Maria Lopez, the host of Field Notes, explains why battery prices fell.") == "Maria Lopez explains why battery prices fell.", (
        "the intro says who is who: here the model made the guest the host"
    )


def test_a_guest_the_summary_leaves_out_is_said_to_be_a_guest_not_listed_as_mentioned():
    """tech-weekly's summary ended "节目里还提到了David、DeepSeek和vLLM。": David is a guest, not something the episode
    mentions; the summary says who he is ("嘉宾" would read to the grounding check as a name the transcript lacks)."""
    from core.artifacts import Segment
    from engines.llm import script

    lines = ["大家好，欢迎收听。", "今天的嘉宾是 David。", "开源模型里 DeepSeek 进步很快。", "我们也会聊到 vLLM。"]
    segments = [Segment(start=i * 5.0, end=i * 5.0 + 4, text=t, speaker=1) for i, t in enumerate(lines)]
    verifier = Verifier("".join(lines), "zh", ["David", "DeepSeek", "vLLM"])
    listed = script.naming(["David", "DeepSeek", "vLLM"], segments, verifier, [], lambda segment: None, voices=1, people={"David": "guest"})
    assert listed[0] == "David是这期节目的来宾。" and not any("还提到了David" in t for t in listed) and "vLLM" in listed[-1], listed
    english = Verifier("Welcome. My guest today is David. DeepSeek improves fast.", "en", ["David", "DeepSeek"])
    assert script.naming(["David"], segments[:1], english, [], lambda segment: None, voices=1, people={"David": "guest"}) == ["David is a guest on the episode."]
    assert any("David" in t for t in script.naming(["David", "DeepSeek", "vLLM"], segments, verifier, [], lambda segment: None, voices=1)), "not a speaker: listed"


def test_a_sentence_crediting_the_wrong_person_is_given_the_speaker_s_name():
    """tech-weekly, one voice reading it all: the model wrote "David提到，一张 H100 每秒能生成几千个token。", a line of
    Emily's ("Emily 则更关心成本。她说，…"). The lines before it give the turn to Emily; past the host's own words no one
    is known, and a sentence telling no line closely keeps its name. Diarized, the line's voice says whose it is."""
    from core.artifacts import Segment
    from engines.llm import script

    said = [
        "David 认为，真正的瓶颈不是模型，而是数据质量和评估。", "Emily 则更关心成本。她说，用 vLLM 部署一个 7B 的模型。一张 H100 每秒能生成几千个 token。",
        "接着我们聊到开源模型，Qwen 和 DeepSeek 的进步非常快。",
    ]
    segments = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=0) for i, t in enumerate(said)]
    verifier = Verifier("".join(said), "zh")
    credit = lambda sentence: script.credited(sentence, 0.0, segments, lambda s: None, ["David", "Emily"], verifier)
    assert credit("David提到，一张 H100 每秒能生成几千个 token。") == "Emily提到，一张 H100 每秒能生成几千个 token。"
    assert credit("Emily提到，真正的瓶颈是数据质量和评估。") == "David提到，真正的瓶颈是数据质量和评估。"
    assert credit("David认为，Qwen 和 DeepSeek 的进步非常快。") == "David认为，Qwen 和 DeepSeek 的进步非常快。", "the host's line: whose is not known"
    assert credit("Emily提到，模型的成本很重要。") == "Emily提到，模型的成本很重要。"
    assert credit("一张 H100 每秒能生成几千个 token。") == "Emily提到，一张 H100 每秒能生成几千个 token。", "a claim in no one's name: Emily's turn"
    pair = [*said[:2], "David和Emily都认为，开源模型的进步非常快。"]
    segments_pair = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=0) for i, t in enumerate(pair)]
    fast = "Emily认为，开源模型的进步非常快。"
    assert script.credited(fast, 0.0, segments_pair, lambda s: None, ["David", "Emily"], Verifier("".join(pair), "zh")) == fast, "both said it"
    tesla = ["说到技术路线，王磊认为磷酸铁锂电池会继续占据主流。", "我问他，特斯拉的4680电池怎么样。", "他说呢，是一个很好的工程尝试，但是良率一直是个问题。"]
    segments_tesla = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=0) for i, t in enumerate(tesla)]
    yield_ = "特斯拉的4680电池是很好的工程尝试，但是良率一直是个问题。"
    assert script.credited(yield_, 0.0, segments_tesla, lambda s: None, ["陈静", "王磊"], Verifier("".join(tesla), "zh")) == "王磊提到，" + yield_, (
        "the answer to the host's question to him is his"
    )
    both = [*said, "最后，两位嘉宾都推荐了自己最近在读的论文。一篇是 Google DeepMind 的 Gemini 技术报告。"]
    segments = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=0) for i, t in enumerate(both)]
    verifier = Verifier("".join(both), "zh")
    gemini = "Google DeepMind 的 Gemini 技术报告值得一读。"
    assert script.credited(gemini, 0.0, segments, lambda s: None, ["David", "Emily"], verifier) == gemini, "after a line about both guests: no one's"

    lines = [("Maria Lopez", "Battery prices fell by forty percent since 2020."), ("Dana Whitfield", "Installers now wait months for the grid connection.")]
    english = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=i) for i, (_, t) in enumerate(lines)]
    verifier = Verifier(" ".join(t for _, t in lines), "en")
    credit = lambda sentence: script.credited(sentence, 0.0, english, lambda s: lines[s.speaker][0], ["Dana Whitfield", "Maria Lopez"], verifier)
    assert credit("Dana Whitfield says battery prices fell by forty percent since 2020.") == "Maria Lopez says battery prices fell by forty percent since 2020."
    assert credit("Maria Lopez says installers now wait months for the grid connection.") == "Dana Whitfield says installers now wait months for the grid connection."
    asked = [("Dana Whitfield", "So Maria, you said battery prices fell by forty percent since 2020?"), ("Maria Lopez", "Yes, and they keep falling.")]
    segments_asked = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=i) for i, (_, t) in enumerate(asked)]
    fell = "Maria Lopez says battery prices fell by forty percent since 2020."
    assert script.credited(fell, 0.0, segments_asked, lambda s: asked[s.speaker][0], ["Dana Whitfield", "Maria Lopez"], Verifier(" ".join(t for _, t in asked), "en")) == fell, (
        "the host's question about her claim is not the host's claim"
    )


def test_an_answer_that_is_the_prompt_s_example_is_drawn_again(server, tmp_path):
    """going-global (the Chinese set): the restate prompt's example of rewording came back as the answer,
    "节目中提到，公司去年的收入翻了一番。", for a line about factories in Hungary, and in tech-weekly with a name put in
    ("节目中提到，Databricks去年的收入翻了一番。"); it is never told, and the line is asked once more."""
    from engines.llm.chat import RESTATE_EXAMPLE, RESTATE_EXAMPLE_CLAIM

    echo = "节目中提到，宁德时代去年的收入翻了一番。"
    good = "王磊提到，电池续航已经达到六百公里。"
    chat = ChatServer(server, {"Notes": [CHINESE_NOTES], "Digest": [CHINESE_DIGEST], "Restated": [_sentence(echo), _sentence(good)]})
    transcript = write_transcript(tmp_path, CHINESE, "zh")
    settings = remote(server, target_seconds=60)
    S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="电池", show="科技早知道", glossary=["王磊", "宁德时代"])
    result = json.loads((tmp_path / "summary.json").read_text())
    restated = [c for c in chat.calls if c["response_format"]["json_schema"]["name"] == "Restated"]
    assert [c["seed"] for c in restated[:2]] == [0, 100], "the same line drawn again with another seed"
    assert RESTATE_EXAMPLE[0] in chat.prompts("Restated")[0], "the example is shown"
    told = result["script"] + result["summary"]
    assert RESTATE_EXAMPLE_CLAIM not in told and good.removeprefix("王磊提到，") in told, told


def test_a_digest_in_the_wrong_language_is_sent_back_then_built_from_the_transcript(server, tmp_path):
    english = {**DIGEST, "chapters": CHINESE_DIGEST["chapters"], "script": "In this episode Wang Lei talks about batteries getting forty percent cheaper."}
    chat = ChatServer(server, {"Notes": [{**CHINESE_NOTES, "points": []}], "Digest": [english]})  # no key point to speak instead
    result = run(remote(server), tmp_path, CHINESE, "zh")
    assert "必须用简体中文" in chat.prompts("Digest")[-1], "the reason goes back to the model, in Chinese"
    assert {"title", "summary", "highlights", "script"} <= set(result["extractive_fields"])
    assert {p["gate"] for p in result["gates"] if p["field"] == "script"} >= {"language"}
    for field in ("summary", "script"):
        assert re.search(r"[\u4e00-\u9fff]{6}", result[field]) and not re.search(r"[A-Za-z]{3}", result[field]), result[field]
    assert result["title"] == "Batteries", "the episode's own title, not the model's English one"
    markdown = (tmp_path / "summary.md").read_text()
    assert "Built from the transcript (extractive)" in markdown


def test_duplicate_chapter_titles_are_rebuilt_from_each_part(server, tmp_path):
    same = {**CHINESE_DIGEST, "chapters": [{"start": "00:00", "title": "电池"}, {"start": "00:55", "title": "电池"}, {"start": "01:30", "title": "电池"}]}
    ChatServer(server, {"Notes": [CHINESE_NOTES], "Digest": [same]})
    result = run(remote(server), tmp_path, stretched(CHINESE, 6), "zh")  # 565 s: three sections
    titles = [c["title"] for c in result["chapters"]]
    assert [c["start"] for c in result["chapters"]] == [0, 150, 330], "a chapter at each section's start"
    assert result["extractive_fields"] == ["chapters"] and len(set(titles)) == len(titles) == 3, titles
    assert all(t and t in "".join(text for text, _ in CHINESE) or len(t) <= 30 for t in titles)


def test_crowded_chapters_are_told_apart_from_spread_ones():
    assert gates.crowded([0, 32, 35, 37, 44, 51], 143), "make sample's: five chapters in 20 s, none in the second half"
    assert gates.crowded([0, 30], 200), "the second half left out"
    assert not gates.crowded([0, 65, 190], 215) and not gates.crowded([0], 215) and not gates.crowded([0, 300, 900, 2400, 3000], 3600)


def test_chapters_crowded_at_the_start_are_spread_over_the_episode(server, tmp_path):
    bunched = [{"start": "00:30", "title": "Prices"}, {"start": "00:33", "title": "The market"}, {"start": "00:35", "title": "Installs"}, {"start": "00:40", "title": "Approvals"}]
    ChatServer(server, {"Notes": [NOTES], "Digest": [{**DIGEST, "chapters": bunched}]})
    result = run(remote(server), tmp_path, stretched(ENGLISH, 3))  # 595 s: three sections
    assert result["extractive_fields"] == ["chapters"]
    assert {"field": "chapters", "gate": "chapters", "values": {"kind": "crowded"}} in result["gates"]
    assert [c["start"] for c in result["chapters"]] == [0, 195, 450], "a chapter at each section's start"
    titles = [c["title"] for c in result["chapters"]]
    assert len(set(titles)) == 3 and all(t.rstrip("…") in " ".join(text for text, _ in ENGLISH) or t == "Batteries" for t in titles), titles  # the first: the episode title, where its opening is the host welcoming
    assert "Built from the transcript (extractive)" in (tmp_path / "summary.md").read_text()


def test_a_central_name_the_model_keeps_leaving_out_is_told_in_reported_speech(server, tmp_path):
    nameless = {**CHINESE_DIGEST, "summary": "他认为电池成本三年下降了百分之四十，快充是下一个竞争重点。", "script": CHINESE_DIGEST["script"].replace("王磊", "他")}
    unnamed = _sentence("节目中提到，电池成本三年降了百分之四十，续航也到了六百公里。")  # the figures told without the name: naming is still to do
    chat = ChatServer(server, {"Notes": [CHINESE_NOTES], "Digest": [nameless], "Restated": [unnamed]})
    transcript = write_transcript(tmp_path, CHINESE, "zh")
    settings = remote(server, target_seconds=15)
    S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="电池", show="科技早知道", glossary=["王磊", "宁德时代"])
    result = json.loads((tmp_path / "summary.json").read_text())
    assert "王磊" in chat.prompts("Digest")[-1], "sent back once, naming the name"
    assert result["quoted_for_names"] == ["王磊"], "宁德时代 is said once: not central, not forced in"
    added = result["summary"].removeprefix(nameless["summary"])
    assert result["summary"].startswith(nameless["summary"]) and "王磊" in added, result["summary"]
    assert Verifier(json.loads(transcript.read_text())["text"], "zh").broken(added) == [], "third person, no copy, not the host's '今天我们请到了王磊'"
    assert [(b["source"], b["text"]) for b in result["beats"] if "王磊" in b["text"]][1:-1] == [("model", "王磊提到，宁德时代和比亚迪都在投入快充。")], (
        "the intro, the outro, and a claim in no one's name credited: the line it tells goes on in 王磊's turn (他认为…)"
    )
    assert "in reported speech" in (tmp_path / "summary.md").read_text()


def test_an_item_the_model_puts_in_every_field_is_listed_and_never_spoken(server, tmp_path):
    """Every field of every answer carries an invented name and number: they are listed in summary.md, and the narration says neither."""
    poisoned = {
        "title": "Elon Musk On 99 Batteries",
        "summary": "Maria Lopez and Elon Musk say 99 homes use Solar Grid batteries.",
        "highlights": ["Elon Musk backs home batteries.", "99 utilities approve systems.", "Battery prices fell by 40% since 2020."],
        "chapters": [{"start": "00:00", "title": "Elon Musk"}, {"start": "01:05", "title": "99 Systems"}, {"start": "03:10", "title": "Advice"}],
        "script": "Elon Musk joins Maria Lopez on Tech Weekly. They count 99 systems in Texas. Maria Lopez says battery prices fell by 40% since 2020.",
    }
    ChatServer(server, {"Notes": [{**NOTES, "people": ["Maria Lopez", "Elon Musk"]}], "Digest": [poisoned]})  # the revision is poisoned too
    result = run(remote(server, target_seconds=12), tmp_path)
    assert {"Elon Musk", "99"} <= set(result["ungrounded"]), result["ungrounded"]
    assert gates.spoken_unverified(result["script"], result["ungrounded"], " ".join(t for t, _ in ENGLISH)) == []
    spoken = _spoken(tmp_path)
    assert "Musk" not in spoken and "99" not in spoken and "ninety" not in spoken.lower(), spoken
    assert "Elon Musk" in (tmp_path / "summary.md").read_text(), "listed for the reader, never narrated"


@pytest.mark.parametrize(("text", "item", "said"), [
    ("Sales rose in 2025.", "5", False),
    ("Sales rose 5 times.", "5", True),
    ("They sold five units.", "5", True),
    ("OpenAI ships a model.", "AI", False),
    ("Generative AI ships.", "AI", True),
    ("他们在 Google Brain研究员的带领下", "Google Brain", True),
    ("谷歌大脑的研究", "谷歌", True),
    ("Tesla's batteries", "Tesla", True),
])
def test_an_item_is_said_only_as_whole_words_or_by_value(text, item, said):
    from engines.llm import grounding

    assert grounding.mentions(text, item) is said


@pytest.mark.slow
def test_engines_of_one_shape_share_one_server_until_the_last_closes(embedded_llm):
    import httpx

    from engines.llm import base

    settings = Settings()
    other = S.make_engine("embedded", settings.summarize, settings.context)
    other.client()
    assert other.endpoint == embedded_llm.endpoint, "the model loads once"
    other.close()
    models = httpx.get(f"{embedded_llm.endpoint}/models", headers={"Authorization": f"Bearer {embedded_llm._key}"})
    assert models.status_code == 200, "still serving the engine that remains open"
    text = " ".join(t for t, _ in ENGLISH)
    assert 0.6 < embedded_llm.tokens(text) / base.estimate_tokens(text) < 1.2, "the reading budget counts the model's own tokens"


# --- the presenter's script: the verifier, resampling, reported speech, beats (issue 25) ------------------------------

ENGLISH_TEXT = " ".join(t for t, _ in ENGLISH)
CHINESE_TEXT = "".join(t for t, _ in CHINESE)


@pytest.mark.parametrize(("rule", "language", "bad", "good"), [
    ("language", "en", "Maria Lopez 认为电池价格下降了很多，这改变了整个市场。", "Maria Lopez thinks falling battery prices changed the whole market."),
    ("language", "zh", "Wang Lei thinks fast charging is the next big race.", "王磊认为快充是下一个竞争重点。"),
    ("ungrounded", "en", "Maria Lopez says Tesla sold batteries in Nevada.", "Maria Lopez says Solar Grid sold batteries in Texas."),
    ("ungrounded", "zh", "王磊说电池成本下降了百分之七十。", "王磊说电池成本下降了百分之四十。"),
    # a number counting what the episode never counted with it: edge-cases' "…than a model with 7 billion tokens per second"
    ("ungrounded", "en", "Maria Lopez says Solar Grid installed twelve thousand batteries last year.", "Maria Lopez says Solar Grid installed 12,000 systems last year."),
    ("first_person", "en", "I think Maria Lopez explains the market well.", "Maria Lopez explains how the battery market changed."),
    ("first_person", "zh", "我觉得王磊把快充讲得很清楚。", "王磊把快充的竞争讲得很清楚。"),
    ("host_voice", "en", "Today we talk with Maria Lopez about home batteries.", "Maria Lopez talks about home batteries and their prices."),
    ("host_voice", "en", "I'm your host, and Maria Lopez joins the show.", "Maria Lopez of Solar Grid joins the show."),
    ("host_voice", "zh", "我们请到了王磊来聊电动汽车的电池。", "王磊来聊了电动汽车的电池和快充。"),
    ("host_voice", "zh", "欢迎收听这期关于电池的节目。", "这期节目讲电池，电动车很受欢迎。"),
    ("copied", "en", "Solar Grid installed twelve thousand systems last year, mostly in Arizona and Texas.", "Solar Grid put in twelve thousand systems last year."),
    ("copied", "zh", "王磊说过去三年电池成本下降了百分之四十，续航提升到了六百公里。", "王磊说电池成本下降，续航到了六百公里。"),
    # a transcript sentence whole, short as it is, with no one named as saying it: tech-weekly's "最后，两位嘉宾都推荐了自己最近在读的论文。"
    ("unattributed", "zh", "快充技术是下一个竞争重点。", "王磊认为快充技术是下一个竞争重点。"),
    ("unattributed", "en", "The main problem now is grid connection.", "Maria Lopez says the main problem now is grid connection."),
    ("list", "en", "Maria Lopez, Solar Grid, Arizona, Texas, batteries, warranties.", "Maria Lopez compares the work of Solar Grid in Arizona and Texas."),
    ("list", "zh", "王磊、宁德时代、比亚迪、电池、快充。", "王磊说宁德时代和比亚迪都在投入快充。"),
    ("list", "en", "Solar Grid, Maria Lopez, and Arizona are the main names of the episode.", "Maria Lopez says Solar Grid works in Arizona."),
    ("fragment", "en", "Maria Lopez: prices fell a lot since 2020.", "Maria Lopez says prices fell a lot since 2020."),
    ("fragment", "en", "Maria Lopez explains why battery prices fell and", "Maria Lopez explains why battery prices fell."),
    ("fragment", "en", "Maria Lopez explains that the grid connection in Arizona.", "Maria Lopez explains that the utility approves connections in six months."),
    ("fragment", "en", "Maria Lopez introduces home batteries, explains that prices fell a lot since 2020.", "Maria Lopez, an engineer at Solar Grid, explains that prices fell a lot since 2020."),  # the sample's run-on
    ("fragment", "en", "Maria Lopez notes that about six months, with the new federal rules, they approve a system.",  # build-notes: an answer glued on
     "Maria Lopez notes that in about six months, utilities approve a system."),
    ("fragment", "en", "Maria Lopez gave the passage, and prices fell a lot since 2020.", "Maria Lopez says that prices fell a lot since 2020."),  # the prompt's word
    ("fragment", "en", "The episode concludes with a summary of the key points and a call to action.", "Maria Lopez ends with advice on comparing warranties."),  # data-stack
    ("fragment", "en", "Maria Lopez says the presenter highlights the cost of home batteries.", "Maria Lopez highlights the cost of home batteries."),  # edge-cases
    ("fragment", "en", "Yes, battery prices fell a lot since 2020.", "No battery price fell as fast as the cells did."),  # an answer: the sample's highlight "Yes, phones use…"
    ("fragment", "zh", "对，电池成本下降了百分之四十。", "对于王磊来说，电池成本下降了百分之四十。"),
    ("fragment", "zh", "节目中谈到，这比价格更重要。", "节目中谈到，电池质保比价格更重要。"),  # beyond-code's "节目中谈到，这比出新论文更有用。": what "this" is, unsaid
    ("fragment", "zh", "王磊还说，但是快充技术是下一个竞争重点。", "王磊还说，快充技术是下一个竞争重点。"),  # tech-weekly: "Emily还说，但是Ladency…"
    ("fragment", "en", "Maria Lopez says that but approvals take six months.", "Maria Lopez says so many homes wait for approval for up to six months."),
    ("fragment", "zh", "王磊指出，过去三年。", "王磊指出，过去三年电池成本下降了百分之四十。"),  # beyond-code: "张伟指出，过去一年。"
    ("fragment", "zh", "王磊说宁德时代的电池，也就是快充电池。", "王磊说宁德时代的电池，也就是快充电池，成本下降了。"),  # going-global: "王磊说磷酸铁里电池，也就是LFP。"
    ("fragment", "zh", "王磊谈到，宁德时代的电池，也就是快充电池。", "王磊谈到，宁德时代的电池，也就是快充电池，成本下降了。"),
    ("fragment", "zh", "说到快充，王磊认为宁德时代的电池。", "说到快充，王磊认为宁德时代还要三年。"),  # a clause verb mid-sentence
    ("fragment", "zh", "本节介绍了王磊对快充的看法。", "节目介绍了王磊对快充的看法。"),  # tech-weekly's summary: the prompt's section, which no listener heard of
    ("fragment", "zh", "这比电池成本下降更重要。", "王磊认为快充比电池成本下降更重要。"),  # beyond-code: "这比出新论文更有用。"
    ("fragment", "zh", "王磊提到，宁德时代的电池测试。", "王磊提到，宁德时代测试了三款电池。"),  # 测试 tagged a verbal noun: with 了, the verb
    ("fragment", "zh", "王磊提到电池成本下降了之后。", "王磊提到电池成本下降之后，宁德时代在投入快充。"),  # tech-weekly: "嘉宾提到Opener i开源 Whisper之后。"
    ("length", "en", "Prices fell.", "Maria Lopez says battery prices fell since 2020."),
    ("length", "zh", "电池便宜了。", "王磊认为电池在三年里便宜了很多。"),
    ("question", "en", "Why did battery prices fall so much since 2020?", "Maria Lopez explains why battery prices fell since 2020."),
    ("question", "zh", "电池成本为什么下降了这么多？", "王磊解释了电池成本下降的原因。"),
])
def test_each_verifier_rule_has_a_failing_and_a_passing_sentence(rule, language, bad, good):
    verifier = Verifier(ENGLISH_TEXT if language == "en" else CHINESE_TEXT, language)
    assert rule in verifier.broken(bad), (rule, verifier.broken(bad))
    assert verifier.broken(good) == [], (good, verifier.broken(good))


@pytest.mark.parametrize(("language", "bad", "good"), [
    ("zh", "月之暗面是Kimi的用户之一。", "张伟是月之暗面的工程师。"),  # beyond-code: the model's guess at how two names go together
    ("zh", "节目中提到，月之暗面是张伟的合作伙伴。", "节目中提到，张伟负责Kimi的推理服务。"),
    ("en", "Raj Patel is the founder of Solar Grid.", "Raj Patel is a staff engineer at Stripe."),
    ("en", "Stripe is a customer of Solar Grid.", "Maria Lopez is from Solar Grid."),
])
def test_the_relation_rule_speaks_only_a_relation_between_two_names_that_was_heard(language, bad, good):
    """The small model joins two show-notes names with a relation nobody said ("月之暗面是Kimi的用户之一。"): refused,
    while a relation one transcript sentence holds, with its words (工程师, staff engineer), passes."""
    if language == "zh":
        transcript, names = "大家好，这里是代码之外，我是主播林晓。今天的嘉宾是月之暗面的工程师张伟，他负责 Kimi的推理服务。", ["代码之外", "林晓", "张伟", "月之暗面", "Kimi"]
    else:
        transcript, names = "I'm Raj Patel, a staff engineer at Stripe. Maria Lopez from Solar Grid joins us today.", ["Raj Patel", "Stripe", "Maria Lopez", "Solar Grid"]
    verifier = Verifier(transcript, language, names)
    assert verifier.broken(bad) == ["relation"], verifier.broken(bad)
    assert verifier.broken(good) == [], verifier.broken(good)


def test_the_repeat_rule_compares_with_what_was_said_before():
    verifier = Verifier(ENGLISH_TEXT, "en")
    said = "Maria Lopez explains why battery prices fell since 2020."
    assert verifier.broken(said, earlier=[said]) == ["repeat"] and verifier.broken(said, earlier=["Solar Grid works in Texas and Arizona."]) == []
    intro, more = "Maria Lopez is from Solar Grid.", "Maria Lopez from Solar Grid explains why battery prices fell since 2020."
    assert verifier.broken(more, earlier=[intro]) == [] and verifier.broken(intro, earlier=[more]) == ["repeat"], "a sentence that goes on from a short one says more"
    chinese = Verifier("王磊说，用 VLLM 部署一个 7B 的模型。" + CHINESE_TEXT, "zh")
    assert "repeat" in chinese.broken("王磊提到，用 VLLM 部署一个 7B 的模型。", earlier=["节目中谈到，用 VLLM 部署一个 7B 的模型。"]), "one claim under two names"


def test_a_misheard_common_word_may_be_corrected_but_a_name_follows_the_transcript():
    """Whisper base hears 技术演进 as 技术眼镜 and 月活 as 月火: the model may write the word meant; a name it changes is ungrounded."""
    verifier = Verifier("张伟说，这几年的技术眼镜很快，月火用户翻了一倍。他的公司在杭州。", "zh")
    assert verifier.broken("张伟认为这几年技术演进很快，月活用户翻了一倍。") == []
    assert "ungrounded" in verifier.broken("张薇认为这几年技术演进很快，月活用户翻了一倍。"), "张薇 sounds like 张伟 but is not who spoke"
    abroad = Verifier("王磊说，比亚迪则选择在匈牙里和泰国建厂。", "zh")
    assert abroad.broken("王磊提到，比亚迪选择在匈牙利和泰国建厂。") == [], "a place every dictionary holds, with the sounds Whisper heard"
    assert "ungrounded" in abroad.broken("王磊提到，比亚迪选择在法国和泰国建厂。")
    battery = Verifier("王磊认为磷酸铁里电池会继续占据主流。", "zh")
    assert battery.broken("王磊认为磷酸铁锂电池仍是主流。") == [], "one of today's terms (assets/zh/terms.txt), with the sounds Whisper heard"
    assert "ungrounded" in battery.broken("王磊认为三元锂电池仍是主流。")


def test_figures_whisper_misheard_are_put_right_in_the_transcript_before_a_line_is_told_from_it():
    """tech-weekly's "速度比原版快适到物备" (四到五倍): put right in the transcript where the model clearly reads a
    numeral, a sentence told from the line may say 四到五倍 (the verifier grounds it there, and so does the rubric with
    summary.json's figures_heard); put right only in the digest, 4 and 5 would be figures the episode never says."""
    from core.artifacts import Segment, Transcript
    from evaluation import rubric

    heard = "David说，很多团队用faster-whisper在CPU上做转写，速度比原版快适到物备。"
    transcript = Transcript(language="zh", text="大家好，欢迎收听。 " + heard, segments=[Segment(0.0, 5.0, "大家好，欢迎收听。"), Segment(5.0, 12.0, heard)])
    likely = {"速度比原版快": {"4": 0.05, "2": 0.2}, "速度比原版快四到": {"五": 0.6}, "速度比原版快四到五": {"倍": 0.5}}
    reader = lambda prefix: next((p for end, p in likely.items() if prefix.endswith(end)), {"的": 0.5})
    fixed, made = S._figures_heard_right(transcript, reader, ["David"])
    said = "David说，很多团队用faster-whisper在CPU上做转写，速度比原版快四到五倍。"
    assert fixed.segments[1].text == said and fixed.segments[0] == transcript.segments[0] and fixed.text == "大家好，欢迎收听。 " + said
    assert [(c.heard, c.said) for c in made] == [("适", "四"), ("物", "五"), ("备", "倍")] and made[-1].sentence == said
    told = "David提到，很多团队用faster-whisper在CPU上转写，速度比原版快四到五倍。"
    assert Verifier(fixed.text, "zh").broken(told) == [] and "ungrounded" in Verifier(transcript.text, "zh").broken(told)
    summary = {
        "language": "zh", "title": "语音识别", "summary": told, "highlights": [], "chapters": [{"start": 0.0, "title": "语音识别"}],
        "script": "在这一期《Tech Weekly》里，David聊了语音识别。" + told,
        "beats": [{"text": "在这一期《Tech Weekly》里，David聊了语音识别。", "source": "intro"}, {"text": told, "source": "model"}],
        "figures_heard": [c.to_dict() for c in made],
    }
    assert [f for f in rubric.check(summary, transcript.text) if f[1] == "ungrounded"] == []
    assert gates.spoken_unverified(told, [], rubric.as_read(summary, transcript.text)) == [], "the evaluation's own rule reads it so too"
    assert gates.spoken_unverified(told, [], transcript.text) == ["4", "5"]
    assert [f[0] for f in rubric.check({**summary, "figures_heard": []}, transcript.text) if f[1] == "ungrounded"] == ["script", "summary"]
    assert S._figures_heard_right(transcript, lambda prefix: {"2": 0.2}, ["David"]) == (transcript, []), "not clearly read: as heard"
    # a helper's review: the text was patched where the same words first stood, an earlier segment's
    first, again = "我们觉得速度比原版快适到物备。", "速度比原版快适到物备。"
    same = Transcript(language="zh", text=f"{first} {again}", segments=[Segment(0.0, 5.0, first), Segment(5.0, 12.0, again)])
    unsure_of_ours = lambda prefix: {"的": 0.5} if "我们" in prefix else reader(prefix)  # the model reads 四 in the second only
    fixed, made = S._figures_heard_right(same, unsure_of_ours, ["David"])
    assert fixed.segments[0].text == first and fixed.text == f"{first} 速度比原版快四到五倍。", fixed.text


def test_the_digest_s_misheard_words_are_read_in_their_clause_after_what_the_episode_is():
    """tech-weekly's script said "真正的苹仅不是模型" (瓶颈): the stage reads each clause after "《show》：title", and what it
    learned in the script it puts right in the summary and the highlights too, each change listed once."""
    from core.artifacts import Chapter, Written

    heard = "David 认为，真正的苹仅不是模型，而是数据质量和 evaluation。"
    transcript = "大家好，欢迎收听 Tech Weekly。David 认为，真正的苹仅不是模型，而是数据质量和 evaluation。"
    beats = [script.Beat("在这一期《Tech Weekly》里，David聊了语音识别。", None, 0.0, 9.0, None, "intro"), script.Beat(heard, 0, 0.0, 9.0, "David", "model")]
    fields = Written(title="语音识别", summary=heard, highlights=[heard], chapters=[Chapter(start=0.0, title="语音识别")], script="")
    asked: list[str] = []

    def likelihood(prefix: str, text: str) -> tuple[float, bool] | None:
        asked.append(prefix)
        return {"瓶颈不是模型": (-13.9, False), "苹仅不是模型": (-32.8, True)}.get(text, (-40.0, False))

    beats, fields, changes = S._heard_right(beats, fields, lambda prefix: {"的": 0.5}, Verifier(transcript, "zh"), ["David"], likelihood, "Tech Weekly", "语音识别与大模型")
    said = "David 认为，真正的瓶颈不是模型，而是数据质量和 evaluation。"
    assert beats[1].text == fields.summary == fields.highlights[0] == said and fields.script.endswith(said)
    assert changes == [{"heard": "苹仅", "said": "瓶颈", "sentence": said}]
    assert asked and all(prefix.startswith("《Tech Weekly》：语音识别与大模型\n") for prefix in asked), asked


def _sentence(text: str) -> dict:
    return {"sentence": text}


def test_a_failing_sentence_is_sampled_again_until_it_passes(server, tmp_path):
    """The model's script sentence copies the transcript; the sentence asked again answers badly N-1 times, then well."""
    copying = {**DIGEST, "script": "Maria says battery prices fell by forty percent since 2020, which changed the market."}
    good = "Maria Lopez says that cheaper batteries since 2020 changed the whole market."
    bad = [_sentence("We talk with Maria Lopez about batteries."), _sentence("Why did prices fall?")]
    chat = ChatServer(server, {"Notes": [POINTLESS], "Digest": [copying], "Sentence": [*bad, _sentence(good)]})
    result = run(remote(server, resample=3), tmp_path)
    sentences = [c for c in chat.calls if c["response_format"]["json_schema"]["name"] == "Sentence"]
    assert len(sentences) == 3, "N = 3 attempts: two bad answers, then a good one"
    assert [(c["seed"], c["temperature"]) for c in sentences] == [(1, 0.7), (2, 0.8), (3, 0.9)], "another seed, hotter, each time"
    assert "copied" in sentences[0]["messages"][-1]["content"] and "host_voice" in sentences[1]["messages"][-1]["content"], "told what the last one broke"
    assert result["script"] == INTRO + " " + good + " " + OUTRO
    assert [b["source"] for b in result["beats"]] == ["intro", "resampled", "outro"]
    assert [(r["source"], r["rules"]) for r in result["rejected"]] == [("model", ["copied"]), ("resampled", ["host_voice"]), ("resampled", ["length", "question"])]


def test_a_script_short_of_its_target_has_the_model_tell_the_lines_that_carry_a_number(server, tmp_path):
    """The English evaluation set's scripts were three sentences for a 90-word target and missed most numbers a listener
    must hear: first the map notes' key points (written already, no further reading), then the lines with a number not
    said yet, each shown to the model with the lines before it and told in one verified sentence; an answer that fails
    is asked once more with another seed and what broke."""
    copying = "Maria Lopez says Solar Grid installed twelve thousand systems last year, mostly in Arizona and Texas, and the main problem now is grid connection."
    more = "Maria Lopez says that Solar Grid put in twelve thousand systems last year."
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST], "Restated": [_sentence(copying), _sentence(more), _sentence(more)]})
    result = run(remote(server, target_seconds=60), tmp_path)
    asked = chat.prompts("Restated")
    assert "Solar Grid installed twelve thousand systems last year" in asked[0] and "keeping twelve thousand" in asked[0], asked[0]
    assert asked[0].index("Maria says battery prices fell") < asked[0].index("Solar Grid installed"), "the line before it, for context"
    assert "Not like this, which breaks the rules: " + copying + " (copied)" in asked[1]
    restated = [c for c in chat.calls if c["response_format"]["json_schema"]["name"] == "Restated"]
    assert [c["seed"] for c in restated[:2]] == [0, 1], "asked again with another seed"
    assert all(len(c["messages"][-1]["content"]) < 1200 for c in restated), "a short prompt: the line and the two before it, not the section"
    assert [b["source"] for b in result["beats"]][:3] == ["intro", "model", "model"] and more in [b["text"] for b in result["beats"]]
    assert any(r["source"] == "restated" and "copied" in r["rules"] for r in result["rejected"]), result["rejected"]
    from engines.llm.verify import novelty

    said = ["Maria Lopez explains the benefits of home batteries, their ability to store energy and their role in backup systems."]
    again = "Maria Lopez explains that home batteries store energy and play a role in backup systems."  # the sample's second "point"
    assert novelty(again, said) < 0.4 <= novelty("Maria Lopez adds that Solar Grid installed twelve thousand systems in Texas.", said)


@pytest.mark.parametrize(("budget", "asked"), [({"write_budget": 360}, 2), ({"read_budget": 0.05}, 0), ({}, 6)])
def test_the_sentences_asked_after_the_digest_stay_within_the_episode_s_budget(server, tmp_path, budget, asked):
    """Issue 25's speed: a 60-minute episode's further sentences read the transcript again and write more; past the
    reading (``read_budget`` times the transcript's tokens) or writing budget (``write_budget``) none is asked, and the
    digest says so in its usage. This server counts 100 prompt and 50 written tokens a call: the map, the digest and its
    revision (its script is under half the target) write 150, and each further call counts its longest reply (160), so
    360 leaves room for two."""
    more = "Maria Lopez says that Solar Grid put in twelve thousand systems last year."
    chat = ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST], "Restated": [_sentence(more)]})
    result = run(remote(server, target_seconds=60, **budget), tmp_path)
    further = [c for c in chat.calls if c["response_format"]["json_schema"]["name"] not in ("Notes", "Digest")]
    assert len(further) == asked, [c["response_format"]["json_schema"]["name"] for c in further]
    assert (result["usage"]["declined"] > 0) == bool(budget)
    if "write_budget" in budget:
        assert result["usage"]["completion_tokens"] <= budget["write_budget"]
    assert result["beats"][0]["source"] == "intro" and result["beats"][-1]["source"] == "outro", "a short script, still whole"


def test_the_written_summary_tells_the_figures_the_script_had_no_room_for(server, tmp_path):
    """A reader gets what a short script leaves out: lines with a number nothing says yet, each told by the model and
    verified; an answer that drops the line's number is asked again, told which to keep."""
    dropped = "Maria Lopez says that Solar Grid installed many systems last year."
    kept = "Maria Lopez says that Solar Grid put in twelve thousand systems last year."
    digest = {**DIGEST, "highlights": ["Battery prices fell by 40% since 2020.", "Approvals take up to 6 months.", "Warranties matter as much as prices."]}
    chat = ChatServer(server, {"Notes": [POINTLESS], "Digest": [digest], "Restated": [_sentence(dropped), _sentence(kept)]})
    result = run(remote(server), tmp_path)
    assert kept in split_sentences(result["summary"]) and kept not in result["script"], "in the summary, not spoken"
    assert "Not like this, which breaks the rules: " + dropped + " (figures: keep twelve thousand)" in chat.prompts("Restated")[1]
    assert ("restated", ["figures"]) in [(r["source"], r["rules"]) for r in result["rejected"]]
    assert split_sentences(result["summary"]).count(kept) == 1, "a line told once"


@pytest.mark.parametrize(
    ("language", "line", "told"),
    [
        ("zh", "张伟说，过去一年，Kimi的月活用户已经超过一千万，高峰时每秒要处理三万个请求。", "张伟提到，过去一年，Kimi的月活用户已经超过一千万。"),
        ("zh", "张伟说，高端显卡很难买到，所以他们测试了三个国产芯片。", "张伟提到，他们测试了三个国产芯片。"),  # 他们: his team, he is named
        ("en", "The on-call rotation grew to forty engineers across three time zones, and the pager volume doubled in a year.",
         "Raj Patel said that the on-call rotation grew to forty engineers across three time zones."),
        ("en", "When our on-call rotation grew to forty engineers across three time zones, the pager volume doubled.", ""),
    ],
)
def test_a_figure_the_model_only_copies_is_told_in_reported_speech(language, line, told):
    """beyond-code (the Chinese set): the small model restated "…月活用户已经超过一千万…" by copying it twice, and the
    written summary lost the figure. After the model's two tries, the line is told in reported speech, from a run of its
    clauses short enough not to copy and keeping the figure (never a quote; never the speaker's "our" as the presenter's)."""
    from core.artifacts import Segment
    from engines.llm import script

    speaker = "张伟" if language == "zh" else "Raj Patel"
    segments = [Segment(start=0.0, end=20.0, text=line, speaker=1)]
    speaker_of = lambda segment: speaker
    verifier = Verifier(line if language == "zh" else f"Raj Patel joins the show. {line}", language)
    found = script.sections(segments, 20.0, speaker_of, chinese=language == "zh")
    copying = lambda lines, who, figures, attempt, avoid: lines[-1][1]  # the line itself, each time
    result = script.facts_told(found, verifier, speaker_of, copying, [], 1)
    assert len(result.rejected) == 2 and all("copied" in r["rules"] for r in result.rejected), "the model's two tries, not used"
    assert result.sentences == result.reported == ([told] if told else []), result
    good = {"zh": "张伟说，Kimi在高峰时每秒要处理三万个请求。" if "三万" in line else "张伟说，团队试了三个国产芯片。"}.get(language, "Raj Patel says the rotation now has forty engineers.")
    again = script.facts_told(found, verifier, speaker_of, lambda *_: good, [], 1)
    assert again.sentences == [good] and again.reported == [], "the model's sentence, where it passes"
    def never(*_):
        raise AssertionError("a line the script asked the model to tell is not asked again")

    by_script = script.facts_told(found, verifier, speaker_of, never, [], 1, asked=[line])
    assert by_script.sentences == by_script.reported == ([told] if told else []), "the script's failed line, reported"


def test_a_figure_the_model_copies_twice_reaches_the_summary_in_reported_speech_and_is_listed(server, tmp_path):
    """The stage's side of ``reported_line``: the model copies the line both times, so the summary tells it in reported
    speech, and summary.json and summary.md say which sentence was built so."""
    copying = "Solar Grid installed twelve thousand systems last year, mostly in Arizona and Texas."
    digest = {**DIGEST, "highlights": ["Battery prices fell by 40% since 2020.", "Approvals take up to 6 months.", "Warranties matter as much as prices."]}
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [digest], "Restated": [_sentence(copying)]})
    result = run(remote(server), tmp_path)
    told = [t for t in result["reported_in_summary"] if "Solar Grid installed twelve thousand systems last year" in t]
    assert told and told[0] in split_sentences(result["summary"]) and told[0] not in result["script"], result["summary"]
    assert told[0].endswith("said that Solar Grid installed twelve thousand systems last year."), "reported, the clause short enough not to copy"
    assert any(r["source"] == "restated" and "copied" in r["rules"] for r in result["rejected"]), result["rejected"]
    assert told[0] in (tmp_path / "summary.md").read_text(encoding="utf-8").split("## Quality checks")[1]


def test_a_figure_goes_to_the_summary_before_reported_sentences_fill_the_highlights(server, tmp_path):
    """Edge Cases: "Elena Rossi pointed out that a 7 billion model writes about 20 tokens per second." was taken as a
    highlight to fill three, so the summary (where a reader, and the key facts, look for figures) never told it. Highlights
    are filled after the summary's figures, with what they do not say."""
    copying = "Solar Grid installed twelve thousand systems last year, mostly in Arizona and Texas."
    digest = {**DIGEST, "highlights": ["Battery prices fell by 40% since 2020.", "Battery prices fell by 40% since 2020!", "Battery prices fell by 40% since 2020?"]}
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [digest], "Restated": [_sentence(copying)]})
    result = run(remote(server), tmp_path)
    told = [s for s in split_sentences(result["summary"]) if "twelve thousand systems" in s]
    assert told, result["summary"]
    # filled with what the summary does not say: two where the summary also tells a claim of a line whose figure it could
    # not ("the main problem now is grid connection")
    assert len(result["highlights"]) >= 2 and not any("twelve thousand" in h for h in result["highlights"]), result["highlights"]
    assert not set(result["highlights"]) & set(split_sentences(result["summary"])), result


def test_a_figure_only_a_highlight_told_goes_to_the_summary_and_the_highlight_makes_room(server, tmp_path):
    """going-global: "节目中提到，当时欧盟的电池法规对探租计的要求越来越延。" was a highlight, so the summary (what a reader
    reads first, and where key facts are looked for) never told the EU's rules. The summary tells it; the highlight
    saying the same makes room for another."""
    told = "Maria Lopez says that Solar Grid put in twelve thousand systems last year."
    highlights = [
        "Maria Lopez says Solar Grid put in twelve thousand systems last year.", "Maria Lopez advises comparing warranties as well as prices.",
        "Maria Lopez expects approvals to get faster in 2026.",
    ]
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [{**DIGEST, "highlights": highlights}], "Restated": [_sentence(told)]})
    result = run(remote(server), tmp_path)
    assert any("twelve thousand" in s for s in split_sentences(result["summary"])), result["summary"]
    assert len(result["highlights"]) == 3 and not any("twelve thousand" in h for h in result["highlights"]), result["highlights"]


def test_the_summary_tells_a_claim_that_has_no_figure_or_name_where_it_has_room(server, tmp_path):
    """going-global: "当时欧盟的电池法规对碳足迹的要求越来越严" has no figure and no name the show notes list, so the summary
    never told it; after the figures and the names, the other statements are told too (never one about the show)."""
    advice = "Maria Lopez advises comparing warranties as well as prices before buying."
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [DIGEST], "Restated": [_sentence(advice)]})
    result = run(remote(server), tmp_path)
    assert any("warranties" in s for s in split_sentences(result["summary"])), result["summary"]


def test_a_chinese_line_told_in_part_still_has_its_other_clause_told():
    """going-global: after "…营收，超过了EE欧远" (Whisper's 一亿欧元, no figure) was told, the same line's "当时欧盟的电池
    法规对探租计的要求越来越延" counted as said (65 % of its characters were, one by one); a clause of new character pairs
    is news."""
    from core.artifacts import Segment
    from engines.llm import script

    line = "他提到，去年有一家电池企业光是在欧洲的营收，就超过了EE欧远，当时欧盟的电池法规对探租计的要求越来越延。"
    said = [  # going-global's summary, as written
        "王磊提到，宁德时代在德国Earthurt的工厂投产，客户包括Bmw和Mercedes-Benz，去年有一家电池企业光是在欧洲的营收，超过了EE欧远。",
        "王磊还说，磷酸铁锂电池会继续占据主流，固态电池至少还要5年才能量查。", "特斯拉的4,680电池是一个很好的工程常识，但是量流一直是个问题。",
        "王磊指出，出海最难的是本地化的管理和供应链，而不是技术。",
    ]
    section = script.sections([Segment(start=0.0, end=20.0, text=line, speaker=1)], 20.0, lambda segment: None)[0]
    told = "节目中提到，欧盟的电池法规对探租计的要求越来越延。"
    transcript = "".join(said) + line
    result = script.facts_told([section], Verifier(transcript, "zh", ["王磊"]), lambda segment: None, lambda *_: told, said, 4)
    assert result.sentences == [told], result


def test_a_line_whose_figure_cannot_be_told_is_reported_by_its_other_clause():
    """going-global: the model copied "…营收，就超过了一亿欧远，当时欧盟的电池法规…" twice and no clause holding 一亿 is short
    enough to report, so nothing of the line was read; its other clause is a statement of its own."""
    from core.artifacts import Segment
    from engines.llm import script

    line = "王磊说，去年有一家电池企业光是在欧洲的营收，就超过了一亿欧远，当时欧盟的电池法规对探租计的要求越来越延。"
    section = script.sections([Segment(start=0.0, end=20.0, text=line, speaker=1)], 20.0, lambda segment: None)[0]
    verifier = Verifier(line, "zh", ["王磊"])
    result = script.facts_told([section], verifier, lambda segment: None, lambda *_: line, [], 4)
    assert result.sentences == result.reported == ["王磊提到，当时欧盟的电池法规对探租计的要求越来越延。"], result
    told = "王磊提到，去年欧洲一家电池企业的营收超过了一亿欧元。"
    assert script.facts_told([section], verifier, lambda segment: None, lambda *_: told, [], 1).sentences == [told], "the figure first"
    asked = script.facts_told([section], verifier, lambda segment: None, lambda *_: None, [], 4, asked=[line])
    assert asked.sentences == result.sentences, "the script asked the model for it already: reported the same way"


def test_what_else_a_told_line_says_follows_in_reported_speech():
    """beyond-code: the model told "所以他们也在测试华为的生疼芯片，但是 CUDA生态的千里成本很高。" by its CUDA clause, and that
    they test Huawei's chips was never read; going-global: the script told the LFP line by its 5 years, and that LFP stays
    mainstream was never read. What else a line says comes after the other lines, in reported speech, and stands next to
    the summary's sentence that told the rest of its line, in the line's order (Huawei's chips first)."""
    from core.artifacts import Segment
    from engines.llm import script

    line = "所以他们也在测试华为的生疼芯片，但是 CUDA生态的千里成本很高。"
    section = script.sections([Segment(start=0.0, end=20.0, text=line, speaker=1)], 20.0, lambda segment: "张伟")[0]
    verifier = Verifier("张伟负责推理服务。" + line, "zh", ["张伟", "CUDA"])
    told = "张伟提到，CUDA生态的千里成本很高。"
    result = script.facts_told([section], verifier, lambda segment: "张伟", lambda *_: told, [], 4)
    assert result.sentences[1] == told and len(result.sentences) == 2, result
    assert result.sentences[0].startswith("张伟") and result.sentences[0].endswith("，他们也在测试华为的生疼芯片。") and result.reported == result.sentences[:1], result
    three = "所以他们也在测试华为的生疼芯片，CUDA生态的千里成本很高，明年会换成自研的推理框架。"  # a helper's review: R1, R2, M
    section = script.sections([Segment(start=0.0, end=20.0, text=three, speaker=1)], 20.0, lambda segment: "张伟")[0]
    spread = script.facts_told([section], Verifier("张伟负责推理服务。" + three, "zh", ["张伟", "CUDA"]), lambda segment: "张伟", lambda *_: told, [], 4).sentences
    assert len(spread) == 3 and "华为" in spread[0] and spread[1] == told and "明年" in spread[2], spread
    turned = "所以 CUDA生态的千里成本很高，但是他们也在测试华为的生疼芯片。"  # the same clauses the other way round
    section = script.sections([Segment(start=0.0, end=20.0, text=turned, speaker=1)], 20.0, lambda segment: "张伟")[0]
    after = script.facts_told([section], Verifier("张伟负责推理服务。" + turned, "zh", ["张伟", "CUDA"]), lambda segment: "张伟", lambda *_: told, [], 4)
    assert after.sentences[0] == told and after.sentences[1].endswith("他们也在测试华为的生疼芯片。"), after
    assert script.facts_told([section], verifier, lambda segment: "张伟", lambda *_: told, [], 1).sentences == [told], "the other lines first: here, none"

    lfp = "王磊认为磷酸铁锂电池，也就是LFP，会继续占据主流，而固态电池至少还要5年才能量产。"
    section = script.sections([Segment(start=0.0, end=20.0, text=lfp, speaker=1)], 20.0, lambda segment: "王磊")[0]
    said = ["王磊提到，固态电池至少还要5年才能量产。"]
    asked = script.facts_told([section], Verifier(lfp, "zh", ["王磊", "LFP"]), lambda segment: "王磊", lambda *_: None, said, 4, asked=[lfp])
    assert asked.sentences == asked.reported and len(asked.sentences) == 1 and asked.sentences[0].endswith("，磷酸铁锂电池，也就是LFP，会继续占据主流。"), asked


def test_what_else_a_line_says_is_not_what_its_telling_said_nor_before_other_lines_nor_the_hosts():
    """A helper's review: a line the model told whole in its own words was told again from the transcript (千里 came back);
    what else one section's line says crowded out another section's figure; the host's line gave a claim."""
    from core.artifacts import Segment
    from engines.llm import script

    line = "所以他们也在测试华为的生疼芯片，但是 CUDA生态的千里成本很高。"
    section = script.sections([Segment(start=0.0, end=20.0, text=line, speaker=1)], 20.0, lambda segment: "张伟")[0]
    verifier = Verifier("张伟负责推理服务。" + line, "zh", ["张伟", "CUDA"])
    whole = "张伟提到，他们在试用华为的生疼芯片，不过离开CUDA的代价很大。"
    assert script.facts_told([section], verifier, lambda segment: "张伟", lambda *_: whole, [], 4).sentences == [whole], "told whole, in other words"

    figures = ["高峰时每秒要处理三万个请求。", "延迟从八百毫秒降到了一百二十毫秒。"]
    other = script.sections([Segment(start=i * 10.0, end=i * 10.0 + 10, text=t, speaker=1) for i, t in enumerate(figures)], 20.0, lambda segment: "张伟")[0]
    verifier = Verifier("张伟负责推理服务。" + line + "".join(figures), "zh", ["张伟", "CUDA"])
    answers = {line: "张伟提到，CUDA生态的千里成本很高。", figures[0]: "张伟提到，高峰期每秒有三万个请求。", figures[1]: "张伟提到，延迟由八百毫秒降至一百二十毫秒。"}
    told = script.facts_told([section, other], verifier, lambda segment: "张伟", lambda lines, *_: answers[lines[-1][1]], [], 3).sentences
    assert len(told) == 3 and "一百二十毫秒" in told[2] and not any("华为" in t for t in told), ("every line's figure before what else a line says", told)
    room = script.facts_told([section, other], verifier, lambda segment: "张伟", lambda lines, *_: answers[lines[-1][1]], [], 4).sentences
    assert len(room) == 4 and "华为" in room[0] and room[1] == answers[line], ("chosen last, read next to the rest of its line", room)

    host = "Five years ago a home battery cost 15,000 dollars, most buyers were hobbyists with solar panels already on the roof."
    section = script.sections([Segment(start=0.0, end=10.0, text=host, speaker=1)], 10.0, lambda segment: "Sarah Chen")[0]
    verifier = Verifier("Sarah Chen hosts the show. " + host, "en", ["Sarah Chen"])
    asked = "Sarah Chen says a home battery cost 15,000 dollars five years ago."
    told = script.facts_told([section], verifier, lambda segment: "Sarah Chen", lambda *_: asked, [], 4, host="Sarah Chen").sentences
    assert told == [asked], "the host's figure is news; what else the host says frames the talk"


@pytest.mark.parametrize(("target", "announced"), [(10, 1), (20, 1), (60, 3)])
def test_a_script_announces_topics_only_where_the_figures_left_room(server, tmp_path, target, announced):
    """The sample (issue 25): "She explains the size of a typical home battery system." and four more like it, a table of
    contents read aloud; the listener never hears the size. One such sentence is spoken first; the lines with a figure
    are told next, by the model; the other announcements are spoken only below half the target ("vague" otherwise)."""
    from engines.llm.script import announces

    vague = ["Maria Lopez introduces the topic of home batteries.", "She explains the installations of Solar Grid.", "She then discusses the approval of new systems."]
    told = "Maria Lopez says that Solar Grid put in twelve thousand systems last year."
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [{**DIGEST, "script": " ".join(vague)}], "Restated": [_sentence(told)]})
    result = run(remote(server, target_seconds=target), tmp_path)
    spoken = [b["text"] for b in result["beats"]]
    assert told in spoken, "a figure before the announcements"
    assert sum(announces(t) for t in spoken) == announced, spoken
    assert len([r for r in result["rejected"] if r["rules"] == ["vague"]]) == 3 - announced
    assert not announces("Maria Lopez explains that Solar Grid put in twelve thousand systems.") and not announces("She explains why prices fell: cells got 40% cheaper.")


def test_a_figure_the_model_cannot_tell_is_reported_in_the_script_while_the_model_writes_80_percent(server, tmp_path):
    """The sample: the model copied "…fell by about 40% between 2020 and 2024" twice, and the script said no figure at all.
    After the model's sentences, such a line is told in reported speech, as long as the model still wrote 80 % of the
    script's sentences (issue 25's share): one here, after four of the model's, and not a second."""
    from evaluation import rubric

    script = " ".join([
        SAID, "Maria Lopez says grid connection is now the main problem for new systems.",
        "Maria Lopez expects approvals to get faster once the federal rules arrive.", "Maria Lopez advises listeners to compare warranties as well as prices.",
    ])
    copying = _sentence("Solar Grid installed twelve thousand systems last year, mostly in Arizona and Texas, and utilities take up to six months.")
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [{**DIGEST, "script": script}], "Restated": [copying]})
    result = run(remote(server, target_seconds=60), tmp_path)
    body = [b for b in result["beats"] if b["source"] not in ("intro", "outro", "link", "soundbite")]
    assert [b["source"] for b in body].count("reported") == 1, [(b["source"], b["text"]) for b in body]
    reported = next(b["text"] for b in body if b["source"] == "reported")
    assert "twelve thousand systems last year" in reported or "six months" in reported, reported
    assert rubric.model_share(result) >= 0.8


def _answering(asked: list[list[str]], *replies: str):
    """A restater (engines.llm.script.Restater) answering ``replies`` in turn, recording the figures it is asked to keep."""
    queue = list(replies)

    def restate(lines, speaker, figures, attempt, avoid):
        asked.append(list(figures))
        return queue.pop(0)

    return restate


def test_a_short_line_keeps_the_figures_it_goes_on_from_and_an_answer_that_echoes_the_rules_is_cut():
    """"Now they are less than 5 minutes old." goes on from "…up to 24 hours old.": the model is asked to keep both and
    must (The Data Stack's "Priya Nair says that now they are less than 5 minutes old." told nothing of what changed); a
    second answer with the first one's rules copied onto it ("(copied)") is told without them. Where the model keeps
    only its own figure twice, both lines are reported together."""
    from engines.llm.script import FactLine, reported_line, retold

    before = "With nightly jobs, the numbers in the dashboard were up to 24 hours old."
    now = "Now they are less than 5 minutes old."
    verifier = Verifier(f"Priya Nair: merchants wanted to see their sales as they happened, not the next morning. {before} {now}", "en")
    line = FactLine([("Priya Nair", before), ("Priya Nair", now)], "Priya Nair", ["24", "5"], now, 0.0, required=["5"])
    asked: list[tuple[list[str], str]] = []

    def answering(*replies: str):
        queue = list(replies)

        def restate(lines, speaker, figures, attempt, avoid):
            asked.append((list(figures), avoid))
            return queue.pop(0)

        return restate

    both = "Priya Nair says the dashboard numbers went from up to 24 hours old to under 5 minutes."
    assert retold(line, answering(both), verifier, [], []) == both and asked[-1] == (["24", "5"], ""), "asked for both"
    own = "Priya Nair says the dashboard numbers are now under 5 minutes old."
    assert retold(line, answering(own, own), verifier, [], []) == "", "what changed is left out twice: not told"
    assert reported_line(line, verifier, [own]) == (
        "Priya Nair said that the numbers in the dashboard were up to 24 hours old, and now they are less than 5 minutes old."
    )
    copying = f"Priya Nair says: {before} {now}"
    assert retold(line, answering(copying, both + " (copied)"), verifier, [], []) == both


def test_an_answer_cut_short_of_its_figure_is_asked_again_told_what_the_whole_broke():
    """tech-weekly: the model copied "很多团队用 faster-whisper…速度比原版快四到五倍" whole; cut before its copied clause it lost
    the figure, and asked again "(figures: keep 五倍)" it copied the same words once more. The second asking names the
    copy too; and a cut never leaves a sentence of its own that is a fragment ("…之后。很多团队。"). Where the model copies
    twice, the figure's clause is reported with what the line says it is about (alone, "速度比原版快四到五倍" says nothing of
    what is faster)."""
    from engines.llm.script import FactLine, reported_line, retold, trimmed

    line = "很多团队用 faster-whisper 和 CTranslate2 在 CPU 上做转写，速度比原版快四到五倍。"
    verifier = Verifier("David 说，OpenAI 开源 Whisper 之后。" + line, "zh", ["David", "faster-whisper", "CTranslate2"])
    fact = FactLine([("David", line)], "David", ["五倍"], line, 0.0, required=["五倍"], names=["faster-whisper", "CTranslate2"])
    asked: list[str] = []

    def restate(lines, speaker, figures, attempt, avoid):
        asked.append(avoid)
        return "David提到，" + line if attempt == 0 else "David提到，团队用faster-whisper和CTranslate2在CPU上转写，比原版快了四到五倍。"

    told = retold(fact, restate, verifier, [], [])
    assert told.endswith("比原版快了四到五倍。") and asked[1].endswith("(copied, figures: keep 五倍)"), asked
    copying = lambda lines, speaker, figures, attempt, avoid: "David提到，" + line
    assert retold(fact, copying, verifier, [], []) == "" and reported_line(fact, verifier, []) == "David提到，说到faster-whisper和CTranslate2，速度比原版快四到五倍。", (
        "reported, its figure's clause says what it is about"
    )
    two = "嘉宾提到，OpenAI 开源 Whisper 之后。很多团队用 faster-whisper 和 CTranslate2 在 CPU 上做转写，速度比原版快四到五倍。"
    assert "很多团队。" not in trimmed(two, verifier, []), trimmed(two, verifier, [])


def test_a_clause_that_refers_back_is_not_reported_alone():
    """Edge Cases: Whisper's "In the first results cut its size in half." (the cache's size, said a sentence before) was
    reported as "Elena Rossi said that in the first results cut its size in half.": whose size, nobody reading can tell.
    "its", like "it" and 它, needs what came before it."""
    from engines.llm.script import FactLine, reported_line

    text = "Long documents. The memory for the context grows with every token. We are working on compressing that cache. In the first results cut its size in half."
    line = "In the first results cut its size in half."
    claim = FactLine([("Elena Rossi", line)], "Elena Rossi", [], line, 0.0, claim=True)
    assert reported_line(claim, Verifier("Elena Rossi: " + text, "en", ["Elena Rossi"]), []) == ""
    whole = "The first results cut the size of the cache in half."
    own = FactLine([("Elena Rossi", whole)], "Elena Rossi", [], whole, 0.0, claim=True)
    assert reported_line(own, Verifier("Elena Rossi: " + whole, "en", ["Elena Rossi"]), []) == "Elena Rossi said that the first results cut the size of the cache in half."


def test_an_answer_is_shown_with_its_question_and_a_line_in_the_same_measure_with_the_line_before():
    """Build Notes' "About nine months, with a team of six engineers." is shown with "How long did the rebuild take?" and
    nothing earlier (the small model told the line before it instead); going-global's answer takes the figure of the
    question it answers, which is no fact line itself ("我问他，特斯拉的4680电池怎么样。", ended with "。" by Whisper);
    Edge Cases' "…it fits in about 4 gigabytes." is asked with the 14 gigabytes of the line before (in the same measure),
    and needs only its own 4 when asked again."""
    from core.artifacts import Segment
    from engines.llm import script
    from engines.llm.script import FactLine, retold

    def lines_of(texts: list[tuple[int, str]], language: str = "en") -> list[FactLine]:
        segments = [Segment(start=4.0 * i, end=4.0 * i + 4, text=t, speaker=who) for i, (who, t) in enumerate(texts)]
        names = {0: "Sarah Chen", 1: "Raj Patel"}
        speaker_of = (lambda s: names[s.speaker]) if language == "en" else (lambda s: None)
        verifier = Verifier(("" if language == "zh" else " ").join(t for _, t in texts), language)
        found = script.sections(segments, 4.0 * len(texts), speaker_of, chinese=language == "zh")
        return [line for section in found for line in script.fact_lines(section, verifier, speaker_of, claims=True)]

    rebuild = lines_of([
        (1, "We loaded the model into the service itself, so every check saved a network call."),
        (0, "How long did the rebuild take?"), (1, "About nine months, with a team of six engineers."),
    ])
    answer = next(line for line in rebuild if line.text.startswith("About nine months"))
    assert answer.lines == [("Sarah Chen", "How long did the rebuild take?"), ("Raj Patel", "About nine months, with a team of six engineers.")]
    tesla = lines_of([(0, "王磊说，出海最难的是本地化的管理。"), (0, "我问他，特斯拉的4680电池怎么样。"), (0, "他说呢，是一个很好的工程尝试，但是良率一直是个问题。")], "zh")
    assert not [line for line in tesla if line.text.startswith("我问他")], "a question is no fact line"
    told = next(line for line in tesla if line.text.startswith("他说呢"))
    assert told.figures == ["4680"] and told.required == [] and told.lines[0][1] == "我问他，特斯拉的4680电池怎么样。"

    size = "A model with 7 billion parameters needs about 14 gigabytes of memory in its original form."
    quantized = "After we quantize it to 4 bits, it fits in about 4 gigabytes."
    lines = lines_of([
        (1, size), (1, quantized), (1, "With llama.cpp on a MacBook Air, a 7 billion model writes about 20 tokens per second."),
        (1, "A model with 1.5 billion parameters like Qwen 2.5 is 3 times faster."),
    ])
    four = next(line for line in lines if line.text == quantized)
    assert four.figures == ["14", "4"] and four.required == ["4"] and four.compared
    assert not next(line for line in lines if "3 times" in line.text).compared, "a 7 billion model, 20 tokens; 1.5 billion parameters, 3 times: no measure shared"
    verifier = Verifier(f"Elena Rossi: {size} {quantized}", "en")
    asked: list[list[str]] = []
    answering = functools.partial(_answering, asked)

    both = "Elena Rossi says a model of 14 gigabytes shrinks to about 4 once quantized."
    own = "Elena Rossi says that a quantized model fits in about 4 gigabytes."
    assert retold(four, answering(both), verifier, [], []) == both and asked == [["14", "4"]]
    assert retold(four, answering(own, own), verifier, [], []) == own, "its own figure is enough when asked again"
    # for the written summary, told with the sentence already telling the 14 gigabytes, by the same person

    fourteen = "Elena Rossi says that a model with 7 billion parameters needs about 14 gigabytes of memory."
    answers = {size: fourteen, quantized: own}
    segments = [Segment(start=0.0, end=9.0, text=f"{size} {quantized}", speaker=1)]
    told = script.facts_told(script.sections(segments, 9.0, lambda s: "Elena Rossi"), verifier, lambda s: "Elena Rossi", lambda lines, *_: answers[lines[-1][1]], [], 4)
    joined = "Elena Rossi says that a model with 7 billion parameters needs about 14 gigabytes of memory, and a quantized model fits in about 4 gigabytes."
    assert told.sentences == [joined], told.sentences
    assert script.topped_up(script.Prose([fourteen], [], []), [joined], lambda said: None).summary == [joined], "said once, where the summary had the 14"


def test_a_figure_counting_something_else_is_not_said_yet():
    """build-notes: "…side by side on real traffic for six weeks…" was skipped for the written summary as told, since "a team
    of six engineers" had said a six."""
    from core.artifacts import Segment
    from engines.llm import script

    weeks = "We ran both services side by side on real traffic for six weeks and compared every decision."
    verifier = Verifier(f"Raj Patel: About nine months, with a team of six engineers. {weeks}", "en", ["Raj Patel"])
    segments = [Segment(start=0.0, end=9.0, text=weeks, speaker=1)]
    told = "Raj Patel says the old and new services ran side by side for six weeks, and every decision was compared."
    result = script.facts_told(script.sections(segments, 9.0, lambda s: "Raj Patel"), verifier, lambda s: "Raj Patel", lambda *_: told, ["Raj Patel says a team of six engineers took about nine months."], 4)
    assert result.sentences == [told], result


def test_a_line_read_by_one_voice_is_asked_as_said_by_whose_turn_it_is():
    """going-global, one voice reading it all: "他提到，去年有一家电池企业光是在欧洲的营收，就超过了一亿欧元。" is 王磊's (the line
    before says "王磊说，…"): the model is asked for 王磊's sentence, not "节目中提到，…"; the host's own line stops the turn."""
    from core.artifacts import Segment
    from engines.llm import script

    said = ["王磊说，宁德时代在德国的工厂已经投产，客户包括宝马。", "他提到，去年有一家电池企业光是在欧洲的营收，就超过了一亿欧元。",
            "我们接着聊技术路线。", "固态电池至少还要五年才能量产。"]
    segments = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=0) for i, t in enumerate(said)]
    verifier = Verifier("".join(said), "zh", ["王磊", "宁德时代"])
    found = script.sections(segments, 40.0, lambda s: None, chinese=True)
    speakers = {line.text: line.speaker for section in found for line in script.fact_lines(section, verifier, lambda s: None, claims=True, people=["陈静", "王磊"])}
    assert speakers[said[1]] == "王磊" and speakers[said[3]] == "", speakers


def test_a_line_without_figures_is_told_with_its_names():
    """tech-weekly: "…他们在 Kubernetes 上跑 Spark 和 Ray 的任务，用 Prefect 做调度。" was told "Emily还说，他们使用 Prefect 做
    调度。" (three of its four names lost; the key fact needs Spark or Ray): the model is asked to keep the names and must,
    all of them, then all but one of three or more when asked again; reported speech keeps one in the clause itself, where "Kenji Watanabe said
    that the same tables serve both." (data-stack, Delta Lake lost) said nothing."""
    from core.artifacts import Segment
    from engines.llm import script
    from engines.llm.script import reported_line, retold

    said = ["Emily 补充说，她们在 Kubernetes 上跑 Spark 和 Ray 的任务，用 Prefect 做调度。", "每天处理超过两万个小时的音频。"]
    segments = [Segment(start=10.0 * i, end=10.0 * i + 10, text=t, speaker=0) for i, t in enumerate(said)]
    verifier = Verifier("".join(said), "zh", ["Tech Weekly", "Emily", "Kubernetes", "Spark", "Ray", "Prefect"])
    found = script.sections(segments, 20.0, lambda s: None, chinese=True)
    line = next(f for section in found for f in script.fact_lines(section, verifier, lambda s: None, claims=True) if f.text == said[0])
    assert line.speaker == "Emily" and line.figures == [] and line.names == ["Kubernetes", "Spark", "Ray", "Prefect"], line
    asked: list[list[str]] = []
    answering = functools.partial(_answering, asked)

    one = "Emily还说，团队使用 Prefect 来调度任务。"
    three = "Emily提到，团队用 Prefect 来调度 Spark 和 Ray 的任务。"
    every = "Emily提到，团队在 Kubernetes 上运行 Spark 和 Ray，并用 Prefect 调度。"
    assert retold(line, answering(every), verifier, [], []) == every and asked == [["Kubernetes", "Spark", "Ray", "Prefect"]], "asked to keep them"
    assert retold(line, answering(one, one), verifier, [], []) == "", "one name of four, twice: not told"
    rejected: list[dict] = []
    assert retold(line, answering(three, three), verifier, [], rejected) == three, "three of four, when asked again"
    assert rejected[0]["rules"] == ["names"], rejected
    two = script.FactLine([("张伟", "所以他们也在测试华为的昇腾芯片，但是CUDA生态的迁移成本很高。")], "张伟", [], "所以他们也在测试华为的昇腾芯片，但是CUDA生态的迁移成本很高。", 0.0, names=["华为", "CUDA"])
    cuda = Verifier("今天的嘉宾是张伟。" + two.text, "zh", ["张伟", "华为", "CUDA"])
    assert retold(two, answering("张伟还说，CUDA生态的迁移代价很高。", "张伟还说，CUDA生态的迁移代价很高。"), cuda, [], []) == "", "one of two names: not told"
    assert "华为" in reported_line(two, cuda, []), "beyond-code: 华为's chips, which the key fact needs"
    assert "Spark" in reported_line(line, verifier, [one]) and "Ray" in reported_line(line, verifier, [one])

    lake = "With a lakehouse and a table format like Delta Lake, the same tables serve both, so there is one version of the truth."
    bare = script.FactLine([("Kenji Watanabe", lake)], "Kenji Watanabe", [], lake, 0.0, names=["Delta Lake"])
    assert reported_line(bare, Verifier(lake, "en", ["Kenji Watanabe", "Delta Lake"]), []) == "", "nothing left that says Delta Lake"


def test_the_host_s_statements_are_no_claims_for_the_summary():
    """Edge Cases: the host's "When the big models are want to pee a call away." (a question, misheard) came back as "Daniel
    Brooks says that when the big models are…, they need to be faster.": the host frames the talk; a guest's statement
    is told."""
    from core.artifacts import Segment
    from engines.llm import script

    said = [("Daniel Brooks", "Elena Rossi, you spend your days making language models run on ordinary laptops."),
            ("Elena Rossi", "Hospitals and law firms cannot send their documents to a cloud service.")]
    segments = [Segment(start=5.0 * i, end=5.0 * i + 5, text=t, speaker=i) for i, (_, t) in enumerate(said)]
    speaker_of = lambda s: said[s.speaker][0]
    verifier = Verifier(" ".join(t for _, t in said), "en")
    asked: list[str] = []

    def restate(lines, who, figures, attempt, avoid):
        asked.append(lines[-1][1])
        return {said[0][1]: "Daniel Brooks says that Elena Rossi makes language models run on ordinary laptops.",
                said[1][1]: "Elena Rossi says that hospitals and law firms may not send documents to a cloud service."}[lines[-1][1]]

    told = script.facts_told(script.sections(segments, 10.0, speaker_of), verifier, speaker_of, restate, [], 4, host="Daniel Brooks")
    assert asked == [said[1][1]] and told.sentences == ["Elena Rossi says that hospitals and law firms may not send documents to a cloud service."], told.rejected


def test_a_summary_sentence_told_again_within_a_longer_one_is_said_once():
    """The Data Stack's summary said "…up to 24 hours old." and then "…up to 24 hours old, and now they are less than 5
    minutes old.": the longer sentence takes the place of the one it holds."""
    from core.artifacts import Segment
    from engines.llm import script

    before = "With nightly jobs, the numbers in the dashboard were up to 24 hours old."
    now = "Now they are less than 5 minutes old."
    segments = [Segment(start=0.0, end=6.0, text=before, speaker=1), Segment(start=6.0, end=9.0, text=now, speaker=1)]
    verifier = Verifier(f"Priya Nair joins the show. {before} {now}", "en")
    answers = {before: "Priya Nair says that the dashboard numbers were once up to 24 hours old.", now: "Priya Nair says the dashboard is now fresh, under 5 minutes."}
    restate = lambda lines, who, figures, attempt, avoid: answers[lines[-1][1]]
    found = script.sections(segments, 9.0, lambda s: "Priya Nair")
    told = script.facts_told(found, verifier, lambda s: "Priya Nair", restate, [], 4)
    assert [s for s in told.sentences if "24 hours" in s] == [
        "Priya Nair said that the numbers in the dashboard were up to 24 hours old, and now they are less than 5 minutes old."
    ], told.sentences


@pytest.mark.parametrize(
    ("line", "figures"),
    [
        ("p99 latency went from 800 milliseconds to 120, GPT-4 too.", ["800", "120"]),
        ("About two billion events a day, and the bill went up 30%.", ["two billion", "30%"]),
        ("Quantized to four bits it shrinks from fourteen gigabytes; the one dashboard that matters.", ["four", "fourteen"]),
        ("过去三年电池成本下降了百分之四十，一共两千个站点，70亿参数。", ["三年", "百分之四十", "两千个", "70亿"]),
        ("I think it depends on the team.", []),
    ],
)
def test_the_figures_a_line_says_are_found_in_both_languages(line, figures):
    from engines.llm.script import figures_in

    assert figures_in(line) == figures


def test_a_sentence_that_fails_every_time_becomes_reported_speech(server, tmp_path):
    """N bad answers: a deterministic sentence in reported speech from the section, never a bare quote."""
    copying = {**DIGEST, "script": "Maria says battery prices fell by forty percent since 2020, which changed the market."}
    chat = ChatServer(server, {"Notes": [POINTLESS], "Digest": [copying], "Sentence": [_sentence("We love batteries, I think.")]})
    result = run(remote(server, resample=3), tmp_path)
    assert len(chat.prompts("Sentence")) == 2, "the same rejected answer twice: a third draw is not asked for"
    reported = result["beats"][1]
    assert reported["source"] == "reported" and reported["section"] == 0 and reported["start"] == 0 and reported["end"] == 210
    assert reported["text"].startswith("One of the speakers said that "), "no voice is named: none is made up"
    assert reported["text"] not in ENGLISH_TEXT and reported["speaker"] is None
    assert Verifier(ENGLISH_TEXT, "en").broken(reported["text"]) == [], "the fallback passes the verifier too"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_sections_are_cut_where_the_topic_changes_not_at_the_even_share(language):
    """Six minutes: two sections. The even cut is at 180 s; the talk moves from batteries to solar panels at 144 s (with a pause and a new voice)."""
    from core.artifacts import Segment
    from engines.llm import script

    topics = {
        "en": ("Home batteries store cheap power; battery warranties and battery chemistry decide how long batteries last.",
               "Solar panels on roofs face shading; panel efficiency and panel angles decide what solar panels produce."),
        "zh": ("家用电池可以储存便宜的电，电池质保和电池化学决定电池能用多久。", "屋顶光伏板会被遮挡，光伏板效率和光伏板角度决定光伏板的发电量。"),
    }[language]
    segments = [Segment(start=36.0 * i, end=36.0 * i + (33.0 if i == 3 else 35.5), text=topics[i >= 4], speaker=1 + (i >= 4)) for i in range(10)]
    found = script.sections(segments, 360.0, lambda segment: f"voice {segment.speaker}", chinese=language == "zh")
    assert [s.start for s in found] == [0.0, 144.0], [s.start for s in found]
    assert found[1].speakers == ["voice 2"]


def test_a_sentence_that_breaks_a_rule_late_ends_before_that_clause():
    """The English set: "…for six weeks and compared every decision." copied 15 words and "…, resulting in a 85% reduction…"
    said a number the episode does not: the model's sentence ends before the clause, where what is left passes."""
    from engines.llm.script import trimmed

    verifier = Verifier(ENGLISH_TEXT, "en")
    long = "Maria Lopez explains that home batteries got much cheaper since 2020, resulting in a 75% jump in sales."
    assert "ungrounded" in verifier.broken(long) and trimmed(long, verifier, []) == "Maria Lopez explains that home batteries got much cheaper since 2020."
    purpose = "Maria Lopez explains that home batteries got much cheaper since 2020 to cut power bills by 85 percent."  # Build Notes' title's figure
    assert "ungrounded" in verifier.broken(purpose) and trimmed(purpose, verifier, []) == "Maria Lopez explains that home batteries got much cheaper since 2020."
    assert not trimmed("Maria Lopez explains that installers in the sunniest states have managed to cut power bills by 85 percent.", verifier, []).endswith(
        "managed."
    ), "a verb that needs its 'to…' keeps it"
    than = "Maria Lopez explains that utilities now approve a system within 6 months, much faster than a rival with 9 thousand batteries."  # edge-cases
    assert "ungrounded" in verifier.broken(than) and trimmed(than, verifier, []) == "Maria Lopez explains that utilities now approve a system within 6 months, much faster."
    older = "Maria Lopez explains that the approval rules of utilities are a lot stricter than those of 9 thousand other firms."
    assert trimmed(older, verifier, []) != "Maria Lopez explains that the approval rules of utilities are a lot stricter.", "no figure kept: the comparison was the point"
    more = "Maria Lopez explains that Solar Grid installed more systems last year, more than a rival with 6 thousand batteries."
    assert not trimmed(more, verifier, []).endswith("more."), "not '…, more.'"
    led = "Maria Lopez explains that home batteries got much cheaper since 2020, which led to a 75% jump in sales."
    assert trimmed(led, verifier, []) == "Maria Lopez explains that home batteries got much cheaper since 2020.", "not '…, which led.'"
    quoting = "Maria says battery prices fell by forty percent since 2020, which changed the market."
    assert "copied" in verifier.broken(quoting) and trimmed(quoting, verifier, []) == "", "what is left is the transcript's own words: a quote, never the presenter's"
    said = "Maria Lopez explains that home batteries got much cheaper since 2020."
    assert trimmed(said.removesuffix(".") + ", which changed the market.", verifier, [said]) == "", "nothing new"
    chinese = Verifier(CHINESE_TEXT, "zh")
    copied = "他说三年来电池成本下降了百分之四十，续航提升到了六百公里。"
    assert chinese.broken(copied) == ["copied"] and trimmed(copied, chinese, []) == "他说三年来电池成本下降了百分之四十。"
    subject = "王磊还说，去年有一家电池企业光是在欧洲的营收，就超过了一亿欧远。"  # going-global: copied, and cut it left a subject alone
    assert trimmed(subject, Verifier("王磊说，" + subject.removeprefix("王磊还说，"), "zh", ["王磊"]), []) == ""


def test_a_copied_setting_or_example_is_left_out_of_the_model_s_sentence():
    """Edge Cases: "…explains that with llama.cpp on a MacBook Air, a 7 billion model writes about 20 tokens per second."
    copied 16 words and was lost with its figure; without the setting, the example or the trailing phrase it copied, the
    model's sentence passes and keeps its figures. A setting that holds a figure stays ("on our benchmarks about 2%,")."""
    from engines.llm.script import trimmed

    transcript = (
        "I'm Daniel Brooks, and my guest is Elena Rossi of Hugging Face. How fast is it, on a normal machine? With llama.cpp on a MacBook Air, a 7 billion model writes about 20 tokens per second. "
        "A model with 1.5 billion parameters like Qwen 2.5 is 3 times faster. "
        "A model with 7 billion parameters needs about 14 gigabytes of memory in its original form. "
        "In our tests from 2023, the quantized model was slower than the original one on every phone."
    )
    verifier = Verifier(transcript, "en")
    cases = {
        "Elena Rossi explains that with llama.cpp on a MacBook Air, a 7 billion model writes about 20 tokens per second.":
            "Elena Rossi explains that a 7 billion model writes about 20 tokens per second.",
        "Elena Rossi notes that a model with 1.5 billion parameters like Qwen 2.5 is 3 times faster.":
            "Elena Rossi notes that a model with 1.5 billion parameters is 3 times faster.",
        "Elena Rossi says that a model with 7 billion parameters needs about 14 gigabytes of memory in its original form.":
            "Elena Rossi says that a model with 7 billion parameters needs about 14 gigabytes of memory.",
    }
    for copied, kept in cases.items():
        assert verifier.broken(copied) == ["copied"] and trimmed(copied, verifier, []) == kept
    dated = "Elena Rossi says that in our tests from 2023, the quantized model was slower than the original one on every phone."
    assert trimmed(dated, verifier, []) == "", "the setting holds a figure"
    undated = dated.replace(" from 2023", "").replace(" tests from 2023", " tests")
    assert trimmed(undated, Verifier(transcript.replace(" from 2023", ""), "en"), []) == "Elena Rossi says that the quantized model was slower than the original one on every phone."


def test_a_sentence_adds_a_figure_or_a_clause_not_said_yet():
    """Two sentences refused as repeats: Edge Cases' "…1.5 billion parameters is 3 times faster." (its words mostly said:
    Elena Rossi, model, billion) and tech-weekly's "…不是模型，而是数据质量和评估。" (single characters repeat too often).
    The same point again, in other words, is still a repeat."""
    from engines.llm.script import adds

    said = ["Elena Rossi explains that a 7 billion model writes about 20 tokens per second."]
    assert adds("Elena Rossi notes that a 1.5 billion model is 3 times faster.", said)
    assert not adds("Elena Rossi says a 7 billion model writes about twenty tokens every second.", said)
    chinese = ["David提到，真正的瓶颈不是模型。", "张伟说，因为英伟达的高端显卡在国内很难买到。"]
    assert adds("David提到，真正的瓶颈不是模型，而是数据质量和评估。", chinese)
    assert not adds("张伟还说，高端显卡在国内很难买到。", chinese) and not adds("David说，真正的瓶颈并不是模型。", chinese)
    # going-global's LFP claim, said twice in its script: a few new words spread over the sentence are not news
    lfp = ["王磊还说，磷酸铁锂电池会继续占据主流，固态电池至少还要5年才能量产。"]
    assert not adds("王磊说磷酸铁锂电池，也就是LFP，会继续占据主流。", lfp)
    assert adds("王磊说磷酸铁锂电池会继续占据主流，当时欧盟的电池法规对碳足迹的要求越来越严。", lfp)


def test_a_guest_s_role_comes_from_the_opening_in_its_words():
    from engines.llm.script import role_of

    opening = "I'm Mark Davis, and today I have two guests. Priya Nair leads the data platform team at Shopify, and Kenji Watanabe is a principal engineer at Databricks."
    assert role_of("Priya Nair", "Shopify", opening) == "Priya Nair leads the data platform team at Shopify."
    assert role_of("Kenji Watanabe", "Databricks", opening) == "Kenji Watanabe is a principal engineer at Databricks."
    assert role_of("Raj Patel", "Stripe", "With me today is Raj Patel, a staff engineer at Stripe.") == "Raj Patel is a staff engineer at Stripe."
    assert role_of("Maria Lopez", "Solar Grid", "Maria Lopez from Solar Grid joins us.") == "", "no role said: none made up (who_is_who says 'is from')"
    opening = "大家好，欢迎收听本期的 Tech Weekly。一位是在 Microsoft Research 做语音识别的研究员 David。另一位是 Databricks 的长屏经历 Emily。"
    assert role_of("David", "Microsoft Research", opening) == "David是Microsoft Research的研究员。", "the role after the last 的"
    assert role_of("Emily", "Databricks", opening) == "", "Whisper's 长屏经历 (产品经理) is no role: never spoken"
    assert role_of("王磊", "宁德时代", "本期我们请到了宁德时代的前电池工程师王磊，聊聊电池。") == "王磊是宁德时代的前电池工程师。"


def test_the_intro_says_a_guest_s_role_in_the_opening_s_own_words():
    """data-stack: "Priya Nair leads the data platform team at Shopify." is, word for word, a sentence of the opening; the
    intro is the pipeline's, about who is who, so the rule against unattributed quotes (a helper's review) leaves it alone."""
    from core.artifacts import Segment
    from engines.llm import script

    opening = "I'm Mark Davis, and today I have two guests. Priya Nair leads the data platform team at Shopify. Kenji Watanabe is a principal engineer at Databricks."
    segments = [Segment(start=0.0, end=12.0, text=opening, speaker=0), Segment(start=12.0, end=30.0, text="Shopify moved its reporting from nightly batch jobs to streaming last year.", speaker=1)]
    verifier = Verifier(" ".join(s.text for s in segments), "en", ["Shopify", "Databricks", "Priya Nair", "Kenji Watanabe"])
    assert "unattributed" in verifier.broken("Priya Nair leads the data platform team at Shopify.")
    made = script.compose(
        script.Facts(show="The Data Stack", host="Mark Davis", guests=["Priya Nair", "Kenji Watanabe"]), segments, 30.0, verifier, [], speaker_of=lambda s: None,
    )
    intro = [b.text for b in made.beats if b.source == "intro"]
    assert "Priya Nair leads the data platform team at Shopify." in intro and "Kenji Watanabe is a principal engineer at Databricks." in intro, intro


def test_a_key_point_is_told_as_said_by_the_voice_whose_line_it_tells():
    """A map note's point names no one: the presenter says who said it, from the line near its time that shares most of its
    words (a small model's times are rough: the host's question is nearer)."""
    from core.artifacts import Segment
    from engines.llm.script import _attributed

    segments = [
        Segment(start=40.0, end=48.0, text="How did you check the new service?", speaker=1),
        Segment(start=48.0, end=58.0, text="We ran both services side by side on real traffic for six weeks.", speaker=2),
    ]
    who = {1: "Sarah Chen", 2: "Raj Patel"}
    verifier = Verifier(" ".join(s.text for s in segments), "en")
    point = "The team ran both services side by side for six weeks."
    assert _attributed(point, 44.0, segments, lambda s: who[s.speaker], list(who.values()), verifier) == "Raj Patel says the team ran both services side by side for six weeks."
    assert _attributed("Raj Patel says the team ran both services side by side.", 44.0, segments, lambda s: who[s.speaker], list(who.values()), verifier).startswith("Raj Patel says the team")
    assert _attributed(point, 44.0, segments, lambda s: None, [], verifier) == point, "no voice named: none made up"


def test_who_is_from_where_comes_from_the_opening_and_the_glossary_only():
    from engines.llm import script

    chinese = "大家好，欢迎收听本期的 Tech Weekly。一位是在 Microsoft Research 做语音识别的研究员 David，另一位是 Databricks 的产品经理 Emily。Emily 说 Google 的模型很大。"
    pairs = script.affiliations(["David", "Emily"], ["Tech Weekly", "Microsoft Research", "Databricks", "Google"], chinese, True)
    assert pairs == [("David", "Microsoft Research"), ("Emily", "Databricks")]
    assert script.who_is_who(pairs, True) == "David来自Microsoft Research，Emily来自Databricks。"
    english = "Welcome to Field Notes. My guest is Maria Lopez, an engineer from Solar Grid. Dana Whitfield hosts. Tesla makes cars."
    assert script.affiliations(["Maria Lopez", "Dana Whitfield"], ["Solar Grid", "Tesla"], english, False) == [("Maria Lopez", "Solar Grid")], "Dana: no organisation said, none guessed"
    assert script.who_is_who([("Maria Lopez", "Solar Grid")], False) == "Maria Lopez is from Solar Grid."


def test_reported_speech_in_both_languages_names_who_said_it():
    from core.artifacts import Segment
    from engines.llm import script

    def one_section(lines, language, names):
        segments = [Segment(start=start, end=start + 20, text=text, speaker=1 + (i % 2)) for i, (text, start) in enumerate(lines)]
        speaker_of = lambda segment: names[segment.speaker - 1]
        section = script.sections(segments, lines[-1][1] + 20, speaker_of)[0]
        text = ("" if language == "zh" else " ").join(t for t, _ in lines)
        return script.reported(section, Verifier(text, language), [], speaker_of)

    english = one_section(ENGLISH, "en", ["Dana Whitfield", "Maria Lopez"])
    # twelve words of hers (who said it is the digest's words, no part of the copy): the longest run that is no copy
    assert english.text == "Maria said that battery prices fell by forty percent since 2020, which changed the market." and english.source == "reported", english
    assert english.speaker == "Maria"
    chinese = one_section(CHINESE, "zh", ["李静", "王磊"])
    assert chinese.text == "王磊提到，过去三年电池成本下降了百分之四十。" and chinese.speaker == "王磊", chinese
    without = one_section(CHINESE, "zh", [None, None])
    assert without.text.startswith("王磊提到，") or without.text.startswith("节目里提到，"), without


@pytest.mark.parametrize("language", ["zh", "en"])
def test_reported_speech_tells_what_it_is_and_not_only_what_it_is_not(language):
    """going-global: "出海最难的不是技术，而是本地化的管理和供应链。" was told "王磊还说，出海最难的不是技术。", half a claim
    that reads as the whole; in Chinese the point now comes first ("…是…，而不是…", no copied run either), and no report or
    shortened sentence ends on what it is not."""
    from core.artifacts import Segment
    from engines.llm import script
    from engines.llm.script import trimmed

    line = {
        "zh": "最后王磊说，出海最难的不是技术，而是本地化的管理和供应链。",
        "en": "Maria Lopez says the hardest part of the whole project is not the battery itself, but the permit from the local utility.",
    }[language]
    verifier = Verifier(line, language)
    if language == "zh":
        section = script.sections([Segment(start=0.0, end=20.0, text=line, speaker=1)], 20.0, lambda segment: None)[0]
        told = script.reported(section, verifier, [], lambda segment: None)
        assert told and told.text == "王磊提到，出海最难的是本地化的管理和供应链，而不是技术。", told
        line_of = script.FactLine([("说话人", line)], "", [], line, 0.0)  # a line that names 王磊, who says it: told in the summary
        assert script.reported_line(line_of, Verifier(line, language, ["王磊"]), []) == told.text
    model = line.replace("最后王磊说", "王磊还说").replace("Maria Lopez says", "Maria Lopez explains that")
    assert "copied" in verifier.broken(model)
    assert trimmed(model, verifier, []) == "", "ended on what it is not"
    if language == "zh":  # the clause after the turn keeps its comma; "并不是" is left as said (turned, it would read "并是")
        assert script._clauses("出海最难的不是技术，而是管理，所以他们在德国建了团队。", True)[0] == "出海最难的是管理，而不是技术，所以他们在德国建了团队"
        assert script._clauses("出海最难的并不是技术，而是本地化的管理。", True) == ["出海最难的并不是技术，而是本地化的管理"]


def test_a_latin_name_in_a_chinese_sentence_counts_as_one_in_a_copied_run():
    """tech-weekly: the model's "Emily提到，团队在Kubernetes上跑Spark和Ray的任务，用Prefect做调度。" was refused as
    copied, its names counted letter by letter (36 "characters"); heard, each is one word, and the run is 15. A run
    longer than 20 characters and words is still copied."""
    transcript = "Emily 补充说，他们在 Kubernetes 上跑 Spark 和 Ray 的任务，用 Prefect 做调度。每天处理超过两万个小时的音频。"
    verifier = Verifier(transcript, "zh")
    assert verifier.broken("Emily提到，团队在Kubernetes上跑Spark和Ray的任务，用Prefect做调度。") == []
    assert verifier.broken("Emily提到，团队在Kubernetes上跑Spark和Ray的任务，用Prefect做调度，每天处理超过两万个小时的音频。") == ["copied"]


def test_reported_speech_never_retells_who_is_who():
    """beyond-code (the Chinese set) said "节目中提到，今天的嘉宾是月之暗面的工程师张伟。" right after the intro had said it."""
    from core.artifacts import Segment
    from engines.llm import script

    lines = [("这里是代码之外，我是主播林晓。今天的嘉宾是月之暗面的工程师张伟。", 0.0), ("张伟说，Kimi的月活用户已经超过一千万。", 20.0)]
    segments = [Segment(start=start, end=start + 20, text=text, speaker=1 + i) for i, (text, start) in enumerate(lines)]
    speaker_of = lambda segment: ["林晓", "张伟"][segment.speaker - 1]
    section = script.sections(segments, 40.0, speaker_of)[0]
    verifier = Verifier("".join(t for t, _ in lines), "zh")
    told = [script.reported(section, verifier, [], speaker_of)]
    told.append(script.reported(section, verifier, [b.text for b in told if b], speaker_of, [b.origin for b in told if b]))
    assert told[0] and "月活" in told[0].text, told
    assert not any(b and "嘉宾" in b.text for b in told), told


def test_reported_speech_never_reports_a_clause_without_its_verb():
    """The English evaluation set: "Raj Patel pointed out that about nine months, with a team of six engineers." (an answer)
    and "Elena Rossi pointed out that A model with 1.5 billion parameters, like Qwen 2.5." (cut from "is 3 times faster")."""
    from engines.llm import script

    assert script._clauses("About nine months, with a team of six engineers.", False) == []
    purpose = script._clauses("为了把成本降下来，团队换成了TensorRT。", True)
    assert "为了把成本降下来" not in purpose and "团队换成了TensorRT" in purpose, "beyond-code's highlight: 节目中提到，为了把成本降下来。"
    topic = script._clauses("说到技术路线，王磊认为磷酸铁锂电池会继续占据主流。", True)
    assert "说到技术路线" not in topic and "王磊认为磷酸铁锂电池会继续占据主流" in topic, "going-global's highlight: 节目中谈到，说到技术路线。"
    said = "A model with 1.5 billion parameters, like Qwen 2.5, is 3 times faster."
    assert script._clauses(said, False) == [], "13 words: too long to report without copying, and no part of it stands alone"
    shorter = "A small model, like Qwen 2.5, is 3 times faster."
    assert script._clauses(shorter, False) == ["A small model, like Qwen 2.5, is 3 times faster"]
    # data-stack: "Mark Davis said that priya, Shopify moved…" (a name called) and "Kenji Watanabe said that only then pay for
    # streaming." (advice, which has no statement to report)
    assert script._clauses("Priya, Shopify moved its reporting from nightly batch jobs to streaming.", False) == ["Shopify moved its reporting from nightly batch jobs to streaming"]
    assert script._clauses("Start simple, measure how fresh your data needs to be, and only then pay for streaming.", False) == []
    assert "Streaming costs more to run" in script._clauses("Streaming costs more to run, and it is harder to debug.", False)
    # data-stack: "Priya Nair noted that joins them, and writes the results." (the clause's subject was before its comma)
    flink = script._clauses("Apache Flink reads those events, joins them, and writes the results into tables that the dashboards query.", False)
    assert flink and not [c for c in flink if not c.startswith("Apache Flink")], flink
    # edge-cases: "Daniel Brooks pointed out that when the big models are want to pee a call away." (cut from its question)
    assert script._clauses("When the big models are one API call away.", False) == []
    assert script._clauses("After we quantize it to four bits, the model fits in about four gigabytes.", False)[0].startswith("After we quantize")
    # an opener without a verb leaves the subject to the clause after it; a noun that starts like a verb is a subject
    assert script._clauses("Honestly, latency matters more than throughput for most teams.", False) == ["latency matters more than throughput for most teams"]
    assert "能量密度仍然是最大的瓶颈" in script._clauses("他说，能量密度仍然是最大的瓶颈。", True)
    # going-global: "王磊还说，就超过了一亿欧元。", "节目中指出，会继续占据主流。"
    # a clause complete in itself before 也/还/只是… stays (a helper's review); one before 就 is a subject alone, and one on 比 a comparison without it
    assert script._clauses("他们在欧洲的电池卖得很好，还拿到了宝马和奔驰的大订单。", True) == ["他们在欧洲的电池卖得很好"]
    assert "比前年翻了一倍" not in script._clauses("欧洲的营收超过了一亿欧元，比前年翻了一倍。", True)
    revenue = script._clauses("去年有一家电池企业光是在欧洲的营收，就超过了一亿欧元。", True)
    assert not [c for c in revenue if c.startswith("就")] and "去年有一家电池企业光是在欧洲的营收" not in revenue, "nor the subject without it"
    assert "会继续占据主流" not in script._clauses("王磊认为磷酸铁锂电池，也就是LFP，会继续占据主流。", True)
    # who said it is no part of a copy: going-global's LFP line is 21 characters with "王磊认为", 17 without; 比亚迪 is no 比
    assert "王磊认为磷酸铁锂电池，也就是LFP，会继续占据主流" in script._clauses("说到技术路线，王磊认为磷酸铁锂电池，也就是LFP，会继续占据主流，而固态电池至少还要5年才能量产。", True)
    factories = script._clauses("王磊说，宁德时代在德国Erfurt的工厂，已经投产，客户包括BMW和 Mercedes-Benz，比亚迪则选择在匈牙利和泰国建厂。", True)
    assert "比亚迪则选择在匈牙利和泰国建厂" in factories, factories
    # edge-cases: a line too long to report whole, told without its setting
    long_line = "A model with 7 billion parameters needs about 14 gigabytes of memory in its original form."
    assert script._clauses(long_line, False) == ["A model with 7 billion parameters needs about 14 gigabytes of memory"]
    from engines.llm.verify import words_of

    assert words_of("1.5 billion, 2,000 cycles, and don't.") == ["1.5", "billion", "2,000", "cycles", "and", "don't"], "as a listener counts words"
    verifier = Verifier("So how fast is it? " + said, "en")
    assert "host_voice" in verifier.broken("Priya Nair and Kenji Watanabe, thank you both for coming."), "the presenter thanks no one"


@pytest.mark.parametrize(("facts", "language", "said"), [
    ({"show": "Field Notes", "title": "Home batteries with Maria Lopez", "host": "Dana Whitfield", "guests": ["Maria Lopez"]}, "en",
     "In this episode of Field Notes, Dana Whitfield talks with Maria Lopez about home batteries."),
    ({"show": "Field Notes", "title": "Ep. 12: Home batteries", "host": None, "guests": []}, "en", "This episode of Field Notes is about home batteries."),
    ({"show": "Field Notes", "title": "Home batteries, explained (sample)", "host": "Dana Whitfield", "guests": ["Maria Lopez"]}, "en",
     "In this episode of Field Notes, Dana Whitfield talks with Maria Lopez about home batteries."),
    ({"show": "Unheard Show", "title": "Batteries", "host": "Dana Whitfield", "guests": []}, "en", "In this episode, Dana Whitfield talks about batteries."),
    ({"show": "科技早知道", "title": "电动汽车的电池", "host": "王磊", "guests": []}, "zh", "在这一期《科技早知道》里，王磊聊了电动汽车的电池。"),
    ({"show": "科技早知道", "title": "EP 26. 电池", "host": None, "guests": []}, "zh", "在这一期《科技早知道》里，聊的是电池。"),
    ({"show": "科技早知道", "title": "电动汽车的电池：对话宁德时代前工程师王磊", "host": "王磊", "guests": []}, "zh", "在这一期《科技早知道》里，王磊聊了电动汽车的电池。"),
])
def test_the_intro_says_whose_show_who_talks_and_about_what(facts, language, said):
    from engines.llm import script

    transcript = "Welcome back to Field Notes. I'm Dana Whitfield, and Maria Lopez is here to talk about home batteries." if language == "en" else CHINESE_TEXT + "我是王磊。"
    assert script.intro(script.Facts(**facts), transcript, language == "zh") == said


def test_the_script_is_kept_as_beats_in_summary_json(server, tmp_path):
    """Beats: text, section, times, speaker and source; script.txt (what narration reads) is their text."""
    from core.artifacts import Summary

    two = {**DIGEST, "script": "Maria Lopez of Solar Grid says battery prices fell by 40% since 2020. Her advice is to compare warranties before buying."}
    ChatServer(server, {"Notes": [NOTES], "Digest": [two]})
    lines = ENGLISH + [(text, start + 215) for text, start in ENGLISH]  # 430 s: two sections
    transcript = write_transcript(tmp_path, lines, "en")
    data = json.loads(transcript.read_text())
    data["speakers"] = [{"label": "Dana Whitfield", "name": "Dana Whitfield"}, {"label": "Maria Lopez", "name": "Maria Lopez"}]
    for i, segment in enumerate(data["segments"]):
        segment["speaker"] = 1 + i % 2
    transcript.write_text(json.dumps(data))
    settings = remote(server, target_seconds=30)
    S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="Batteries", show="Tech Weekly")
    summary = Summary.read(tmp_path)
    assert summary.beats[0].source == "intro" and summary.beats[0].section is None
    assert summary.beats[0].text == "In this episode of Tech Weekly, Maria Lopez talks about batteries.", "Dana Whitfield is never heard: not said"
    assert summary.script == " ".join(b.text for b in summary.beats) == (tmp_path / "script.txt").read_text().strip()
    body, last = summary.beats[1:-1], summary.beats[-1]
    assert (last.source, last.text) == ("outro", "That was Tech Weekly, with Maria Lopez."), "the digest ends rather than stops"
    assert {b.section for b in body} == {0, 1}, "each section has its sentence"
    assert all(b.end > b.start for b in body) and [b.start for b in body] == sorted(b.start for b in body)
    assert body[0].speaker == "Maria Lopez" and body[0].source == "model"
    raw = json.loads((tmp_path / "summary.json").read_text())
    assert set(raw["beats"][1]) == {"text", "section", "start", "end", "speaker", "source", "kind", "words"}


def test_separators_and_open_enumerations_never_reach_the_digest():
    assert gates.clean_text("王磊聊了电池Ｇ宁德时代在投入快充。") == "王磊聊了电池。宁德时代在投入快充。"
    assert gates.clean_text("王磊聊了电池。Ｇ宁德时代在投入快充。") == "王磊聊了电池。宁德时代在投入快充。"
    assert gates.clean_text("嘉宾有投资人朋友﹑") == "嘉宾有投资人朋友。"
    assert gates.clean_text("他提到电池、快充﹑。") == "他提到电池、快充。"
    assert gates.clean_text("A股和B站都在涨。") == "A股和B站都在涨。", "a Latin letter that is part of a word stays"


def test_no_chapter_is_the_episode_title_and_a_number(server, tmp_path):
    numbered = {**DIGEST, "chapters": [{"start": "00:00", "title": "Welcome"}, *({"start": f"0{i}:00", "title": f"Batteries ({i})"} for i in (1, 2, 3))]}
    ChatServer(server, {"Notes": [NOTES], "Digest": [numbered]})
    result = run(remote(server), tmp_path)
    assert [c["title"] for c in result["chapters"]] == ["Welcome"]
    from core.artifacts import Segment
    from engines.llm.ranking import Extract

    extract = Extract([Segment(start=0, end=10, text="Battery prices fell by forty percent since 2020.")], "en")
    assert extract.chapters([0, 30, 60], "Batteries") == [(0, "Battery prices fell by forty percent since 2020")], "no '(2)', '(3)'"
    opening = Extract([Segment(start=0, end=10, text="本期，我们请到了宁德时代的前电池工程师王磊，聊聊中国电池企业怎么走向海外。")], "zh")
    assert opening.chapters([0], "出海观察") == [(0, "聊聊中国电池企业怎么走向海外")], "going-global's chapter was titled 本期"


def test_the_rubric_names_the_rule_each_failure_breaks(server, tmp_path):
    from evaluation import rubric

    ChatServer(server, {"Notes": [NOTES], "Digest": [DIGEST]})
    result = run(remote(server), tmp_path)
    assert [f for f in rubric.check(result, ENGLISH_TEXT) if f[0] == "script" or f[1] == "clean"] == [], "the stage's script passes its own rubric"
    assert rubric.model_share(result) == 1.0
    broken = {**result, "script": "We talk batteries. Why?", "beats": [], "summary": "王磊聊电池Ｇ宁德时代。", "chapters": [{"start": 0, "title": "Batteries (2)"}]}
    found = {(where, rule) for where, rule, _ in rubric.check(broken, ENGLISH_TEXT)}
    assert {("script", "intro"), ("script", "host_voice"), ("script", "question"), ("summary", "clean"), ("chapters", "clean")} <= found, found
    assert "script: host_voice: We talk batteries." in rubric.report(rubric.check(broken, ENGLISH_TEXT))
    intro = {"source": "intro", "text": "In this episode of Tech Weekly, Maria Lopez talks about batteries."}
    echo = {**result, "beats": [intro, *[b for b in result["beats"] if b["source"] == "model"], {"source": "outro", "text": "That was Tech Weekly, with Maria Lopez."}]}
    assert [f for f in rubric.check(echo, ENGLISH_TEXT) if f[0] == "script"] == [], "the outro may echo the intro (the English set's data-stack)"


def test_guests_named_by_the_title_join_the_intro_and_leave_the_topic():
    from engines.llm import script

    title = "语音识别与大模型：和 David、Emily 聊 Whisper 和推理成本"
    assert script.guests_in_title(title, True) == ["David", "Emily"]
    assert script.guests_in_title("Home batteries with Maria Lopez", False) == ["Maria Lopez"]
    transcript = "今天我们请到了两位嘉宾，David 和 Emily，先从 Whisper 聊起，再聊语音识别与大模型的推理成本。"
    facts = script.Facts(show="Tech Weekly", title=title, guests=["David", "Emily"])
    assert script.intro(facts, transcript, True) == "在这一期节目里，David和Emily聊了“语音识别与大模型：Whisper 和推理成本”。", "the show is never heard: not said"


def test_a_title_that_says_what_the_episode_does_not_gives_way_to_its_topic():
    """The English evaluation set: the model titled build-notes "Stripe Reduces Fraud Check Latency by 85%" (85 never said)."""
    from engines.llm import script

    transcript = "Welcome to Build Notes. Raj Patel from Stripe explains how they cut fraud check latency from 800 to 120 milliseconds."
    facts = script.Facts(show="Build Notes", title="Stripe cuts fraud check latency, with Raj Patel")
    assert script.title_for("Stripe Reduces Fraud Check Latency by 85%", facts, transcript, False) == "Stripe cuts fraud check latency"
    assert script.title_for("Faster fraud checks at Stripe", facts, transcript, False) == "Faster fraud checks at Stripe"
    assert script.title_for("Fraud Checks at Stripe: A Game-Changer", facts, transcript, False) == "Stripe cuts fraud check latency", "the sample's hype"
    assert script.title_for("Fraud Checks: A New Era in Payments", facts, transcript, False) == "Stripe cuts fraud check latency", "data-stack's hype"
    unheard = script.Facts(show="Build Notes", title="Episode 85 with Raj Patel")
    assert script.title_for("Stripe Reduces Latency by 85%", unheard, transcript, False) == "Build Notes", "else the show's name"
    claimed = script.Facts(show="Build Notes", title="How Stripe cut fraud check latency by 85 percent, with Raj Patel", host="Sarah Chen")
    assert script.topic_of(claimed.title, transcript, "Build Notes") == "how Stripe cut fraud check latency", "the title's topic without its unsaid figure"
    assert script.topic_of("Costs up to 85 percent", transcript) == "", "what is left says nothing"
    assert script.title_for("Fraud Checks at Stripe: How Stripe Cut Latency", facts, transcript, False) == "Stripe cuts fraud check latency", "Stripe twice"
    chinese = script.Facts(show="出海观察", title="中国电池出海：对话宁德时代前工程师王磊")
    said = "大家好，欢迎收听《出海观察》。本期我们请到了宁德时代的前电池工程师王磊，聊聊中国电池企业怎么走向海外。中国电池出海最难的是管理。"
    assert script.title_for("宁德时代出海：中国电池出海：对话宁德时代前工程师王磊", chinese, said, True) == "中国电池出海", "the going-global title said 宁德时代 twice"
    assert script.title_for("宁德时代的出海之路", chinese, said, True) == "宁德时代的出海之路"


def test_reported_speech_prefers_the_sentence_that_carries_a_number_or_a_name():
    """What a listener must hear is mostly who and how much: between sentences as central, the one with the figure is told."""
    from core.artifacts import Segment
    from engines.llm import script

    lines = ["The cache made the fraud service much faster for everyone.", "The cache made the fraud service 800 milliseconds faster."]
    segments = [Segment(start=10.0 * i, end=10.0 * i + 9, text=t, speaker=1) for i, t in enumerate(lines)]
    section = script.sections(segments, 20.0, lambda s: "Raj Patel")[0]
    beat = script.reported(section, Verifier("Raj Patel joins the show. " + " ".join(lines), "en"), [], lambda s: "Raj Patel")
    assert beat is not None and "800 milliseconds" in beat.text, beat


def test_a_topic_that_is_a_move_from_one_thing_to_another_reads_as_one():
    """data-stack's title "From nightly batch to streaming at Shopify, with …" made "… talks with … about from nightly batch …"."""
    from engines.llm import script

    transcript = "Welcome to The Data Stack. I'm Mark Davis. Priya moved Shopify from nightly batch to streaming at Shopify."
    facts = script.Facts(show="The Data Stack", title="From nightly batch to streaming at Shopify, with Priya Nair", host="Mark Davis")
    assert script.intro(facts, transcript, False) == "In this episode of The Data Stack, Mark Davis talks about the move from nightly batch to streaming at Shopify."


def test_an_hour_s_script_tells_sections_spread_over_the_whole_episode():
    """An hour is 20 sections; a 60-word script has room for four sentences: they come from all over the episode, not
    from its first four sections (the script used to stop two thirds of the way through a long episode)."""
    from core.artifacts import Segment
    from engines.llm import script

    topics = ["battery", "solar", "wind", "grid", "hydrogen", "nuclear", "storage", "charging", "pricing", "policy",
              "export", "mining", "recycling", "software", "sensors", "weather", "demand", "trading", "carbon", "heating"]
    segments = [Segment(start=180.0 * k + 90.0 * half, end=180.0 * k + 90.0 * half + 85.0, text=f"Our {topic} team built a new {topic} product this year.")
                for k, topic in enumerate(topics) for half in (0, 1)]
    verifier = Verifier(" ".join(s.text for s in segments), "en")
    verbs = "doubled trimmed rebuilt tested shipped priced sold moved cut raised opened closed merged split hired trained fixed mapped ranked sorted".split()
    nouns = "budgets prices teams plants routes tools sites loads fees hours staff stock lines tests rules maps tanks parts plans units".split()
    candidates = [f"The {topic} people {verb} their {noun} quickly." for topic, verb, noun in zip(topics, verbs, nouns)]
    made = script.compose(script.Facts(show="Energy Hour"), segments, 3600.0, verifier, candidates, speaker_of=lambda s: None, target_size=60)
    told = [b.section for b in made.beats if b.source == "model"]
    assert len(made.sections) == 20 and len(told) >= 3 and max(told) >= 12, told
    assert script.spread(made.sections, 80, False) == [made.sections[k] for k in (0, 5, 10, 15)]
    assert script.spread(made.sections, 1000, False) == made.sections, "room for all: all told"


def test_a_chinese_guest_is_the_name_the_clause_ends_on():
    """going-global: "请到了宁德时代前工程师王磊" gave the guest "宁德" (jieba reads 宁德 of 宁德时代 as a name); beyond-code's
    title "第58期：Kimi 的推理成本，和月之暗面的张伟聊聊" left "聊" in the topic and lowered Kimi."""
    from engines.llm import script

    assert script.guests_said("大家好，这里是出海观察。今天我们请到了宁德时代前工程师王磊，聊聊电池出海。", True) == ["王磊"]
    assert script.guests_in_title("第58期：Kimi 的推理成本，和月之暗面的张伟聊聊", True) == ["张伟"]
    transcript = "欢迎收听代码之外。我们聊聊kimi 的推理成本，今天请到了月之暗面的张伟。Kimi 的推理成本很高。"
    assert script.topic_of("第58期：Kimi 的推理成本，和月之暗面的张伟聊聊", transcript, "代码之外") == "Kimi 的推理成本"


def test_two_chinese_names_joined_by_he_are_each_grounded():
    """beyond-code: "林晓和张伟聊了…" read as the name 林晓和, ungrounded: the intro and the outro were not spoken at all."""
    verifier = Verifier("大家好，这里是代码之外，我是主播林晓。今天的嘉宾是月之暗面的工程师张伟。", "zh")
    assert verifier.broken("在这一期《代码之外》里，林晓和张伟聊了这期的话题。") == []
    assert verifier.broken("以上是林晓和张伟在这一期《代码之外》里聊的内容。", skip=("length",)) == []


def test_a_highlight_that_is_the_transcript_s_own_line_is_not_kept():
    """The Data Stack's highlights held the host's sign-off, "That's the data stack for this week.", word for word."""
    from engines.llm import script

    verifier = Verifier(ENGLISH_TEXT + " That's it for this week.", "en")
    told = script.prose(["Maria Lopez explains home batteries."], ["That's it for this week.", "Battery prices fell by 40% since 2020."], [], verifier)
    assert told.highlights == ["Battery prices fell by 40% since 2020."]


@pytest.mark.parametrize(("show", "host", "guest", "said", "written", "told"), [
    # The Data Stack: advice in the presenter's voice that nobody in the episode is heard giving
    ("The Data Stack", "Mark Davis", "Kenji Watanabe", "Start simple, measure how fresh your data really needs to be, and only then pay for streaming.",
     "Teams should start simple and measure how fresh their data needs to be.",
     "Kenji Watanabe says teams should start simple and measure how fresh their data needs to be."),
    # build-notes: a team's "we" in the presenter's voice (refused as the host's), told as what the guest said
    ("Build Notes", "Sarah Chen", "Raj Patel", "We found about forty differences, and every single one was a bug in the old code.",
     "We found 40 differences, and each one was a bug in the old code.",
     "Raj Patel says they found 40 differences, and each one was a bug in the old code."),
])
def test_a_model_sentence_of_advice_or_of_a_team_s_we_is_credited_to_whoever_said_it(show, host, guest, said, written, told):
    from types import SimpleNamespace

    from engines.llm import script

    segments = [
        SimpleNamespace(start=0.0, end=5.0, text=f"Welcome to {show}. I'm {host}, with {guest}.", speaker=host),
        SimpleNamespace(start=5.0, end=12.0, text=said, speaker=guest),
    ]
    verifier = Verifier(" ".join(s.text for s in segments), "en")
    made = script.compose(script.Facts(show=show, host=host, guests=[guest]), segments, 12.0, verifier, [written], speaker_of=lambda s: s.speaker)
    assert told in [b.text for b in made.beats]


def test_one_voice_s_sentences_in_a_row_open_with_another_verb_and_its_role_is_said_once():
    """Read aloud, build-notes was "Raj Patel says…" five times, and its role twice (the intro's, then the model's)."""
    from engines.llm.script import Beat, _varied

    beats = [
        Beat("Raj Patel is a staff engineer at Stripe.", None, 0, 0, None, "intro"),
        Beat("Raj Patel, a staff engineer at Stripe, moved feature lookups into a Redis cache.", 0, 1, 2, None, "model"),
        Beat("Raj Patel says the old service had p99 latency of around 800 milliseconds.", 0, 3, 4, None, "model"),
        Beat("Raj Patel says that p99 latency went from 800 to 120 milliseconds.", 1, 5, 6, None, "model"),
        Beat("Sarah Chen asks about costs, and Raj Patel says that compute costs fell by 60%.", 1, 7, 8, None, "model"),
        Beat("Raj Patel says that all 40 differences were bugs in the old code.", 1, 9, 10, None, "model"),
    ]
    _varied(beats, ["Sarah Chen", "Raj Patel"], False)
    assert [b.text for b in beats[1:]] == [
        "Raj Patel moved feature lookups into a Redis cache.",
        "Raj Patel says the old service had p99 latency of around 800 milliseconds.",
        "Patel adds that p99 latency went from 800 to 120 milliseconds.",
        "Sarah Chen asks about costs, and Raj Patel says that compute costs fell by 60%.",
        "Raj Patel says that all 40 differences were bugs in the old code.",
    ]
    chinese = [Beat("张伟提到，高峰时每秒要处理三万个请求。", 0, 1, 2, None, "model"), Beat("张伟提到，长上下文是他们最早押注的方向。", 0, 3, 4, None, "model")]
    _varied(chinese, ["林晓", "张伟"], True)
    assert [b.text for b in chinese] == ["张伟提到，高峰时每秒要处理三万个请求。", "张伟还说，长上下文是他们最早押注的方向。"]


def test_the_summary_never_tells_that_the_episode_mentions_its_own_show(server, tmp_path):
    """The Data Stack's summary ended "The episode also mentions Databricks, The Data Stack and Data Stack.": the show's
    name, and a name another holds, are not news."""
    ChatServer(server, {"Notes": [POINTLESS], "Digest": [DIGEST]})
    lines = [*ENGLISH, ("Tech Weekly comes out every Monday, and Weekly listeners can write in.", 220)]
    settings = remote(server)
    transcript = write_transcript(tmp_path, lines, "en")
    S.summarize(transcript, tmp_path, settings.summarize, settings.context, title="Batteries", show="Tech Weekly", glossary=["Tech Weekly", "Weekly", "Solar Grid", "Arizona"])
    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]
    assert "Tech Weekly" not in summary and "Weekly" not in summary, summary
    assert "Arizona" in summary, "another name left out is still told"


def test_a_highlight_that_says_all_an_earlier_one_does_takes_its_place():
    """data-stack: the highlights were "Teams should start with the one dashboard…" and then "Kenji Watanabe says that
    streaming costs more…, so teams should start with the one dashboard…": the same advice read twice."""
    from engines.llm import script

    said = "Streaming costs more to run and is harder to debug, so teams should start with the one dashboard where fresh data earns money."
    verifier = Verifier("I'm Kenji Watanabe. " + said + " Every order goes into Kafka, about two billion events a day.", "en")
    advice = "Teams should first pick the one dashboard where fresh data earns money."
    whole = "Kenji Watanabe says that streaming costs more and is harder to debug, so teams should first pick the one dashboard where fresh data earns money."
    told = script.prose(["Kenji Watanabe explains when streaming pays."], [advice, whole, "About two billion events a day go through Kafka."], [], verifier)
    assert told.highlights == [whole, "About two billion events a day go through Kafka."]
    assert script.prose(["Kenji Watanabe explains when streaming pays."], [whole, advice], [], verifier).highlights == [whole], "nothing new: refused"
    from_script = script.prose(["Kenji Watanabe explains when streaming pays."], [advice], [script.Beat(whole, 0, 1.0, 9.0, "Kenji Watanabe", "model")], verifier)
    assert from_script.highlights == [whole], "the script's sentence that holds it, in its place"


@pytest.mark.parametrize(
    ("sentence", "language", "voices", "host", "shifted"),
    [
        ("Raj Patel explains that we ran both services side by side, and our bill fell.", "en", ["Sarah Chen", "Raj Patel"], "Sarah Chen",
         "Raj Patel explains that they ran both services side by side, and their bill fell."),
        ("Elena Rossi adds that on our benchmarks the loss is about 2%.", "en", ["Elena Rossi"], None, "Elena Rossi adds that on their benchmarks the loss is about 2%."),
        ("Sarah Chen says that we will talk about Stripe.", "en", ["Sarah Chen", "Raj Patel"], "Sarah Chen", None),  # the host's "we" is the show's
        ("The US team says we cut latency.", "en", ["Raj Patel"], None, None),  # no voice named: whose "we" is unknown
        ("We cut latency from 800 to 120 milliseconds.", "en", ["Raj Patel"], None, None),
        ("张伟提到，我们也在测试华为的昇腾芯片。", "zh", ["林晓", "张伟"], "林晓", "张伟提到，他们也在测试华为的昇腾芯片。"),
        ("林晓说，我们下期再见。", "zh", ["林晓", "张伟"], "林晓", None),
    ],
)
def test_a_guest_s_we_in_reported_speech_is_their_team_s(sentence, language, voices, host, shifted):
    """build-notes: "Raj Patel explains that we ran both services side by side on real traffic for six weeks…" was refused
    as the host's voice; reported speech says "they"."""
    from engines.llm import script

    assert script.backshifted(sentence, language == "zh", voices, host) == (shifted or sentence)
    verifier = Verifier("Raj Patel: We ran both services side by side, and our bill fell. Elena Rossi: On our benchmarks the loss is about 2%.", "en")
    if shifted and language == "en":
        assert "host_voice" in verifier.broken(sentence) and "host_voice" not in verifier.broken(shifted)


def test_a_run_of_sentences_told_by_one_voice_opens_with_another_verb_each():
    """tech-weekly's summary: "节目中提到，…" four times in a row (one voice heard, so no one named). In English the person is
    named again by surname (the sample's summary had nine sentences opening "Maria Lopez"), a Chinese name in pinyin by
    its first word, kept whole."""
    from engines.llm import script

    said = ["节目中提到，每天处理超过两万个小时的音频。", "节目中提到，他们用 Prefect 做调度。", "节目中提到，速度快四到五倍。", "David提到，瓶颈是数据质量。"]
    assert script.varied(said, ["David"], True) == ["节目中提到，每天处理超过两万个小时的音频。", "节目中还说，他们用 Prefect 做调度。", "节目中谈到，速度快四到五倍。", "David提到，瓶颈是数据质量。"]
    english = ["Priya Nair said that the bill went up by 30%.", "Priya Nair says the dashboards are fresh.", "Mark Davis says that streaming costs more."]
    assert script.varied(english, ["Priya Nair", "Mark Davis"], False) == [english[0], "Nair adds that the dashboards are fresh.", english[2]]
    pinyin = ["Zhang Wei says that the service peaks at thirty thousand requests.", "Zhang Wei says the cards are hard to buy."]
    assert script.varied(pinyin, ["Zhang Wei"], False)[1] == "Zhang Wei adds that the cards are hard to buy."
    three = ["Mary Ann Evans says that the book sold well.", "Mary Ann Evans says the sequel did not."]
    assert script.varied(three, ["Mary Ann Evans"], False)[1] == "Mary Ann Evans adds that the sequel did not."


def test_the_digest_s_own_words_pass_where_the_episode_says_them():
    """"…says the presenter highlights…" speaks of the digest (refused, see the fragment rule's examples); an episode about
    television may speak of its presenter."""
    verifier = Verifier("Our guest worked in television for years. The presenter of the evening news reads forty stories every night.", "en")
    assert verifier.broken("The guest says the presenter of the evening news reads 40 stories a night.") == []
    assert "fragment" in Verifier("Our guest worked in television for years.", "en").broken("The guest says the presenter reads 40 stories a night.")


def test_a_number_is_grounded_with_what_it_counts():
    """edge-cases' "…than a model with 7 billion tokens per second" (the episode's seven billion are parameters); not a
    noun a few words on ("six more engineers"), a year, nor a word that is no noun."""
    from engines.llm.grounding import mismeasured

    heard = "A seven billion model needs fourteen gigabytes. It writes about twenty tokens per second. We hired six more engineers in 2020."
    assert mismeasured("A model with 7 billion tokens per second.", heard) == ["7000000000 tokens"]
    assert mismeasured("A 7 billion model writes 20 tokens per second with 14 gigabytes.", heard) == []
    assert mismeasured("They hired 6 engineers.", heard) == [] and mismeasured("Since 2020 this changed.", heard) == []


def test_the_model_is_shown_the_title_without_a_figure_the_episode_does_not_say():
    """build-notes: asked for the line on six weeks of side-by-side runs, the small model told the title's "85 percent" twice."""
    from engines.llm.script import shown_title

    transcript = "We cut p99 latency from 800 to 120 milliseconds. We ran both services side by side for six weeks."
    assert shown_title("How Stripe cut fraud-check latency by 85 percent, with Raj Patel", transcript) == "How Stripe cut fraud-check latency, with Raj Patel"
    assert shown_title("From 800 to 120 milliseconds, with Raj Patel", transcript) == "From 800 to 120 milliseconds, with Raj Patel", "said: kept"
    assert shown_title("中国电池出海：对话宁德时代前工程师王磊", transcript) == "中国电池出海：对话宁德时代前工程师王磊"
