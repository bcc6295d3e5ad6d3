"""Which feed episodes have a finished digest: a SQL database, by default a SQLite file in the output folder.

An episode counts as done only once its presenter video exists; failures are
kept with their error and retried on later runs up to a limit. Episodes are
matched by GUID or, for feeds whose GUIDs change on every fetch, by enclosure
URL plus publication date. Each feed's host voice is kept here as well, so
that a host named once is recognised in later episodes.

The catalog is a SQLAlchemy URL (``watch.catalog_url``): the default SQLite
file serves one machine; on many machines, where digests on every worker
remember the feed's host voice, it is a PostgreSQL database
(``postgresql+psycopg://…``), never a SQLite file on a shared disk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.artifacts import HostVoice
from core.workspace import now_iso

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feeds (
    feed TEXT PRIMARY KEY,
    title TEXT,
    first_seen TEXT NOT NULL,
    last_checked TEXT,
    last_error TEXT
)""",
    """CREATE TABLE IF NOT EXISTS episodes (
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
)""",
    "CREATE INDEX IF NOT EXISTS episodes_by_enclosure ON episodes (feed, enclosure, published)",
    """CREATE TABLE IF NOT EXISTS hosts (
    feed TEXT PRIMARY KEY,
    voice TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
)
_ENGINES: dict[str, sa.Engine] = {}
_LOCK = threading.Lock()


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


def _engine(url: str) -> sa.Engine:
    """One engine (connection pool) per URL and process."""
    with _LOCK:
        if url not in _ENGINES:
            options: dict[str, Any] = {"connect_args": {"timeout": 30}, "poolclass": sa.pool.NullPool} if url.startswith("sqlite") else {"pool_pre_ping": True}
            _ENGINES[url] = sa.create_engine(url, **options)
        return _ENGINES[url]


class Catalog:
    """A small store that several processes may write (SQLite with a busy timeout, or PostgreSQL); every write is its own transaction."""

    def __init__(self, path_or_url: Path | str) -> None:
        if isinstance(path_or_url, Path) or "://" not in str(path_or_url):
            path = Path(path_or_url)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.url = f"sqlite:///{path.resolve()}"
        else:
            self.url = str(path_or_url)
        self.engine = _engine(self.url)
        with self.engine.begin() as db:
            if self.engine.dialect.name == "postgresql":  # two processes creating the tables at once: one waits for the other
                db.execute(sa.text("SELECT pg_advisory_xact_lock(2929)"))
            for statement in SCHEMA:
                db.execute(sa.text(statement))

    @classmethod
    def of(cls, output_dir: Path, url: str | None = None) -> Catalog:
        """The catalog at ``url``, or by default the SQLite file of an output folder."""
        return cls(url) if url else cls(Path(output_dir) / "catalog.sqlite")

    def _rows(self, query: str, **values: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(sa.text(query), values)]

    def knows_feed(self, feed: str) -> bool:
        return bool(self._rows("SELECT 1 FROM feeds WHERE feed = :feed", feed=feed))

    def checked_feed(self, feed: str, title: str | None = None, error: str | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(
                sa.text(
                    "INSERT INTO feeds (feed, title, first_seen, last_checked, last_error) VALUES (:feed, :title, :now, :now, :error) "
                    "ON CONFLICT (feed) DO UPDATE SET title = coalesce(excluded.title, feeds.title), last_checked = excluded.last_checked, last_error = excluded.last_error"
                ),
                {"feed": feed, "title": title, "now": now_iso(), "error": error},
            )

    def find(self, feed: str, guid: str, enclosure: str | None, published: str | None) -> Entry | None:
        """The episode's record by GUID, else by enclosure URL and date (for feeds that change GUIDs)."""
        rows = self._rows("SELECT * FROM episodes WHERE feed = :feed AND guid = :guid", feed=feed, guid=guid)
        if not rows and enclosure:
            rows = self._rows(
                "SELECT * FROM episodes WHERE feed = :feed AND enclosure = :enclosure AND published IS NOT DISTINCT FROM :published ORDER BY updated_at DESC LIMIT 1",
                feed=feed, enclosure=enclosure, published=published,
            )
        return Entry(**rows[0]) if rows else None

    def _write(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str | None, status: str, error: str | None, folder: str | None, attempt: bool, attempts: int | None = None) -> None:
        with self.engine.begin() as db:
            previous = db.execute(
                sa.text("SELECT guid, attempts FROM episodes WHERE feed = :feed AND (guid = :guid OR (enclosure = :enclosure AND published IS NOT DISTINCT FROM :published))"),
                {"feed": feed, "guid": guid, "enclosure": enclosure, "published": published},
            ).first()
            if attempts is None:
                attempts = (previous.attempts if previous else 0) + (1 if attempt else 0)
            if previous and previous.guid != guid:  # the feed changed this episode's GUID: keep one row
                db.execute(sa.text("DELETE FROM episodes WHERE feed = :feed AND guid = :guid"), {"feed": feed, "guid": previous.guid})
            db.execute(
                sa.text(
                    "INSERT INTO episodes (feed, guid, enclosure, published, title, status, attempts, error, folder, updated_at) "
                    "VALUES (:feed, :guid, :enclosure, :published, :title, :status, :attempts, :error, :folder, :now) "
                    "ON CONFLICT (feed, guid) DO UPDATE SET enclosure = excluded.enclosure, published = excluded.published, title = excluded.title, "
                    "status = excluded.status, attempts = excluded.attempts, error = excluded.error, folder = excluded.folder, updated_at = excluded.updated_at"
                ),
                {"feed": feed, "guid": guid, "enclosure": enclosure, "published": published, "title": title, "status": status,
                 "attempts": attempts, "error": error, "folder": folder, "now": now_iso()},
            )

    def done(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str, folder: str, attempts: int | None = None) -> None:
        """A finished digest; ``attempts``: the runs it took, where they are counted elsewhere (the Prefect API), else one more."""
        self._write(feed, guid, enclosure, published, title, "done", None, folder, attempt=True, attempts=attempts)

    def failed(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str, error: str, attempts: int | None = None) -> None:
        self._write(feed, guid, enclosure, published, title, "failed", error, None, attempt=True, attempts=attempts)

    def skipped(self, feed: str, guid: str, enclosure: str | None, published: str | None, title: str) -> None:
        """Back catalogue seen on a feed's first run: never processed unless asked for."""
        self._write(feed, guid, enclosure, published, title, "skipped", None, None, attempt=False)

    def entries(self, status: str | None = None) -> list[Entry]:
        query = "SELECT * FROM episodes" + (" WHERE status = :status" if status else "") + " ORDER BY updated_at DESC"
        return [Entry(**row) for row in self._rows(query, status=status)]

    def host(self, feed: str) -> HostVoice | None:
        rows = self._rows("SELECT voice FROM hosts WHERE feed = :feed", feed=feed)
        return HostVoice.model_validate_json(rows[0]["voice"]) if rows else None

    def update_host(self, feed: str, change: Callable[[HostVoice | None], HostVoice | None]) -> tuple[HostVoice | None, HostVoice | None]:
        """Read, change and write a feed's host voice as one step that concurrent writers take in turn; returns (before, after).

        Two digests of one feed on two workers would otherwise both read the same voice and the later write would
        lose the earlier episode. PostgreSQL: a transaction-scoped advisory lock per feed; SQLite: a write first,
        which takes the database's write lock for the rest of the transaction.
        """
        with self.engine.begin() as db:
            if self.engine.dialect.name == "postgresql":
                db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:feed))"), {"feed": feed})
            else:
                db.execute(sa.text("DELETE FROM hosts WHERE 0"))  # a write that changes nothing: SQLite's write lock, held to the commit
            row = db.execute(sa.text("SELECT voice FROM hosts WHERE feed = :feed"), {"feed": feed}).first()
            before = HostVoice.model_validate_json(row.voice) if row else None
            after = change(before)
            if after is not None and after != before:
                db.execute(
                    sa.text("INSERT INTO hosts (feed, voice, updated_at) VALUES (:feed, :voice, :now) ON CONFLICT (feed) DO UPDATE SET voice = excluded.voice, updated_at = excluded.updated_at"),
                    {"feed": feed, "voice": after.model_dump_json(), "now": now_iso()},
                )
        return before, after

    def remember_host(self, feed: str, voice: HostVoice) -> None:
        with self.engine.begin() as db:
            db.execute(
                sa.text("INSERT INTO hosts (feed, voice, updated_at) VALUES (:feed, :voice, :now) ON CONFLICT (feed) DO UPDATE SET voice = excluded.voice, updated_at = excluded.updated_at"),
                {"feed": feed, "voice": voice.model_dump_json(), "now": now_iso()},
            )
