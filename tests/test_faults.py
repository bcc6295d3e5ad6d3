"""Faults an operator meets, through the command line: one message naming the path and what to do, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import EngineError
from core.settings import Settings
from presenter.cli import app

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]


def cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def one_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("error: ") == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output


@pytest.fixture
def mounted(tmp_path):
    """A small tmpfs (size and options given), unmounted afterwards; skipped where this machine cannot mount one."""
    made = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}); needs root and mount permission")
        made.append(point)
        return point

    yield mount
    for point in made:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_path_with_a_nul_character(tmp_path):
    one_error(cli("run", "episode\x00.mp3", "--output", str(tmp_path)), "NUL character", "what to do:")


def test_a_read_only_output_folder(jfk_flac, mounted):
    out = mounted("readonly", "ro,size=1m")
    one_error(cli("run", str(jfk_flac), "--output", str(out / "digests"), "--until", "split"), "No permission to write", "writable output folder")


def test_a_full_disk_keeps_what_was_done_and_says_so(jfk_flac, mounted):
    out = mounted("full", "size=200k")
    one_error(cli("run", str(jfk_flac), "--output", str(out), "--model", "tiny.en", "--until", "split"), "The disk is full", "finished stages are kept")
    assert list(out.glob("*/manifest.json")), "the fetch stage's record is kept"


def test_a_failing_ffmpeg_step_is_one_error(tmp_path, narrated):
    from stages import compose as C

    (tmp_path / "lipsync.mp4").write_bytes(b"not a video")
    with pytest.raises(EngineError, match=r"ffmpeg could not compose .*presenter.mp4"):
        C.compose(tmp_path / "lipsync.mp4", narrated["en"] / "narration.json", tmp_path, Settings().compose, title="t", show="s")


def test_invalid_settings_are_one_error(tmp_path):
    one_error(cli("run", "x.mp3", "--voice", "no-such-voice", "--output", str(tmp_path)), "Invalid settings", "unknown narrate engine 'no-such-voice'")


@pytest.mark.slow
def test_a_killed_run_leaves_no_temporary_server_behind(jfk_flac, tmp_path):
    """SIGKILL of the CLI alone orphans Prefect's temporary server; the next CLI start stops it."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PRESENTER_TRANSCRIBE__MODEL": "tiny.en"}
    for name in ("PREFECT_API_URL", "PREFECT_SERVER_EPHEMERAL_ENABLED"):
        env.pop(name, None)
    presenter = str(Path(sys.executable).parent / "presenter")
    record = tmp_path / "prefect" / "presenter-temporary-server.json"
    first = subprocess.Popen([presenter, "run", str(jfk_flac), "--until", "transcribe", "--output", str(tmp_path / "out")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (record.is_file() and "server" in record.read_text()):
        time.sleep(0.2)
    import json

    server = json.loads(record.read_text())[-1]["server"]
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(1)
    assert Path(f"/proc/{server}").exists(), "the temporary server outlived its killed parent"
    done = subprocess.run([presenter, "episodes", "--help"], env=env, capture_output=True, text=True)  # no server needed: nothing reaped yet
    assert done.returncode == 0 and Path(f"/proc/{server}").exists()
    done = subprocess.run([presenter, "run", str(jfk_flac), "--until", "fetch", "--output", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "left behind by a run that was killed" in done.stderr + done.stdout
    for _ in range(50):
        if not Path(f"/proc/{server}").exists() or "Z" in Path(f"/proc/{server}/stat").read_text().split()[2]:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the orphaned server {server} is still running")
