"""Third-party feed documents (tests/data/feeds, sources and licences in its README) listed by `presenter episodes` and compared with feedparser.

For each document: the CLI lists it or says in one line why not (no traceback);
the number of episodes is feedparser's entries less the items named as
skipped; every item with an audio/* enclosure is listed; and titles, GUIDs and
order match feedparser's reading (newest first by date, or document order
where dates are missing).
"""

from __future__ import annotations

import calendar
import re
from pathlib import Path

import feedparser
import pytest
from typer.testing import CliRunner

from core.text import plain_text
from presenter.cli import app

from .support import DATA

FEEDS = sorted(p for p in (DATA / "feeds").rglob("*") if p.suffix in (".rss", ".xml", ".atom"))
ITEM = re.compile(r"^\[#(\d+)\] (.*?) +(\d+ min|\?)  (.*)\n {6}guid: (.*)$", re.MULTILINE)
SKIPPED = re.compile(r"(\d+) of (\d+) item\(s\) skipped, no audio enclosure: (.*)")


def test_the_collection_is_large_enough_and_documented():
    readme = (DATA / "feeds" / "README.md").read_text(encoding="utf-8")
    assert len(FEEDS) >= 30
    assert all(str(p.relative_to(DATA / "feeds")) in readme for p in FEEDS), "every document's source and licence is recorded"


def _stamp(entry) -> float | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return calendar.timegm(stamp) if stamp else None


@pytest.mark.parametrize("path", FEEDS, ids=[str(p.relative_to(DATA / "feeds")) for p in FEEDS])
def test_a_third_party_feed_is_listed_as_feedparser_reads_it(path: Path):
    result = CliRunner().invoke(app, ["episodes", str(path), "--limit", "100000"], env={"COLUMNS": "300"})
    output = result.output
    assert "Traceback" not in output and "Logging error" not in output, output
    entries = feedparser.parse(path.read_bytes()).entries
    skipped = SKIPPED.search(output)
    named = set(re.findall(r"'([^']*)'", skipped.group(3))) if skipped else set()
    skipped_count = int(skipped.group(1)) if skipped else 0
    if skipped:
        assert int(skipped.group(2)) == len(entries)
    listed = ITEM.findall(output)
    if result.exit_code:
        assert listed == [] and ("has no episodes" in output if not entries else "none with an audio enclosure" in output), output
        assert skipped_count == len(entries)
        return
    assert len(listed) == len(entries) - skipped_count, output
    with_audio = [e for e in entries if any((x.get("type") or "").startswith("audio/") and (x.get("href") or x.get("url")) for x in e.get("enclosures", []))]
    titles = [title for _, _, _, title, _ in listed]
    assert all((plain_text(e.get("title", "")) or None) in (*titles, None) for e in with_audio), "an item with an audio enclosure was dropped"
    if len(named) == skipped_count:  # every skipped item is named: compare item by item
        kept = [(position, e) for position, e in enumerate(entries) if plain_text(e.get("title", "")) not in named]
        if all(_stamp(e) is not None for _, e in kept):
            kept.sort(key=lambda item: (_stamp(item[1]), -item[0]), reverse=True)
        else:  # document order, turned round where the dated items run oldest first
            dated = [_stamp(e) for _, e in kept if _stamp(e) is not None]
            if sum(b > a for a, b in zip(dated, dated[1:])) > sum(b < a for a, b in zip(dated, dated[1:])):
                kept.reverse()
        for (index, _, _, title, guid), (_, entry) in zip(listed, kept, strict=True):
            assert title == (plain_text(entry.get("title", "")) or title), (index, title, entry.get("title"))
            expected_guid = plain_text(entry.get("id") or "")
            assert guid == expected_guid if expected_guid else guid.startswith(("http", "file:")), (index, guid, entry.get("id"))
