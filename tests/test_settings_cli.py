"""Settings sources and precedence, and the command line's help, doctor and episodes commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from core.settings import Settings
from presenter.cli import app

from .support import Route, rss


def test_config_file_then_environment_then_arguments(tmp_path, monkeypatch):
    config = tmp_path / "presenter.toml"
    config.write_text('output_dir = "~/digests"\n[transcribe]\nmodel = "tiny.en"\nworkers = 3\n[fetch]\nmax_bytes = 1000\n')
    monkeypatch.setenv("PRESENTER_CONFIG", str(config))
    monkeypatch.setenv("PRESENTER_TRANSCRIBE__WORKERS", "2")
    settings = Settings()
    assert settings.output_dir == Path.home() / "digests"
    assert settings.transcribe.model == "tiny.en" and settings.transcribe.workers == 2 and settings.fetch.max_bytes == 1000
    assert Settings(transcribe={"workers": 1}).transcribe.workers == 1


def test_invalid_values_are_rejected(monkeypatch):
    monkeypatch.setenv("PRESENTER_TRANSCRIBE__ENGINE", "whisperx")
    with pytest.raises(ValidationError, match="faster-whisper"):
        Settings()


def test_example_config_is_valid(monkeypatch):
    monkeypatch.setenv("PRESENTER_CONFIG", str(Path(__file__).parents[1] / "presenter.toml.example"))
    assert Settings().transcribe.engine == "faster-whisper"


def test_help_lists_commands_and_options():
    result = subprocess.run([sys.executable, "-m", "presenter.cli", "run", "--help"], capture_output=True, text=True, check=True)
    for option in ("--episode", "--language", "--until", "--output", "--engine", "--model", "--config", "--soundbites"):
        assert option in result.stdout
    # --help stays fast: no Prefect, no model runtime imported by the CLI module
    probe = "import sys, presenter.cli; print(any(m.startswith(('prefect', 'faster_whisper', 'torch')) for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_doctor_reports_engines_and_exits_zero_when_ready():
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("ffmpeg", "faster-whisper", "openai-whisper", "openai-api", "summarize"):
        assert name in result.output


def test_doctor_fails_when_the_selected_model_is_missing(tmp_path):
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200", "PRESENTER_TRANSCRIBE__MODEL": str(tmp_path / "nope")})
    assert result.exit_code == 1 and "model.bin not found" in result.output


def test_until_rejects_unknown_stage():
    result = CliRunner().invoke(app, ["run", "x.mp3", "--until", "render"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "'render' is not one of" in result.output and "'lipsync'" in result.output


def test_episodes_lists_index_and_guid(server):
    items = [{"title": f"Show {i}", "guid": f"guid-{i}", "url": f"http://x/{i}.mp3", "date": f"Mon, 0{i + 1} Jan 2024 10:00:00 +0000"} for i in range(2)]
    server.routes["/feed.xml"] = Route(rss("My Show", items), content_type="application/rss+xml")
    result = CliRunner().invoke(app, ["episodes", server.url("/feed.xml")])
    assert result.exit_code == 0
    assert "My Show — 2 episodes" in result.output and "[#0] 2024-01-02" in result.output and "guid: guid-1" in result.output


def test_run_reports_a_bad_feed_before_prefect_starts(server, monkeypatch):
    """Issue 27 item 11: the feed is read and checked first; Prefect's server is never started for a feed that fails."""
    import time

    import flows.server

    monkeypatch.setattr(flows.server, "start_temporary", lambda: pytest.fail("Prefect was started for a feed that cannot be read"))
    server.routes["/empty.xml"] = Route(rss("Nothing yet", []), content_type="application/rss+xml")
    for path, message in (("/missing.xml", "answered HTTP 404"), ("/empty.xml", "has no episodes")):
        started = time.monotonic()
        result = CliRunner().invoke(app, ["run", server.url(path)], env={"COLUMNS": "300"})
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output
        assert time.monotonic() - started < 5
    items = [{"title": "Only", "guid": "1001", "url": "http://x/1.mp3"}]
    server.routes["/one.xml"] = Route(rss("One", items), content_type="application/rss+xml")
    result = CliRunner().invoke(app, ["run", server.url("/one.xml"), "--index", "3"], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and "position 3 does not exist" in result.output, result.output
