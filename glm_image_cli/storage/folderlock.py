"""One batch at a time per output folder: an OS file lock, so two runs never buy the same images.

The lock is the operating system's (flock on Unix, LockFileEx on Windows, through `filelock`), so a
run that crashes or is killed releases it with its process: nothing is left stuck.  Beside the lock,
a small JSON file names the holder (pid, start time, host) for the message the second run prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.errors import FolderInUse, OutputError
from glm_image_cli.safefile import open_regular
from glm_image_cli.storage.atomic import write_atomic

LOCK_NAME = ".glm-image.lock"
OWNER_NAME = ".glm-image.owner.json"


@dataclass
class FolderLock:
    """Held for a whole batch run; ``acquire`` fails at once (never waits) when another run holds it."""

    folder: Path
    _lock: Any = field(default=None, init=False, repr=False)

    def acquire(self) -> FolderLock:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.folder / LOCK_NAME), timeout=0, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = self._owner()
            raise FolderInUse("folder_in_use", path=str(self.folder), pid=owner.get("pid", "?"),
                              started=owner.get("started", "?"), host=owner.get("host", "?")) from None
        except OSError as exc:
            raise OutputError("output_not_writable", path=str(self.folder), detail=exc.strerror or str(exc)) from None
        self._lock = lock
        self._write_owner()
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(OSError):  # a stale owner file is harmless: the next holder overwrites it
            (self.folder / OWNER_NAME).unlink(missing_ok=True)
        self._lock.release()
        self._lock = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _write_owner(self) -> None:
        record = {"pid": os.getpid(), "started": datetime.now().astimezone().isoformat(timespec="seconds"),
                  "host": socket.gethostname()}
        with contextlib.suppress(OSError):  # the lock itself holds; only the message would lack the details
            write_atomic(self.folder / OWNER_NAME, json.dumps(record), durable=False)

    def _owner(self) -> dict[str, Any]:
        try:
            with open_regular(self.folder / OWNER_NAME) as handle:
                record = safejson.loads(handle.read(4096))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}
