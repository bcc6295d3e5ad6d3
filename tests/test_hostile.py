"""Feeds and servers written by strangers, and faults an operator meets: nothing local is read, nothing silently damaged.

Every server is a real one on 127.0.0.1. The address guard is checked on
addresses it classifies and on names that resolve to 127.0.0.1, never by
connecting anywhere else.
"""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import tracemalloc
from pathlib import Path
from xml.etree import ElementTree

import pytest

from core.errors import BlockedAddressError, FetchError, TransientFetchError
from core.net.feeds import parse_feed
from core.net.guard import Guard, blocked_reason
from core.net.http import SlowFetchError, download, fetch_document
from core.publish.site import publish
from core.settings import FetchSettings
from stages import fetch

from .support import Route, ffmpeg, rss

SECRET = b"the private diary of the machine's owner"


@pytest.fixture
def secret(tmp_path) -> Path:
    """A private local audio file a hostile feed would like to have transcribed and published."""
    path = tmp_path / "private" / "secret.flac"
    path.parent.mkdir()
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-metadata", f"comment={SECRET.decode()}", str(path))
    return path


def fast(**fields) -> FetchSettings:
    return FetchSettings(**{"attempts": 3, "backoff_seconds": 0.01, "connect_timeout": 2, "read_timeout": 5, **fields})


# --- 1, 2: a web feed never reaches a local file, not even through a playlist -----------------------


def test_a_web_feed_may_name_only_web_audio(secret):
    feed = rss("Hostile", [
        {"title": "file URL", "guid": "1", "url": secret.as_uri()},
        {"title": "absolute path", "guid": "2", "url": str(secret)},
        {"title": "relative path", "guid": "3", "url": "../../private/secret.flac"},
        {"title": "other scheme", "guid": "4", "url": "ftp://127.0.0.1/secret.flac"},
    ])
    parsed = parse_feed(feed, "http://127.0.0.1:8000/shows/a/feed.xml")
    urls = {e.title: e.audio_url for e in parsed.episodes}
    assert urls == {"absolute path": f"http://127.0.0.1:8000{secret}", "relative path": "http://127.0.0.1:8000/private/secret.flac"}
    assert not any(e.is_local for e in parsed.episodes)


def test_a_local_feed_file_may_name_files_beside_it(tmp_path, secret):
    (tmp_path / "private" / "feed.xml").write_bytes(rss("Mine", [{"title": "mine", "guid": "1", "url": "secret.flac"}]))
    episode = parse_feed((tmp_path / "private" / "feed.xml").read_bytes(), str(tmp_path / "private" / "feed.xml")).episodes[0]
    assert episode.is_local and fetch.local_path(episode.audio_url) == secret


def test_a_local_episode_from_a_web_feed_is_refused_again_at_fetch(tmp_path, secret):
    episode = fetch.Episode(guid="1", title="t", show_title="s", audio_url=secret.as_uri(), feed="http://127.0.0.1:9/feed.xml")
    with pytest.raises(FetchError, match="points to a local file"):
        fetch.fetch_audio(episode, tmp_path / "ep", fast())


def test_a_playlist_posing_as_audio_is_not_followed(server, tmp_path, secret):
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{secret.as_uri()}\n#EXT-X-ENDLIST\n".encode()
    server.routes["/ep.flac"] = Route(playlist, content_type="audio/flac")
    with pytest.raises(FetchError, match="non-audio type"):
        download(server.url("/ep.flac"), tmp_path / "ep", fast())
    assert list((tmp_path / "ep").iterdir()) == []


# --- 3: one show cannot take another's audio --------------------------------------------------------


