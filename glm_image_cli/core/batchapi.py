"""`batch --via batch-api`: a batch's images made by the platform's Batch API, at half price, re-attachable.

The steps of each part (one JSONL input file of one model, ≤ 50,000 lines and ≤ 100 MB) are journaled before they
are taken (batchjournal.py): planned, then the upload (free; a kill before its id was written is resolved by
finding the file by its client-side name), then "creating" with the ledger rows reserved, then the create (the
paid call, sent once: a create whose answer was lost is resolved by listing the account's batches for the part's
marker, never by creating again), then the batch id.  Polling and collecting are free and repeatable, so a run
that is killed, or left with Ctrl-C while the platform works (it may take hours), is simply run again.

The results are mapped by ``custom_id`` (the unit's key), recorded in the manifest as a direct batch's answers are
("answered" with the URL), and saved by the same runner and saver as a direct batch: the same files, recipes and
manifest.  Failed lines are recorded failed with their codes (failed.jsonl); lines a batch never ran (expired,
cancelled, failed) too, and are not charged.  The reading of the results is batchresults.py.

Money: the ledger rows are reserved (pending, counted by the budgets) just before the create, at the batch price,
and settled as the results arrive: saved / unsaved for images made, failed for lines that made none.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.backends.batchwire import IMAGES_ENDPOINT, MAX_BYTES, MAX_LINES, BatchInfo, batch_wire
from glm_image_cli.backends.bigmodel import generation_body
from glm_image_cli.core.batchjournal import BatchJournal, Part
from glm_image_cli.core.results import Cancel
from glm_image_cli.errors import GlmImageError, NetworkFailure, RefusedFailure

if TYPE_CHECKING:
    from glm_image_cli.backends.batchwire import BatchWire
    from glm_image_cli.core.batch import Selection, WorkUnit
    from glm_image_cli.core.ledger import Ledger, RunSpend

MARKER_KEY = "glm_image"  # the batch's metadata entry that names its part, found again by listing
POLL_START = (2.0, 5.0, 10.0, 20.0)  # the first looks come sooner; then every `batch-poll` seconds


@dataclass(frozen=True)
class Progress:
    """A step of a part, for the front end: ``stage`` is uploading, submitted, attached, status or results."""

    stage: str
    part: Part
    batch: BatchInfo | None = None
    elapsed: float = 0.0


def _ignore(_: Any) -> None:
    return None


def batch_line(unit: WorkUnit) -> bytes:
    """One request of the input file: the body a direct batch would send, under the unit's key."""
    import json

    body = generation_body(unit.plan.image_request())
    record = {"custom_id": unit.key, "method": "POST", "url": IMAGES_ENDPOINT, "body": body}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def split_parts(units: Sequence[WorkUnit], *, max_lines: int = MAX_LINES,
                max_bytes: int = MAX_BYTES) -> list[list[WorkUnit]]:
    """One model per file, in input order; a new file past ``max_lines`` lines or ``max_bytes`` bytes."""
    by_model: dict[str, list[list[WorkUnit]]] = {}
    sizes: dict[str, int] = {}
    for unit in units:
        size = len(batch_line(unit))
        chunks = by_model.setdefault(unit.plan.model, [[]])
        if chunks[-1] and (len(chunks[-1]) >= max_lines or sizes[unit.plan.model] + size > max_bytes):
            chunks.append([])
            sizes[unit.plan.model] = 0
        chunks[-1].append(unit)
        sizes[unit.plan.model] = sizes.get(unit.plan.model, 0) + size
    return [chunk for chunks in by_model.values() for chunk in chunks if chunk]


