from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.settings import Settings
from flows import prefect_env
from stages import narrate as N

from .support import DATA, LocalServer, ffmpeg, run_flow, serve_episode

prefect_env.apply()  # before any test imports Prefect
# Prefect configures its console logging when first imported, bound to the sys.stderr of that moment. Imported
# here, that is the session's stream; imported first inside a CliRunner call, it would be one that closes after it.
import prefect.main  # noqa: E402, F401


@pytest.fixture(scope="session")
def jfk_flac() -> Path:
    """11 s of real English speech (public domain), carried in tests/data."""
    return DATA / "jfk.flac"


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
    """One temporary local Prefect server (real API and database) for the flow tests; yields its API URL for subprocesses."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@dataclass
class Finished:
    """One episode digested to the presenter video, then run again from cache."""

    folder: Path
    first_run: object
    second_run: object
    feed: str
    first_manifest: dict  # manifest.json as the first run left it
    requests_of_rerun: list[str]  # what the rerun asked the feed's server for


@pytest.fixture(scope="session")
def finished_episode(prefect_server, jfk_mp3, tmp_path_factory) -> Finished:
    """The short clip from a feed on 127.0.0.1 through every stage (fast engines), and a rerun: shared by the tests that read its folder."""
    output = tmp_path_factory.mktemp("finished")
    with LocalServer() as server:
        feed = serve_episode(server, jfk_mp3.read_bytes())
        folder, first = run_flow(feed, output, until="compose")
        manifest = json.loads((folder / "manifest.json").read_text())
        before = len(server.requests)
        again, second = run_flow(feed, output, until="compose")
        assert again == folder
        return Finished(folder, first, second, feed, manifest, [path for path, _ in server.requests[before:]])


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


@pytest.fixture(scope="session")
def embedded_llm():
    """The embedded model's server, started once for the session: every embedded engine of the default shape shares it."""
    from stages import summarize as S

    settings = Settings()
    engine = S.make_engine("embedded", settings.summarize, settings.context)
    engine.client()
    yield engine
    engine.close()
