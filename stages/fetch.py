"""fetch: turn a source (feed URL, episode URL, local file) into an episode and its audio on disk."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from core.errors import AudioError, FetchError
from core.media.ffmpeg import probe_audio
from core.net.feeds import Episode, Feed, is_remote, local_path, parse_feed, select_episode
from core.net.http import Progress, download, fetch_document, is_audio_url
from core.settings import FetchSettings
from core.text import clean
from core.workspace import file_digest

__all__ = ["Episode", "Feed", "read_feed", "read_any_feed", "resolve", "fetch_audio", "download", "parse_feed", "select_episode", "local_path", "is_remote"]


def read_feed(url: str, settings: FetchSettings) -> Feed:
    return parse_feed(fetch_document(url, settings), url)


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
        return Episode(guid=source, title=name, show_title=urlparse(source).hostname or "", audio_url=source)
    return select_episode(read_feed(source, settings), selector)


def fetch_audio(episode: Episode, folder: Path, settings: FetchSettings, on_progress: Progress | None = None) -> Path:
    """The episode's complete audio file: local files are used in place, URLs downloaded into ``folder``."""
    if episode.is_local:
        if episode.feed and is_remote(episode.feed):  # parse_feed never lets this through; refuse it here too
            raise FetchError(f"The feed {episode.feed} points to a local file ({episode.audio_url}).", "A feed on the web may only point to http(s) audio.")
        return local_path(episode.audio_url)
    return download(episode.audio_url, folder, settings, on_progress)
