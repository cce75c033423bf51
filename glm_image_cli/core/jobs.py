"""Generations that run in the background of a long-lived front end (the MCP server's ``submit_image``): started
once consent and the budget hold are settled, answered by id at once, asked about (live progress) and fetched later.

Each job's paid asynchronous tasks go to the pending-jobs file tagged with the job's id, as `generate`'s do, so a
job whose process died (a restarted MCP server, a killed client) is still collected by id (``collect``) or by
`glm-image collect`, never paid for again.  The board forgets nothing a caller may still ask for while it runs;
of finished jobs it keeps the last ``keep``.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.pending import PendingJournal, collect_record
from glm_image_cli.core.runner import Event, Stage

if TYPE_CHECKING:
    from glm_image_cli.core.results import Notice, Run
    from glm_image_cli.core.studio import Job, Studio
    from glm_image_cli.storage.pendingjobs import PendingJobs

JOB_TAG = "job"  # the pending-jobs record field naming the background job a task belongs to


@dataclass
class BackgroundJob:
    """One generation running (or run) in the background: live stages per image, then its Run."""

    id: str
    images: int
    started: float = field(default_factory=time.time)
    run: Run | None = None
    error: BaseException | None = None  # what stopped it before a Run came back (a bug, a full disk...)
    finished: float | None = None
    notices: list[Notice] = field(default_factory=list)  # the warnings and notes of its preparation and run
    cost: float | None = None  # the estimate it was started with
    currency: str = ""
    _stages: dict[str, Stage] = field(default_factory=dict)
    _listeners: list[Callable[[Event], None]] = field(default_factory=list)
    _done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, event: Event) -> None:
        with self._lock:
            self._stages[str(event.unit.key)] = event.stage
            listeners = list(self._listeners)
        for listener in listeners:  # someone waiting for the job (fetch_image's progress): never the job's fate
            with contextlib.suppress(Exception):
                listener(event)

    def listen(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener`` with each further event of the job; returns what stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return stop

    def stages(self) -> dict[str, Stage]:
        """Each image's stage so far, by its key."""
        with self._lock:
            return dict(self._stages)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None) -> bool:
        """True once the job has finished (within ``timeout`` seconds; None: however long it takes)."""
        return self._done.wait(timeout)

    def counts(self) -> dict[str, int]:
        """Images per stage right now ("saved", "failed", "processing", ...); all of them add up to ``images``."""
        with self._lock:
            stages = list(self._stages.values())
        counts = {stage.value: stages.count(stage) for stage in Stage if stage in stages}
        counts[Stage.QUEUED.value] = counts.get(Stage.QUEUED.value, 0) + self.images - len(stages)
        return {name: count for name, count in counts.items() if count}

    def elapsed(self) -> float:
        return round((self.finished or time.time()) - self.started, 1)

    def _finish(self) -> None:
        self.finished = time.time()
        self._done.set()


class JobBoard:
    """The background jobs of one process, by id.  ``pending`` is the data folder's pending-jobs file."""

    def __init__(self, pending: PendingJobs, keep: int = 100) -> None:
        self.pending = pending
        self.keep = keep
        self._jobs: OrderedDict[str, BackgroundJob] = OrderedDict()
        self._collecting: set[str] = set()
        self._lock = threading.Lock()

    def start(self, job: Job, *, finished: Callable[[], None] = lambda: None,
              notices: Sequence[Notice] = ()) -> BackgroundJob:
        """Run a prepared ``job`` (consent given, budget held) in a thread of its own; returns at once.
        ``finished`` runs after it (the caller's cleanup: closing the Studio the job ran on); ``notices``: those
        of its preparation, kept with the run's own."""
        background = BackgroundJob(uuid.uuid4().hex[:16], job.images, notices=list(notices),
                                   cost=round(job.estimate.total, 4), currency=job.estimate.currency)
        journal = PendingJournal(self.pending, job.saver, job.studio.command, tag={JOB_TAG: background.id}) \
            if job.saver is not None else None
        with self._lock:
            self._jobs[background.id] = background
            self._forget_old()
        thread = threading.Thread(target=self._run, args=(background, job, journal, finished),
                                  name=f"glm-image-job-{background.id}", daemon=True)
        thread.start()
        return background

    def _run(self, background: BackgroundJob, job: Job, journal: PendingJournal | None,
             finished: Callable[[], None]) -> None:
        try:
            background.run = job.run(on_event=background.event, on_notice=background.notices.append,
                                     journal=journal)
        except BaseException as error:  # kept for the caller who asks; a thread has no one to raise to
            background.error = error
        finally:
            try:
                job.release()
                finished()
            finally:
                background._finish()

    def get(self, job_id: str) -> BackgroundJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recorded(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The job's paid tasks still waiting in the pending-jobs file (by record id)."""
        return {record_id: record for record_id, record in self.pending.records().items()
                if record.get(JOB_TAG) == job_id}

    def collect(self, studio: Studio, job_id: str) -> list[Run] | None:
        """Collect the job's recorded tasks (poll, never submit; save as the job would have).  None when another
        call is collecting them right now; [] when nothing is recorded."""
        with self._lock:
            if job_id in self._collecting:
                return None
            self._collecting.add(job_id)
        try:
            return [collect_record(studio, self.pending, record_id, record)
                    for record_id, record in self.recorded(job_id).items()]
        finally:
            with self._lock:
                self._collecting.discard(job_id)

    def _forget_old(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.done]
        for job_id in finished[:max(0, len(finished) - self.keep)]:
            del self._jobs[job_id]