class BatchApi:
    """The Batch API batches of one output folder: submit, re-attach, poll, cancel.  Made by
    ``Studio.batch_api``; saving the results is ``collect`` (batchresults.py)."""

    def __init__(self, client: Any, folder: Path, journal: BatchJournal, *, ledger: Ledger | None = None,
                 poll_interval: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.journal = journal
        self.ledger = ledger
        self.poll_interval = poll_interval
        self.clock = clock
        self._client = client
        self._wire: BatchWire | None = None
        self.latest: dict[str, BatchInfo] = {}  # part marker -> the batch as last seen

    @classmethod
    def of(cls, client: Any, folder: Path, guard: Callable[[], None] | None, ledger: Ledger | None,
           poll_interval: float) -> BatchApi:
        """The folder's batches, its journal read now; ``guard``: the folder lock's check."""
        return cls(client, folder, BatchJournal(folder, guard), ledger=ledger, poll_interval=poll_interval)

    @property
    def wire(self) -> BatchWire:
        if self._wire is None:
            self._wire = batch_wire(self._client)
        return self._wire

    # -- which units are where ---------------------------------------------------------------------------

    def claim(self, selection: Selection) -> list[WorkUnit]:
        """Units of the folder's open parts are on the platform (or about to be): they leave every list of the
        selection, so nothing sends them again, and are returned (their results are collected)."""
        open_keys = {key for part in self.journal.open_parts() for key in part.keys}
        claimed: list[WorkUnit] = []
        for units in (selection.to_run, selection.uncertain, selection.failed_skipped, selection.capped,
                      selection.recoverable):
            claimed += [unit for unit in units if unit.key in open_keys]
            units[:] = [unit for unit in units if unit.key not in open_keys]
        return claimed

    # -- submitting ----------------------------------------------------------------------------------------

    def submit(self, units: Sequence[WorkUnit], spend: RunSpend | None, *, input_path: str | None = None,
               on_progress: Callable[[Progress], None] = _ignore, max_lines: int = MAX_LINES,
               max_bytes: int = MAX_BYTES) -> list[Part]:
        """New parts for ``units``: each planned (journaled), uploaded and created in turn."""
        parts = []
        for chunk in split_parts(units, max_lines=max_lines, max_bytes=max_bytes):
            part = Part(f"glm-image-{uuid.uuid4().hex[:16]}")
            self.journal.record(part, "planned", model=chunk[0].plan.model, keys=[unit.key for unit in chunk],
                                input=input_path)
            parts.append(part)
        by_key = {unit.key: unit for unit in units}
        for number, part in enumerate(parts):
            try:
                self._advance(part, by_key, spend, on_progress, recovering=False)
            except BaseException:
                for later in parts[number + 1:]:  # never uploaded: planned again by the next run
                    self.journal.record(later, "dropped", reason="an earlier part failed")
                raise
        return parts

    def attach(self, units: dict[str, WorkUnit], spend: RunSpend | None,
               on_progress: Callable[[Progress], None] = _ignore) -> None:
        """Every open part that a killed run left before its batch id was known is taken to that point now."""
        for part in self.journal.open_parts():
            if part.batch_id is None:
                self._advance(part, units, spend, on_progress, recovering=True)
            else:
                on_progress(Progress("attached", part, None, self.elapsed(part)))

    def _advance(self, part: Part, units: dict[str, WorkUnit], spend: RunSpend | None,
                 on_progress: Callable[[Progress], None], *, recovering: bool) -> None:
        if part.cancel_requested:  # `batch cancel` came before the batch id was known: it is never created
            if part.creating and self.resolve(part):
                assert part.batch_id is not None
                self.latest[part.marker] = self.wire.cancel(part.batch_id)
                on_progress(Progress("attached", part, self.latest[part.marker], self.elapsed(part)))
                return
            self.settle(part, {key: "failed" for key in part.entries})
            self.journal.record(part, "dropped", reason="cancelled before it was created")
            return
        if part.file_id is None and not self._upload(part, units, on_progress, recovering):
            return
        if part.creating and self.resolve(part):
            on_progress(Progress("attached", part, self.latest.get(part.marker), self.elapsed(part)))
            return
        self._create(part, units, spend, on_progress)

    def resolve(self, part: Part) -> bool:
        """A part whose create was sent but whose batch id was never written: True when listing finds its batch
        (then recorded); False when the platform has none (the create never arrived)."""
        found = self._find_created(part)
        if found is None:
            return False
        self.journal.record(part, "created", batch_id=found.id, status=found.status, at=self.clock(),
                            counts=_counts(found), found=True)
        self.latest[part.marker] = found
        return True

    def _upload(self, part: Part, units: dict[str, WorkUnit], on_progress: Callable[[Progress], None],
                recovering: bool) -> bool:
        """The part's input file on the platform (found by its name if an earlier run uploaded it and was killed
        before writing its id).  False: some of its units are not in this input, so it is dropped (nothing was
        created from it) and they are planned again by the run that has them."""
        existing = self._find_file(part) if recovering else None
        if existing is None:
            if any(key not in units for key in part.keys):
                self.journal.record(part, "dropped", reason="planned from another input")
                return False
            on_progress(Progress("uploading", part))
            content = b"".join(batch_line(units[key]) for key in part.keys)
            existing = self.wire.upload(part.filename, content)
        self.journal.record(part, "uploaded", file_id=existing)
        return True

    def _find_file(self, part: Part) -> str | None:
        """An input file this part uploaded before its id could be written; None when listing is impossible (an
        upload is free: a second copy costs nothing)."""
        try:
            for item in self.wire.files():
                if item.get("filename") == part.filename and isinstance(item.get("id"), str):
                    return str(item["id"])
        except GlmImageError:
            return None
        return None

    def _find_created(self, part: Part) -> BatchInfo | None:
        """The batch a create whose answer was lost made, by the part's marker or input file.  A listing that
        fails leaves the question open: nothing is created (BatchUnresolved)."""
        try:
            for info in self.wire.batches():
                if info.metadata.get(MARKER_KEY) == part.marker or \
                        (part.file_id is not None and info.input_file_id == part.file_id):
                    return info
        except GlmImageError as error:
            raise NetworkFailure("batchapi_unresolved", detail=str(error)) from None
        return None

    def _create(self, part: Part, units: dict[str, WorkUnit], spend: RunSpend | None,
                on_progress: Callable[[Progress], None]) -> None:
        """The paid call: the ledger rows and "creating" are written first; the create is sent once."""
        assert part.file_id is not None
        entries = dict(part.entries)
        if not part.creating and spend is not None:
            for key in part.keys:
                entry = spend.reserve(units[key]) if key in units else None
                if entry is not None:
                    entries[key] = entry
        if not part.creating:
            self.journal.record(part, "creating", file_id=part.file_id, entries=entries)
        try:
            info = self.wire.create(part.file_id, {MARKER_KEY: part.marker})
        except GlmImageError as error:
            if error.maybe_billed:  # the create may have been made: the next run finds it by listing
                raise NetworkFailure("batchapi_create_lost", detail=str(error)) from None
            if error.message_id == "network_unreachable":  # never left: the next run lists, then creates
                raise
            self.settle(part, {key: "refused" for key in part.entries})
            self.journal.record(part, "refused", code=error.code, detail=str(error))
            if isinstance(error, RefusedFailure) or getattr(error, "status", None) in (400, 404):
                raise RefusedFailure("batchapi_refused", status=getattr(error, "status", None),
                                     upstream_code=getattr(error, "upstream_code", None),
                                     upstream_message=getattr(error, "upstream_message", None),
                                     request_id=getattr(error, "request_id", None)) from None
            raise
        self.journal.record(part, "created", batch_id=info.id, status=info.status, at=self.clock(),
                            counts=_counts(info))
        on_progress(Progress("submitted", part, info, 0.0))

    # -- waiting --------------------------------------------------------------------------------------------

    def elapsed(self, part: Part) -> float:
        return max(0.0, self.clock() - part.created_at) if part.created_at is not None else 0.0

    def refresh(self, part: Part) -> BatchInfo:
        """The batch as the platform has it now; a change is journaled (status and counts)."""
        assert part.batch_id is not None
        info = self.wire.get(part.batch_id)
        if info.status != part.status or _counts(info) != part.counts:
            self.journal.record(part, "status", status=info.status, counts=_counts(info))
        self.latest[part.marker] = info
        return info

    def wait(self, *, on_progress: Callable[[Progress], None] = _ignore, cancel: Cancel | None = None,
             sleep: Callable[[float], None] | None = None) -> bool:
        """Poll the open parts until every one has finished (True) or ``cancel`` is set (False: the batches go on
        on the platform; run again to collect).  Ctrl-C propagates: the batches go on too."""
        pause = sleep or _pause(cancel)
        looks = 0
        while True:
            waiting = [part for part in self.journal.open_parts() if part.batch_id is not None]
            unfinished = []
            for part in waiting:
                info = self.refresh(part)
                on_progress(Progress("status", part, info, self.elapsed(part)))
                if not info.finished:
                    unfinished.append(part)
            if not unfinished:
                return True
            if cancel is not None and cancel.cancelled:
                return False
            pause(min(POLL_START[looks], self.poll_interval) if looks < len(POLL_START) else self.poll_interval)
            looks += 1
            if cancel is not None and cancel.cancelled:
                return False

    # -- cancelling ------------------------------------------------------------------------------------------

    def cancel(self) -> list[tuple[Part, BatchInfo | None]]:
        """Ask the platform to cancel every open part's batch (what it finished is kept and collected by the next
        run); a part not created yet is marked so that it never is."""
        answers: list[tuple[Part, BatchInfo | None]] = []
        for part in self.journal.open_parts():
            self.journal.record(part, "cancel")
            batch_id = part.batch_id
            if batch_id is None and part.creating and self.resolve(part):
                batch_id = part.batch_id
            if batch_id is None:
                answers.append((part, None))
                continue
            info = self.wire.get(batch_id)
            if not info.finished and info.status != "cancelling":
                info = self.wire.cancel(batch_id)
            answers.append((part, info))
        return answers

    # -- the ledger -------------------------------------------------------------------------------------------

    def settle(self, part: Part, outcomes: dict[str, str]) -> None:
        """Close the ledger rows of these units (saved, unsaved, failed, refused); a row that cannot be written
        stays pending, which the budgets count."""
        import contextlib
        import sqlite3

        if self.ledger is None:
            return
        for key, outcome in outcomes.items():
            entry = part.entries.get(key)
            if entry is not None:
                with contextlib.suppress(GlmImageError, sqlite3.Error, OSError):
                    self.ledger.settle(entry, outcome)


def _counts(info: BatchInfo) -> dict[str, int]:
    return {"total": info.total, "completed": info.completed, "failed": info.failed}


def _pause(cancel: Cancel | None) -> Callable[[float], None]:
    """Sleep ``seconds`` in short steps, ending early when ``cancel`` is set (SIGTERM, a closed output)."""

    def pause(seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if cancel is not None and cancel.cancelled:
                return
            time.sleep(min(left, 0.25))

    return pause


def check_backend(client: Any) -> None:
    """The Batch API is BigModel's: another backend is a usage error before anything is sent."""
    batch_wire(client)



def refuse_direct_while_open(folder: Path, selection: Selection) -> None:
    """A direct run must not buy again what a Batch API batch of the folder is making (or may have made): it is
    refused, naming the way to collect or cancel it.  Nothing is sent."""
    from glm_image_cli.core.batchjournal import JOURNAL_NAME
    from glm_image_cli.errors import UsageError

    if not (folder / JOURNAL_NAME).exists():
        return
    open_keys = {key for part in BatchJournal(folder).open_parts() for key in part.keys}
    count = sum(1 for unit in [*selection.to_run, *selection.uncertain, *selection.recoverable]
                if unit.key in open_keys)
    if count:
        raise UsageError("batchapi_active", count=count, folder=str(folder))
