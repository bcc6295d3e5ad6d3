"""fetch against a real HTTP server on 127.0.0.1: feeds, downloads, resume, and every bad input."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.errors import AudioError, FetchError, TransientFetchError
from core.workspace import episode_dir
from stages import fetch

from .support import Route, rss


def _feed(server, items, show="Test Show") -> str:
    server.routes["/feed.xml"] = Route(rss(show, items), content_type="application/rss+xml")
    return server.url("/feed.xml")


def _audio_route(server, path: str, data: bytes, **options) -> str:
    server.routes[path] = Route(data, content_type="audio/mpeg", **options)
    return server.url(path)


def test_rss_with_itunes_fields_newest_first(server, settings):
    url = _feed(
        server,
        [
            {"title": "Old", "guid": "g-old", "url": "http://x/old.mp3", "date": "Mon, 02 Jan 2023 10:00:00 +0000", "duration": "1:02:03"},
            {"title": "New &amp; <b>bold</b>", "guid": "g-new", "url": "http://x/new.mp3", "date": "Tue, 03 Jan 2023 10:00:00 +0000", "description": "<p>Hello <i>there</i></p>"},
        ],
    )
    feed = fetch.read_feed(url, settings.fetch)
    assert feed.title == "Test Show"
    assert [e.guid for e in feed.episodes] == ["g-new", "g-old"]
    newest, oldest = feed.episodes
    assert newest.title == "New & bold" and newest.description == "Hello there"
    assert newest.show_title == "Test Show" and newest.published.startswith("2023-01-03")
    assert oldest.duration_seconds == 3723


def test_atom_feed_with_enclosure_link():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Show</title><id>urn:show</id><updated>2024-05-01T00:00:00Z</updated>
<entry><title>Episode A</title><id>urn:a</id><updated>2024-05-01T00:00:00Z</updated>
<link rel="enclosure" type="audio/ogg" href="http://example.invalid/a.ogg"/></entry></feed>"""
    feed = fetch.parse_feed(atom, "atom.xml")
    assert feed.title == "Atom Show"
    assert feed.episodes[0].audio_url == "http://example.invalid/a.ogg"
    assert feed.episodes[0].guid == "urn:a"


def test_select_episode_by_latest_index_and_guid(server, settings):
    url = _feed(server, [{"title": f"E{i}", "guid": f"g{i}", "url": f"http://x/{i}.mp3", "date": f"Mon, 0{i + 1} Jan 2023 10:00:00 +0000"} for i in range(3)])
    feed = fetch.read_feed(url, settings.fetch)
    assert fetch.select_episode(feed, "latest").guid == "g2"
    assert fetch.select_episode(feed, "2").guid == "g0"
    assert fetch.select_episode(feed, "g1").title == "E1"
    assert fetch.select_episode(feed, "#2").guid == "g0"
    with pytest.raises(FetchError, match="position 7 does not exist") as error:
        fetch.select_episode(feed, "7")
    assert "#0 (newest) to #2" in error.value.hint
    with pytest.raises(FetchError, match="no episode with GUID 'nope'"):
        fetch.select_episode(feed, "nope")


def test_all_digit_guids_are_guids_and_positions_take_a_hash(server, settings):
    """Issue 27 item 7: GUIDs 1, 1001 and 1002; '-e 1' is the GUID 1, '#1' the second newest."""
    url = _feed(server, [{"title": f"E{g}", "guid": g, "url": f"http://x/{g}.mp3", "date": f"Mon, 0{i + 1} Jan 2023 10:00:00 +0000"} for i, g in enumerate(["1", "1001", "1002"])])
    feed = fetch.read_feed(url, settings.fetch)
    assert [e.guid for e in feed.episodes] == ["1002", "1001", "1"]
    assert fetch.select_episode(feed, "1").title == "E1"
    assert fetch.select_episode(feed, "1001").title == "E1001"
    assert fetch.select_episode(feed, "#1").title == "E1001"
    assert fetch.select_episode(feed, "2").title == "E1", "a number that is no GUID is still a position"