def test_two_feeds_with_the_same_guid_and_title_get_their_own_folders_and_audio(server, settings, jfk_mp3, media_dir):
    short = media_dir / "jfk-4s.mp3"
    ffmpeg("-i", str(jfk_mp3), "-t", "4", str(short))
    server.routes["/a.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
    server.routes["/b.mp3"] = Route(short.read_bytes(), content_type="audio/mpeg")
    for name in ("a", "b"):
        server.routes[f"/{name}.xml"] = Route(rss(f"Show {name}", [{"title": "Episode 1", "guid": "1", "url": server.url(f"/{name}.mp3")}]), content_type="application/rss+xml")
    a = fetch.resolve(server.url("/a.xml"), settings.fetch)
    b = fetch.resolve(server.url("/b.xml"), settings.fetch)
    from core.workspace import episode_dir

    folder_a, folder_b = (episode_dir(settings.output_dir, e.key, e.title) for e in (a, b))
    assert folder_a != folder_b
    assert fetch.fetch_audio(a, folder_a, settings.fetch).read_bytes() == jfk_mp3.read_bytes()
    assert fetch.fetch_audio(b, folder_b, settings.fetch).read_bytes() == short.read_bytes()
    # a folder reused for another URL downloads that URL instead of reusing what is there
    assert download(server.url("/b.mp3"), folder_a, settings.fetch).read_bytes() == short.read_bytes()


# --- 4: the address guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.10", "private"),
    ("172.16.5.4", "private"), ("fc00::1", "private"), ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("169.254.10.10", "link-local"),
    ("fe80::1", "link-local"), ("100.64.0.1", "not a public"), ("0.0.0.0", "not a public"), ("224.0.0.1", "not a public"),
])
def test_the_guard_classifies_addresses_without_connecting(address, reason):
    assert reason in blocked_reason(address)


def test_public_addresses_and_the_allow_list_pass():
    assert blocked_reason("93.184.216.34") is None and blocked_reason("2606:2800:220:1::248") is None
    fake_dns = {"feeds.internal": ["10.0.0.7"], "cdn.example": ["93.184.216.34"], "rebind.example": ["93.184.216.34", "169.254.169.254"]}
    guard = Guard(["10.0.0.0/8", "my.host"], resolver=lambda host, port: fake_dns.get(host, ["127.0.0.1"]))
    guard.check("http://feeds.internal/feed.xml")  # an allowed network
    guard.check("https://cdn.example/a.mp3")
    guard.check("http://my.host/a.mp3")  # an allowed name is trusted as it resolves
    with pytest.raises(BlockedAddressError, match=r"rebind.example/x resolves to 169.254.169.254, a cloud metadata address") as error:
        guard.check("http://rebind.example/x")
    assert "PRESENTER_FETCH__ALLOW" in error.value.hint


def test_the_guard_resolves_names_first_and_checks_every_redirect(server):
    server.routes["/feed.xml"] = Route(rss("S", [{"title": "e", "guid": "1", "url": "http://x/a.mp3"}]), content_type="application/rss+xml")
    by_name = server.url("/feed.xml").replace("127.0.0.1", "localhost")
    with pytest.raises(BlockedAddressError, match=r"resolves to (127\.0\.0\.1|::1), a loopback address"):
        fetch_document(by_name, fast(guard=True))
    assert server.requests == [], "refused before connecting"
    server.routes["/moved"] = Route(status=302, headers={"Location": by_name})
    with pytest.raises(BlockedAddressError):
        fetch_document(server.url("/moved"), fast(guard=True, allow=["127.0.0.1"]))
    assert [path for path, _ in server.requests] == ["/moved"], "the redirect target was never requested"
    assert fetch_document(server.url("/feed.xml"), fast(guard=True, allow=["127.0.0.1"])).startswith(b"<?xml")


# --- 5: no endless transfers --------------------------------------------------------------------------


def test_a_dripping_server_hits_the_deadline_and_the_part_is_kept(server, tmp_path, jfk_mp3):
    server.routes["/drip.mp3"] = Route(jfk_mp3.read_bytes()[:400], content_type="audio/mpeg", drip=0.05, ranges=False)
    with pytest.raises(SlowFetchError, match=r"took longer than the 1 s deadline") as error:
        download(server.url("/drip.mp3"), tmp_path, fast(deadline_seconds=1, attempts=1))
    assert "DEADLINE_SECONDS" in error.value.hint and (tmp_path / "audio.part").stat().st_size > 0
    with pytest.raises(SlowFetchError, match=r"sends \d+ bytes/s, under the minimum of 1000"):
        download(server.url("/drip.mp3"), tmp_path / "again", fast(min_bytes_per_second=1000, rate_window_seconds=0.5, attempts=1))


