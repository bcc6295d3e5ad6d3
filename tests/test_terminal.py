"""What a user sees in the terminal: real `presenter` processes (native output on file descriptor 2 included).

A run at the default verbosity shows progress, the end-of-run table and no
engine logs (llama.cpp, absl, LiteRT); --verbose shows the engine lines; the
flow imported from plain Python, without the CLI, makes no telemetry attempt.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .support import ROOT

pytestmark = pytest.mark.slow

SAMPLE = ROOT / "assets" / "sample" / "jfk-inaugural.flac"
ENGINE_LINES = re.compile(  # llama.cpp's server log ("0.00.005.812 I srv  load_model: ..."), absl/glog, LiteRT
    r"llama_|^srv |^slot | [IWE] (?:srv|slot) |load_tensors|W0000|absl|XNNPACK|TensorFlow Lite|inference_feedback_manager|landmark_projection", re.MULTILINE
)
TELEMETRY = re.compile(r"telemetry|database is locked|sens-o-matic", re.IGNORECASE)


def _clean_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """The environment of a user's shell: none of the test session's Prefect settings; ``api_url``: a server they run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k not in ("DO_NOT_TRACK", "PRESENTER_VERBOSE", "TQDM_DISABLE")}
    return {**env, "PREFECT_HOME": str(home / "prefect-home"), **({"PREFECT_API_URL": api_url} if api_url else {})}


def _presenter(tmp_path: Path, api_url: str, *args: str) -> str:
    """`presenter ARGS` as a user runs it, on the test session's Prefect server (starting a temporary one is not the subject here)."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("presenter")), *args], cwd=ROOT, env=_clean_env(tmp_path, api_url), capture_output=True, text=True, timeout=1500,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def test_a_run_shows_progress_and_the_table_and_no_engine_logs(tmp_path, prefect_server):
    """The one end-to-end run with the default voice (Kokoro) and the embedded model, as a user starts it."""
    output = _presenter(tmp_path, prefect_server, "run", str(SAMPLE), "-o", str(tmp_path / "out"), "--summarizer", "embedded")
    assert not ENGINE_LINES.search(output), ENGINE_LINES.search(output)
    assert not TELEMETRY.search(output), TELEMETRY.search(output)
    assert re.search(r"summarize: +100%", output), "a progress bar for summarize"
    assert "Digest of" in output and re.search(r"summarize .* embedded", output), "the end-of-run table"
    assert re.search(r"Presenter video: .*presenter\.mp4", output) and re.search(r"Summary: .*summary\.md", output)
    folder = next((tmp_path / "out").iterdir())
    assert "Digest from qwen2.5-coder" in (folder / "logs" / "llm.log").read_text(encoding="utf-8"), "the model's calls are in the episode's log"


def test_verbose_shows_the_engine_lines(tmp_path, prefect_server):
    output = _presenter(tmp_path, prefect_server, "--verbose", "run", str(SAMPLE), "-o", str(tmp_path / "out"), "--summarizer", "embedded", "--until", "summarize")
    assert ENGINE_LINES.search(output), output[-3000:]
    assert "Digest from qwen2.5-coder" in output, "each model call, in full"


def test_the_flow_from_plain_python_makes_no_telemetry_attempt(tmp_path):
    """With no server configured, as a script's author runs it: the temporary server it starts makes no telemetry attempt either."""
    script = (
        "from flows.digest import digest\n"
        "from prefect.settings import get_current_settings\n"
        f"digest({str(SAMPLE)!r}, until='split', output_dir={str(tmp_path / 'out')!r})\n"
        "print('analytics', get_current_settings().server.analytics_enabled)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "analytics False" in output, "the offline defaults apply without the CLI"
    assert not TELEMETRY.search(output), TELEMETRY.search(output)
