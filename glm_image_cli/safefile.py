"""The one way glm-image opens a file it reads: regular files only, and never more than a stated size.

A FIFO named ``limits.json`` or ``*.png`` would block ``open`` until a writer comes, and ``/dev/zero`` never
ends: the file is opened without blocking, checked with ``fstat`` and refused unless it is a regular file, then
read up to a limit.  The refusals are OSErrors, so every caller's "cannot read" path handles them as it
handles a missing file; their ``detail`` is a catalogue text in the user's language.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from glm_image_cli.messages import Text

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


class UnreadableFile(OSError):
    """Not a regular file, or larger than the limit; ``detail`` says which, in the user's language."""

    def __init__(self, path: str | Path, detail: Text) -> None:
        super().__init__(0, str(detail), str(path))
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.filename}: {self.detail}"

    @property
    def strerror(self) -> str:  # type: ignore[override]  # rendered when shown, in the language of the moment
        return str(self.detail)

    @strerror.setter
    def strerror(self, _value: object) -> None:
        pass


def open_regular(path: str | Path, *, nofollow: bool = False) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file (a FIFO or a device is refused at once)."""
    fd = os.open(path, _FLAGS | (getattr(os, "O_NOFOLLOW", 0) if nofollow else 0))
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if not regular:
            raise UnreadableFile(path, Text("detail_not_regular_file"))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path: str | Path, limit: int, *, nofollow: bool = False) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes; UnreadableFile when larger."""
    with open_regular(path, nofollow=nofollow) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(path, Text("detail_too_large", limit=limit))
    return data