# --- 11: a truncated download never counts as done -----------------------------------------------------


def test_a_download_cut_short_by_its_content_length_is_refused_and_not_reused(server, tmp_path, jfk_flac):
    data = jfk_flac.read_bytes()
    server.routes["/short.flac"] = Route(data, content_type="audio/flac", declared_length=1000, ranges=False)
    for _ in range(2):
        with pytest.raises(FetchError, match=r"arrived truncated or damaged: .* the partial file was deleted"):
            download(server.url("/short.flac"), tmp_path, fast())
    assert not list(tmp_path.glob("audio.*")) and len(server.requests) == 2


# --- 15: permanent redirect faults are not retried ------------------------------------------------------


def test_redirect_loops_and_redirects_off_the_web_are_permanent(server, tmp_path):
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=301, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirects in a loop") as error:
        fetch.resolve(server.url("/a"), fast())
    assert not isinstance(error.value, TransientFetchError) and len(server.requests) == 2
    server.routes["/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="redirects to file:///etc/passwd, which is not a web address"):
        download(server.url("/to-file"), tmp_path, fast())
    assert len(server.requests) == 3


# --- 18, and what held up: caps on what a server may send ------------------------------------------


def test_a_compressed_bomb_is_refused_before_it_fills_memory(server):
    server.routes["/bomb.xml"] = Route(gzip.compress(b"<" + b" " * 200_000_000), content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    with pytest.raises(FetchError, match="larger than 20,000,000 bytes"):
        fetch_document(server.url("/bomb.xml"), fast())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 60_000_000, f"peak {peak / 1e6:.0f} MB"


def test_xml_entities_are_not_expanded():
    laughs = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&c; &secret;</title><item><title>x</title><guid>1</guid>
<enclosure url="http://x/a.mp3" type="audio/mpeg"/></item></channel></rss>"""
    parsed = parse_feed(laughs, "http://127.0.0.1/feed.xml")
    assert "hahaha" not in parsed.title and "root:" not in parsed.title


# --- 7: control characters never reach the published feed -------------------------------------------


def test_control_and_bidi_characters_are_stripped_at_parse_time():
    feed = rss("Sh\x01ow", [{"title": "Bad\x1bTitle\u202ereversed\u2066", "guid": "g\x00", "url": "http://x/a.mp3", "description": "zero\x07width"}])
    episode = parse_feed(feed.replace(b"\x00", b""), "http://127.0.0.1/feed.xml").episodes[0]
    assert episode.title == "BadTitlereversed" and episode.show_title == "Show" and episode.description == "zerowidth"


# --- 8, 9: published files can be served and one broken folder does not stop publishing -------------


def test_published_files_follow_the_umask(tmp_path):
    from core.publish.catalog import Catalog

    previous = os.umask(0o022)
    try:
        paths = publish(tmp_path, Catalog(tmp_path / "catalog.sqlite"))
    finally:
        os.umask(previous)
    assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [0o644, 0o644]
    ElementTree.fromstring(paths[0].read_bytes())


# --- 12: only declared input files are hashed ---------------------------------------------------------


def test_a_title_that_names_a_big_file_is_not_read_for_the_cache_key(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from flows import caching

    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(8 << 30)  # sparse: 8 GiB that reading would cost
    hashed = []
    monkeypatch.setattr(caching, "file_digest", lambda path: hashed.append(Path(path)) or "x")
    (tmp_path / "transcript.json").write_text("{}")
    key = caching.stage_key("1")(SimpleNamespace(task=SimpleNamespace(name="summarize")), {
        "inputs": {"transcript": str(tmp_path / "transcript.json")}, "values": {"title": str(big), "show": str(big)}, "folder": str(tmp_path),
    })
    assert len(key) == 64 and hashed == [tmp_path / "transcript.json"]


# --- 6, 13, 17: titles, paths and subtitle text are data to FFmpeg, never syntax -----------------------


def _white(frame: Path, rows: slice) -> int:
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(frame).convert("L"))[rows, 200:-200]
    return int((pixels > 235).sum())


def test_hostile_titles_paths_and_subtitle_markup(tmp_path, narrated):
    from core.artifacts import NarratedSentence, Narration
    from core.settings import Settings
    from stages import compose as C
    from stages import lipsync as L

    folder = tmp_path / "Bob's digests: 100% \\ [x]; {y}" / "ep"
    folder.mkdir(parents=True)
    for name in ("narration.wav", "narration.json"):
        (folder / name).write_bytes((narrated["en"] / name).read_bytes())
    narration = Narration.read(folder)
    narration.sentences = [NarratedSentence(text="Up {\\an8} <font color=red>here</font> \\N now", start=0.3, end=narration.duration - 0.3)]
    narration.write(folder)
    settings = Settings(compose={"title_seconds": 2})
    L.lipsync(folder / "narration.wav", folder / "narration.json", folder, settings.lipsync, settings.context, size=720)
    title = "100% off: 'quotes' \\ [x]; a,b {y} %{localtime} %{eif:1+1:d}"
    video, srt, thumbnail = C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, settings.compose, title=title, show="Show % 50").outputs
    assert thumbnail.stat().st_size > 10_000 and "\\an8" in srt.read_text()
    card, later = tmp_path / "card.png", tmp_path / "later.png"
    ffmpeg("-ss", "1", "-i", str(video), "-frames:v", "1", "-update", "1", str(card))
    ffmpeg("-ss", str(narration.duration - 1), "-i", str(video), "-frames:v", "1", "-update", "1", str(later))
    assert _white(card, slice(200, 520)) > 2000, "the title card is drawn"
    assert _white(later, slice(0, 240)) < 50 < _white(later, slice(520, 720)), "the subtitle stays at the bottom: {\\an8} is text, not a tag"
    soft = C.compose(folder / "lipsync.mp4", folder / "narration.json", folder, Settings(compose={"subtitles": "soft"}).compose, title=title, show="s").outputs[0]
    assert b"mov_text" in subprocess.run(["ffprobe", "-v", "error", "-show_streams", str(soft)], capture_output=True, check=True).stdout


def test_the_feed_size_cap_holds(server):
    server.routes["/big.xml"] = Route(rss("Big", [{"title": f"E{i}", "guid": str(i), "url": "http://x/a.mp3"} for i in range(50)]), content_type="application/rss+xml")
    with pytest.raises(FetchError, match=r"larger than 2,000 bytes and does not look like a feed"):
        fetch_document(server.url("/big.xml"), fast(max_feed_bytes=2000))


# --- issue 27: real feeds and hostile ones, round two ------------------------------------------------


def test_27_1_a_lone_surrogate_reference_is_dropped_not_raised():
    feed = rss("Sur&#xDFFF;rogate", [{"title": "Lone &#xDFFF; surrogate &#55296;", "guid": "s&#xD800;1", "url": "http://x/a.mp3"}])
    episode = parse_feed(feed, "http://127.0.0.1/feed.xml").episodes[0]
    assert (episode.title, episode.show_title, episode.guid) == ("Lone surrogate", "Surrogate", "s1")


def test_27_2_every_character_xml_forbids_is_stripped_and_feed_xml_stays_parseable(tmp_path):
    from core.publish.catalog import Catalog
    from core.text import clean

    from .test_publish import digest_folder

    assert clean("a\uffff\ufffe\ud800\x0b\x0c\x85\u202eb 😀 中") == "ab 😀 中"
    feed = rss("Show", [{"title": "Non&#xFFFF;char&#xFFFE;acters &#x1; &#xB; \ufffe", "guid": "1", "url": "http://x/a.mp3", "description": "d&#xFFFF;"}])
    episode = parse_feed(feed, "http://127.0.0.1/feed.xml").episodes[0]
    assert episode.title == "Noncharacters" and episode.description == "d"
    catalog = Catalog(tmp_path / "catalog.sqlite")
    folder = digest_folder(tmp_path, "ep", "Title \uffff with \ufffe noncharacters")
    catalog.done("f", "g", "http://x/a.mp3", None, "Title \uffff with \ufffe noncharacters\x0b", str(folder))
    feed_path, _ = publish(tmp_path, catalog)
    root = ElementTree.fromstring(feed_path.read_bytes())  # expat: strict XML 1.0, as a subscriber's reader
    assert [item.findtext("title") for item in root.iter("item")] == ["Show – Title  with  noncharacters"]


def test_27_3_credentials_in_urls_are_used_for_the_request_and_written_nowhere(server, tmp_path, jfk_mp3):
    import base64

    server.routes["/locked.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
    secret_url = server.url("/locked.mp3").replace("http://", "http://user:hunter2@")
    server.routes["/feed.xml"] = Route(rss("Locked", [{"title": "Members only", "guid": "m1", "url": secret_url}]), content_type="application/rss+xml")
    feed_url = server.url("/feed.xml").replace("http://", "http://user:hunter2@")
    episode = fetch.resolve(feed_url, fast())
    assert "hunter2" not in repr(episode) and episode.audio_url == server.url("/locked.mp3").replace("http://", "http://***@")
    path = fetch.fetch_audio(episode, tmp_path / "ep", fast())
    assert path.read_bytes() == jfk_mp3.read_bytes()
    sent = [h.get("Authorization") for p, h in server.requests if p == "/locked.mp3"]
    assert sent and set(sent) == {"Basic " + base64.b64encode(b"user:hunter2").decode()}, "the real credentials went with the request"
    assert not [p for p in (tmp_path / "ep").iterdir() if b"hunter2" in p.read_bytes()], "nor in .audio.source.json"


def test_27_4_a_server_that_drips_its_headers_meets_a_deadline(server):
    import time

    server.routes["/slow.xml"] = Route(header_drip=0.05)
    started = time.monotonic()
    with pytest.raises(TransientFetchError, match=r"did not send its response headers within 1 s") as error:
        fetch_document(server.url("/slow.xml"), fast(header_seconds=1, attempts=1, read_timeout=5))
    assert time.monotonic() - started < 3 and "HEADER_SECONDS" in error.value.hint


def _gbk_feed() -> bytes:
    return rss("中文播客", [{"title": "第一期 人工智能", "guid": "1", "url": "http://x/a.mp3"}]).replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"").strip()


@pytest.mark.parametrize(("prefix", "content_type"), [
    (b"", "text/xml; charset=gbk"),  # no XML declaration: the HTTP header says GBK
    (b"\xef\xbb\xbf", "text/xml; charset=gbk"),  # a UTF-8 BOM in front of GBK bytes
    (b'\xef\xbb\xbf<?xml version="1.0" encoding="gbk"?>', "application/rss+xml"),  # the BOM contradicts the declaration
])
def test_27_5_the_charset_of_the_header_and_the_declaration_count_over_a_wrong_bom(server, prefix, content_type):
    server.routes["/gbk.xml"] = Route(prefix + _gbk_feed().decode().encode("gbk"), content_type=content_type)
    feed = fetch.read_feed(server.url("/gbk.xml"), fast())
    assert (feed.title, feed.episodes[0].title) == ("中文播客", "第一期 人工智能")


def test_27_6_audio_with_generic_or_odd_types_is_kept_and_a_skipped_item_is_named(caplog):
    feed = rss("Types", [
        {"title": "x-audio", "guid": "1", "url": "http://x/1.mp3", "type": "x-audio/mp3"},
        {"title": "octet mp3", "guid": "2", "url": "http://x/2.mp3", "type": "application/octet-stream"},
        {"title": "octet wav", "guid": "3", "url": "http://x/3.wav", "type": "application/octet-stream"},
        {"title": "octet unknown", "guid": "4", "url": "http://x/download?id=4", "type": "application/octet-stream"},
        {"title": "a pdf", "guid": "5", "url": "http://x/5.pdf", "type": "application/octet-stream"},
        {"title": "a page", "guid": "6", "url": "http://x/6.html", "type": "text/html"},
    ])
    with caplog.at_level("WARNING"):
        titles = {e.title for e in parse_feed(feed, "http://127.0.0.1/feed.xml").episodes}
    assert titles == {"x-audio", "octet mp3", "octet wav", "octet unknown"}
    assert "2 of 6 item(s) skipped, no audio enclosure: 'a pdf', 'a page'" in caplog.text
    itunes_u = rss("iTunes U", [{"title": f"Lecture {i}", "guid": str(i), "url": f"http://x/{i}.mov", "type": ""} for i in range(2)])
    assert [e.audio_url for e in parse_feed(itunes_u.replace(b' type=""', b""), "http://127.0.0.1/u.xml").episodes] == ["http://x/0.mov", "http://x/1.mov"]
    with pytest.raises(FetchError, match="has no episodes"):
        parse_feed(rss("Empty", []), "http://127.0.0.1/empty.xml")


def test_27_8_relative_enclosures_follow_the_redirect_and_xml_base_and_the_folder_follows_the_final_url(server, settings, jfk_mp3):
    from core.workspace import episode_dir

    server.routes["/new/ep.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
    items = [{"title": "Relative", "guid": "r", "url": "ep.mp3", "date": "Tue, 02 Jan 2024 10:00:00 +0000"},
             {"title": "Based", "guid": "b", "url": "ep.mp3", "date": "Mon, 01 Jan 2024 10:00:00 +0000"}]
    body = rss("Moved", items).replace(b"<item><title>Based", b'<item xml:base="http://127.0.0.1:9/elsewhere/"><title>Based')
    server.routes["/new/feed.xml"] = Route(body, content_type="application/rss+xml")
    server.routes["/old/feed.xml"] = Route(status=301, headers={"Location": "/new/feed.xml"})
    feed = fetch.read_feed(server.url("/old/feed.xml"), settings.fetch)
    assert feed.url == server.url("/new/feed.xml")
    assert [e.audio_url for e in feed.episodes] == [server.url("/new/ep.mp3"), "http://127.0.0.1:9/elsewhere/ep.mp3"]
    direct = fetch.resolve(server.url("/new/feed.xml"), settings.fetch)
    redirected = fetch.resolve(server.url("/old/feed.xml"), settings.fetch)
    assert episode_dir(settings.output_dir, direct.key, direct.title) == episode_dir(settings.output_dir, redirected.key, redirected.title)
    assert fetch.fetch_audio(redirected, settings.output_dir / "ep", settings.fetch).read_bytes() == jfk_mp3.read_bytes()


def test_27_9_chinese_dates_and_document_order_and_the_feeds_own_day():
    dated = rss("日期", [
        {"title": "六月八日", "guid": "1", "url": "http://x/1.mp3", "date": "2024年6月8日 10:00"},
        {"title": "六月一日", "guid": "2", "url": "http://x/2.mp3", "date": "2024年6月1日 下午3:05"},
        {"title": "五月", "guid": "3", "url": "http://x/3.mp3", "date": "2024-5-20"},
    ])
    episodes = parse_feed(dated, "http://127.0.0.1/zh.xml").episodes
    assert [(e.title, e.published[:16]) for e in episodes] == [("六月八日", "2024-06-08T10:00"), ("六月一日", "2024-06-01T15:05"), ("五月", "2024-05-20T00:00")]
    undated = rss("Undated", [
        {"title": "newest, undated", "guid": "a", "url": "http://x/a.mp3", "date": ""},
        {"title": "middle", "guid": "b", "url": "http://x/b.mp3", "date": "Tue, 02 Jan 2024 10:00:00 +0000"},
        {"title": "oldest", "guid": "c", "url": "http://x/c.mp3", "date": "Mon, 01 Jan 2024 10:00:00 +0000"},
    ])
    assert [e.title for e in parse_feed(undated, "http://127.0.0.1/u.xml").episodes] == ["newest, undated", "middle", "oldest"]
    oldest_first = rss("Oldest first", [{"title": t, "guid": t, "url": f"http://x/{t}.mp3", "date": d} for t, d in
                                        [("one", "Mon, 01 Jan 2024 10:00:00 +0000"), ("two", ""), ("three", "Wed, 03 Jan 2024 10:00:00 +0000")]])
    assert [e.title for e in parse_feed(oldest_first, "http://127.0.0.1/o.xml").episodes] == ["three", "two", "one"]
    local = rss("Beijing", [{"title": "first", "guid": "1", "url": "http://x/1.mp3", "date": "Sat, 01 Jun 2024 01:00:00 +0800"}])
    assert parse_feed(local, "http://127.0.0.1/b.xml").episodes[0].published == "2024-06-01T01:00:00+08:00", "the feed's own day, not UTC's 31 May"


def test_27_10_a_moved_feed_is_followed_once_and_pages_are_read_for_older_episodes(server, caplog):
    server.routes["/new.xml"] = Route(rss("New home", [{"title": "Moved", "guid": "n1", "url": "http://x/n.mp3"}]).replace(
        b"<title>New home</title>", b"<title>New home</title><itunes:new-feed-url>" + server.url("/old.xml").encode() + b"</itunes:new-feed-url>"), content_type="application/rss+xml")
    server.routes["/old.xml"] = Route(rss("Old home", [{"title": "Stale", "guid": "o1", "url": "http://x/o.mp3"}]).replace(
        b"<title>Old home</title>", b"<title>Old home</title><itunes:new-feed-url>" + server.url("/new.xml").encode() + b"</itunes:new-feed-url>"), content_type="application/rss+xml")
    with caplog.at_level("WARNING"):
        feed = fetch.read_feed(server.url("/old.xml"), fast())
    assert feed.title == "New home" and "has moved to" in caplog.text
    assert [p for p, _ in server.requests] == ["/old.xml", "/new.xml"], "followed once, not back again"
    atom = 'xmlns:atom="http://www.w3.org/2005/Atom"'
    for page, (older, guid) in enumerate([("/page2.xml", "p1"), ("/page3.xml", "p2"), (None, "p3")], start=1):
        link = f'<atom:link rel="next" href="{older}"/>' if older else ""
        body = rss(f"Paged {page}", [{"title": f"Item {guid}", "guid": guid, "url": f"http://x/{guid}.mp3", "date": f"Mon, 0{4 - page} Jan 2024 10:00:00 +0000"}])
        body = body.replace(b"xmlns:itunes", f"{atom} xmlns:itunes".encode()).replace(b"<description>test feed</description>", f"<description>p</description>{link}".encode())
        server.routes[f"/page{page}.xml"] = Route(body, content_type="application/rss+xml")
    assert fetch.resolve(server.url("/page1.xml"), fast(), "p3").title == "Item p3"
    assert fetch.resolve(server.url("/page1.xml"), fast(), "#1").title == "Item p2"


def test_27_11_retries_are_named_and_stop_after_retry_seconds(server, caplog):
    import time

    server.routes["/silent.xml"] = Route(delay=5)
    started = time.monotonic()
    with caplog.at_level("WARNING"), pytest.raises(TransientFetchError, match="did not send its response headers within 0.5 s"):
        fetch_document(server.url("/silent.xml"), fast(header_seconds=0.5, attempts=10, backoff_seconds=0.1, retry_seconds=1.2))
    assert time.monotonic() - started < 3.5
    assert 2 <= len(server.requests) <= 3 and caplog.text.count("Retrying in") == len(server.requests) - 1
    assert "(try 2 of 10)" in caplog.text and "did not send its response headers" in caplog.text


def test_27_12_a_resumed_download_is_from_the_same_url_and_never_through_a_planted_link(server, tmp_path, jfk_mp3):
    data = jfk_mp3.read_bytes()
    server.routes["/old.mp3"] = Route(b"\xff\xfb" + b"OLD" * 3000, content_type="audio/mpeg", cut_after=5000, cuts=1)
    server.routes["/new.mp3"] = Route(data, content_type="audio/mpeg")
    folder = tmp_path / "ep"
    with pytest.raises(TransientFetchError):
        download(server.url("/old.mp3"), folder, fast(attempts=1))
    assert (folder / "audio.part").stat().st_size == 5000
    assert download(server.url("/new.mp3"), folder, fast()).read_bytes() == data, "no bytes of the old enclosure spliced in"
    assert [h.get("Range") for p, h in server.requests if p == "/new.mp3"] == [None]

    planted = tmp_path / "planted"
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    planted.mkdir()
    (planted / "audio.part").symlink_to(target)
    assert download(server.url("/new.mp3"), planted, fast()).read_bytes() == data
    assert target.read_text() == "keep me", "the link was not written through"


def test_27_12_a_wav_cut_short_is_refused_though_ffprobe_agrees_with_its_size(server, tmp_path):
    from core.errors import AudioError
    from stages.split import decode

    whole = tmp_path / "whole.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-ar", "16000", str(whole))
    cut = whole.read_bytes()[:100_000]  # FFmpeg measures it by its size: 3.1 s, all of which decode
    server.routes["/cut.wav"] = Route(cut, content_type="audio/wav")  # its Content-Length matches what is sent
    server.routes["/whole.wav"] = Route(whole.read_bytes(), content_type="audio/wav")
    with pytest.raises(FetchError, match=r"arrived truncated or damaged: its header declares 320,\d{3} bytes but the file has 100,000; the partial file was deleted"):
        download(server.url("/cut.wav"), tmp_path / "cut", fast())
    assert not list((tmp_path / "cut").glob("audio.*"))
    assert download(server.url("/whole.wav"), tmp_path / "whole", fast()).read_bytes() == whole.read_bytes()
    (tmp_path / "local.wav").write_bytes(cut)
    with pytest.raises(AudioError, match=r"local\.wav is truncated: its header declares 320,\d{3} bytes but the file has 100,000\. Delete it"):
        decode(tmp_path / "local.wav")
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(cut[:4] + b"\xff\xff\xff\xff" + cut[8:])  # a header written while streaming claims no size
    assert len(decode(streamed)) > 3000


def test_27_12_temporary_files_of_killed_runs_are_removed_and_those_being_written_kept(tmp_path):
    import sys

    from core.workspace import atomic_path, remove_stale_temporaries

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = int(gone.stdout)  # a process that has ended (and been waited for)
    (tmp_path / "chunks").mkdir()
    stale = [tmp_path / f".lipsync.mp4.{dead}-k2j4l6m8.tmp", tmp_path / "chunks" / f".000.wav.{dead}-a1b2c3d4.tmp",
             tmp_path / "chunks" / ".001.wav.x9y8z7w6.tmp"]  # the last: a name from before the process id was in it
    kept = [tmp_path / "lipsync.mp4", tmp_path / "notes.tmp", tmp_path / ".audio.source.json", tmp_path / "chunks" / "000.wav"]
    for path in [*stale, *kept]:
        path.write_bytes(b"x")
    with atomic_path(tmp_path / "narration.wav") as writing:  # this process is still writing it
        writing.write_bytes(b"half")
        assert writing.name.startswith(f".narration.wav.{os.getpid()}-")
        assert remove_stale_temporaries(tmp_path) == sorted(stale)
        assert writing.exists() and all(p.exists() for p in kept) and not any(p.exists() for p in stale)
    assert (tmp_path / "narration.wav").read_bytes() == b"half"


def test_27_12_espeak_reads_a_sentence_that_looks_like_an_option_aloud(tmp_path):
    from core.settings import Settings
    from engines.voice.espeak import EspeakVoice

    diary = tmp_path / "diary.txt"
    diary.write_text("This private diary is long. " * 60)  # about 90 s when read
    written = tmp_path / "written.wav"
    settings = Settings()
    voice = EspeakVoice(settings.narrate.model_copy(), settings.context)
    for text in (f"-f{diary}", f"-w{written}"):
        speech = voice.speak(text, "en")
        assert len(speech.audio) / speech.sample_rate < 30, "the option was taken as text, not read from the file"
    assert not written.exists()
