"""Where a vision check's verdict and a caption are kept: in the PNG itself (a ``check`` chunk beside the recipe,
the standard ``Description`` key for the caption, so other tools show it as alt text) and in the history's
SQLite file (a ``checks`` table, one row per check).  The image was saved before it was checked; adding its
verdict replaces the file atomically with a copy that has the new text chunks, the pixels untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from glm_image_cli.safefile import read_regular
from glm_image_cli.storage.atomic import write_atomic
from glm_image_cli.storage.history import _SCHEMA as _HISTORY_SCHEMA
from glm_image_cli.storage.history import DatabaseFile
from glm_image_cli.storage.instants import now_utc, utc_text
from glm_image_cli.storage.pngmeta import MAX_PNG_BYTES, PNG_SIGNATURE, PngError, embed_text, iter_chunks

CHECK_KEY = "check"
CANDIDATES_KEY = "candidates"
DESCRIPTION_KEY = "Description"  # the PNG specification's key for a description of the image
_REPLACED = (CHECK_KEY, CANDIDATES_KEY, DESCRIPTION_KEY)


def write_into_png(path: Path, fields: Mapping[str, Any]) -> bool:
    """Put ``fields`` (check, candidates, Description; None leaves one as it is) into the PNG at ``path``, in
    place of any earlier ones.  False when the file is no PNG (a JPEG or WebP keeps its verdict in the history
    only); OSError when it cannot be rewritten."""
    data = read_regular(path, MAX_PNG_BYTES)
    if not data.startswith(PNG_SIGNATURE):
        return False
    wanted = {key: value for key, value in fields.items() if value is not None}
    if not wanted:
        return True
    try:
        kept = [data[:len(PNG_SIGNATURE)]]
        for kind, payload, offset in iter_chunks(data):
            end = offset + 12 + len(payload)
            if kind in (b"tEXt", b"iTXt", b"zTXt") and payload.split(b"\x00", 1)[0].decode("latin-1") in wanted:
                continue
            kept.append(data[offset:end])
    except PngError:
        return False
    stripped = b"".join(kept)
    text = {key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            for key, value in wanted.items()}
    write_atomic(path, embed_text(stripped, text), durable=True)
    return True


def description_in(path: Path) -> str | None:
    """The ``Description`` a PNG carries (ours or another tool's), read from its text chunks before the pixels."""
    from glm_image_cli.storage.pngmeta import text_before_pixels

    return (text_before_pixels(path) or {}).get(DESCRIPTION_KEY)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    path TEXT,
    request_id TEXT,
    model TEXT,
    status TEXT NOT NULL,
    score REAL,
    caption TEXT,
    verdict TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_path ON checks (path);
"""


class CheckRecords(DatabaseFile):
    """The verdicts and captions, in the history's file: `history` and `info` find them by the image's path."""

    SCHEMA = _HISTORY_SCHEMA + _SCHEMA
    UNUSABLE = "history_unusable"

    def add(self, path: Path | None, verdict: Mapping[str, Any], request_id: str | None = None) -> None:
        row = (utc_text(now_utc()), str(path.resolve()) if path else None, request_id, verdict.get("model"),
               verdict.get("status"), verdict.get("score"), verdict.get("caption"),
               json.dumps(dict(verdict), ensure_ascii=False))
        with self._lock:
            connection = self._connect()
            with connection:
                connection.execute("INSERT INTO checks (created, path, request_id, model, status, score, caption, "
                                   "verdict) VALUES (?,?,?,?,?,?,?,?)", row)

    def moved(self, old: Path, new: Path | None) -> None:
        """A --best-of candidate was moved to candidates/ (or deleted: ``new`` None): the history follows it."""
        before, after = str(old.resolve()), str(new.resolve()) if new else None
        with self._lock:
            connection = self._connect()
            with connection:
                connection.execute("UPDATE checks SET path = ? WHERE path = ?", (after, before))
                connection.execute("UPDATE images SET path = ? WHERE path = ?", (after, before))

    def latest(self, paths: list[str]) -> dict[str, dict[str, Any]]:
        """The newest verdict of each path that has one."""
        if not paths or not self.path.exists():
            return {}
        from glm_image_cli import safejson

        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            rows = self._connect().execute(
                f"SELECT path, verdict FROM checks WHERE path IN ({','.join('?' * len(paths))}) ORDER BY id",
                paths).fetchall()
        for path, verdict in rows:
            try:
                found[path] = safejson.loads(verdict)
            except ValueError:
                continue
        return found
