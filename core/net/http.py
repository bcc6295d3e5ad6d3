"""HTTP for feeds and episodes, written for servers run by strangers.

Redirects are followed by hand so that every hop is checked: http(s) only,
the address guard (core.net.guard) when it is on, a loop or too many hops named
as such. Bodies are read raw and decoded here in bounded steps, so a
compressed bomb is refused before it fills memory; a whole transfer has a
deadline and a minimum rate, so a server that drips a byte at a time cannot
stall a scheduled run.

Downloads stream into ``<name>.part`` beside the destination, resume with an
HTTP Range request (If-Range guards against a changed file), and count as done
only once the whole file decodes as audio; the URL it came from is recorded
beside it and checked before the file is reused.
"""

from __future__ import annotations

import json
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlparse

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from core.errors import AudioError, FetchError, TransientFetchError
from core.media.ffmpeg import AUDIO_EXTENSIONS, decoded_seconds, extension_for, looks_like_markup, probe_audio, sniff_audio
from core.net.guard import Guard
from core.settings import FetchSettings

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes expected or None)."""

T = TypeVar("T")
STEP = 1 << 20  # decode at most this much at a time
SOURCE_RECORD = ".audio.source.json"


class SlowFetchError(FetchError):
    """The server is too slow (deadline or minimum rate): stop now, keep what arrived for a later run."""


def guard_for(settings: FetchSettings) -> Guard | None:
    return Guard(settings.allow) if settings.guard else None


def client(settings: FetchSettings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        follow_redirects=False,
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
    if isinstance(error, httpx.UnsupportedProtocol):
        return FetchError(f"{url} is not an http(s) URL.", "Feeds and episodes are fetched over http(s) only.")
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


@contextmanager
def opened(http: httpx.Client, url: str, settings: FetchSettings, guard: Guard | None, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
    """The response to GET ``url`` after redirects, each hop checked; closed when the block ends."""
    hops: list[str] = []
    while True:
        if urlparse(url).scheme not in ("http", "https"):
            raise FetchError(
                f"{hops[0] if hops else url} redirects to {url}, which is not a web address." if hops else f"{url} is not an http(s) URL.",
                "Feeds and episodes are fetched over http(s) only; nothing else is followed.",
            )
        if guard:
            guard.check(url)
        try:
            response = http.send(http.build_request("GET", url, headers=headers), stream=True)
        except httpx.HTTPError as error:
            raise http_error(url, error) from None
        if not response.is_redirect:
            break
        response.close()
        hops.append(url)
        url = urljoin(url, response.headers.get("location", ""))
        if url in hops:
            raise FetchError(f"{hops[0]} redirects in a loop ({' → '.join([*hops, url])}).", "The server is misconfigured; check the URL in a browser or tell the publisher.")
        if len(hops) > settings.max_redirects:
            raise FetchError(f"{hops[0]} redirects more than {settings.max_redirects} times.", "The server is misconfigured; check the URL in a browser or tell the publisher.")
    try:
        yield response
    finally:
        response.close()


def succeeded(response: httpx.Response, url: str) -> httpx.Response:
    """The response if its status is a success; otherwise the status as a FetchError naming ``url``."""
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        raise http_error(url, error) from None
    return response


class _Decoder:
    """Content-Encoding undone in bounded steps (gzip, deflate); anything else is refused."""

    def __init__(self, encoding: str, url: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
        else:
            raise FetchError(f"{url} is sent with the content encoding {encoding!r}, which is not accepted.", "Ask the publisher for a plain or gzip-compressed response.")
        self.url = url

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            out = self._zlib.decompress(data, STEP)
            while True:
                if out:
                    yield out
                if not self._zlib.unconsumed_tail:
                    return
                out = self._zlib.decompress(self._zlib.unconsumed_tail, STEP)
        except zlib.error as error:
            raise FetchError(f"{self.url} sent a damaged compressed body ({error}).", "Rerun later, or tell the publisher.") from None


class _Pace:
    """The deadline and minimum rate of one transfer."""

    def __init__(self, url: str, settings: FetchSettings) -> None:
        self.url, self.settings = url, settings
        self.started = self.window_start = time.monotonic()
        self.window_bytes = 0

    def tick(self, received: int) -> None:
        now = time.monotonic()
        settings = self.settings
        if now - self.started > settings.deadline_seconds:
            raise SlowFetchError(
                f"{self.url} took longer than the {settings.deadline_seconds:g} s deadline for one transfer.",
                "Rerun later (a partial download resumes), or raise PRESENTER_FETCH__DEADLINE_SECONDS.",
            )
        self.window_bytes += received
        if now - self.window_start >= settings.rate_window_seconds:
            rate = self.window_bytes / (now - self.window_start)
            if rate < settings.min_bytes_per_second:
                raise SlowFetchError(
                    f"{self.url} sends {rate:.0f} bytes/s, under the minimum of {settings.min_bytes_per_second:g}.",
                    "Rerun later (a partial download resumes), or lower PRESENTER_FETCH__MIN_BYTES_PER_SECOND.",
                )
            self.window_start, self.window_bytes = now, 0


def body(response: httpx.Response, url: str, settings: FetchSettings, limit: int, too_large: Callable[[int], FetchError]) -> Iterator[bytes]:
    """The decoded body in pieces, refused as soon as more than ``limit`` bytes have been decoded."""
    decoder = _Decoder(response.headers.get("content-encoding", ""), url)
    pace = _Pace(url, settings)
    produced = 0
    try:
        for raw in response.iter_raw():  # whatever has arrived: a cut connection keeps its bytes
            pace.tick(len(raw))
            for piece in decoder.feed(raw):
                produced += len(piece)
                if produced > limit:
                    raise too_large(produced)
                yield piece
    except httpx.HTTPError as error:
        raise http_error(url, error) from None


def fetch_document(url: str, settings: FetchSettings) -> bytes:
    """GET a (small) document, such as a feed. Refuses bodies above max_feed_bytes, decoded."""

    def too_large(size: int) -> FetchError:
        return FetchError(
            f"{url} is larger than {settings.max_feed_bytes:,} bytes and does not look like a feed.",
            "Give the feed's URL, or the episode's audio URL directly.",
        )

    def attempt() -> bytes:
        with client(settings) as http, opened(http, url, settings, guard_for(settings), {"Accept-Encoding": "gzip, deflate"}) as response:
            succeeded(response, url)
            return b"".join(body(response, url, settings, settings.max_feed_bytes, too_large))

    return retrying(settings, attempt)


def _looks_like_audio_response(response: httpx.Response, head: bytes) -> bool:
    mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return mime.startswith(("audio/", "video/")) or sniff_audio(head) is not None


def is_audio_url(url: str, settings: FetchSettings) -> bool:
    """Whether ``url`` answers with audio (an episode URL) rather than a document (a feed)."""

    def attempt() -> bool:
        with client(settings) as http, opened(http, url, settings, guard_for(settings), {"Accept-Encoding": "identity"}) as response:
            succeeded(response, url)
            head = next(body(response, url, settings, settings.max_bytes, lambda size: _too_large(url, size, settings)), b"")
            return _looks_like_audio_response(response, head[:64])

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


def download_part(http: httpx.Client, url: str, part: Path, settings: FetchSettings, guard: Guard | None, on_progress: Progress | None, audio: bool = True) -> None:
    """One attempt at ``part``: resumed from its size where the server allows; ``audio`` refuses web pages and markup at once."""
    meta_path = part.with_name(part.name + ".json")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = json.loads(meta_path.read_text()).get("validator") if meta_path.exists() else None
        if validator:
            headers["If-Range"] = validator
    try:
        with opened(http, url, settings, guard, headers) as response:
            if response.status_code == 416 and offset:
                _, total = _content_range(response.headers.get("content-range"))
                if total == offset:
                    return  # the part file is already complete
                part.unlink()
                raise TransientFetchError(f"{url} refused to resume.", "Restarting the download.")
            succeeded(response, url)
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if audio and mime in ("text/html", "application/xhtml+xml"):
                raise not_audio(url, f"a web page ({mime})")
            if response.status_code == 206:
                start, total = _content_range(response.headers.get("content-range"))
                if start != offset:
                    offset = 0
            else:
                offset = 0
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() and not response.headers.get("content-encoding") else None
            if total is not None and total > settings.max_bytes:
                part.unlink(missing_ok=True)
                raise _too_large(url, total, settings)
            validator = response.headers.get("etag") or response.headers.get("last-modified")
            meta_path.write_text(json.dumps({"url": url, "validator": validator, "total": total}))
            done = offset
            with open(part, "ab" if offset else "wb") as out:
                for piece in body(response, url, settings, settings.max_bytes - offset, lambda size: _too_large(url, offset + size, settings)):
                    if audio and done == 0 and looks_like_markup(piece[:64]):
                        raise not_audio(url, "an HTML/XML document")
                    out.write(piece)
                    done += len(piece)
                    if on_progress:
                        on_progress(done, total)
            if total is not None and done < total:
                raise TransientFetchError(
                    f"The download of {url} stopped at {done:,} of {total:,} bytes.",
                    "Rerun; the download resumes where it stopped.",
                )
    except FetchError as error:
        if not isinstance(error, (TransientFetchError, SlowFetchError)):
            part.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
        raise


def _verified(part: Path, url: str) -> str | None:
    """The file's container format if it is whole audio; deleted (and named) if it is not audio or is truncated."""
    with open(part, "rb") as handle:
        fmt = sniff_audio(handle.read(64))

    def discard() -> None:
        part.unlink(missing_ok=True)
        part.with_name(part.name + ".json").unlink(missing_ok=True)

    try:
        probe = probe_audio(part)
        decoded = decoded_seconds(part)
        whole = not probe.duration or decoded >= 0.9 * probe.duration - 0.5
        detail = f"{decoded:.1f} s of its {probe.duration or 0:.1f} s decode"
    except AudioError as error:
        if fmt is None:  # neither its first bytes nor FFmpeg say audio
            discard()
            raise not_audio(url, "a file of an unknown, non-audio type") from None
        whole, detail = False, f"the {fmt} file does not decode ({error.problem})"
    if not whole:
        discard()
        raise FetchError(
            f"{url} arrived truncated or damaged: {detail}; the partial file was deleted.",
            "Rerun to download it again; if it keeps happening, the server sends a wrong Content-Length or a broken file.",
        )
    return fmt


def download(url: str, folder: Path, settings: FetchSettings, on_progress: Progress | None = None) -> Path:
    """Download ``url`` into ``folder/audio.<ext>`` (resumable); returns the complete file.

    A complete file from the same URL is reused, so a rerun downloads nothing;
    one from another URL is replaced.
    """
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / SOURCE_RECORD
    done = sorted(p for p in folder.glob("audio.*") if p.suffix not in (".part", ".json"))
    if done:
        source = json.loads(record.read_text()).get("url") if record.exists() else None
        if source == url:
            return done[0]
        for stale in done:
            stale.unlink()
    part = folder / "audio.part"
    with client(settings) as http:
        retrying(settings, lambda: download_part(http, url, part, settings, guard_for(settings), on_progress))
    fmt = _verified(part, url)
    suffix = Path(urlparse(url).path).suffix.lower()
    final = folder / f"audio{suffix if suffix in AUDIO_EXTENSIONS else extension_for(fmt)}"
    os.replace(part, final)
    part.with_name(part.name + ".json").unlink(missing_ok=True)
    record.write_text(json.dumps({"url": url}))
    return final
