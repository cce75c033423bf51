"""One batch at a time per output folder: an OS file lock, so two runs never buy the same images.

The lock is the operating system's (flock on Unix, LockFileEx on Windows, through `filelock`), so a
run that crashes or is killed releases it with its process: nothing is left stuck.  Beside the lock,
a small JSON file names the holder (pid, start time, host) for the message the second run prints.

Deleting the lock file (by hand, a clean-up script, a sync tool) must not let a second run in beside the
first, so on Unix the folder itself is locked too (flock on the directory: it cannot be deleted while the
run writes into it), and before each request the run checks that the lock file it holds is still the one
at the path (``check``): when it is not, it stops sending (FOLDER_IN_USE) rather than share the folder.
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
    _folder_fd: int | None = field(default=None, init=False, repr=False)
    _identity: tuple[int, int] | None = field(default=None, init=False, repr=False)

    def acquire(self) -> FolderLock:
        from filelock import FileLock, Timeout

        try:  # the folder first: a run refused here leaves the holder's lock file alone
            self._folder_fd = _lock_folder(self.folder)
        except BlockingIOError:  # held, even if someone deleted the lock file under the holder
            raise self._in_use() from None
        lock = FileLock(str(self.folder / LOCK_NAME), timeout=0, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            self._close_folder()
            raise self._in_use() from None
        except OSError as exc:
            self._close_folder()
            raise OutputError("output_not_writable", path=str(self.folder), detail=exc.strerror or str(exc)) from None
        self._lock = lock
        self._identity = _identity_of_open(lock)
        self._write_owner()
        return self

    def check(self) -> None:
        """Before each request: the lock file at the path is still the one this run holds.  Someone deleted
        or replaced it: another run may be in the folder now, so nothing more is sent (FOLDER_IN_USE).
        Where the folder itself is locked no other run can be in it, whatever became of the file."""
        if self._lock is None or self._identity is None or self._folder_fd is not None:
            return
        try:
            info = os.stat(self.folder / LOCK_NAME)
            same = (info.st_dev, info.st_ino) == self._identity
        except OSError:
            same = False
        if not same:
            raise FolderInUse("folder_lock_lost", path=str(self.folder), name=LOCK_NAME)

    def _in_use(self) -> FolderInUse:
        owner = self._owner()
        return FolderInUse("folder_in_use", path=str(self.folder), pid=owner.get("pid", "?"),
                           started=owner.get("started", "?"), host=owner.get("host", "?"))

    def release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(OSError):  # a stale owner file is harmless: the next holder overwrites it
            (self.folder / OWNER_NAME).unlink(missing_ok=True)
        self._lock.release()
        self._lock = None
        self._identity = None
        self._close_folder()

    def _close_folder(self) -> None:
        if self._folder_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._folder_fd)  # closing releases the folder's flock
            self._folder_fd = None

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


def _lock_folder(folder: Path) -> int | None:
    """flock on the folder itself (Unix), beside the lock file: deleting the file does not free the folder.
    BlockingIOError: another run holds it.  None where directories cannot be locked (Windows, some network
    file systems): the lock file and ``check`` still hold there."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    except OSError:
        os.close(fd)
        return None
    return fd


def _identity_of_open(lock: Any) -> tuple[int, int] | None:
    """(device, inode) of the lock file this run opened and locked, for ``check``."""
    fd = getattr(getattr(lock, "_context", None), "lock_file_fd", None)
    try:
        info = os.fstat(fd) if isinstance(fd, int) else os.stat(lock.lock_file)
    except OSError:
        return None
    return info.st_dev, info.st_ino
