"""The digests as things to subscribe to and browse: outputs/feed.xml (a video podcast) and outputs/index.html.

Both are rebuilt from the catalog after each finished episode and replaced
atomically, so a reader never sees half a file. An episode folder that cannot
be read is left out with a warning; the others are still published.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from pydantic import ValidationError

from core.artifacts import Chapter, Narration, Summary, Transcript
from core.publish.catalog import Catalog
from core.publish.render import render
from core.text import clean, duration_clock
from core.workspace import write_text

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
log = logging.getLogger(__name__)


@dataclass
class Digest:
    guid: str
    title: str
    show: str
    summary: str
    highlights: list[str]
    chapters: list[Chapter]
    video: Path
    thumbnail: Path | None
    duration: float
    published: datetime
    size: int
    speakers: list[tuple[str, float]]  # (label, seconds of talk) in the episode, when more than one voice
    video_href: str = ""
    thumbnail_href: str = ""
    soundbites: list[tuple[str, float, str]] = field(default_factory=list)  # (speaker, start in the episode, words)
    audio_url: str | None = None  # the episode's enclosure, when it is on the web: "listen at" links into it


def _web(url: str | None) -> str | None:
    return url if url and url.startswith(("http://", "https://")) else None


def collect(catalog: Catalog) -> list[Digest]:
    """Finished digests whose files are still on disk and readable, newest first."""
    digests = []
    for entry in catalog.entries("done"):
        folder = Path(entry.folder or "")
        video = folder / "presenter.mp4"
        if not video.is_file():
            continue
        try:
            summary = Summary.read(folder)
            narration = Narration.read(folder)
            transcript = Transcript.read(folder) if (folder / Transcript.file).is_file() else Transcript(language=None, text="", segments=[])
        except (OSError, ValueError, ValidationError) as error:
            log.warning("Not published: %s cannot be read (%s). Rerun that episode to repair it.", folder, type(error).__name__)
            continue
        thumbnail = folder / "thumbnail.png"
        digests.append(Digest(
            guid="digest-" + hashlib.sha256(f"{entry.feed}\n{entry.enclosure or entry.guid}\n{entry.published}".encode()).hexdigest()[:24],
            title=clean(entry.title or summary.title),
            show=clean(summary.show),
            summary=clean(summary.summary),
            highlights=[clean(h) for h in summary.highlights],
            chapters=[
                Chapter(start=c.start, title=clean(c.title), speakers=[clean(v) for v in transcript.voices_between(c.start, end)])
                for c, end in zip(summary.chapters, [c.start for c in summary.chapters[1:]] + [transcript.duration or float("inf")])
            ],
            speakers=[(clean(s.label), s.seconds) for s in transcript.speakers] if len(transcript.speakers) > 1 else [],
            video=video,
            thumbnail=thumbnail if thumbnail.is_file() else None,
            duration=narration.duration,
            published=datetime.fromisoformat(entry.updated_at).astimezone(UTC),
            size=video.stat().st_size,
            soundbites=[(clean(b.speaker or ""), b.start, clean(b.text)) for b in summary.beats if b.source == "soundbite"],
            audio_url=_web(entry.enclosure),
        ))
    return digests


def _href(path: Path, root: Path, base_url: str | None) -> str:
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    return f"{base_url.rstrip('/')}/{relative}" if base_url else relative


def feed_xml(digests: list[Digest], root: Path, title: str, base_url: str | None) -> str:
    """RSS 2.0 with the iTunes namespace; enclosures are the presenter MP4s."""
    ET.register_namespace("itunes", ITUNES)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = clean(title)
    ET.SubElement(channel, "link").text = base_url or root.resolve().as_uri()
    ET.SubElement(channel, "description").text = "Short video digests of podcast episodes, read by a digital presenter."
    ET.SubElement(channel, "language").text = "en"
    ET.SubElement(channel, f"{{{ITUNES}}}explicit").text = "false"
    # the enclosure must be absolute for podcast apps: base_url, else a file:// URL
    base = base_url or root.resolve().as_uri()
    for digest in digests:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = f"{digest.show} – {digest.title}" if digest.show else digest.title
        ET.SubElement(item, "description").text = digest.summary
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = digest.guid
        ET.SubElement(item, "pubDate").text = format_datetime(digest.published)
        ET.SubElement(item, "enclosure", {"url": _href(digest.video, root, base), "length": str(digest.size), "type": "video/mp4"})
        ET.SubElement(item, f"{{{ITUNES}}}duration").text = duration_clock(digest.duration)
        if digest.thumbnail:
            ET.SubElement(item, f"{{{ITUNES}}}image", {"href": _href(digest.thumbnail, root, base)})
    ET.indent(rss)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"


def index_html(digests: list[Digest], root: Path, title: str) -> str:
    """A static page: one card per digest with an HTML5 player (the thumbnail as poster), the summary and the chapters."""
    for digest in digests:
        digest.video_href = _href(digest.video, root, None)
        digest.thumbnail_href = _href(digest.thumbnail, root, None) if digest.thumbnail else ""
    return render("index.html.j2", digests=digests, title=clean(title))


def publish(root: Path, catalog: Catalog, title: str = "Podcast digests", base_url: str | None = None) -> list[Path]:
    """Rebuild feed.xml and index.html in ``root`` (each replaced atomically)."""
    digests = collect(catalog)
    return [
        write_text(root / "feed.xml", feed_xml(digests, root, title, base_url)),
        write_text(root / "index.html", index_html(digests, root, title)),
    ]
