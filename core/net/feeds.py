"""Podcast feeds as data: RSS 2.0, Atom and iTunes fields parsed into episodes, newest first.

Feeds are written by strangers. Every text field is stripped of markup and
control characters here, once, before anything stores or republishes it; an
enclosure is resolved against the feed's own URL, and a feed on the web may
only point to web (http/https) audio, never to a file on this machine.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

from core.errors import FetchError
from core.media.ffmpeg import AUDIO_EXTENSIONS
from core.text import clean, plain_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Episode:
    guid: str
    title: str
    show_title: str
    audio_url: str
    published: str | None = None
    duration_seconds: float | None = None
    description: str = ""
    link: str | None = None
    feed: str | None = None  # the feed the episode was listed in; with the GUID it names the episode's folder
    keywords: list[str] = field(default_factory=list)  # itunes:keywords and categories: names and terms for the glossary
    chapters: list[str] = field(default_factory=list)  # chapter titles (Podlove Simple Chapters), read for the glossary

    @property
    def is_local(self) -> bool:
        return urlparse(self.audio_url).scheme in ("", "file")

    @property
    def key(self) -> str:
        """What identifies the episode across runs: two shows may both use GUID '1'."""
        return f"{self.feed or ''}\n{self.guid}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        return cls(**data)


@dataclass(frozen=True)
class Feed:
    url: str
    title: str
    episodes: list[Episode]


def is_remote(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def local_path(source: str) -> Path:
    parsed = urlparse(source)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(source).expanduser()


def _parse_duration(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = 0.0
        for part in str(value).strip().split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    except ValueError:
        return None


def _resolved(href: str, feed_url: str) -> str | None:
    """The enclosure as an absolute URL, or None if a web feed points off the web (a local file, another scheme)."""
    href = href.strip()
    if is_remote(feed_url):
        absolute = urljoin(feed_url, href)
        return absolute if urlparse(absolute).scheme in ("http", "https") else None
    base = local_path(feed_url).expanduser().resolve().as_uri()
    absolute = urljoin(base, href)
    return absolute if urlparse(absolute).scheme in ("http", "https", "file") else None


def _audio_enclosure(entry: Any, feed_url: str) -> tuple[str, str | None] | None:
    candidates = [(e.get("href") or e.get("url"), e.get("type")) for e in entry.get("enclosures", [])]
    candidates += [(m.get("url"), m.get("type")) for m in entry.get("media_content", [])]
    checked = []
    for href, mime in candidates:
        absolute = _resolved(href, feed_url) if href else None
        if href and absolute is None:
            log.warning("Enclosure %r of %s refused: a feed on the web may only point to http(s) audio.", clean(href)[:200], feed_url)
        if absolute:
            checked.append((absolute, mime))
    for href, mime in checked:
        suffix = Path(urlparse(href).path).suffix.lower()
        if (mime or "").startswith("audio/") or (not mime and suffix in AUDIO_EXTENSIONS):
            return href, mime
    for href, mime in checked:  # video podcasts: the audio track is extracted later
        if (mime or "").startswith("video/"):
            return href, mime
    return None


def _keywords(entry: Any) -> list[str]:
    """itunes:keywords (comma-separated) and the entry's categories, cleaned."""
    words = [w for w in re.split(r"[,，、;；]", entry.get("itunes_keywords", "") or "")]
    words += [tag.get("term", "") for tag in entry.get("tags", []) or []]
    return [plain_text(w)[:60] for w in words if plain_text(w)][:30]


def _chapters(entry: Any) -> list[str]:
    chapters = (entry.get("psc_chapters") or {}).get("chapters") or []
    return [plain_text(c.get("title", ""))[:200] for c in chapters if plain_text(c.get("title", ""))][:50]


def parse_feed(data: bytes, url: str) -> Feed:
    """Episodes of an RSS 2.0 / Atom / iTunes feed, newest first."""
    import feedparser

    parsed = feedparser.parse(data)
    if not parsed.get("version") and not parsed.entries:
        kind = "an HTML page" if b"<html" in data[:2048].lower() else "not an RSS or Atom feed"
        reason = parsed.get("bozo_exception")
        raise FetchError(
            f"{url} is {kind}{f' ({reason})' if reason else ''}.",
            "Give the podcast's RSS/Atom feed URL (often linked as 'RSS' on the show's page), "
            "an episode's audio URL, or a local audio file.",
        )
    show = plain_text(parsed.feed.get("title", "")) or urlparse(url).netloc or "Podcast"
    episodes: list[tuple[float, int, Episode]] = []
    for position, entry in enumerate(parsed.entries):
        enclosure = _audio_enclosure(entry, url)
        if enclosure is None:
            continue
        href, _mime = enclosure
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC).isoformat() if stamp else None
        episode = Episode(
            guid=plain_text(entry.get("id") or "") or href,
            title=plain_text(entry.get("title", "")) or Path(urlparse(href).path).stem or "Episode",
            show_title=show,
            audio_url=href,
            published=published,
            duration_seconds=_parse_duration(entry.get("itunes_duration")),
            description=plain_text(entry.get("summary", "") or entry.get("description", "")),
            link=clean(entry.get("link") or "") or None,
            feed=url,
            keywords=_keywords(entry),
            chapters=_chapters(entry),
        )
        episodes.append((calendar.timegm(stamp) if stamp else float("-inf"), -position, episode))
    if not episodes:
        raise FetchError(
            f"The feed {url} has {len(parsed.entries)} entries but none with an audio enclosure.",
            "Check that this is the podcast's audio feed (not a blog or video-only feed).",
        )
    episodes.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return Feed(url=url, title=show, episodes=[e for *_, e in episodes])


def select_episode(feed: Feed, selector: str | None) -> Episode:
    """'latest' (or None), an index (0 = newest), a GUID, or the enclosure URL (stable where GUIDs are not)."""
    if selector in (None, "", "latest"):
        return feed.episodes[0]
    assert selector is not None
    if selector.isdigit():
        index = int(selector)
        if index < len(feed.episodes):
            return feed.episodes[index]
        raise FetchError(
            f"The feed {feed.url} has {len(feed.episodes)} episodes; index {index} does not exist.",
            f"Use an index from 0 (newest) to {len(feed.episodes) - 1}, or list them with 'presenter episodes'.",
        )
    for episode in feed.episodes:
        if selector in (episode.guid, episode.audio_url):
            return episode
    raise FetchError(
        f"The feed {feed.url} has no episode with GUID {selector!r}.",
        "List the episodes and their GUIDs with 'presenter episodes FEED'.",
    )
