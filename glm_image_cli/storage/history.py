"""The per-user history of generations: SQLite from the standard library, safe for concurrent writers.

Every image made or failed (generate, batch, serve --save) is one row, so `glm-image history` can list
and search them and `glm-image again ID` can re-run one.  WAL mode and a busy timeout let several
processes and threads write at once without corrupting the file.  Times are written in UTC and compared as
instants (``instants``), so ``--since`` finds the same rows whatever time zone wrote or reads them.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from glm_image_cli.errors import ConfigError, GlmImageError, OutputError, UsageError
from glm_image_cli.storage.instants import EARLIEST, LATEST, now_utc, parse_instant, utc_text

DATA_DIR_ENV = "GLM_IMAGE_DATA_DIR"
COLUMNS = ("id", "created", "command", "prompt", "prompt_sent", "negative", "style", "model", "size", "quality",
           "path", "request_id", "ok", "error_code", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    command TEXT NOT NULL,
    prompt TEXT NOT NULL,
    prompt_sent TEXT,
    negative TEXT,
    style TEXT,
    model TEXT,
    size TEXT,
    quality TEXT,
    path TEXT,
    request_id TEXT,
    ok INTEGER NOT NULL,
    error_code TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS images_created ON images (created);
"""


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """GLM_IMAGE_DATA_DIR in ``environ`` (os.environ), else the platform's user data folder."""
    override = (os.environ if environ is None else environ).get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("glm-image", appauthor=False))


def open_database(path: Path, schema: str, message_id: str, *, autocommit: bool = False) -> sqlite3.Connection:
    """The data dir's SQLite file, shared by the history and the spend ledger: WAL, so several processes
    read and write it at once; the schema created if missing.  A file that cannot be used is a ConfigError
    with ``message_id`` (the caller decides whether that stops anything)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                     **({"isolation_level": None} if autocommit else {}))
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(schema)
    except (sqlite3.Error, OSError) as exc:
        raise database_error(message_id, path, exc) from None
    return connection


def database_error(message_id: str, path: Path, exc: BaseException) -> GlmImageError:
    """A database that cannot be used: an output problem (exit 11) when the disk is full or a file-size
    limit is reached, like every other file we cannot write; otherwise a settings problem (exit 3)."""
    detail = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG)) or (
        isinstance(exc, sqlite3.Error) and ("full" in detail.lower() or "disk i/o" in detail.lower()))
    return (OutputError if full else ConfigError)(message_id, path=str(path), detail=detail)


def history_path() -> Path:
    return data_dir() / "history.sqlite3"


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    created: str
    command: str
    prompt: str
    prompt_sent: str | None
    negative: str | None
    style: str | None
    model: str | None
    size: str | None
    quality: str | None
    path: str | None
    request_id: str | None
    ok: bool
    error_code: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


class DatabaseFile:
    """One connection to the data dir's SQLite file, opened on first use and shared by the threads of a run
    (guarded by ``_lock``); other processes wait politely.  The history and the spend ledger are two."""

    SCHEMA = ""
    UNUSABLE = ""  # the message id when the file cannot be used
    AUTOCOMMIT = False

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or history_path()
        self._lock: threading.Lock | threading.RLock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_database(self.path, self.SCHEMA, self.UNUSABLE, autocommit=self.AUTOCOMMIT)
        return self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class History(DatabaseFile):
    """The images made, searchable; a record never fails an image (the saver reports problems once)."""

    SCHEMA = _SCHEMA
    UNUSABLE = "history_unusable"

    def add(self, *, command: str, prompt: str, prompt_sent: str | None = None, negative: str | None = None,
            style: str | None = None, model: str | None = None, size: str | None = None,
            quality: str | None = None, path: str | None = None, request_id: str | None = None, ok: bool = True,
            error_code: str | None = None, error: str | None = None) -> int:
        row = (utc_text(now_utc()), command, prompt, prompt_sent, negative,
               style, model, size, quality, path, request_id, int(ok), error_code, error)
        with self._lock:
            connection = self._connect()
            with connection:
                cursor = connection.execute(
                    "INSERT INTO images (created, command, prompt, prompt_sent, negative, style, model, size, "
                    "quality, path, request_id, ok, error_code, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            return int(cursor.lastrowid or 0)

    def search(self, *, text: str | None = None, since: datetime | None = None, model: str | None = None,
               failed: bool = False, limit: int = 20) -> list[HistoryEntry]:
        clauses, values = [], []
        if text:
            clauses.append("(prompt LIKE ? ESCAPE '\\' OR prompt_sent LIKE ? ESCAPE '\\')")
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            values += [pattern, pattern]
        if since:
            clauses.append("julianday(created) >= julianday(?)")  # instants: rows from any time zone
            values.append(utc_text(since))
        if model:
            clauses.append("model = ?")
            values.append(model)
        if failed:
            clauses.append("ok = 0")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._query(f"SELECT {', '.join(COLUMNS)} FROM images {where} ORDER BY id DESC LIMIT ?",
                           [*values, limit])

    def get(self, entry_id: int) -> HistoryEntry:
        rows = self._query(f"SELECT {', '.join(COLUMNS)} FROM images WHERE id = ?", [entry_id])
        if not rows:
            raise UsageError("history_not_found", id=entry_id)
        return rows[0]

    def clear(self) -> int:
        with self._lock:
            connection = self._connect()
            with connection:
                return connection.execute("DELETE FROM images").rowcount

    def _query(self, sql: str, values: list[Any]) -> list[HistoryEntry]:
        if not self.path.exists():
            return []
        with self._lock:
            rows = self._connect().execute(sql, values).fetchall()
        return [HistoryEntry(row[0], _as_utc(row[1]), *row[2:-3], bool(row[-3]), row[-2], row[-1]) for row in rows]


def _as_utc(created: str) -> str:
    """A row's time in UTC: rows written before times were UTC hold local time with an offset."""
    moment = parse_instant(created)
    return utc_text(moment) if moment is not None else created


_DURATION = re.compile(r"(\d{1,15})\s*([mhdw])")  # more digits than that is no time anyone means


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """'2d', '3h', '30m', '1w' ago, or an ISO date/time ('2026-11-20', '2026-11-20T09:00'; local time unless
    it names an offset).  A moment before or after what every time zone can show is clamped to the first or
    last such instant (everything, or nothing), never an error."""
    now = now or datetime.now().astimezone()
    match = _DURATION.fullmatch(text.strip().lower())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        try:
            return max(now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: amount}),
                       EARLIEST)
        except OverflowError:  # further back than year 1: since the beginning
            return EARLIEST
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError("history_bad_since", value=text) from None
    if moment.tzinfo is None:
        try:
            moment = moment.astimezone()
        except (OverflowError, ValueError):  # year 1 or 9999 on this clock: beyond the first or last instant
            return EARLIEST if moment.year < 5000 else LATEST
    return min(max(moment, EARLIEST), LATEST)
