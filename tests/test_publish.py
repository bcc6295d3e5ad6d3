"""The catalog and what is published from it (feed.xml, index.html), without running the pipeline."""

from __future__ import annotations

from pathlib import Path

import feedparser

from core.artifacts import Chapter, NarratedSentence, Narration, Summary
from core.publish.catalog import Catalog
from core.publish.site import publish

HOSTILE = 'Evil <script>alert(1)</script> & "quotes"'


def digest_folder(root: Path, name: str, title: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    Summary(
        title=title, summary=f"About {title}.", highlights=["One.", "Two.", "Three."], chapters=[Chapter(start=0, title="Start"), Chapter(start=65, title="Later")],
        script="Script.", engine="extractive", model="m", extractive=True, language="en", ungrounded=[], parts=1, reduce_levels=1, usage={},
        seconds=0.1, episode_title=title, show="Show", target_seconds=10, fallbacks=[],
    ).write(folder)
    Narration(
        sample_rate=24000, duration=61.5, language="en", engines=["espeak"], models=["espeak-ng"], loudness_lufs=-16, source_loudness_lufs=None,
        skipped=[], unavailable={}, sentences=[NarratedSentence(text="Script.", start=0.3, end=1.0)],
    ).write(folder)
    (folder / "presenter.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    return folder


def test_catalog_records_done_failed_and_skipped(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert not catalog.knows_feed("f")
    catalog.checked_feed("f", "Feed")
    catalog.failed("f", "g1", "http://x/1.mp3", None, "One", "boom")
    catalog.failed("f", "g1", "http://x/1.mp3", None, "One", "boom again")
    catalog.skipped("f", "g2", "http://x/2.mp3", None, "Two")
    catalog.done("f", "g3-new-guid", "http://x/3.mp3", "2024-01-01", "Three", "/folder")
    assert catalog.knows_feed("f")
    assert [(e.guid, e.attempts, e.error) for e in catalog.entries("failed")] == [("g1", 2, "boom again")]
    assert catalog.find("f", "other-guid", "http://x/3.mp3", "2024-01-01").title == "Three", "found by enclosure and date"
    assert [e.attempts for e in catalog.entries("skipped")] == [0]


def test_publish_writes_a_valid_feed_and_an_escaped_page(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    good = digest_folder(tmp_path, "good", HOSTILE)
    catalog.done("f", "g", "http://x/a.mp3", None, HOSTILE, str(good))
    feed_path, page_path = publish(tmp_path, catalog, title="Digests <b>", base_url="https://example.org/d")
    parsed = feedparser.parse(feed_path.read_bytes())
    assert parsed.version == "rss20" and not parsed.bozo and len(parsed.entries) == 1
    assert parsed.entries[0].enclosures[0].href == "https://example.org/d/good/presenter.mp4"
    assert parsed.entries[0].itunes_duration == "1:02"
    page = page_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Digests &lt;b&gt;" in page
    assert '<time>1:05</time> Later' in page


def test_a_damaged_episode_folder_is_left_out_and_the_others_publish(tmp_path, caplog):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    good, broken = digest_folder(tmp_path, "good", "Good"), digest_folder(tmp_path, "broken", "Broken")
    (broken / "narration.json").unlink()
    catalog.done("f", "g1", "http://x/1.mp3", None, "Good", str(good))
    catalog.done("f", "g2", "http://x/2.mp3", None, "Broken", str(broken))
    feed_path, page_path = publish(tmp_path, catalog)
    assert [e.title for e in feedparser.parse(feed_path.read_bytes()).entries] == ["Show – Good"]
    assert "broken" in caplog.text and "cannot be read" in caplog.text


def test_soundbites_are_listed_with_their_speaker_and_a_link_into_the_episode(tmp_path):
    """Issue 26: summary.md and index.html list each soundbite, its speaker and "listen at m:ss", linked into the enclosure when on the web."""
    from core.artifacts import Beat, Word
    from core.publish.render import render

    folder = digest_folder(tmp_path, "bites", "Batteries")
    summary = Summary.read(folder)
    words = [Word(83.2, 83.6, " Cells"), Word(83.6, 84.1, " got"), Word(84.1, 90.4, " cheaper.")]
    summary.beats = [
        Beat(text="Here is how Maria <b>Lopez</b> puts it:", source="link", speaker="Maria <b>Lopez</b>", start=83.2, end=90.4),
        Beat(text="Cells got cheaper.", source="soundbite", speaker="Maria <b>Lopez</b>", start=83.2, end=90.4, words=words),
    ]
    summary.write(folder)
    markdown = render("summary.md.j2", summary=summary)
    assert "## Soundbites" in markdown and "listen at 01:23 in the episode: “Cells got cheaper.”" in markdown
    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.done("f", "g", "https://cdn.example.org/ep1.mp3", None, "Batteries", str(folder))
    _, page_path = publish(tmp_path, catalog, title="Digests", base_url=None)
    page = page_path.read_text(encoding="utf-8")
    assert '<a href="https://cdn.example.org/ep1.mp3#t=83.2">listen at 1:23</a>' in page
    assert "<b>Maria &lt;b&gt;Lopez&lt;/b&gt;</b>" in page
    local = Catalog(tmp_path / "local.sqlite")
    local.done("f", "g", "/home/me/ep1.mp3", None, "Batteries", str(folder))
    _, page_path = publish(tmp_path, local, title="Digests", base_url=None)
    assert "listen at 1:23" in page_path.read_text(encoding="utf-8") and "#t=" not in page_path.read_text(encoding="utf-8"), "no link to a file on this machine"
