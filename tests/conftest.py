from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from flows import prefect_env
from stages import narrate as N

from .support import ROOT, SHARED, LocalServer, ffmpeg

prefect_env.apply()  # before any test imports Prefect
# Prefect configures its console logging when first imported, bound to the sys.stderr of that moment. Imported
# here, that is the session's stream; imported first inside a CliRunner call, it would be one that closes after it.
import prefect.main  # noqa: E402, F401


@pytest.fixture(scope="session")
def jfk_flac() -> Path:
    """11 s of real English speech (public domain); the shared copy, else the bundled sample."""
    shared = SHARED / "jfk.flac"
    return shared if shared.exists() else ROOT / "assets" / "sample" / "jfk-inaugural.flac"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


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


TEXT_EN = "My mom made more lemon muffins this summer. Many men may move home, and some may remain."
TEXT_ZH = "八百标兵奔北坡，炮兵并排北边跑。大家都来看看吧。"


@pytest.fixture(scope="session")
def narrated(tmp_path_factory):
    """An m-rich English sentence and a b/p-rich Chinese one, narrated by the default voices (for lip sync and compose)."""
    folders = {}
    for language, text in (("en", TEXT_EN), ("zh", TEXT_ZH)):
        folder = tmp_path_factory.mktemp(f"narration-{language}")
        (folder / "script.txt").write_text(text, encoding="utf-8")
        settings = Settings()
        N.narrate(folder / "script.txt", folder, settings.narrate, settings.context, language=language)
        folders[language] = folder
    return folders
