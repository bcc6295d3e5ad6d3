"""HTTP for feeds and episodes, written for servers run by strangers.

Redirects are followed by hand so that every hop is checked: http(s) only,
the address guard (core.net.guard) when it is on, a loop or too many hops named
as such. Bodies are read raw and decoded here in bounded steps, so a
compressed bomb is refused before it fills memory; a whole transfer has a
deadline and a minimum rate, and its response headers a deadline of their own
(every socket read waits at most until the deadline), so a server that drips
a byte at a time cannot stall a scheduled run. Retries print a line each and
stop after ``retry_seconds``. A URL's credentials are hidden in everything it
writes and only put back (core.net.credentials) for the request itself.

Downloads stream into ``<name>.part`` beside the destination, resume with an
HTTP Range request only from the URL the part came from (If-Range with its
ETag or Last-Modified guards against a changed file), never through a planted
symbolic link, and count as done only once the whole file decodes as audio;
the URL it came from is recorded beside it and checked before the file is reused.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlparse

import httpcore
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

from core.errors import AudioError, FetchError, TransientFetchError, redact
from core.media.ffmpeg import AUDIO_EXTENSIONS, decoded_seconds, extension_for, looks_like_markup, probe_audio, sniff_audio, truncation
from core.net.credentials import real
from core.net.guard import Guard
from core.settings import FetchSettings

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes expected or None)."""

T = TypeVar("T")
STEP = 1 << 20  # decode at most this much at a time
SOURCE_RECORD = ".audio.source.json"


class SlowFetchError(FetchError):
    """The server is too slow (deadline or minimum rate): stop now, keep what arrived for a later run."""


def guard_for(settings: FetchSettings) -> Guard | None:
    return Guard(settings.allow) if settings.guard else None


class _Clock:
    """The deadline of the request in flight: every connect, read and write of its socket waits at most until then."""

    def __init__(self) -> None:
        self.deadline: float | None = None

    def timeout(self, timeout: float | None) -> float | None:
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the deadline of the request has passed")
        return left if timeout is None else min(timeout, left)

    @property
    def passed(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline - 0.05


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, clock: _Clock) -> None:
        self._stream, self._clock = stream, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._clock.timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._clock.timeout(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, self._clock.timeout(timeout)), self._clock)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's own sockets, each wait cut short at the clock's deadline."""

    def __init__(self, clock: _Clock) -> None:
        self._backend, self._clock = httpcore.SyncBackend(), clock

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_tcp(host, port, self._clock.timeout(timeout), local_address, socket_options), self._clock)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(path, self._clock.timeout(timeout), socket_options), self._clock)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class Client(httpx.Client):
    """An httpx client whose requests have an overall deadline (``clock``), response headers included."""

    def __init__(self, settings: FetchSettings) -> None:
        self.clock = _Clock()
        transport = httpx.HTTPTransport()
        # httpx takes no network backend; its pool is rebuilt with one that honours the deadline
        transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=_Backend(self.clock))
        super().__init__(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
            transport=transport,
        )


def client(settings: FetchSettings) -> Client:
    return Client(settings)


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


def _announce(settings: FetchSettings) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning("Retrying in %.0f s (try %d of %d): %s", wait, state.attempt_number + 1, settings.attempts, redact(getattr(error, "problem", str(error))))

    return before_sleep


def retrying(settings: FetchSettings, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` until it succeeds or fails for good; transient failures back off and retry, each retry named, for at most ``retry_seconds``."""
    retry = Retrying(
        stop=stop_after_attempt(settings.attempts) | stop_after_delay(settings.retry_seconds),
        wait=wait_exponential(multiplier=settings.backoff_seconds, min=0),
        retry=retry_if_exception_type(TransientFetchError),
        before_sleep=_announce(settings),
        reraise=True,
    )
    return retry(attempt)


@contextmanager
def opened(http: httpx.Client, url: str, settings: FetchSettings, guard: Guard | None, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
    """The response to GET ``url`` after redirects, each hop checked; closed when the block ends.

    The response headers must arrive within ``header_seconds`` of each hop's request.
    """
    url = real(url)
    clock: _Clock | None = getattr(http, "clock", None)
    hops: list[str] = []
    while True:
        if urlparse(url).scheme not in ("http", "https"):
            raise FetchError(
                f"{hops[0] if hops else url} redirects to {url}, which is not a web address." if hops else f"{url} is not an http(s) URL.",
                "Feeds and episodes are fetched over http(s) only; nothing else is followed.",
            )
        if guard:
            guard.check(url)
        if clock:
            clock.deadline = time.monotonic() + min(settings.header_seconds, settings.deadline_seconds)
        try:
            response = http.send(http.build_request("GET", url, headers=headers), stream=True)
        except httpx.HTTPError as error:
            if clock and clock.passed:  # transient: retried while retry_seconds allow
                raise TransientFetchError(
                    f"{url} did not send its response headers within {min(settings.header_seconds, settings.deadline_seconds):g} s.",
                    "The server is too slow or stalling; rerun later, or raise PRESENTER_FETCH__HEADER_SECONDS.",
                ) from None
            raise http_error(url, error) from None
        finally:
            if clock:
                clock.deadline = None
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


@dataclass(frozen=True)
class Document:
    """A fetched document: its decoded bytes, the URL it was finally read from (after redirects) and its response headers."""

    data: bytes
    url: str
    headers: dict[str, str]


def fetch_page(url: str, settings: FetchSettings) -> Document:
    """GET a (small) document, such as a feed, with where it ended up and its headers. Refuses bodies above max_feed_bytes, decoded."""

    def too_large(size: int) -> FetchError:
        return FetchError(
            f"{url} is larger than {settings.max_feed_bytes:,} bytes and does not look like a feed.",
            "Give the feed's URL, or the episode's audio URL directly.",
        )

    def attempt() -> Document:
        with client(settings) as http, opened(http, url, settings, guard_for(settings), {"Accept-Encoding": "gzip, deflate"}) as response:
            succeeded(response, url)
            data = b"".join(body(response, url, settings, settings.max_feed_bytes, too_large))
            headers = {k.lower(): v for k, v in response.headers.items() if k.lower() in ("content-type", "content-language", "last-modified", "etag")}
            return Document(data, str(response.url), headers)

    return retrying(settings, attempt)


def fetch_document(url: str, settings: FetchSettings) -> bytes:
    """GET a (small) document, such as a feed: its decoded bytes."""
    return fetch_page(url, settings).data


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
    for path in (part, meta_path):
        if path.is_symlink() or (path.exists() and not path.is_file()):  # planted: never written through
            path.unlink()
    meta = _read_meta(meta_path)
    if part.exists() and (meta.get("url") != redact(url) or not meta.get("validator")):
        part.unlink()  # bytes of another URL, or of a file nothing can prove unchanged, are never spliced in
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = meta["validator"]
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
            meta_path.write_text(json.dumps({"url": redact(url), "validator": validator, "total": total}))
            done = offset
            flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | (os.O_APPEND if offset else os.O_TRUNC)
            with os.fdopen(os.open(part, flags, 0o644), "ab" if offset else "wb") as out:
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


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


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
        if whole and (short := truncation(part)):  # FFmpeg measures a WAV by its size, so it agrees with a cut one
            whole, detail = False, short
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
    done = sorted(p for p in folder.glob("audio.*") if p.suffix not in (".part", ".json") and p.is_file() and not p.is_symlink())
    if done:
        if _read_meta(record).get("url") == redact(url):
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
    record.write_text(json.dumps({"url": redact(url)}))
    return final
