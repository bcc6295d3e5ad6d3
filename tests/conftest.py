from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from presenter.settings import Settings

from .httpserver import LocalServer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
JFK_TEXT = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


@pytest.fixture(scope="session")
def jfk_flac() -> Path:
    """11 s of real English speech (public domain); the shared copy, else the bundled sample."""
    shared = SHARED / "jfk.flac"
    return shared if shared.exists() else ROOT / "assets" / "sample" / "jfk-inaugural.flac"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def jfk_mp3(jfk_flac, media_dir) -> Path:
    out = media_dir / "jfk.mp3"
    ffmpeg("-i", str(jfk_flac), "-c:a", "libmp3lame", "-b:a", "64k", str(out))
    return out


@pytest.fixture(scope="session")
def silence_wav(media_dir) -> Path:
    out = media_dir / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8", str(out))
    return out


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Fast retries and short timeouts, outputs in a temporary folder, shared model cache."""
    return Settings(
        output_dir=tmp_path / "outputs",
        fetch={"attempts": 3, "backoff_seconds": 0.01, "connect_timeout": 2, "read_timeout": 5},
    )


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary local Prefect server (real API and database) for the flow tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst
