"""fetch: turn a source (feed URL, episode URL, local file) into an episode and its audio on disk.

Downloads stream into ``<name>.part`` beside the destination and are renamed
only when complete and recognised as audio, so a file with the final name is
always whole. An interrupted download resumes from the ``.part`` file with an
HTTP Range request.
"""

from __future__ import annotations

import calendar
import html
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

import httpx

from presenter.errors import AudioError, FetchError, TransientFetchError
from presenter.media import AUDIO_EXTENSIONS, extension_for, looks_like_markup, probe_audio, sniff_audio
from presenter.settings import FetchSettings
from presenter.workspace import sha256_file

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes expected or None)."""


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

    @property
    def is_local(self) -> bool:
        return urlparse(self.audio_url).scheme in ("", "file")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Episode":
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


# --- HTTP ------------------------------------------------------------------------------------


def _client(settings: FetchSettings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        follow_redirects=True,
        headers={"User-Agent": settings.user_agent},
    )


def _http_error(url: str, error: Exception, settings: FetchSettings) -> FetchError:
    """Translate an httpx failure into a message that names the URL and what to do."""
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        reason = error.response.reason_phrase
        if status == 429 or status >= 500:
            return TransientFetchError(
                f"{url} answered HTTP {status} {reason}.",
                "The server is failing or rate-limiting; rerun later (finished work is kept).",
            )
        return FetchError(
            f"{url} answered HTTP {status} {reason}.",
            "Check the URL; the feed or episode may have moved or been removed.",
        )
    if isinstance(error, httpx.TimeoutException):
        return TransientFetchError(
            f"{url} did not answer within the time limit ({type(error).__name__}).",
            "Rerun later, or raise PRESENTER_FETCH__READ_TIMEOUT / PRESENTER_FETCH__CONNECT_TIMEOUT.",
        )
    if isinstance(error, httpx.ConnectError):
        return TransientFetchError(
            f"Cannot reach {url} ({error}).",
            "Check the address and your network connection, then rerun.",
        )
    return TransientFetchError(
        f"The connection to {url} broke ({type(error).__name__}: {error}).",
        "Rerun; a partial download resumes where it stopped.",
    )


def _retrying(settings: FetchSettings, attempt: Callable[[], object]):
    """Run ``attempt`` until it succeeds or a non-transient error; back off between tries."""
    delay = settings.backoff_seconds
    for number in range(1, settings.attempts + 1):
        try:
            return attempt()
        except TransientFetchError:
            if number == settings.attempts:
                raise
            time.sleep(delay)
            delay *= 2


def _fetch_document(url: str, settings: FetchSettings) -> bytes:
    """GET a (small) document, such as a feed. Refuses bodies above max_feed_bytes."""

    def attempt() -> bytes:
        try:
            with _client(settings) as client, client.stream("GET", url) as response:
                response.raise_for_status()
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > settings.max_feed_bytes:
                        raise FetchError(
                            f"{url} is larger than {settings.max_feed_bytes:,} bytes and does not look like a feed.",
                            "Give the feed's URL, or the episode's audio URL directly.",
                        )
                return bytes(body)
        except httpx.HTTPError as error:
            raise _http_error(url, error, settings) from None

    return _retrying(settings, attempt)


# --- Feeds -----------------------------------------------------------------------------------


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


def _plain_text(value: str) -> str:
    text = re.sub(r"<[^>]+>", " ", value or "")
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _audio_enclosure(entry) -> tuple[str, str | None] | None:
    candidates = [(e.get("href") or e.get("url"), e.get("type")) for e in entry.get("enclosures", [])]
    candidates += [(m.get("url"), m.get("type")) for m in entry.get("media_content", [])]
    for href, mime in candidates:
        if not href:
            continue
        suffix = Path(urlparse(href).path).suffix.lower()
        if (mime or "").startswith("audio/") or (not mime and suffix in AUDIO_EXTENSIONS):
            return href, mime
    for href, mime in candidates:  # video podcasts: the audio track is extracted later
        if href and (mime or "").startswith("video/"):
            return href, mime
    return None


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
    show = _plain_text(parsed.feed.get("title", "")) or urlparse(url).netloc or "Podcast"
    episodes: list[tuple[float, int, Episode]] = []
    for position, entry in enumerate(parsed.entries):
        enclosure = _audio_enclosure(entry)
        if enclosure is None:
            continue
        href, _mime = enclosure
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = (
            datetime.fromtimestamp(calendar.timegm(stamp), tz=timezone.utc).isoformat() if stamp else None
        )
        episode = Episode(
            guid=entry.get("id") or href,
            title=_plain_text(entry.get("title", "")) or Path(urlparse(href).path).stem or "Episode",
            show_title=show,
            audio_url=href,
            published=published,
            duration_seconds=_parse_duration(entry.get("itunes_duration")),
            description=_plain_text(entry.get("summary", "") or entry.get("description", "")),
            link=entry.get("link"),
        )
        episodes.append((calendar.timegm(stamp) if stamp else float("-inf"), -position, episode))
    if not episodes:
        raise FetchError(
            f"The feed {url} has {len(parsed.entries)} entries but none with an audio enclosure.",
            "Check that this is the podcast's audio feed (not a blog or video-only feed).",
        )
    episodes.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return Feed(url=url, title=show, episodes=[e for *_, e in episodes])


def read_feed(url: str, settings: FetchSettings) -> Feed:
    return parse_feed(_fetch_document(url, settings), url)


def select_episode(feed: Feed, selector: str | None) -> Episode:
    """'latest' (or None), an index (0 = newest), a GUID, or the enclosure URL (stable where GUIDs are not)."""
    if selector in (None, "", "latest"):
        return feed.episodes[0]
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


# --- Sources ---------------------------------------------------------------------------------


def _local_episode(path: Path) -> Episode:
    if not path.is_file():
        raise AudioError(f"{path} does not exist or is not a file.", "Check the path of the audio file.")
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes).", "Give a complete audio file; re-download it if needed.")
    probe = probe_audio(path)
    return Episode(
        guid=f"sha256:{sha256_file(path)}",
        title=probe.tags.get("title") or path.stem,
        show_title=probe.tags.get("album") or probe.tags.get("artist") or "Local audio",
        audio_url=str(path.resolve()),
        duration_seconds=probe.duration,
        description=probe.tags.get("comment", "") or probe.tags.get("description", ""),
    )


def _looks_like_audio_response(response: httpx.Response, head: bytes) -> bool:
    mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return mime.startswith(("audio/", "video/")) or sniff_audio(head) is not None


def resolve(source: str, settings: FetchSettings, selector: str | None = None) -> Episode:
    """The episode a source names. Feeds are read; audio URLs and local files become one-episode sources."""
    if not is_remote(source):
        return _local_episode(local_path(source))

    def probe_url() -> bool:
        try:
            with _client(settings) as client, client.stream("GET", source) as response:
                response.raise_for_status()
                head = next(response.iter_bytes(64), b"")
                return _looks_like_audio_response(response, head)
        except httpx.HTTPError as error:
            raise _http_error(source, error, settings) from None

    if _retrying(settings, probe_url):
        name = Path(unquote(urlparse(source).path)).stem or "episode"
        return Episode(guid=source, title=name, show_title=urlparse(source).netloc, audio_url=source)
    return select_episode(read_feed(source, settings), selector)


# --- Download --------------------------------------------------------------------------------


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total length) from 'bytes 100-999/1000' or 'bytes */1000'."""
    match = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", header or "")
    if not match:
        return None, None
    start = int(match.group(1)) if match.group(1) else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return start, total


