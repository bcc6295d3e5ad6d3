"""fetch: turn a source (feed URL, episode URL, local file) into an episode and its audio on disk."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.errors import AudioError, FetchError
from core.media.ffmpeg import probe_audio
from core.net.credentials import hide, real
from core.net.feeds import Episode, Feed, is_remote, local_path, parse_feed, select_episode
from core.net.http import Progress, download, fetch_page, is_audio_url
from core.settings import FetchSettings
from core.text import clean
from core.workspace import file_digest

log = logging.getLogger(__name__)
MAX_PAGES = 20  # pages of a paged feed read to find an episode (rel="next")

__all__ = ["Episode", "Feed", "read_feed", "read_any_feed", "resolve", "fetch_audio", "download", "parse_feed", "select_episode", "local_path", "is_remote"]


def _read_page(url: str, settings: FetchSettings) -> Feed:
    document = fetch_page(url, settings)
    return parse_feed(document.data, document.url, document.headers)


def read_feed(url: str, settings: FetchSettings) -> Feed:
    """The feed at ``url`` (after redirects); a show that announces a new address (itunes:new-feed-url) is read there, once."""
    feed = _read_page(url, settings)
    if feed.new_url and is_remote(feed.new_url) and hide(feed.new_url) != feed.url:
        log.warning("%s says the show has moved to %s; reading it there. Update the feed URL you use.", feed.url, hide(feed.new_url))
        try:
            return _read_page(feed.new_url, settings)
        except FetchError as error:
            log.warning("The new address of %s cannot be read (%s); using the old one.", feed.url, error.problem)
    return feed


def read_any_feed(feed: str, settings: FetchSettings) -> Feed:
    """A feed by URL or from a local file."""
    if is_remote(feed):
        return read_feed(feed, settings)
    path = _checked_path(feed)
    if not path.is_file():
        raise FetchError(f"The feed file {path} does not exist.", "Give a feed URL or the path of a feed file.")
    return parse_feed(path.read_bytes(), feed)


def _checked_path(source: str) -> Path:
    if "\x00" in source:
        raise AudioError(f"{source!r} is not a valid path (it contains a NUL character).", "Check the file name.")
    return local_path(source)


def _local_episode(path: Path) -> Episode:
    if not path.is_file():
        raise AudioError(f"{path} does not exist or is not a file.", "Check the path of the audio file.")
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes).", "Give a complete audio file; re-download it if needed.")
    probe = probe_audio(path)
    return Episode(
        guid=f"sha256:{file_digest(path)}",
        title=clean(probe.tags.get("title", "")) or path.stem,
        show_title=clean(probe.tags.get("album", "") or probe.tags.get("artist", "")),
        audio_url=str(path.resolve()),
        duration_seconds=probe.duration,
        description=clean(probe.tags.get("comment", "") or probe.tags.get("description", "")),
    )


def resolve(source: str, settings: FetchSettings, selector: str | None = None) -> Episode:
    """The episode a source names. Feeds are read; audio URLs and local files become one-episode sources."""
    if not is_remote(source):
        return _local_episode(_checked_path(source))
    if is_audio_url(source, settings):
        name = Path(unquote(urlparse(source).path)).stem or "episode"
        return Episode(guid=hide(real(source)), title=name, show_title=urlparse(source).hostname or "", audio_url=hide(real(source)))
    feed = read_feed(source, settings)
    try:
        return select_episode(feed, selector)
    except FetchError:
        if not feed.next_page:
            raise
    pages, seen, everything = [feed], {feed.url}, feed
    while pages[-1].next_page and len(pages) < MAX_PAGES and hide(pages[-1].next_page) not in seen:  # the older episodes of a paged feed
        page = _read_page(pages[-1].next_page, settings)
        seen.add(page.url)
        pages.append(page)
        everything = Feed(url=feed.url, title=feed.title, episodes=[e for each in pages for e in each.episodes], next_page=page.next_page)
        try:
            return select_episode(everything, selector)
        except FetchError:
            if not page.next_page:
                raise
    return select_episode(everything, selector)


def fetch_audio(episode: Episode, folder: Path, settings: FetchSettings, on_progress: Progress | None = None) -> Path:
    """The episode's complete audio file: local files are used in place, URLs downloaded into ``folder``."""
    if episode.is_local:
        if episode.feed and is_remote(episode.feed):  # parse_feed never lets this through; refuse it here too
            raise FetchError(f"The feed {episode.feed} points to a local file ({episode.audio_url}).", "A feed on the web may only point to http(s) audio.")
        return local_path(episode.audio_url)
    return download(episode.audio_url, folder, settings, on_progress)
