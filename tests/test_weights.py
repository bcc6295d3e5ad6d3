"""Weights on request: 'presenter weights list/pull' and 'run --pull' against a mirror on 127.0.0.1 that serves files in the upstream layouts.

The mirror serves the shipped tiny.en CTranslate2 folder where the model hub
keeps faster-whisper-small, a converted openai-whisper checkpoint, and a GGUF
file; checksums come from the upstream tables (sha256 in openai-whisper's
URLs, the hub's ETag), so a test that needs its own file patches only the
table entry, never the pulling code.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.registry import COMPLETE
from core.settings import WeightsSettings
from core.weights.pull import gguf_weight, pull
from engines.asr import whisper_weights as W
from presenter.cli import app

from .support import Route, wer

SMALL = "/Systran/faster-whisper-small/resolve/main"


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def ct2_files() -> dict[str, bytes]:
    folder = W.tiny_en_dir()
    return {name: (folder / name).read_bytes() for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")}


def serve_small(server, files: dict[str, bytes], etag: str | None = None, **model_route) -> None:
    """faster-whisper-small's files as the hub serves them: large files with their sha256 as ETag; no vocabulary.json."""
    for name, data in files.items():
        headers = {"ETag": f'"{etag or sha256(data)}"'} if name == "model.bin" else {}
        server.routes[f"{SMALL}/{name}"] = Route(data, headers=headers, **(model_route if name == "model.bin" else {}))


def mirror_env(server, cache: Path) -> dict[str, str]:
    return {"PRESENTER_WEIGHTS__MIRROR": server.url(""), "PRESENTER_CACHE_DIR": str(cache), "PRESENTER_WEIGHTS__ATTEMPTS": "1"}


