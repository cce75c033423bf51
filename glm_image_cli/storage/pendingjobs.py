"""Asynchronous tasks paid for and not yet saved by a run without a manifest (`generate`): one record per image,
written the moment the upstream returns the task id and removed when the image is saved, so a run that dies
while polling (kill -9, a lost session, a second Ctrl-C) leaves what `glm-image collect` needs to fetch and
save the image instead of paying for it again.

One small JSON file in the data folder, replaced atomically (fsynced, 0600: it names prompts and folders), each
change made under an advisory lock so several runs at once never lose each other's records.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.safefile import read_regular
from glm_image_cli.storage.atomic import write_atomic

PENDING_NAME = "pending-jobs.json"
_LOCK_NAME = ".pending-jobs.lock"


MAX_PENDING_BYTES = 16 << 20  # thousands of records; a larger file is not ours


class PendingJobs:
    """The pending-jobs file of a data folder: ``add`` returns the record's id, ``remove`` drops it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / PENDING_NAME
        self._lock = threading.Lock()

    def records(self) -> dict[str, dict[str, Any]]:
        """Every pending record by id; an unreadable or damaged file is no records (never a failed run)."""
        try:
            data = safejson.loads(read_regular(self.path, MAX_PENDING_BYTES, nofollow=True))
        except (OSError, ValueError):
            return {}
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(jobs, dict):
            return {}
        return {key: value for key, value in jobs.items()
                if isinstance(value, dict) and isinstance(value.get("task_id"), str)}

    def add(self, record: dict[str, Any]) -> str:
        job_id = uuid.uuid4().hex[:12]
        with self._changing() as jobs:
            jobs[job_id] = record
        return job_id

    def remove(self, job_id: str) -> None:
        with self._changing() as jobs:
            jobs.pop(job_id, None)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock, _file_lock(self.folder / _LOCK_NAME):
            jobs = self.records()
            before = dict(jobs)
            yield jobs
            if jobs == before:
                return
            if jobs:
                write_atomic(self.path, json.dumps({"jobs": jobs}, ensure_ascii=False, indent=1), durable=True,
                             mode=0o600)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An advisory lock between processes (none on Windows, where one run at a time is the usual case)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