def test_feed_url_resolves_and_downloads_latest(server, settings, jfk_mp3, tmp_path):
    data = jfk_mp3.read_bytes()
    audio_url = _audio_route(server, "/ep1.mp3", data)
    url = _feed(server, [{"title": "Episode 1", "guid": "ep-1", "url": audio_url}])
    episode = fetch.resolve(url, settings.fetch)
    assert episode.guid == "ep-1" and not episode.is_local
    seen = []
    path = fetch.fetch_audio(episode, tmp_path / "ep", settings.fetch, lambda done, total: seen.append((done, total)))
    assert path.name == "audio.mp3" and path.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    assert not list((tmp_path / "ep").glob("*.part*"))
    # a rerun reuses the complete file: no new request
    before = len(server.requests)
    assert fetch.fetch_audio(episode, tmp_path / "ep", settings.fetch) == path
    assert len(server.requests) == before


def test_episode_url_is_a_one_episode_source(server, settings, jfk_mp3):
    url = _audio_route(server, "/shows/talk-42.mp3", jfk_mp3.read_bytes())
    episode = fetch.resolve(url, settings.fetch)
    assert episode.audio_url == url and episode.title == "talk-42"


def test_interrupted_download_resumes_with_range(server, settings, jfk_mp3, tmp_path):
    data = jfk_mp3.read_bytes()
    url = _audio_route(server, "/cut.mp3", data, cut_after=len(data) // 3, cuts=1)
    path = fetch.download(url, tmp_path, settings.fetch)
    assert path.read_bytes() == data
    ranges = [h.get("Range") for p, h in server.requests if p == "/cut.mp3"]
    assert ranges == [None, f"bytes={len(data) // 3}-"]


def test_download_resumes_in_a_later_run(server, settings, jfk_mp3, tmp_path):
    data = jfk_mp3.read_bytes()
    url = _audio_route(server, "/flaky.mp3", data, cut_after=5000, cuts=1)
    one_try = settings.fetch.model_copy(update={"attempts": 1})
    with pytest.raises(TransientFetchError, match="stopped at 5,000 of|connection to .* broke"):
        fetch.download(url, tmp_path, one_try)
    assert (tmp_path / "audio.part").stat().st_size == 5000
    assert not list(tmp_path.glob("audio.mp3")), "a partial download must not look complete"
    path = fetch.download(url, tmp_path, one_try)
    assert path.read_bytes() == data
    assert server.requests[-1][1].get("Range") == "bytes=5000-"
    assert server.requests[-1][1].get("If-Range") == '"v1"'


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host(settings):
    url = f"http://127.0.0.1:{_closed_port()}/feed.xml"
    with pytest.raises(TransientFetchError) as error:
        fetch.resolve(url, settings.fetch)
    assert f"Cannot reach {url}" in str(error.value) and "network" in error.value.hint


def test_http_404_is_not_retried(server, settings):
    with pytest.raises(FetchError) as error:
        fetch.resolve(server.url("/missing.xml"), settings.fetch)
    assert not isinstance(error.value, TransientFetchError)
    assert "answered HTTP 404" in str(error.value) and server.url("/missing.xml") in str(error.value)
    assert len(server.requests) == 1


def test_http_500_is_retried_then_reported(server, settings):
    server.routes["/broken.xml"] = Route(b"oops", status=500, content_type="text/plain")
    with pytest.raises(TransientFetchError, match="HTTP 500"):
        fetch.resolve(server.url("/broken.xml"), settings.fetch)
    assert len(server.requests) == settings.fetch.attempts


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Welcome to my podcast</body></html>", "is an HTML page"),
        (b"just some words, not XML at all {", "not an RSS or Atom feed"),
    ],
)
def test_feed_that_is_not_xml(server, settings, body, message):
    server.routes["/page"] = Route(body, content_type="text/html")
    with pytest.raises(FetchError) as error:
        fetch.resolve(server.url("/page"), settings.fetch)
    assert message in str(error.value) and "RSS/Atom feed URL" in error.value.hint


