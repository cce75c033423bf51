"""Writing images: real format from the bytes, readable names, atomic and never overwriting."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from glm_image_cli.backends.imagebytes import sniff_image_format as sniff_image_format
from glm_image_cli.errors import OutputError
from glm_image_cli.storage.atomic import failure_detail, publish, temp_file_beside, write_all

SLUG_MAX_CHARS = 40
MIN_FREE_BYTES = 32 * 1024 * 1024  # room for a few of the largest images (a 2048x2048 PNG is about 8 MB)


def slugify(text: str, max_chars: int = SLUG_MAX_CHARS) -> str:
    """A file-name-safe slug that keeps Chinese (and any letters/digits), drops the rest."""
    normalized = unicodedata.normalize("NFKC", text)
    kept = [ch if unicodedata.category(ch)[0] in "LN" else "-" for ch in normalized]
    slug = re.sub(r"-{2,}", "-", "".join(kept)).strip("-")
    return slug[:max_chars].rstrip("-") or "image"


def ensure_writable_dir(folder: Path) -> Path:
    """Create the folder and prove it is writable, before any money is spent."""
    from glm_image_cli.messages import Text

    try:
        if folder.exists() and not folder.is_dir():  # mkdir would only say "File exists"
            raise OutputError("output_not_writable", path=str(folder), detail=Text("detail_not_a_folder"))
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise OutputError("output_not_writable", path=str(folder), detail=exc.strerror or str(exc)) from None
    except UnicodeEncodeError:  # a name the file system cannot take (a lone surrogate from JSON)
        raise OutputError("output_not_writable", path=ascii(str(folder)),
                          detail=Text("reason_invalid_text")) from None
    if free < MIN_FREE_BYTES:  # an image bought now could not be saved: refuse before paying
        raise OutputError("output_not_writable", path=str(folder),
                          detail=f"{os.strerror(errno.ENOSPC)}: {free // 1024} KiB free")
    return folder


def write_new_file(folder: Path, stem: str, ext: str, data: bytes) -> Path:
    """Write ``data`` as folder/stem.ext atomically; if taken, stem-1.ext, stem-2.ext, ... never overwrite."""
    try:
        with temp_file_beside(folder) as (fd, temp):
            write_all(fd, data, durable=True)
            return publish_new_file(temp, folder, stem, ext)
    except OSError as exc:
        raise OutputError("output_not_writable", path=str(folder), detail=failure_detail(exc)) from None


def publish_new_file(temp_path: Path, folder: Path, stem: str, ext: str) -> Path:
    """Give a finished temporary file its name: folder/stem.ext, else stem-1.ext, ... never overwriting.
    The caller removes ``temp_path`` afterwards (it stays behind only as a second link)."""
    try:
        for attempt in range(10_000):
            candidate = folder / (f"{stem}.{ext}" if attempt == 0 else f"{stem}-{attempt}.{ext}")
            if publish(temp_path, candidate, overwrite=False, durable=True):
                return candidate
        raise OutputError("output_not_writable", path=str(folder), detail="too many files with this name")
    except OSError as exc:
        raise OutputError("output_not_writable", path=str(folder), detail=exc.strerror or str(exc)) from None


def display_path(path: Path) -> str:
    """Relative to the working folder when inside it: shorter to read and to paste."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)
