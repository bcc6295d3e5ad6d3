"""What the tests share: real speech and its text, scoring, ffmpeg, and a real HTTP server on 127.0.0.1.

The server serves static routes, Range requests, broken connections and
handlers that compute replies (feeds that change, chat and speech endpoints).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"  # files the tests read (tests/data/README.md)
JFK_TEXT = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower())).strip()


def wer(hypothesis: str, reference: str = JFK_TEXT) -> float:
    import jiwer

    return jiwer.wer(normalise(reference), normalise(hypothesis))


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    ranges: bool = True
    send_length: bool = True
    cut_after: int | None = None  # bytes sent before the connection drops, on the first `cuts` requests
    cuts: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable[[bytes], tuple[int, Any]] | None = None  # computes (status, body) from the request body; body may be an iterable of pieces
    delay: float = 0.0
    drip: float = 0.0  # seconds between single bytes of the body: a server that never quite stops
    declared_length: int | None = None  # a Content-Length that lies
    header_drip: float = 0.0  # seconds between single bytes of the status line and headers: a server that never finishes them


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, Message]] = []
        self.bodies: list[bytes] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                request_body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.bodies.append(request_body)
                route = server.routes.get(self.path)
                if route is not None and route.handler is not None:
                    server.requests.append((self.path, self.headers))
                    time.sleep(route.delay)
                    status, body = route.handler(request_body)  # not bodies[-1]: requests arrive concurrently
                    self.send_response(status)
                    self.send_header("Content-Type", route.content_type)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if isinstance(body, bytes):
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                    self.send_header("Connection", "close")  # streamed: pieces as they come, then close
                    self.end_headers()
                    for piece in body:
                        self.wfile.write(piece)
                        self.wfile.flush()
                    self.close_connection = True
                    return
                self.do_GET()

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers))  # case-insensitive
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(route.delay)
                if route.header_drip:
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + b"X-Padding: " + b"a" * 400 + b"\r\n\r\n"
                    for i in range(len(head)):
                        self.wfile.write(head[i : i + 1])
                        self.wfile.flush()
                        time.sleep(route.header_drip)
                    self.close_connection = True
                    return
                body, status = route.body, route.status
                if route.handler is not None:  # a document made per request (e.g. a feed that changes)
                    status, body = route.handler(b"")
                start = 0
                match = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if match and route.ranges and status == 200:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", route.content_type)
                if route.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                    if "ETag" not in route.headers:
                        self.send_header("ETag", '"v1"')
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                payload = body[start:]
                if route.declared_length is not None:
                    self.send_header("Content-Length", str(route.declared_length))
                elif route.send_length:
                    self.send_header("Content-Length", str(len(payload)))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                if route.cut_after is not None and route.cuts > 0:
                    route.cuts -= 1
                    self.wfile.write(payload[: route.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if route.drip:
                    for i in range(len(payload)):
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                        time.sleep(route.drip)
                    return
                self.wfile.write(payload)
                if not route.send_length:
                    self.close_connection = True

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # clients that stop reading (a refused download) are expected here

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def rss(show: str, items: list[dict]) -> bytes:
    """An RSS 2.0 feed with the iTunes namespace; items: title, guid, url, type, date, duration, description."""
    entries = "".join(
        f"""<item><title>{i['title']}</title><guid isPermaLink="false">{i['guid']}</guid>
<pubDate>{i.get('date', 'Mon, 02 Jan 2023 10:00:00 +0000')}</pubDate>
<description><![CDATA[{i.get('description', '')}]]></description>
<itunes:duration>{i.get('duration', '00:11')}</itunes:duration>
{f'<enclosure url="{i["url"]}" length="0" type="{i.get("type", "audio/mpeg")}"/>' if i.get('url') else ''}</item>"""
        for i in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>{show}</title><link>http://127.0.0.1/</link><description>test feed</description>
{entries}</channel></rss>""".encode()


def serve_episode(server: LocalServer, audio: bytes, guid: str = "ep-1") -> str:
    """One episode ("Ask Not" of the show "Speeches") as a feed on ``server``; returns the feed's URL."""
    server.routes["/ep.mp3"] = Route(audio, content_type="audio/mpeg")
    items = [{"title": "Ask Not", "guid": guid, "url": server.url("/ep.mp3"), "description": "An inaugural address."}]
    server.routes["/feed.xml"] = Route(rss("Speeches", items), content_type="application/rss+xml")
    return server.url("/feed.xml")


FAST_FLOW = {
    "fetch": {"attempts": 2, "backoff_seconds": 0.01}, "transcribe": {"model": "tiny.en"},
    "summarize": {"engines": ["extractive"]}, "narrate": {"engines": ["embedded"]},
}  # where the engines are not the subject: tiny.en, the extractive summary, the embedded voice (piper, with phoneme times)


def run_flow(source: str, output: Path, until: str = "transcribe", overrides: dict | None = None, **kwargs) -> tuple[Path, object]:
    """The digest flow on the session's Prefect server: (episode folder, flow run id)."""
    from flows.digest import digest

    state = digest(source, output_dir=str(output), until=until, overrides={**FAST_FLOW, **(overrides or {})}, return_state=True, **kwargs)
    return Path(state.result()), state.state_details.flow_run_id


def digest_as_shipped(feed: str, output: Path, until: str) -> Path:
    """The digest flow with the default engines and the embedded model (the evaluation sets): the episode folder."""
    from flows.digest import digest

    return Path(digest(feed, output_dir=str(output), until=until, overrides={"summarize": {"engines": ["embedded"]}}))
