"""Which feed episodes have a finished digest: a SQLite file in the output folder.

An episode counts as done only once its presenter video exists; failures are
kept with their error and retried on later runs up to a limit. Episodes are
matched by GUID or, for feeds whose GUIDs change on every fetch, by enclosure
URL plus publication date. Each feed's host voice is kept here as well, so
that a host named once is recognised in later episodes.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from core.artifacts import HostVoice
from core.workspace import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    feed TEXT PRIMARY KEY,
    title TEXT,
    first_seen TEXT NOT NULL,
    last_checked TEXT,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS episodes (
    feed TEXT NOT NULL,
    guid TEXT NOT NULL,
    enclosure TEXT,
    published TEXT,
    title TEXT,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    folder TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (feed, guid)
);
CREATE INDEX IF NOT EXISTS episodes_by_enclosure ON episodes (feed, enclosure, published);
CREATE TABLE IF NOT EXISTS hosts (
    feed TEXT PRIMARY KEY,
    voice TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    feed: str
    guid: str
    enclosure: str | None
    published: str | None
    title: str | None
    status: str
    attempts: int
    error: str | None
    folder: str | None
    updated_at: str


class Catalog:
    """A small, process-safe store (SQLite with a busy timeout); every write is its own transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    @classmethod
    def of(cls, output_dir: Path) -> Catalog:
        """The catalog of an output folder."""
        return cls(Path(output_dir) / "catalog.sqlite")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def knows_feed(self, feed: str) -> bool:
        with closing(self._connect()) as db:
            return db.execute("SELECT 1 FROM feeds WHERE feed = ?", (feed,)).fetchone() is not None

    def checked_feed(self, feed: str, title: str | None = None, error: str | None = None) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO feeds (feed, title, first_seen, last_checked, last_error) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (feed) DO UPDATE SET title = coalesce(excluded.title, title), last_checked = excluded.last_checked, last_error = excluded.last_error",
                (feed, title, now_iso(), now_iso(), error),
            )

    def find(self, feed: str, guid: str, enclosure: str | None, published: str | None) -> Entry | None:
        """The episode's record by GUID, else by enclosure URL and date (for feeds that change GUIDs)."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM episodes WHERE feed = ? AND guid = ?", (feed, guid)).fetchone()
            if row is None and enclosure:
                row = db.execute(
                    "SELECT * FROM episodes WHERE feed = ? AND enclosure = ? AND published IS ? ORDER BY updated_at DESC LIMIT 1",
                    (feed, enclosure, published),
                ).fetchone()
        return Entry(**dict(row)) if row else None

    def _write(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str | None, status: str, error: str | None, folder: str | None, attempt: bool) -> None:
        with closing(self._connect()) as db, db:
            previous = db.execute(
                "SELECT guid, attempts FROM episodes WHERE feed = ? AND (guid = ? OR (enclosure = ? AND published IS ?))",
                (feed, guid, enclosure, published),
            ).fetchone()
            attempts = (previous["attempts"] if previous else 0) + (1 if attempt else 0)
            if previous and previous["guid"] != guid:  # the feed changed this episode's GUID: keep one row
                db.execute("DELETE FROM episodes WHERE feed = ? AND guid = ?", (feed, previous["guid"]))
            db.execute(
                "INSERT OR REPLACE INTO episodes (feed, guid, enclosure, published, title, status, attempts, error, folder, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (feed, guid, enclosure, published, title, status, attempts, error, folder, now_iso()),
            )

    def done(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str, folder: str) -> None:
        self._write(feed, guid, enclosure, published, title, "done", None, folder, attempt=True)

    def failed(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str, error: str) -> None:
        self._write(feed, guid, enclosure, published, title, "failed", error, None, attempt=True)

    def skipped(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str) -> None:
        """Back catalogue seen on a feed's first run: never processed unless asked for."""
        self._write(feed, guid, enclosure, published, title, "skipped", None, None, attempt=False)

    def entries(self, status: str | None = None) -> list[Entry]:
        with closing(self._connect()) as db:
            query = "SELECT * FROM episodes" + (" WHERE status = ?" if status else "") + " ORDER BY updated_at DESC"
            return [Entry(**dict(row)) for row in db.execute(query, (status,) if status else ())]

    def host(self, feed: str) -> HostVoice | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT voice FROM hosts WHERE feed = ?", (feed,)).fetchone()
        return HostVoice.model_validate_json(row["voice"]) if row else None

    def remember_host(self, feed: str, voice: HostVoice) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO hosts (feed, voice, updated_at) VALUES (?, ?, ?)", (feed, voice.model_dump_json(), now_iso()))
