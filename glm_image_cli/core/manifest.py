"""The batch manifest: the journal that makes a batch resumable without paying twice.

JSON lines in the output folder; every image's key is recorded as ``dispatched`` (fsynced) before its
request is sent and as ``done``/``failed`` after.  The last record for a key is its state.  Appends are
whole records under an advisory lock, and a record cut by a crash is never glued onto the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli import safejson
from glm_image_cli.core.plans import error_json
from glm_image_cli.errors import OutputError
from glm_image_cli.safefile import open_regular

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import GeneratedImage
    from glm_image_cli.core.batch import WorkUnit
    from glm_image_cli.core.runner import ImageOutcome

MANIFEST_NAME = "manifest.jsonl"
MAX_MANIFEST_BYTES = 1 << 30  # about three million records: far more than any batch
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # our files are never written through a link someone else made


class Manifest:
    """Append-only JSON lines; the last record for a key is its state.  Safe for concurrent writers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.states: dict[str, dict[str, Any]] = {}
        self.damaged_lines = 0
        self._load()

    def _load(self) -> None:
        """Every whole record is kept; a torn or undecodable line (a crash, a stray byte) is counted and
        skipped, never allowed to block a resume."""
        try:
            handle = open_regular(self.path, nofollow=True)
        except FileNotFoundError:
            return
        except OSError as exc:  # a link, a folder, no permission: not a manifest we can trust
            raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
        try:
            with handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                record = safejson.loads(line)
            except ValueError:  # UnicodeDecodeError is a ValueError too
                self.damaged_lines += 1
                continue
            if isinstance(record, dict) and isinstance(record.get("key"), str) and isinstance(record.get("state"), str):
                self.states[record["key"]] = record
            else:
                self.damaged_lines += 1

    def state(self, key: str) -> str | None:
        record = self.states.get(key)
        return record.get("state") if record else None

    # The runner's journal: "dispatched" is durable before the request leaves.
    def dispatched(self, unit: WorkUnit) -> None:
        self.record(unit, "dispatched")

    def done(self, unit: WorkUnit, outcome: ImageOutcome) -> None:
        file = outcome.path.relative_to(self.path.parent).as_posix() if outcome.path else None
        self.record(unit, "done", file=file, request_id=outcome.request_id)

    def refused(self, unit: WorkUnit) -> None:
        # Refused for concurrency, not billed: a run that dies now sends it again next time.
        self.record(unit, "refused")

    def answered(self, unit: WorkUnit, generated: GeneratedImage) -> None:
        # Paid: where the upstream keeps the image for a while, so a re-run can fetch it instead of paying.
        self.record(unit, "answered", url=generated.url, request_id=generated.request_id)

    def failed(self, unit: WorkUnit, outcome: ImageOutcome) -> None:
        # A request that may have been billed stays "dispatched": a re-run does not pay for it twice.
        assert outcome.error is not None
        state = "dispatched" if outcome.maybe_billed else "failed"
        extra = {"url": outcome.url} if outcome.url and outcome.maybe_billed else {}
        self.record(unit, state, error=error_json(outcome.error), request_id=outcome.request_id, **extra)

    def recorded_image(self, unit: WorkUnit) -> GeneratedImage | None:
        """The upstream's answer for a unit paid for earlier but never saved, if its URL was recorded."""
        record = self.states.get(unit.key) or {}
        url = record.get("url")
        if record.get("state") not in ("answered", "dispatched") or not isinstance(url, str) \
                or not url.startswith(("http://", "https://")):
            return None
        from glm_image_cli.backends.bigmodel import GeneratedImage

        request_id = record.get("request_id")
        return GeneratedImage(url=url, inline_data=None, request_id=request_id if isinstance(request_id, str) else None,
                              task_id=None, created=None, content_filter=[])

    def record(self, unit: WorkUnit, state: str, **extra: Any) -> None:
        entry = {
            "key": unit.key,
            "state": state,
            "line": unit.item.line,
            "item": unit.item.number,
            "sample": unit.sample,
            "prompt": unit.item.plan.prompt,
            "model": unit.item.plan.model,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        }
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o644)
                try:
                    _locked_append(fd, data)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
            self.states[unit.key] = entry


def _locked_append(fd: int, data: bytes) -> None:
    """The whole record, then fsync, under an advisory lock.  A record that cannot be written whole is cut
    off again, so the journal never holds a torn line that a later record would be glued onto."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; O_APPEND keeps a single writer's records whole
        fcntl = None
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    start = os.lseek(fd, 0, os.SEEK_END)
    if start:
        os.lseek(fd, start - 1, os.SEEK_SET)
        if os.read(fd, 1) != b"\n":
            data = b"\n" + data  # a line cut by a crash: never glue this record onto it
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(28, "No space left on device")
            view = view[written:]
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
