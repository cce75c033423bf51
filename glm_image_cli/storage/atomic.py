"""Atomic writes: a file is either its old self or wholly the new one, never half written.

Every file glm-image writes whole goes through here: the config and the learned limits (0600), the rewrite
cache, the gallery page, the batch's failed.jsonl and folder-owner note, and each image.  The bytes go to a
temporary file with a unique name beside the target (so two writers never share one, and the rename stays on
one file system), which is fsynced when the file matters for money or settings, then renamed over the target
(or hard-linked, for names that must never be overwritten) and the folder fsynced.  Whatever fails, the
temporary file is removed.  A rename replaces a symbolic link instead of writing through it; a link already
at the target is refused all the same, since glm-image never makes one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from glm_image_cli.messages import Text

TEMP_PREFIX = ".glm-image-"  # hidden, and ``.part``: never mistaken for an image, a page or a record
TEMP_SUFFIX = ".part"


class SymlinkTarget(OSError):
    """The target is a symbolic link, which glm-image never writes over."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.ELOOP, "is a symbolic link", str(path))


def failure_detail(exc: OSError) -> str | Text:
    """The ``detail`` for an error message about a failed write, in the user's language where it is ours."""
    if isinstance(exc, SymlinkTarget):
        return Text("detail_symlink")
    return exc.strerror or str(exc)


def write_atomic(path: Path, data: bytes | str, *, durable: bool, mode: int | None = None,
                 overwrite: bool = True) -> bool:
    """Replace ``path`` with ``data`` (str as UTF-8) in one step.  ``durable``: fsync the file and the folder,
    for files whose loss costs money or settings.  ``mode``: the file's permissions exactly (else the user's
    usual ones, as the umask makes them).  ``overwrite=False`` never replaces anything: False when the name is
    taken.  Raises OSError (SymlinkTarget when ``path`` is a link); the temporary file never stays behind."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if overwrite:
        refuse_symlink(path)
    with temp_file_beside(path.parent, mode) as (fd, temp):
        write_all(fd, payload, durable=durable)
        return publish(temp, path, overwrite=overwrite, durable=durable)


@contextlib.contextmanager
def temp_file_beside(folder: Path, mode: int | None = None) -> Iterator[tuple[int, Path]]:
    """An exclusive, uniquely named temporary file in ``folder``, open for writing (the caller closes the
    descriptor); removed on the way out whatever happened; after ``publish`` it is at most a second name."""
    fd, temp = new_temp_file(folder, mode)
    try:
        yield fd, temp
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def new_temp_file(folder: Path, mode: int | None = None) -> tuple[int, Path]:
    """mkstemp in ``folder`` (O_EXCL, a random name: never a file or link someone else put there), with
    ``mode``, or readable like any file the user makes."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    if hasattr(os, "fchmod"):  # not on Windows, where mkstemp's file is already the user's
        try:
            os.fchmod(fd, mode if mode is not None else 0o666 & ~_UMASK)
        except OSError:
            os.close(fd)
            Path(name).unlink(missing_ok=True)
            raise
    return fd, Path(name)


def write_all(fd: int, data: bytes, *, durable: bool) -> None:
    """Every byte of ``data`` to ``fd``, fsynced when ``durable``; ``fd`` is closed in any case."""
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, target: Path, *, overwrite: bool, durable: bool) -> bool:
    """Give a finished temporary file the name ``target``: renamed over it, or, with ``overwrite=False``,
    linked only if the name is free (False when taken: a link or anything else there counts as taken)."""
    if overwrite:
        refuse_symlink(target)
        os.replace(temp, target)
    elif not _link_if_absent(temp, target):
        return False
    if durable:
        fsync_folder(target.parent)
    return True


def refuse_symlink(path: Path) -> None:
    """Raise SymlinkTarget when ``path`` is a symbolic link.  One planted after this check is only replaced
    by the rename, never written through."""
    if path.is_symlink():
        raise SymlinkTarget(path)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (POSIX; elsewhere the rename is all there is)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # file systems that cannot sync a folder
            raise
    finally:
        os.close(fd)


def _link_if_absent(source: Path, target: Path) -> bool:
    """Atomically publish ``source`` as ``target`` unless ``target`` exists (hard link fails if so)."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
    # File systems without hard links: reserve the name exclusively, then replace it.
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    os.close(fd)
    os.replace(source, target)
    return True


def _read_umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()  # read once at import: os.umask is process-wide and not thread-safe
