"""HTTP for feeds and episodes: one client, retries on transient failures only, resumable downloads.

Downloads stream into ``<name>.part`` beside the destination and are renamed
only when complete and recognised as audio, so a file with the final name is
always whole. An interrupted download resumes from the ``.part`` file with an
HTTP Range request (If-Range guards against a changed file).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from .errors import AudioError, FetchError, TransientFetchError
from .media import AUDIO_EXTENSIONS, extension_for, looks_like_markup, probe_audio, sniff_audio
from .settings import FetchSettings

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes expected or None)."""

T = TypeVar("T")


def client(settings: FetchSettings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        follow_redirects=True,
        headers={"User-Agent": settings.user_agent},
    )


def http_error(url: str, error: Exception) -> FetchError:
    """An httpx failure as a message that names the URL and what to do."""
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


def retrying(settings: FetchSettings, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` until it succeeds or fails for good; transient failures back off and retry."""
    retry = Retrying(
        stop=stop_after_attempt(settings.attempts),
        wait=wait_exponential(multiplier=settings.backoff_seconds, min=0),
        retry=retry_if_exception_type(TransientFetchError),
        reraise=True,
    )
    return retry(attempt)


def fetch_document(url: str, settings: FetchSettings) -> bytes:
    """GET a (small) document, such as a feed. Refuses bodies above max_feed_bytes."""

    def attempt() -> bytes:
        try:
            with client(settings) as http, http.stream("GET", url) as response:
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
            raise http_error(url, error) from None

    return retrying(settings, attempt)


def _looks_like_audio_response(response: httpx.Response, head: bytes) -> bool:
    mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return mime.startswith(("audio/", "video/")) or sniff_audio(head) is not None


def is_audio_url(url: str, settings: FetchSettings) -> bool:
    """Whether ``url`` answers with audio (an episode URL) rather than a document (a feed)."""

    def attempt() -> bool:
        try:
            with client(settings) as http, http.stream("GET", url) as response:
                response.raise_for_status()
                head = next(response.iter_bytes(64), b"")
                return _looks_like_audio_response(response, head)
        except httpx.HTTPError as error:
            raise http_error(url, error) from None

    return retrying(settings, attempt)


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


def not_audio(url: str, what: str) -> FetchError:
    return FetchError(
        f"{url} is {what}, not audio.",
        "The enclosure link may point to a web page or need a login; open it in a browser and "
        "use the direct audio URL.",
    )


def _download_once(http: httpx.Client, url: str, part: Path, settings: FetchSettings, on_progress: Progress | None) -> None:
    meta_path = part.with_name(part.name + ".json")
    offset = part.stat().st_size if part.exists() else 0
    headers = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = json.loads(meta_path.read_text()).get("validator") if meta_path.exists() else None
        if validator:
            headers["If-Range"] = validator
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and offset:
                _, total = _content_range(response.headers.get("content-range"))
                if total == offset:
                    return  # the part file is already complete
                part.unlink()
                raise TransientFetchError(f"{url} refused to resume.", "Restarting the download.")
            response.raise_for_status()
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if mime in ("text/html", "application/xhtml+xml"):
                raise not_audio(url, f"a web page ({mime})")
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
                        raise not_audio(url, "an HTML/XML document")
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
        raise http_error(url, error) from None
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
    with client(settings) as http:
        retrying(settings, lambda: _download_once(http, url, part, settings, on_progress))
    with open(part, "rb") as handle:
        head = handle.read(64)
    fmt = sniff_audio(head)
    if fmt is None:
        try:
            probe_audio(part)
        except AudioError:
            part.unlink()
            part.with_name(part.name + ".json").unlink(missing_ok=True)
            raise not_audio(url, "a file of an unknown, non-audio type") from None
    suffix = Path(urlparse(url).path).suffix.lower()
    final = folder / f"audio{suffix if suffix in AUDIO_EXTENSIONS else extension_for(fmt)}"
    os.replace(part, final)
    part.with_name(part.name + ".json").unlink(missing_ok=True)
    return final