def test_the_list_shows_every_engines_weights_with_licences_and_what_is_installed(tmp_path):
    result = cli("weights", "list", env={"PRESENTER_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    for name in ("whisper:base", "faster-whisper:large-v3", "whisper:turbo", "paddlespeech:fastspeech2_csmsc", "paddlegan:wav2lip_hq", "kokoro:v1.0-int8"):
        assert name in result.output
    rows = {line.split("│")[1].strip().split(" (")[0]: line for line in result.output.splitlines() if line.startswith("│") and line.split("│")[1].strip()}
    assert "│ yes" in rows["kokoro:v1.0-int8"] and "│ no" in rows["faster-whisper:small"], "packaged weights are installed, pulled ones not yet"
    assert "non-commercial" in rows["paddlegan:wav2lip_hq"] and "non-commercial" in rows["paddlespeech:hifigan_csmsc"]


@pytest.mark.usefixtures("prefect_server")
def test_a_pulled_weight_is_what_the_run_uses_and_pull_fetches_only_what_is_missing(server, ct2_files, jfk_flac, tmp_path):
    serve_small(server, ct2_files)
    env = mirror_env(server, tmp_path / "cache")
    pulled = cli("weights", "pull", "faster-whisper:small", env=env)
    assert pulled.exit_code == 0, pulled.output
    folder = tmp_path / "cache" / "weights" / "faster-whisper--small"
    assert (folder / COMPLETE).is_file() and (folder / "model.bin").read_bytes() == ct2_files["model.bin"]
    assert f"{SMALL}/vocabulary.json" in [path for path, _ in server.requests], "an optional file the repository lacks is skipped"
    assert not list(folder.parent.glob("*.partial")), "nothing half-pulled is left"

    requests = len(server.requests)
    output = tmp_path / "out"
    run = cli("run", str(jfk_flac), "--model", "small", "--until", "transcribe", "--no-speakers", "--pull", "-o", str(output), env=env)
    assert run.exit_code == 0, run.output
    assert len(server.requests) == requests, "--pull fetched nothing: the weight was already there"
    transcript = next(output.glob("*/transcript.txt")).read_text()
    assert wer(transcript) <= 0.25, transcript


@pytest.mark.usefixtures("prefect_server")
def test_run_pull_fetches_a_missing_weight_first(server, ct2_files, jfk_flac, tmp_path):
    serve_small(server, ct2_files)
    env = mirror_env(server, tmp_path / "cache")
    without = cli("run", str(jfk_flac), "--model", "small", "--until", "transcribe", "--no-speakers", "-o", str(tmp_path / "a"), env=env)
    assert without.exit_code == 1 and "presenter weights pull faster-whisper:small" in without.output, without.output
    assert not server.requests, "nothing downloads unless asked"
    run = cli("run", str(jfk_flac), "--model", "small", "--until", "transcribe", "--no-speakers", "--pull", "-o", str(tmp_path / "b"), env=env)
    assert run.exit_code == 0, run.output
    assert {path.rsplit("/", 1)[-1] for path, _ in server.requests} >= {"model.bin", "config.json", "tokenizer.json"}


def test_a_checksum_mismatch_is_refused_and_nothing_is_installed(server, ct2_files, tmp_path):
    serve_small(server, ct2_files, etag="0" * 64)
    result = cli("weights", "pull", "faster-whisper:small", env=mirror_env(server, tmp_path / "cache"))
    assert result.exit_code == 1
    assert "faster-whisper:small" in result.output and "expected 0000" in result.output and "nothing was installed" in result.output
    weights = tmp_path / "cache" / "weights"
    assert not (weights / "faster-whisper--small").exists()
    assert not list(weights.rglob("model.bin*")), "the mismatched file is deleted"


def test_an_interrupted_download_resumes_where_it_stopped(server, ct2_files, tmp_path):
    serve_small(server, ct2_files, cut_after=1_000_000, cuts=1)
    env = mirror_env(server, tmp_path / "cache")
    first = cli("weights", "pull", "faster-whisper:small", env=env)
    assert first.exit_code == 1 and "resumes" in first.output, first.output
    second = cli("weights", "pull", "faster-whisper:small", env=env)
    assert second.exit_code == 0, second.output
    ranges = [headers.get("Range") for path, headers in server.requests if path.endswith("/model.bin")]
    assert ranges == [None, "bytes=1000000-"], ranges
    assert (tmp_path / "cache" / "weights" / "faster-whisper--small" / "model.bin").read_bytes() == ct2_files["model.bin"]


def test_a_mirror_without_the_file_or_out_of_reach_is_one_clear_error(server, tmp_path):
    missing = cli("weights", "pull", "faster-whisper:small", env=mirror_env(server, tmp_path / "cache"))
    assert missing.exit_code == 1
    assert "faster-whisper:small" in missing.output and "HTTP 404" in missing.output and server.url(f"{SMALL}/model.bin") in missing.output
    with socket.socket() as probe:  # a port on 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = cli("weights", "pull", "whisper:tiny", env={"PRESENTER_WEIGHTS__MIRROR": f"http://127.0.0.1:{closed}", "PRESENTER_CACHE_DIR": str(tmp_path / "cache"), "PRESENTER_WEIGHTS__ATTEMPTS": "1"})
    assert unreachable.exit_code == 1 and "Cannot reach" in unreachable.output and "PRESENTER_WEIGHTS__MIRROR" in unreachable.output, unreachable.output
    unknown = cli("weights", "pull", "whisper:huge", env={"PRESENTER_CACHE_DIR": str(tmp_path / "cache")})
    assert unknown.exit_code == 1 and "presenter weights list" in unknown.output


def test_any_gguf_by_url_with_its_checksum(server, tmp_path):
    from engines.llm.embedded import gguf_model

    data = b"GGUF" + bytes(range(256)) * 64
    server.routes["/models/tiny-q4.gguf"] = Route(data)
    env = {"PRESENTER_CACHE_DIR": str(tmp_path)}
    wrong = cli("weights", "pull", f"gguf:{server.url('/models/tiny-q4.gguf')}", "--sha256", "f" * 64, env=env)
    assert wrong.exit_code == 1 and "nothing was installed" in wrong.output
    right = cli("weights", "pull", f"gguf:{server.url('/models/tiny-q4.gguf')}", "--sha256", sha256(data), env=env)
    assert right.exit_code == 0, right.output
    assert gguf_model("tiny-q4.gguf", tmp_path).read_bytes() == data, "the embedded engine takes it by name"
    assert "gguf:tiny-q4.gguf" in cli("weights", "list", env=env).output
    with pytest.raises(Exception, match="not an http"):
        gguf_weight("file:///etc/passwd.gguf")


@pytest.mark.slow
def test_an_openai_whisper_size_is_pulled_by_its_url_checksum_and_transcribes(server, jfk_flac, tmp_path, monkeypatch):
    from core.media.ffmpeg import decode_audio
    from core.settings import Settings
    from engines.asr.openai_whisper import OpenAIWhisper

    checkpoint = W.convert_ct2_to_openai_whisper(W.tiny_en_dir(), tmp_path / "converted.pt").read_bytes()
    digest = sha256(checkpoint)
    server.routes[f"/main/whisper/models/{digest}/tiny.pt"] = Route(checkpoint)
    upstream = {"tiny": f"https://upstream.invalid/main/whisper/models/{digest}/tiny.pt"}  # the table's layout: the sha256 in the path
    monkeypatch.setattr(W, "upstream_table", lambda *args: upstream)
    cache = tmp_path / "cache"
    pull(W.OPENAI_WEIGHTS["tiny"], cache, WeightsSettings(mirror=server.url(""), attempts=1))
    settings = Settings(cache_dir=cache, transcribe={"engine": "openai-whisper", "model": "tiny"})
    engine = OpenAIWhisper(settings.transcribe, settings.context)
    heard = engine.transcribe((decode_audio(jfk_flac, 16_000) / 32768.0).astype("float32"), language="en", prompt=None, on_progress=None)
    assert wer(" ".join(s.text for s in heard.segments)) <= 0.25
