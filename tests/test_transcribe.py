"""transcribe with the real engines and the real shipped weights, on real speech."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import EngineError, EngineUnavailable
from core.settings import Settings
from engines.asr import whisper_weights as weights
from engines.asr.openai_api import OpenAIAPI
from stages import split
from stages import transcribe as T

from .support import Route, normalise, wer


@pytest.fixture(scope="module")
def jfk_chunk(jfk_flac, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("jfk")
    return split.split(jfk_flac, folder, Settings().split).chunks[0].path


def run_engine(settings: Settings, chunk: Path, out: Path, offset: float = 0.0, language: str | None = None) -> dict:
    T.transcribe_chunk(T.load_engine(settings.transcribe, settings.context), chunk, offset, out, language=language)
    return json.loads(out.read_text())


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_faster_whisper_on_real_speech(model, jfk_chunk, tmp_path):
    result = run_engine(Settings(transcribe={"model": model}), jfk_chunk, tmp_path / "t.json", offset=100.0)
    text = " ".join(s["text"] for s in result["segments"])
    assert wer(text) <= 0.10, text
    assert result["language"] == "en" and result["engine"] == "faster-whisper" and result["model"] == model
    words = [w for s in result["segments"] for w in s["words"]]
    assert len(words) >= 20
    starts = [w["start"] for w in words]
    assert starts == sorted(starts), "word times must be monotonic"
    assert 100.0 <= starts[0] < 102 and words[-1]["end"] <= 111.5, "times are on the episode timeline"


@pytest.mark.slow
def test_openai_whisper_on_converted_weights_matches_faster_whisper(jfk_chunk, tmp_path):
    reference = run_engine(Settings(transcribe={"model": "base", "faster_whisper": {"compute_type": "float32"}}), jfk_chunk, tmp_path / "ref.json")
    converted = run_engine(Settings(transcribe={"engine": "openai-whisper", "model": "base"}), jfk_chunk, tmp_path / "ow.json")
    text = " ".join(s["text"] for s in converted["segments"])
    assert wer(text) <= 0.10
    assert normalise(text) == normalise(" ".join(s["text"] for s in reference["segments"]))
    words = [w for s in converted["segments"] for w in s["words"]]
    ref_words = [w for s in reference["segments"] for w in s["words"]]
    assert [w["word"].strip() for w in words] == [w["word"].strip() for w in ref_words]
    # word timing comes from the alignment heads carried over from config.json
    assert max(abs(a["start"] - b["start"]) for a, b in zip(words, ref_words)) < 0.2


def test_base_weights_are_assembled_and_verified(tmp_path):
    folder = weights.assemble_base(tmp_path)
    assert (folder / ".verified").read_text().strip() == weights.BASE_SHA256
    assert sorted(p.name for p in folder.iterdir()) == [".verified", "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert weights.assemble_base(tmp_path) == folder  # second call reuses


def test_converter_maps_every_tensor(tmp_path):
    pytest.importorskip("whisper", reason="openai-whisper is installed by 'make setup'")
    variables = weights.read_ct2_model(weights.tiny_en_dir() / "model.bin")
    dims, state = weights._convert_state_dict(variables)
    assert dims["n_text_layer"] == 4 and dims["n_vocab"] == 51864  # tiny.en
    assert not any(name.endswith("key.bias") for name in state)
    checkpoint = weights.convert_ct2_to_openai_whisper(weights.tiny_en_dir(), tmp_path / "tiny.en.pt")
    assert checkpoint.stat().st_size > 50_000_000


def test_unknown_model_name_is_never_downloaded(tmp_path):
    with pytest.raises(EngineError, match="neither 'base', 'tiny.en'") as error:
        weights.ct2_whisper_dir("huge-v9", tmp_path)
    assert "presenter weights list" in error.value.hint
    with pytest.raises(EngineUnavailable, match="presenter weights pull faster-whisper:large-v3"):
        weights.ct2_whisper_dir("large-v3", tmp_path)  # a size that can be pulled, not pulled: the command to run, no download
    assert not (tmp_path / "weights").exists()


def test_model_folder_missing_a_file_names_it(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    shutil.copyfile(weights.tiny_en_dir() / "config.json", folder / "config.json")
    (folder / "model.bin").write_bytes(b"")
    with pytest.raises(EngineError, match="lacks tokenizer.json"):
        weights.ct2_whisper_dir(str(folder), tmp_path)


def test_model_folder_by_path(jfk_chunk, tmp_path):
    result = run_engine(Settings(transcribe={"model": str(weights.tiny_en_dir())}), jfk_chunk, tmp_path / "t.json")
    assert wer(" ".join(s["text"] for s in result["segments"])) <= 0.10


def test_openai_api_engine_against_a_local_endpoint(server, jfk_chunk, tmp_path):
    reply = {
        "text": "Ask not.", "language": "english", "duration": 11.0,
        "segments": [{"id": 0, "seek": 0, "start": 0.5, "end": 2.0, "text": " Ask not.", "tokens": [], "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.0}],
        "words": [{"word": "Ask", "start": 0.5, "end": 1.0}, {"word": "not.", "start": 1.0, "end": 2.0}],
    }
    server.routes["/v1/audio/transcriptions"] = Route(json.dumps(reply).encode(), content_type="application/json")
    settings = Settings(transcribe={"engine": "openai-api"}, openai={"api_key": "test-key", "base_url": server.url("/v1"), "max_retries": 0})
    result = run_engine(settings, jfk_chunk, tmp_path / "api.json", offset=60.0, language="en")
    assert result["engine"] == "openai-api" and result["model"] == "whisper-1" and result["language"] == "en"
    assert result["segments"][0]["start"] == 60.5 and [w["word"] for w in result["segments"][0]["words"]] == ["Ask", "not."]
    body = server.bodies[-1]
    assert b'name="model"' in body and b"whisper-1" in body and b"RIFF" in body and b"verbose_json" in body
    assert server.requests[-1][1].get("Authorization") == "Bearer test-key"
    assert T.max_chunk_seconds(settings.transcribe, settings.split) <= OpenAIAPI.max_chunk_seconds


def test_openai_api_engine_rejected_key(server, jfk_chunk, tmp_path):
    server.routes["/v1/audio/transcriptions"] = Route(b'{"error": {"message": "bad key"}}', status=401, content_type="application/json")
    settings = Settings(transcribe={"engine": "openai-api"}, openai={"api_key": "wrong", "base_url": server.url("/v1"), "max_retries": 0})
    with pytest.raises(EngineError, match="rejected the API key") as error:
        run_engine(settings, jfk_chunk, tmp_path / "api.json")
    assert "OPENAI_API_KEY" in error.value.hint


def test_transcript_files_merge_chunks_on_the_episode_timeline(tmp_path):
    seg = lambda s, e, t: {"start": s, "end": e, "text": t, "words": [{"start": s, "end": e, "word": t, "probability": 1.0}]}
    (tmp_path / "0.json").write_text(json.dumps({"offset": 0, "language": "en", "engine": "faster-whisper", "model": "base", "segments": [seg(0.5, 2.25, "Hello there.")]}))
    (tmp_path / "1.json").write_text(json.dumps({"offset": 300, "language": None, "engine": None, "model": None, "segments": []}))
    (tmp_path / "2.json").write_text(json.dumps({"offset": 3600, "language": "en", "engine": "faster-whisper", "model": "base", "segments": [seg(3601.0, 3723.5, "Goodbye.")]}))
    files = T.write_transcript([tmp_path / f"{i}.json" for i in range(3)], tmp_path, 3724.0)
    assert [f.name for f in files] == ["transcript.json", "transcript.txt", "transcript.srt", "transcript.vtt"]
    data = json.loads(files[0].read_text())
    assert data["language"] == "en" and data["text"] == "Hello there. Goodbye." and data["duration"] == 3724.0
    assert files[1].read_text() == "Hello there.\nGoodbye.\n"
    assert files[2].read_text() == "1\n00:00:00,500 --> 00:00:02,250\nHello there.\n\n2\n01:00:01,000 --> 01:02:03,500\nGoodbye.\n"
    assert files[3].read_text().startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.250\nHello there.\n")


@pytest.mark.parametrize(("script", "expected"), [("simplified", "欢迎收听科技节目"), ("traditional", "歡迎收聽科技節目"), ("original", "歡迎收听科技节目")])
def test_chinese_transcripts_use_the_configured_script(script, expected):
    # Whisper base writes Mandarin in traditional characters more often than not, mixed in this sample
    segments = [T.Segment(0.0, 1.0, "歡迎收听科技节目", [T.Word(0.0, 0.5, "歡迎"), T.Word(0.5, 1.0, "收听科技节目")])]
    converted = T.to_chinese_script(segments, script)
    assert converted[0].text == expected
    assert "".join(w.word for w in converted[0].words) == expected
    assert (converted[0].start, converted[0].words[1].end) == (0.0, 1.0)


def test_the_small_ideographic_comma_whisper_writes_is_the_ordinary_one_on_the_word_it_closes():
    """Whisper writes "﹑" (U+FE51, three byte tokens, from Big5-era subtitles); OpenCC keeps it and faster-whisper leaves it a word
    of its own, so it could open the next speaker's turn ("高尼: Monica﹑我是高尼"). It becomes "、" on the word before it."""
    words = [T.Word(0.0, 0.4, " Monica"), T.Word(0.4, 0.5, "﹑"), T.Word(1.1, 1.3, "我是"), T.Word(1.3, 1.6, "高尼"), T.Word(1.6, 1.7, "﹒")]
    segments = [T.Segment(0.0, 1.7, " Monica﹑我是高尼﹒", words)]
    for script in ("simplified", "traditional", "original"):
        [converted] = T.to_chinese_script(segments, script)
        assert converted.text == " Monica、我是高尼。"
        assert [(w.start, w.end, w.word) for w in converted.words] == [(0.0, 0.4, " Monica、"), (1.1, 1.3, "我是"), (1.3, 1.6, "高尼。")]
    from core.text import chinese_punctuation

    assert chinese_punctuation("电池﹐快充﹔对吗﹖好﹗时间﹕") == "电池，快充；对吗？好！时间："
