"""The digests as things to subscribe to and browse: outputs/feed.xml (a video podcast) and outputs/index.html.

Both are rebuilt from the catalog after each finished episode and replaced
atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from .catalog import Catalog
from .workspace import write_text

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"


@dataclass
class Digest:
    guid: str
    title: str
    show: str
    summary: str
    highlights: list[str]
    chapters: list[dict]
    video: Path
    thumbnail: Path | None
    duration: float
    published: datetime
    size: int


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def collect(catalog: Catalog) -> list[Digest]:
    """Finished digests whose files are still on disk, newest first."""
    digests = []
    for entry in catalog.entries("done"):
        folder = Path(entry.folder or "")
        video = folder / "presenter.mp4"
        if not video.is_file() or not (folder / "summary.json").is_file():
            continue
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        narration = json.loads((folder / "narration.json").read_text(encoding="utf-8"))
        thumbnail = folder / "thumbnail.png"
        digests.append(Digest(
            guid="digest-" + hashlib.sha256(f"{entry.feed}\n{entry.enclosure or entry.guid}\n{entry.published}".encode()).hexdigest()[:24],
            title=entry.title or summary.get("title", "Episode"),
            show=summary.get("show", ""),
            summary=summary.get("summary", ""),
            highlights=summary.get("highlights", []),
            chapters=summary.get("chapters", []),
            video=video,
            thumbnail=thumbnail if thumbnail.is_file() else None,
            duration=float(narration["duration"]),
            published=datetime.fromisoformat(entry.updated_at).astimezone(timezone.utc),
            size=video.stat().st_size,
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
    ET.SubElement(channel, "title").text = title
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
        ET.SubElement(item, f"{{{ITUNES}}}duration").text = _clock(digest.duration)
        if digest.thumbnail:
            ET.SubElement(item, f"{{{ITUNES}}}image", {"href": _href(digest.thumbnail, root, base)})
    ET.indent(rss)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"


def index_html(digests: list[Digest], root: Path, title: str) -> str:
    """A static page: one card per digest with an HTML5 player, the summary and the chapters."""
    e = html.escape
    cards = []
    for d in digests:
        chapters = "".join(f"<li><time>{_clock(c['start'])}</time> {e(c['title'])}</li>" for c in d.chapters)
        highlights = "".join(f"<li>{e(h)}</li>" for h in d.highlights)
        poster = f' poster="{e(_href(d.thumbnail, root, None))}"' if d.thumbnail else ""
        cards.append(f"""
    <article id="{e(d.guid)}">
      <h2>{e(d.title)}</h2>
      <p class="meta">{e(d.show)} · {d.published:%Y-%m-%d} · {_clock(d.duration)}</p>
      <video controls preload="metadata" width="640"{poster}><source src="{e(_href(d.video, root, None))}" type="video/mp4"></video>
      <p>{e(d.summary)}</p>
      {f'<h3>Highlights</h3><ul>{highlights}</ul>' if highlights else ''}
      {f'<h3>Chapters of the episode</h3><ol class="chapters">{chapters}</ol>' if chapters else ''}
    </article>""")
    body = "".join(cards) or "\n    <p>No digests yet.</p>"
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{e(title)}</title>
  <link rel="alternate" type="application/rss+xml" title="{e(title)}" href="feed.xml">
  <style>
    body {{ font-family: system-ui, "WenQuanYi Micro Hei", sans-serif; max-width: 760px; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }}
    article {{ border-bottom: 1px solid #ddd; padding: 1.5rem 0; }}
    video {{ max-width: 100%; background: #000; border-radius: 6px; }}
    .meta {{ color: #666; }} time {{ font-variant-numeric: tabular-nums; color: #666; margin-right: .5em; }}
  </style>
</head>
<body>
  <h1>{e(title)}</h1>
  <p><a href="feed.xml">Subscribe (RSS)</a></p>{body}
</body>
</html>
"""


def publish(root: Path, catalog: Catalog, title: str = "Podcast digests", base_url: str | None = None) -> list[Path]:
    """Rebuild feed.xml and index.html in ``root`` (each replaced atomically)."""
    digests = collect(catalog)
    return [
        write_text(root / "feed.xml", feed_xml(digests, root, title, base_url)),
        write_text(root / "index.html", index_html(digests, root, title)),
    ]
