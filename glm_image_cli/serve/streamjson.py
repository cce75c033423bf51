"""JSON answers that carry images as base64 without holding them: the JSON around the images is built as usual,
each image's base64 is read from its file and encoded a chunk at a time as the answer is written.

Base64 of n bytes is 4·⌈n/3⌉ characters, so the Content-Length is known before the first byte goes out and a
keep-alive connection stays framed as before; the client gets the same JSON it got when the images were encoded
in memory (serve used to hold about seven copies of each image on the way out).  The files are opened, and their
sizes read, before the headers are sent: what is announced is what is written, or the connection is closed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 3 * 64 * 1024  # bytes read per step: a multiple of 3, so the chunks' base64 joins into the whole's


@dataclass(frozen=True)
class Base64Of:
    """Where an image file's base64 goes in a JSON answer: a string value, ``prefix`` first (a data URL's
    ``data:image/png;base64,``)."""

    path: Path
    prefix: str = ""


def encoded_length(size: int) -> int:
    """Characters of the padded base64 of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


class StreamedJson:
    """``payload`` as JSON (``json.dumps(..., ensure_ascii=False)``), each ``Base64Of`` in it replaced by its
    file's base64.  Use as a context manager: entering opens the files (OSError if one is gone), leaving closes
    them.  ``length`` is the body's size in bytes; ``write`` sends it through ``send`` in bounded pieces."""

    def __init__(self, payload: Any) -> None:
        self._token = f"@@glm-image-{secrets.token_hex(16)}-"
        self._sources: list[Base64Of] = []
        text = json.dumps(payload, ensure_ascii=False, default=self._marker)
        pieces = text.encode("utf-8").split(self._token.encode("ascii"))
        self._parts: list[bytes | int] = [pieces[0]]  # JSON bytes, and the number of the file that goes between
        for piece in pieces[1:]:
            number, _, rest = piece.partition(b"@@")
            self._parts += [int(number), rest]
        self._files: list[tuple[BinaryIO, int]] = []

    def _marker(self, value: Any) -> str:
        if not isinstance(value, Base64Of):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        self._sources.append(value)
        return f"{value.prefix}{self._token}{len(self._sources) - 1}@@"

    def __enter__(self) -> StreamedJson:
        try:
            for source in self._sources:
                handle = open(source.path, "rb")
                self._files.append((handle, os.fstat(handle.fileno()).st_size))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for handle, _ in self._files:
            handle.close()
        self._files.clear()

    @property
    def length(self) -> int:
        return sum(len(part) if isinstance(part, bytes) else encoded_length(self._files[part][1])
                   for part in self._parts)

    def write(self, send: Callable[[bytes], Any]) -> None:
        """The whole body through ``send``; a file that shrank since it was opened is a ConnectionError (the
        announced length cannot be kept: the caller closes the connection)."""
        for part in self._parts:
            if isinstance(part, bytes):
                if part:
                    send(part)
                continue
            handle, size = self._files[part]
            left = size
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    raise ConnectionError("an image file shrank while it was being sent")
                while len(chunk) % 3 and len(chunk) < left:  # a short read: top up to a multiple of 3
                    more = handle.read(min(CHUNK, left) - len(chunk))
                    if not more:
                        raise ConnectionError("an image file shrank while it was being sent")
                    chunk += more
                left -= len(chunk)
                send(base64.b64encode(chunk))
