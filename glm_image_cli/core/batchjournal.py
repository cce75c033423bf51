"""The journal of `batch --via batch-api`: which platform batches this output folder has, at which step.

JSON lines (``batch-api.jsonl`` beside manifest.jsonl), one record per step of a *part* (one input file for
one model), fsynced before the step's call is made, so a run killed at any point, or `batch status`, knows
where it stood:

    planned   the part's units and its client-side marker, before the upload (the file is named after it)
    uploaded  the input file's id
    creating  before the paid call: the ledger rows reserved for its images
    created   the batch id (re-attach polls it; nothing is ever created twice)
    status    each change of the platform's status and counts
    refused   the create was refused: nothing charged, the part is closed
    closed    every result was saved (or recorded failed): nothing more to do for it
    dropped   planned but never uploaded: its units go into a new part

The last state of a part is the fold of its records; a torn line is skipped like the manifest's.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.core.manifest import _NOFOLLOW, MAX_MANIFEST_BYTES, _locked_append
from glm_image_cli.errors import OutputError
from glm_image_cli.safefile import open_regular

JOURNAL_NAME = "batch-api.jsonl"
CLOSING = frozenset({"refused", "closed", "dropped"})


@dataclass
class Part:
    """One platform batch of this folder, as its records tell it."""

    marker: str
    model: str = ""
    keys: list[str] = field(default_factory=list)
    input: str | None = None  # the input file it was planned from (named in `batch status`)
    file_id: str | None = None
    batch_id: str | None = None
    creating: bool = False  # the create was (maybe) sent: resolved by listing, never by creating again
    entries: dict[str, int] = field(default_factory=dict)  # unit key -> its ledger row (reserved at create)
    status: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    created_at: float | None = None
    ended: str | None = None  # refused / closed / dropped
    cancel_requested: bool = False

    @property
    def open(self) -> bool:
        return self.ended is None

    @property
    def filename(self) -> str:
        return f"{self.marker}.jsonl"

    def apply(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        if event == "planned":
            self.model = str(record.get("model") or "")
            self.keys = [key for key in record.get("keys") or [] if isinstance(key, str)]
            self.input = record["input"] if isinstance(record.get("input"), str) else None
        elif event == "uploaded" and isinstance(record.get("file_id"), str):
            self.file_id = record["file_id"]
        elif event == "creating":
            self.creating = True
            entries = record.get("entries")
            if isinstance(entries, dict):
                self.entries = {k: v for k, v in entries.items() if isinstance(v, int) and not isinstance(v, bool)}
        elif event == "created" and isinstance(record.get("batch_id"), str):
            self.batch_id = record["batch_id"]
            self.created_at = record.get("at") if isinstance(record.get("at"), (int, float)) else None
            self._status(record)
        elif event == "status":
            self._status(record)
        elif event == "cancel":
            self.cancel_requested = True
        elif event in CLOSING:
            self.ended = str(event)

    def _status(self, record: dict[str, Any]) -> None:
        if isinstance(record.get("status"), str):
            self.status = record["status"]
        counts = record.get("counts")
        if isinstance(counts, dict):
            self.counts = {k: v for k, v in counts.items() if isinstance(v, int)}


class BatchJournal:
    """The folder's parts, read at start and appended to (whole, fsynced records) as each step is taken."""

    def __init__(self, folder: Path, guard: Any = None) -> None:
        self.path = folder / JOURNAL_NAME
        self.guard = guard  # the folder lock's check: a run that lost the folder records (and sends) nothing
        self.parts: dict[str, Part] = {}
        self.damaged_lines = 0
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            with open_regular(self.path, nofollow=True) as handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
        for record in safejson.lines(data):
            if record is not None and isinstance(record.get("part"), str):
                self.parts.setdefault(record["part"], Part(record["part"])).apply(record)
            else:
                self.damaged_lines += 1

    def open_parts(self) -> list[Part]:
        return [part for part in self.parts.values() if part.open]

    def record(self, part: Part, event: str, **extra: Any) -> None:
        """Write the step durably, then take it in memory (so a failed write changes nothing)."""
        entry = {"part": part.marker, "event": event, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o644)
                try:
                    _locked_append(fd, data, self.guard)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
            self.parts.setdefault(part.marker, part)
            part.apply(entry)