def _too_large(url: str, size: int, settings: FetchSettings) -> FetchError:
    return FetchError(
        f"{url} is larger than the download limit ({size:,} > {settings.max_bytes:,} bytes).",
        "Raise PRESENTER_FETCH__MAX_BYTES if this episode really is that long.",
    )


def _not_audio(url: str, what: str) -> FetchError:
    return FetchError(
        f"{url} is {what}, not audio.",
        "The enclosure link may point to a web page or need a login; open it in a browser and "
        "use the direct audio URL.",
    )


def _download_once(client: httpx.Client, url: str, part: Path, settings: FetchSettings, on_progress: Progress | None) -> None:
    meta_path = part.with_name(part.name + ".json")
    offset = part.stat().st_size if part.exists() else 0
    headers = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = json.loads(meta_path.read_text()).get("validator") if meta_path.exists() else None
        if validator:
            headers["If-Range"] = validator
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and offset:
                _, total = _content_range(response.headers.get("content-range"))
                if total == offset:
                    return  # the part file is already complete
                part.unlink()
                raise TransientFetchError(f"{url} refused to resume.", "Restarting the download.")
            response.raise_for_status()
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if mime in ("text/html", "application/xhtml+xml"):
                raise _not_audio(url, f"a web page ({mime})")
            if response.status_code == 206:
                start, total = _content_range(response.headers.get("content-range"))
                if start != offset:
                    offset = 0
            else:
                offset = 0
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
            if total is not None and total > settings.max_bytes:
                part.unlink(missing_ok=True)
                raise _too_large(url, total, settings)
            validator = response.headers.get("etag") or response.headers.get("last-modified")
            meta_path.write_text(json.dumps({"url": url, "validator": validator, "total": total}))
            done = offset
            with open(part, "ab" if offset else "wb") as out:
                for piece in response.iter_bytes():
                    if done == 0 and looks_like_markup(piece[:64]):
                        raise _not_audio(url, "an HTML/XML document")
                    out.write(piece)
                    done += len(piece)
                    if done > settings.max_bytes:
                        raise _too_large(url, done, settings)
                    if on_progress:
                        on_progress(done, total)
            if total is not None and done < total:
                raise TransientFetchError(
                    f"The download of {url} stopped at {done:,} of {total:,} bytes.",
                    "Rerun; the download resumes where it stopped.",
                )
    except httpx.HTTPError as error:
        raise _http_error(url, error, settings) from None
    except FetchError as error:
        if not isinstance(error, TransientFetchError):
            part.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
        raise


