"""The feed watch through a real temporary Prefect server and a real HTTP server: new episodes only, failures retried, a digest feed."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest

from core.publish.catalog import Catalog

from .support import Route, rss

pytestmark = [pytest.mark.flow, pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

FAST = {"transcribe": {"model": "tiny.en"}, "summarize": {"engines": ["extractive"]}, "narrate": {"engines": ["embedded"]}, "fetch": {"attempts": 1, "allow": ["127.0.0.1"]}}


def _dates(n: int) -> list[str]:
    return [f"Mon, {n - i:02d} Jan 2024 10:00:00 +0000" for i in range(n)]


def _watch(output: Path, feeds: list[str], **watch):
    from flows.watch import watch_feeds

    return watch_feeds(feeds=feeds, overrides={**FAST, "output_dir": str(output), "watch": {"max_attempts": 2, **watch}})


def test_watch_digests_new_episodes_retries_failures_and_publishes(server, jfk_mp3, tmp_path):
    audio = jfk_mp3.read_bytes()
    server.routes["/a.mp3"] = Route(audio, content_type="audio/mpeg")
    server.routes["/c.mp3"] = Route(audio, content_type="audio/mpeg")
    server.routes["/broken-audio.mp3"] = Route(b"<html>gone</html>", content_type="text/html")
    back_catalogue = [{"title": f"Old {i}", "guid": f"a-{i}", "url": server.url("/a.mp3"), "date": d} for i, d in enumerate(_dates(30)[1:])]
    newest = {"title": "Ask Not", "guid": "a-new", "url": server.url("/a.mp3"), "date": "Wed, 31 Jan 2024 10:00:00 +0000"}
    server.routes["/a.xml"] = Route(rss("Speeches", [newest, *back_catalogue]), content_type="application/rss+xml")
    server.routes["/b.xml"] = Route(rss("Broken audio", [{"title": "Not audio", "guid": "b-1", "url": server.url("/broken-audio.mp3")}]), content_type="application/rss+xml")
    fresh_guids = itertools.count()  # a feed whose GUIDs change on every fetch
    server.routes["/c.xml"] = Route(
        handler=lambda _: (200, rss("Unstable", [{"title": "Same episode", "guid": f"c-{next(fresh_guids)}", "url": server.url("/c.mp3")}])),
        content_type="application/rss+xml",
    )
    output = tmp_path / "out"
    feeds = [server.url("/a.xml"), server.url("/missing.xml"), server.url("/a.xml/"), server.url("/b.xml"), server.url("/c.xml")]

    first = _watch(output, feeds, newest=1)
    assert len(first["done"]) == 2, first  # the newest of a.xml and c.xml's only episode
    assert first["skipped"] == 29, "the back catalogue is not digested on a feed's first run"
    assert list(first["broken_feeds"]) == [server.url("/missing.xml")] and "404" in first["broken_feeds"][server.url("/missing.xml")]
    assert list(first["failed"]) == ["Not audio"] and "not audio" in first["failed"]["Not audio"].lower()
    assert all((Path(f) / "presenter.mp4").is_file() for f in first["done"])

    catalog = Catalog(output / "catalog.sqlite")
    failed = [e for e in catalog.entries("failed")]
    assert [(e.title, e.attempts) for e in failed] == [("Not audio", 1)]

    second = _watch(output, feeds, newest=1)
    assert second["done"] == [] and list(second["failed"]) == ["Not audio"], "nothing new; the failure is retried"
    third = _watch(output, feeds, newest=1)
    assert third["failed"] == {} and [e.attempts for e in catalog.entries("failed")] == [2], "retried up to max_attempts"
    assert len(catalog.entries("done")) == 2, "a changed GUID with the same enclosure and date is the same episode"
    host = catalog.host(server.url("/a.xml"))
    assert host is not None and host.name is None and len(host.voiceprint) == 192, "the feed's host voice is kept, unnamed: nobody said a name"
    assert host.heard_in == [Path(f).name for f in first["done"] if Path(f).name.startswith("ask-not")], "counted once over three watch runs"

    parsed = feedparser.parse((output / "feed.xml").read_bytes())
    assert parsed.version == "rss20" and len(parsed.entries) == 2
    item = parsed.entries[0]
    assert item.enclosures[0].type == "video/mp4" and item.enclosures[0].href.endswith("presenter.mp4")
    assert item.itunes_duration and item.published and item.id.startswith("digest-") and item.summary
    guids = {e.id for e in parsed.entries}
    assert guids == {e.id for e in feedparser.parse((output / "feed.xml").read_bytes()).entries}

    page = (output / "index.html").read_text(encoding="utf-8")
    assert page.count("<video") == 2 and "Ask Not" in page
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is needed for the page check; 'make test' installs it (Debian package chromium).")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", (output / "index.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<video") == 2 and "presenter.mp4" in dom
    screenshot = Path("tests-output") / "index.png"
    screenshot.parent.mkdir(exist_ok=True)
    subprocess.run([chromium, *flags, f"--screenshot={screenshot.resolve()}", "--window-size=1024,1400", (output / "index.html").as_uri()], capture_output=True, timeout=120)
    assert screenshot.stat().st_size > 10_000, "the page rendered"


def test_a_hostile_feed_through_the_cli_reads_nothing_local_and_a_damaged_folder_does_not_stop_publishing(server, jfk_mp3, tmp_path):
    """presenter watch, as an operator runs it, on a feed that names a private file, a playlist and control characters."""
    import json
    import os
    import stat
    from xml.etree import ElementTree

    from typer.testing import CliRunner

    from presenter.cli import app

    from .support import ffmpeg

    secret = tmp_path / "private" / "secret.flac"
    secret.parent.mkdir()
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", str(secret))
    server.routes["/good.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
    server.routes["/playlist.flac"] = Route(f"#EXTM3U\n#EXTINF:3,\n{secret.as_uri()}\n#EXT-X-ENDLIST\n".encode(), content_type="audio/flac")
    items = [
        {"title": "Good\x01 news\u202e", "guid": "good", "url": server.url("/good.mp3"), "date": "Tue, 02 Jan 2024 10:00:00 +0000"},
        {"title": "Secret file", "guid": "secret", "url": secret.as_uri(), "date": "Mon, 01 Jan 2024 10:00:00 +0000"},
        {"title": "Playlist", "guid": "playlist", "url": server.url("/playlist.flac"), "date": "Sun, 31 Dec 2023 10:00:00 +0000"},
    ]
    server.routes["/feed.xml"] = Route(rss("Hostile", items), content_type="application/rss+xml")
    output = tmp_path / "out"
    env = {"PRESENTER_FETCH__ALLOW": '["127.0.0.1"]', "PRESENTER_FETCH__ATTEMPTS": "1", "PRESENTER_TRANSCRIBE__MODEL": "tiny.en",
           "PRESENTER_SUMMARIZE__ENGINES": '["extractive"]', "PRESENTER_NARRATE__ENGINES": '["embedded"]', "PRESENTER_WATCH__MAX_ATTEMPTS": "3", "COLUMNS": "200"}
    guarded = CliRunner().invoke(app, ["watch", server.url("/feed.xml"), "--output", str(output)], env={**env, "PRESENTER_FETCH__ALLOW": "[]"}, catch_exceptions=False)
    assert guarded.exit_code == 1 and "the address guard refuses it" in guarded.output, "watch has the guard on by default"
    previous = os.umask(0o022)
    try:
        first = CliRunner().invoke(app, ["watch", server.url("/feed.xml"), "--output", str(output)], env=env, catch_exceptions=False)
    finally:
        os.umask(previous)
    assert first.exit_code == 1 and "failed: Playlist" in first.output and "Secret file" not in first.output, first.output
    assert "1 digest(s) made" in first.output
    assert not any(p.suffix == ".flac" for p in output.rglob("*")), "nothing of the playlist's target was copied"
    transcripts = [json.loads(p.read_text())["text"] for p in output.glob("*/transcript.json")]
    assert len(transcripts) == 1 and "americans" in transcripts[0].lower()
    feed = ElementTree.fromstring((output / "feed.xml").read_bytes())
    assert [i.findtext("title") for i in feed.iter("item")] == ["Hostile – Good news"]
    published = [output / "feed.xml", output / "index.html", *output.glob("*/presenter.mp4"), *output.glob("*/thumbnail.png")]
    assert len(published) == 4 and {stat.S_IMODE(p.stat().st_mode) for p in published} == {0o644}, "a web server of another user can read them"

    next(output.glob("*/narration.json")).unlink()  # one damaged folder
    server.routes["/feed.xml"] = Route(rss("Hostile", [{"title": "Second", "guid": "second", "url": server.url("/good.mp3"), "date": "Wed, 03 Jan 2024 10:00:00 +0000"}, *items]), content_type="application/rss+xml")
    second = CliRunner().invoke(app, ["watch", server.url("/feed.xml"), "--output", str(output)], env=env, catch_exceptions=False)
    assert "Traceback" not in second.output and "1 digest(s) made" in second.output, second.output
    assert [i.findtext("title") for i in ElementTree.fromstring((output / "feed.xml").read_bytes()).iter("item")] == ["Hostile – Second"]


def _prefect_records() -> str:
    """Everything this session's Prefect server keeps about runs: flow runs (names, parameters), task runs, artifacts, logs."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        parts = [r.model_dump_json() for r in client.read_flow_runs()]
        parts += [r.model_dump_json() for r in client.read_task_runs()]
        parts += [r.model_dump_json() for r in client.read_artifacts()]
        parts += [r.model_dump_json() for r in client.read_logs()]
    return "\n".join(parts)


