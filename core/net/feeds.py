"""Podcast feeds as data: RSS 2.0, Atom and iTunes fields parsed into episodes, newest first.

Feeds are written by strangers. Every text field is stripped of markup and
control characters here, once, before anything stores or republishes it; an
enclosure is resolved against the item's xml:base or the URL the feed was
finally read from, and a feed on the web may only point to web (http/https)
audio, never to a file on this machine. The charset of the HTTP response
counts (feedparser is given the headers); an item skipped for having no
audio is named in a warning; dates feedparser cannot read (Chinese forms)
are read here, and where dates cannot be trusted document order decides.
"""

from __future__ import annotations

import calendar
import email.utils
import logging
import mimetypes
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import feedparser

from core.errors import FetchError, redact
from core.media.ffmpeg import AUDIO_EXTENSIONS
from core.net.credentials import hide
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
    url: str  # where the document was read from, after redirects (credentials hidden)
    title: str
    episodes: list[Episode]
    new_url: str | None = None  # itunes:new-feed-url or <redirect><newLocation>: the show has moved there
    next_page: str | None = None  # rel="next": the older episodes of a paged feed


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


GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/binary", "application/x-download", "application/download", "application/force-download", "application/unknown"}
VIDEO_EXTENSIONS = {".mov", ".m4v", ".mp4", ".mkv", ".webm", ".avi"}
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_CHINESE_DATE = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?(?:\s*(?:(上午|下午|晚上)\s*)?(\d{1,2})\s*[:：时點点]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _chinese_date(value: str) -> time.struct_time | None:
    """'2024年6月8日 10:00', '2024-6-8 下午3:05', '2024/06/08': feedparser misreads these (2024年6月8日 became 2024-12-01)."""
    match = _CHINESE_DATE.search(value or "")
    if not match or not re.search(r"[年月日时點点上下晚]|^\s*\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(\s+\d{1,2}:\d{2}(:\d{2})?)?\s*$", value):
        return None
    year, month, day, half, hour, minute, second = match.groups()
    hours = int(hour or 0) + (12 if half in ("下午", "晚上") and int(hour or 0) < 12 else 0)
    try:
        return datetime(int(year), int(month), int(day), hours, int(minute or 0), int(second or 0), tzinfo=UTC).timetuple()
    except ValueError:
        return None


feedparser.registerDateHandler(_chinese_date)  # tried before feedparser's own readers


def _without_forbidden_references(data: bytes) -> bytes:
    """Numeric character references to characters XML 1.0 forbids (&#xDFFF;, &#xFFFF;, &#1;) removed before parsing.

    feedparser raises UnicodeEncodeError on a lone surrogate, which would stop
    every feed of a run; the others would reach feed.xml and break it.
    """

    def keep(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
        return match.group(0) if allowed else b""

    return _CHARREF.sub(keep, data)


def _charset(headers: dict[str, str]) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", headers.get("content-type", ""))
    return match.group(1) if match else None


def _transcoded(data: bytes, headers: dict[str, str]) -> bytes | None:
    """The document as UTF-8 when its declared charset (XML declaration or HTTP header) fits its bytes, a BOM in front ignored."""
    body = data
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom):]
            break
    declared = _DECLARED.match(body)
    for name in filter(None, (declared.group(1).decode() if declared else None, _charset(headers))):
        try:
            text = body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
        return _DECLARED.sub(b'<?xml version="1.0" encoding="utf-8"', text.encode("utf-8"), count=1)
    return None


def _parse(data: bytes, url: str, headers: dict[str, str]) -> Any:
    """feedparser on the document with the response's headers (its charset counts); a wrong BOM or declaration is corrected."""
    data = _without_forbidden_references(data)
    try:
        parsed = feedparser.parse(data, response_headers=headers)  # no content-location: feedparser would rewrite relative-looking GUIDs
        if isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
            fixed = _transcoded(data, headers)
            if fixed is not None:
                again = feedparser.parse(fixed, response_headers={"content-type": "application/xml; charset=utf-8"})
                if not again.get("bozo") or not isinstance(again.get("bozo_exception"), feedparser.CharacterEncodingOverride):
                    log.warning("%s declares one charset and is written in another; read as %s.", redact(url), _charset(headers) or "declared")
                    parsed = again
    except Exception as error:  # a stranger's document must never stop the run with a traceback
        raise FetchError(
            f"{url} could not be read as a feed ({type(error).__name__}: {str(error)[:200]}).",
            "Tell the publisher the feed is malformed; the other feeds are not affected.",
        ) from None
    return parsed