def test_feed_without_audio_enclosures(server, settings):
    url = _feed(server, [{"title": "Text post", "guid": "t1"}, {"title": "Video", "guid": "t2", "url": "http://x/a.pdf", "type": "application/pdf"}])
    with pytest.raises(FetchError, match="has 2 entries but none with an audio enclosure"):
        fetch.resolve(url, settings.fetch)


@pytest.mark.parametrize("content_type", ["text/html", "audio/mpeg"])
def test_enclosure_that_is_html(server, settings, tmp_path, content_type):
    server.routes["/ep.mp3"] = Route(b"<html><body>Please log in</body></html>", content_type=content_type)
    with pytest.raises(FetchError, match="not audio") as error:
        fetch.download(server.url("/ep.mp3"), tmp_path, settings.fetch)
    assert server.url("/ep.mp3") in str(error.value)
    assert list(tmp_path.iterdir()) == [], "nothing partial may remain"


def test_enclosure_of_unknown_binary_type(server, settings, tmp_path):
    server.routes["/ep.bin"] = Route(b"\x00\x01binary-not-audio" * 100, content_type="application/octet-stream")
    with pytest.raises(FetchError, match="non-audio type"):
        fetch.download(server.url("/ep.bin"), tmp_path, settings.fetch)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("send_length", [True, False])
def test_download_larger_than_cap(server, settings, tmp_path, jfk_mp3, send_length):
    url = _audio_route(server, "/big.mp3", jfk_mp3.read_bytes(), send_length=send_length, ranges=False)
    capped = settings.fetch.model_copy(update={"max_bytes": 20_000})
    with pytest.raises(FetchError, match="larger than the download limit") as error:
        fetch.download(url, tmp_path, capped)
    assert "PRESENTER_FETCH__MAX_BYTES" in error.value.hint
    assert list(tmp_path.iterdir()) == []


def test_local_file_and_file_url(jfk_mp3, settings):
    episode = fetch.resolve(str(jfk_mp3), settings.fetch)
    assert episode.is_local and episode.guid.startswith("sha256:")
    assert fetch.resolve(jfk_mp3.as_uri(), settings.fetch).guid == episode.guid
    assert abs(episode.duration_seconds - 11) < 0.2


def test_local_empty_missing_and_non_audio_files(tmp_path, settings):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.mp3 is empty"):
        fetch.resolve(str(empty), settings.fetch)
    with pytest.raises(AudioError, match="does not exist"):
        fetch.resolve(str(tmp_path / "nope.mp3"), settings.fetch)
    text = tmp_path / "notes.mp3"
    text.write_text("These are my show notes, not audio.\n" * 20)
    with pytest.raises(AudioError, match="notes.mp3 is not a readable audio file"):
        fetch.resolve(str(text), settings.fetch)


@pytest.mark.parametrize("title", ["../../etc/passwd", "..", "/", "a/../../b", "CON:.\\..\\x", "节目 第1期: 人工智能？"])
def test_titles_never_escape_the_output_folder(tmp_path, title):
    folder = episode_dir(tmp_path, "some-guid", title)
    assert folder.parent == tmp_path.resolve()
    assert ".." not in folder.name and "/" not in folder.name


def test_chinese_title_keeps_its_characters(tmp_path):
    assert episode_dir(tmp_path, "g", "节目 第1期: 人工智能？").name.startswith("节目-第1期-人工智能-")


def test_same_guid_same_folder_different_guid_different_folder(tmp_path):
    assert episode_dir(tmp_path, "a", "Same") == episode_dir(tmp_path, "a", "Same")
    assert episode_dir(tmp_path, "a", "Same") != episode_dir(tmp_path, "b", "Same")


def test_video_enclosure_is_accepted_when_no_audio(server):
    body = rss("S", [{"title": "V", "guid": "v", "url": "http://x/v.mp4", "type": "video/mp4"}])
    assert fetch.parse_feed(body, "f").episodes[0].audio_url == "http://x/v.mp4"


def test_local_path_helper_decodes_file_urls(tmp_path):
    target = tmp_path / "with space.mp3"
    assert fetch.local_path(target.as_uri()) == target
    assert fetch.local_path(str(target)) == Path(target)