def test_27_one_hostile_feed_stops_no_other_and_credentials_are_written_nowhere(server, tmp_path):
    """Issue 27 items 1 and 3: a lone surrogate and noncharacters in one feed, credentials in its URL and enclosure; the next feed is still read."""
    server.routes["/gone.mp3"] = Route(b"<html>gone</html>", content_type="text/html")
    locked = server.url("/gone.mp3").replace("http://", "http://user:hunter2@")
    hostile = [{"title": "Lone &#xDFFF; surrogate &#xFFFF;", "guid": "h1", "url": locked}]
    server.routes["/hostile.xml"] = Route(rss("Hostile &#xFFFE;", hostile), content_type="application/rss+xml")
    server.routes["/plain.xml"] = Route(rss("Plain", [{"title": "Plain episode", "guid": "p1", "url": server.url("/gone.mp3")}]), content_type="application/rss+xml")
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(server.url("/hostile.xml").replace("http://", "http://user:hunter2@") + "\n" + server.url("/plain.xml") + "\n")
    output = tmp_path / "out"
    from flows.watch import watch_feeds

    report = watch_feeds(feeds_file=str(feeds_file), overrides={**FAST, "output_dir": str(output)})
    assert report["broken_feeds"] == {} and sorted(report["failed"]) == ["Lone surrogate", "Plain episode"], report
    assert [p for p, _ in server.requests].count("/plain.xml") >= 1, "the feed after the hostile one was read"
    assert any(h.get("Authorization") for p, h in server.requests if p == "/gone.mp3"), "the enclosure was fetched with its credentials"
    assert sorted(p.name for p in output.iterdir()) == ["catalog.sqlite", "feed.xml", "index.html"], "no folder left holding only manifest.json"
    ElementTree.fromstring((output / "feed.xml").read_bytes())
    leaks = [p for p in output.rglob("*") if p.is_file() and b"hunter2" in p.read_bytes()]
    assert leaks == [] and "hunter2" not in repr(report)
    assert "***@127.0.0.1" in (output / "catalog.sqlite").read_bytes().decode("utf-8", "replace"), "the catalog keys the feed by its redacted URL"
    assert "hunter2" not in _prefect_records()