def _base(url: str, xml_base: str | None) -> str:
    """What an item's relative enclosure is resolved against: its xml:base (itself resolved against the document), else the document's URL."""
    if not xml_base:
        return url
    if not is_remote(url):
        return url if not is_remote(xml_base) else xml_base
    return urljoin(url, xml_base)


def _resolved(href: str, base: str) -> str | None:
    """The enclosure as an absolute URL, or None if a web feed points off the web (a local file, another scheme)."""
    href = href.strip()
    if is_remote(base):
        absolute = urljoin(base, href)
        return absolute if urlparse(absolute).scheme in ("http", "https") else None
    base = local_path(base).expanduser().resolve().as_uri()
    absolute = urljoin(base, href)
    return absolute if urlparse(absolute).scheme in ("http", "https", "file") else None


def _kind(href: str, mime: str | None) -> str | None:
    """'audio', 'video' or None, from the declared type, or from the URL's extension when the type is generic or odd.

    ``x-audio/mp3`` is audio; ``application/octet-stream`` with .mp3 is audio;
    a generic type and an unknown extension is tried, since the download is
    sniffed and refused with a message if it is not audio.
    """
    mime = (mime or "").split(";")[0].strip().lower()
    major, _, minor = mime.partition("/")
    if major in ("audio", "x-audio") or minor in ("mp3", "mpeg3", "x-mp3", "x-m4a", "ogg"):
        return "audio"
    if major in ("video", "x-video"):
        return "video"
    suffix = Path(urlparse(href).path).suffix.lower()
    if mime not in GENERIC_TYPES:
        return None
    if suffix in AUDIO_EXTENSIONS - VIDEO_EXTENSIONS:
        return "audio"
    if suffix in VIDEO_EXTENSIONS:
        return "video" if suffix != ".mp4" else "audio"
    guessed = mimetypes.guess_type(f"x{suffix}")[0] if suffix else None
    return "audio" if guessed is None else None  # unknown: sniffed on download; a known other type (.pdf) is not audio


def _audio_enclosure(entry: Any, base: str) -> tuple[str, str | None] | None:
    candidates = [(e.get("href") or e.get("url"), e.get("type")) for e in entry.get("enclosures", [])]
    candidates += [(m.get("url"), m.get("type")) for m in entry.get("media_content", [])]
    checked = []
    for href, mime in candidates:
        absolute = _resolved(href, base) if href else None
        if href and absolute is None:
            log.warning("Enclosure %r of %s refused: a feed on the web may only point to http(s) audio.", redact(clean(href)[:200]), redact(base))
        if absolute:
            checked.append((absolute, mime, _kind(absolute, mime)))
    for wanted in ("audio", "video"):  # video podcasts: the audio track is extracted later
        for href, mime, kind in checked:
            if kind == wanted:
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


def _date(entry: Any) -> tuple[float | None, str | None]:
    """(seconds since the epoch, ISO date in the feed's own time zone) of an entry, or (None, None)."""
    stamp = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")  # dict.get: not feedparser's deprecated updated→published mapping
    if not stamp:
        return None, None
    seconds = float(calendar.timegm(stamp))
    raw = entry.get("published") or entry.get("updated") or ""
    offset = None
    try:
        offset = email.utils.parsedate_to_datetime(raw).utcoffset()
    except (TypeError, ValueError, IndexError):
        try:
            offset = datetime.fromisoformat(raw.strip().replace("Z", "+00:00")).utcoffset()
        except ValueError:
            offset = None
    zone = timezone(offset) if offset is not None and abs(offset) < timedelta(hours=24) else UTC
    return seconds, datetime.fromtimestamp(seconds, tz=zone).isoformat()


def _newest_first(items: list[tuple[float | None, int, Episode]]) -> list[Episode]:
    """By date, newest first, when every item has one; otherwise document order, turned round if the dated items run oldest first."""
    if all(seconds is not None for seconds, _, _ in items):
        return [e for *_, e in sorted(items, key=lambda item: (item[0], -item[1]), reverse=True)]
    dated = [seconds for seconds, _, _ in items if seconds is not None]
    rising = sum(b > a for a, b in zip(dated, dated[1:]))
    falling = sum(b < a for a, b in zip(dated, dated[1:]))
    ordered = [e for *_, e in items]
    return ordered[::-1] if rising > falling else ordered


