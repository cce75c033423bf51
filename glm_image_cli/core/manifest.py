"""The batch manifest: the journal that makes a batch resumable without paying twice.

JSON lines in the output folder; every image's key is recorded as ``dispatched`` (fsynced) before its
request is sent and as ``done``/``failed`` after.  The last record for a key is its state.  Appends are
whole records under an advisory lock, and a record cut by a crash is never glued onto the next one.

Each record of an --enhance unit carries the rewrite it was sent with, so a re-run reuses it instead of asking
the chat model again.  Beside it, a hidden index (``.glm-image.index.jsonl``: unit key -> file, appended as
each image is saved) lets a re-run whose manifest is gone or damaged recognise images that carry no recipe
(--no-metadata, jpeg/webp).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
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
PAID_STATES = ("dispatched", "submitted", "answered")  # sent and maybe (or surely) paid for: never resent blindly
INDEX_NAME = ".glm-image.index.jsonl"
MAX_MANIFEST_BYTES = 1 << 30  # about three million records: far more than any batch
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # our files are never written through a link someone else made


class Manifest:
    """Append-only JSON lines; the last record for a key is its state.  Safe for concurrent writers."""

    def __init__(self, path: Path, guard: Callable[[], None] | None = None) -> None:
        """``guard``: called under the journal's lock before each "dispatched" record (the folder lock's
        ``check``); what it raises stops the request before it leaves."""
        self.path = path
        self.guard = guard
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()  # a verdict and its image's "done" record, in either order
        self._checks: dict[str, Any] = {}
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
                _shared_lock(handle.fileno())  # never half of a record being appended by a run that lost its lock
                data = handle.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
        for record in safejson.lines(data):
            if record is not None and isinstance(record.get("key"), str) and isinstance(record.get("state"), str):
                self.states[record["key"]] = record
            else:
                self.damaged_lines += 1

    def adopt_earlier_keys(self, units: list[WorkUnit]) -> None:
        """Before this version an --enhance unit's key hashed its rewrite: a unit with no record of its own takes
        the record an earlier run left for the same line, sample, typed prompt and model under a key no unit of
        this input has, so a batch begun before the upgrade is not bought again."""
        keys = {unit.key for unit in units}
        earlier = {(r.get("line"), r.get("sample"), r.get("prompt"), r.get("model")): r
                   for key, r in self.states.items() if key not in keys}
        for unit in units:
            if unit.item.enhance and unit.key not in self.states:
                plan = unit.item.plan
                record = earlier.pop((unit.item.line, unit.sample, plan.prompt, plan.model), None)
                if record is not None:
                    self.states[unit.key] = record

    def state(self, key: str) -> str | None:
        record = self.states.get(key)
        return record.get("state") if record else None

    # The runner's journal: "dispatched" is durable before the request leaves.
    def dispatched(self, unit: WorkUnit) -> None:
        self.record(unit, "dispatched", guarded=True)

    def done(self, unit: WorkUnit, outcome: ImageOutcome) -> None:
        file = outcome.path.relative_to(self.path.parent).as_posix() if outcome.path else None
        with self._check_lock:  # a --check verdict that came in first is kept on the "done" record
            check = self._checks.get(unit.key)
            self.record(unit, "done", file=file, request_id=outcome.request_id, **({"check": check} if check else {}))
        if file is not None:
            self.index(unit.key, file)

    def checked(self, outcome: ImageOutcome, check: dict[str, Any]) -> None:
        """--check: the image's verdict, on its "done" record (a re-run does not ask again)."""
        unit = outcome.unit
        with self._check_lock:
            self._checks[unit.key] = check
            prior = self.states.get(unit.key) or {}
            if prior.get("state") == "done":
                kept = {name: prior[name] for name in ("file", "request_id", "kept", "candidate") if name in prior}
                self.record(unit, "done", **{**kept, "check": check})

    def chosen(self, outcome: ImageOutcome, kept: bool) -> None:
        """--best-of: the candidate kept, or one set aside (moved to candidates/, or deleted: no file)."""
        unit = outcome.unit
        file = outcome.path.relative_to(self.path.parent).as_posix() if outcome.path else None
        with self._check_lock:
            prior = self.states.get(unit.key) or {}
            self.record(unit, "done", file=file, request_id=prior.get("request_id") or outcome.request_id,
                        check=outcome.check, kept=kept, candidate=not kept)

    def earlier_outcome(self, unit: WorkUnit) -> ImageOutcome:
        """An image made by an earlier run, as this run's outcomes are: its file, verdict and choice."""
        from glm_image_cli.core.runner import ImageOutcome

        record = self.states.get(unit.key) or {}
        file = record.get("file")
        path = self.path.parent / file if isinstance(file, str) and file else None
        check = record.get("check") if isinstance(record.get("check"), dict) else None
        return ImageOutcome(unit, path=path, request_id=record.get("request_id"), check=check,
                            kept=record.get("kept") is True, candidate=record.get("candidate") is True)

    def index(self, key: str, file: str) -> None:
        """The sidecar line that names ``file`` as the image of ``key`` (read when the manifest is gone)."""
        data = (json.dumps({"key": key, "file": file}, ensure_ascii=False) + "\n").encode("utf-8")
        with contextlib.suppress(OSError):  # the manifest holds; only a later recovery without it would lack this
            fd = os.open(self.path.parent / INDEX_NAME, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o644)
            try:
                _locked_append(fd, data)
            finally:
                os.close(fd)

    def rewrite(self, key: str) -> tuple[str, str | None] | None:
        """The --enhance rewrite (text, chat model) a unit was recorded with, if any."""
        record = self.states.get(key) or {}
        text = record.get("rewrite")
        model = record.get("enhance_model")
        return (text, model if isinstance(model, str) else None) if isinstance(text, str) and text.strip() else None

    def refused(self, unit: WorkUnit) -> None:
        # Refused for concurrency, not billed: a run that dies now sends it again next time.
        self.record(unit, "refused")

    def submitted(self, unit: WorkUnit, task_id: str) -> None:
        # Paid (an asynchronous task was accepted): a re-run polls this task instead of paying again.
        self.record(unit, "submitted", task_id=task_id)

    def answered(self, unit: WorkUnit, generated: GeneratedImage) -> None:
        # Paid: where the upstream keeps the image for a while, so a re-run can fetch it instead of paying.
        self.record(unit, "answered", url=generated.url, request_id=generated.request_id)

    def failed(self, unit: WorkUnit, outcome: ImageOutcome) -> None:
        # A request that may have been billed stays "dispatched": a re-run does not pay for it twice.
        assert outcome.error is not None
        if outcome.error.message_id == "folder_lock_lost":
            return  # never sent, and another run may own this unit now: its record must not be overwritten
        state = "dispatched" if outcome.maybe_billed else "failed"
        extra = {"url": outcome.url} if outcome.url and outcome.maybe_billed else {}
        task_id = (self.states.get(unit.key) or {}).get("task_id")
        if outcome.maybe_billed and isinstance(task_id, str):  # still collectable: keep it
            extra["task_id"] = task_id
        self.record(unit, state, error=error_json(outcome.error), request_id=outcome.request_id, **extra)

    def recorded_image(self, unit: WorkUnit) -> GeneratedImage | None:
        """The upstream's answer for a unit paid for earlier but never saved, if its URL was recorded."""
        record = self.states.get(unit.key) or {}
        url, task_id = record.get("url"), record.get("task_id")
        if record.get("state") not in PAID_STATES:
            return None
        url = url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
        task_id = task_id if isinstance(task_id, str) and task_id else None
        if url is None and task_id is None:
            return None
        from glm_image_cli.backends.bigmodel import GeneratedImage

        request_id = record.get("request_id")  # no URL but a task id: the runner polls the task (collect)
        return GeneratedImage(url=url, inline_data=None, request_id=request_id if isinstance(request_id, str) else None,
                              task_id=task_id, created=None, content_filter=[])

    def record(self, unit: WorkUnit, state: str, *, guarded: bool = False, **extra: Any) -> None:
        plan = unit.item.plan
        rewrite = {"rewrite": plan.enhanced_prompt, "enhance_model": plan.enhance_model} \
            if plan.enhanced_prompt else {}
        entry = {
            "key": unit.key,
            "state": state,
            "line": unit.item.line,
            "item": unit.item.number,
            "sample": unit.sample,
            "prompt": unit.item.plan.prompt,
            "model": unit.item.plan.model,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **rewrite,
            **extra,
        }
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o644)
                try:
                    _locked_append(fd, data, self.guard if guarded else None)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise OutputError("journal_unwritable", path=str(self.path), detail=exc.strerror or str(exc)) from None
            self.states[unit.key] = entry


def read_index(folder: Path, keys: set[str]) -> dict[str, Path]:
    """Images the sidecar index names for ``keys`` and that are still in the folder (the last line wins)."""
    found: dict[str, Path] = {}
    try:
        with open_regular(folder / INDEX_NAME, nofollow=True) as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError:
        return found
    root = folder.resolve()
    for record in safejson.lines(data):
        key, file = (record.get("key"), record.get("file")) if record is not None else (None, None)
        if not (isinstance(key, str) and key in keys and isinstance(file, str)):
            continue
        path = folder / file
        try:
            inside = path.resolve().is_relative_to(root) and path.is_file() and not path.is_symlink()
        except OSError:
            inside = False
        if inside:
            found[key] = path
    return found


def _shared_lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        return
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_SH)  # released when the file is closed


def _locked_append(fd: int, data: bytes, guard: Callable[[], None] | None = None) -> None:
    """The whole record, then fsync, under an advisory lock.  A record that cannot be written whole is cut
    off again, so the journal never holds a torn line that a later record would be glued onto."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; O_APPEND keeps a single writer's records whole
        fcntl = None
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    if guard is not None:
        try:
            guard()
        except BaseException:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            raise
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