def test_27_presenter_run_keeps_credentials_out_of_files_the_terminal_and_prefect(server, jfk_mp3, tmp_path, prefect_server):
    """Issue 27 item 3 through the CLI as a user runs it: manifest.json, .audio.source.json, the terminal, Prefect's run name and parameters."""
    import json
    import os
    import sys

    server.routes["/locked.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
    server.routes["/feed.xml"] = Route(rss("Locked", [{"title": "Members only", "guid": "m1", "url": server.url("/locked.mp3").replace("http://", "http://user:hunter2@")}]), content_type="application/rss+xml")
    feed = server.url("/feed.xml").replace("http://", "http://user:hunter2@")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}, "PREFECT_API_URL": prefect_server, "PREFECT_HOME": str(tmp_path / "ph"), "COLUMNS": "300"}
    done = subprocess.run([str(Path(sys.executable).with_name("presenter")), "run", feed, "--until", "fetch", "-o", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=600)
    terminal = done.stdout + done.stderr
    assert done.returncode == 0, terminal[-3000:]
    assert "hunter2" not in terminal and "***@127.0.0.1" in terminal
    folder = next((tmp_path / "out").iterdir())
    episode = json.loads((folder / "manifest.json").read_text())["episode"]
    assert {episode[k].split("@")[0] for k in ("source", "feed", "audio_url")} == {"http://***"}
    assert not [p.name for p in folder.iterdir() if p.is_file() and b"hunter2" in p.read_bytes()]
    assert "hunter2" not in _prefect_records()


def test_29_a_feed_with_credentials_is_not_dispatched_to_a_pool(server, tmp_path):
    """Issue 29: a worker elsewhere would get only the hidden URL; the watch refuses it clearly, stores no credential, starts no run."""
    server.routes["/a.mp3"] = Route(b"ID3", content_type="audio/mpeg")
    server.routes["/locked.xml"] = Route(rss("Locked", [{"title": "Members only", "guid": "m1", "url": server.url("/a.mp3")}]), content_type="application/rss+xml")
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(server.url("/locked.xml").replace("http://", "http://user:hunter2@") + "\n")
    from flows.watch import watch_feeds

    report = watch_feeds(feeds_file=str(feeds_file), overrides={**FAST, "output_dir": str(tmp_path / "out"), "watch": {"deployment": "podcast-digest/no-such-deployment"}})
    assert list(report["failed"]) == ["Members only"] and "user name or password" in report["failed"]["Members only"], report
    assert [p for p, _ in server.requests] == ["/locked.xml"], "the audio was not fetched"
    assert [(e.title, e.attempts) for e in Catalog(tmp_path / "out" / "catalog.sqlite").entries("failed")] == [("Members only", 3)], "not tried again"
    assert "hunter2" not in _prefect_records()