def download(url: str, folder: Path, settings: FetchSettings, on_progress: Progress | None = None) -> Path:
    """Download ``url`` into ``folder/audio.<ext>`` (resumable); returns the complete file.

    An already complete file is reused, so a rerun downloads nothing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    done = sorted(p for p in folder.glob("audio.*") if p.suffix not in (".part", ".json"))
    if done:
        return done[0]
    part = folder / "audio.part"
    with _client(settings) as client:
        _retrying(settings, lambda: _download_once(client, url, part, settings, on_progress))
    with open(part, "rb") as handle:
        head = handle.read(64)
    fmt = sniff_audio(head)
    if fmt is None:
        try:
            probe_audio(part)
        except AudioError:
            part.unlink()
            part.with_name(part.name + ".json").unlink(missing_ok=True)
            raise _not_audio(url, "a file of an unknown, non-audio type") from None
    suffix = Path(urlparse(url).path).suffix.lower()
    final = folder / f"audio{suffix if suffix in AUDIO_EXTENSIONS else extension_for(fmt)}"
    os.replace(part, final)
    part.with_name(part.name + ".json").unlink(missing_ok=True)
    return final



def fetch_audio(episode: Episode, folder: Path, settings: FetchSettings, on_progress: Progress | None = None) -> Path:
    """The episode's complete audio file: local files are used in place, URLs downloaded into ``folder``."""
    if episode.is_local:
        return local_path(episode.audio_url)
    return download(episode.audio_url, folder, settings, on_progress)