def _link(parsed: Any, rel: str) -> str | None:
    for link in parsed.feed.get("links", []) or []:
        if link.get("rel") == rel and link.get("href"):
            return str(link["href"])
    return None


def parse_feed(data: bytes, url: str, headers: dict[str, str] | None = None) -> Feed:
    """Episodes of an RSS 2.0 / Atom / iTunes feed, newest first; ``url`` is where it was read from (after redirects), ``headers`` the response's."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    parsed = _parse(data, url, headers)
    shown = hide(url)
    if not parsed.get("version") and not parsed.entries:
        kind = "an HTML page" if b"<html" in data[:2048].lower() else "not an RSS or Atom feed"
        reason = parsed.get("bozo_exception")
        raise FetchError(
            f"{url} is {kind}{f' ({reason})' if reason else ''}.",
            "Give the podcast's RSS/Atom feed URL (often linked as 'RSS' on the show's page), "
            "an episode's audio URL, or a local audio file.",
        )
    show = plain_text(parsed.feed.get("title", "")) or urlparse(url).hostname or "Podcast"
    items: list[tuple[float | None, int, Episode]] = []
    skipped: list[str] = []
    for position, entry in enumerate(parsed.entries):
        base = _base(url, (entry.get("title_detail") or {}).get("base"))  # the item's xml:base, else the document's URL
        enclosure = _audio_enclosure(entry, base if is_remote(base) or not is_remote(url) else url)  # a web feed's xml:base may not leave the web
        title = plain_text(entry.get("title", ""))
        if enclosure is None:
            skipped.append(title or f"item {position + 1}")
            continue
        href, _mime = enclosure
        seconds, published = _date(entry)
        episode = Episode(
            guid=hide(plain_text(entry.get("id") or "") or href),
            title=title or Path(urlparse(href).path).stem or "Episode",
            show_title=show,
            audio_url=hide(href),
            published=published,
            duration_seconds=_parse_duration(entry.get("itunes_duration")),
            description=plain_text(entry.get("summary", "") or entry.get("description", "")),
            link=redact(clean(entry.get("link") or "")) or None,
            feed=shown,
            keywords=_keywords(entry),
            chapters=_chapters(entry),
        )
        items.append((seconds, position, episode))
    if not parsed.entries:
        raise FetchError(f"The feed {url} has no episodes.", "Check the URL; a new show may not have published yet.")
    if skipped:
        log.warning(
            "%s: %d of %d item(s) skipped, no audio enclosure: %s%s", shown, len(skipped), len(parsed.entries),
            ", ".join(repr(t[:60]) for t in skipped[:5]), " …" if len(skipped) > 5 else "",
        )
    if not items:
        raise FetchError(
            f"The feed {url} has {len(parsed.entries)} entries but none with an audio enclosure.",
            "Check that this is the podcast's audio feed (not a blog or video-only feed).",
        )
    moved = plain_text(parsed.feed.get("itunes_new-feed-url") or parsed.feed.get("newlocation") or "")
    next_page = _link(parsed, "next")
    return Feed(
        url=shown, title=show, episodes=_newest_first(items),
        new_url=urljoin(url, moved) if moved else None, next_page=urljoin(url, next_page) if next_page else None,
    )


def select_episode(feed: Feed, selector: str | None) -> Episode:
    """'latest' (or None), a GUID, the enclosure URL (stable where GUIDs are not), or a position: '#3' (0 = newest).

    A value that is some episode's GUID is that GUID, even when it is all digits
    (shows number their GUIDs 1, 1001, 1002); a bare number that is no GUID is
    still read as a position.
    """
    if selector in (None, "", "latest"):
        return feed.episodes[0]
    assert selector is not None
    for episode in feed.episodes:
        if selector in (episode.guid, episode.audio_url):
            return episode
    position = selector[1:] if selector.startswith("#") else selector
    if position.isdigit():
        index = int(position)
        if index < len(feed.episodes):
            return feed.episodes[index]
        raise FetchError(
            f"The feed {feed.url} has {len(feed.episodes)} episodes and none with GUID {selector!r}; position {index} does not exist.",
            f"Use a position from #0 (newest) to #{len(feed.episodes) - 1} (--index N), or list the episodes with 'presenter episodes'.",
        )
    raise FetchError(
        f"The feed {feed.url} has no episode with GUID {selector!r}.",
        "List the episodes and their GUIDs with 'presenter episodes FEED'; pick one by position with '#N' or --index N.",
    )
