"""The one JSON reader for text that comes from outside: upstream answers and every file glm-image reads.

Python's ``json`` recurses once per level, so ``[[[[…]]]]`` a few thousand deep raises RecursionError, and a
structure a few hundred deep breaks later code that walks it.  ``loads`` refuses both, and text over a size
limit, with ``UnsafeJson`` (a ValueError, as ``json.loads`` raises for bad text, so callers keep one except).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 64  # far deeper than anything glm-image writes or an image API answers
MAX_BYTES = 128 << 20  # an upstream answer with a 64 MiB image in base64, and room to spare


class UnsafeJson(ValueError):
    """Nested deeper than ``MAX_DEPTH`` or larger than the size limit: treated as unreadable JSON."""


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """``json.loads`` with a depth and size limit; ValueError (UnsafeJson or JSONDecodeError) for bad text."""
    if len(text) > max_bytes:
        raise UnsafeJson(f"larger than {max_bytes} bytes")
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")  # UnicodeDecodeError is a ValueError too
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnsafeJson("nested too deeply") from None
    if depth_over(value, max_depth):
        raise UnsafeJson("nested too deeply")
    return value


def lines(data: bytes, *, max_depth: int = MAX_DEPTH) -> Iterator[dict[str, Any] | None]:
    """The records of a JSON-lines file (a journal, a manifest, a result file), blank lines skipped; None for a
    line that is not a JSON object (torn by a kill, or hostile), so each reader counts or skips it its way."""
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = loads(line, max_depth=max_depth)
        except ValueError:  # UnicodeDecodeError is a ValueError too
            yield None
            continue
        yield record if isinstance(record, dict) else None


def depth_over(value: Any, limit: int) -> bool:
    """True when lists and objects nest more than ``limit`` levels (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
