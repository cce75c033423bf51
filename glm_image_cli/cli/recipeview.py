"""How an image's recipe reads in `glm-image info`: the structured fields (the files an edit started from, the
content review) in words, one line per file, instead of the raw JSON they are stored as.  `--json` keeps them
as stored; this is only for people reading a table."""

from __future__ import annotations

import hashlib
from typing import Any

from glm_image_cli.messages import render

SHORT_DIGEST = 12  # enough to tell two files apart by eye; the full digest is in `info --json`


def field_text(key: str, value: Any) -> str:
    """The table cell for one recipe field."""
    if key == "source_images" and isinstance(value, list):
        return "\n".join(_source_line(item) for item in value)
    if key == "mask" and isinstance(value, dict):
        return _source_line(value)
    if key == "content_filter" and isinstance(value, list):
        return ", ".join(f"{item.get('role', '?')}: {item.get('level', '?')}" if isinstance(item, dict)
                         else str(item) for item in value)
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _source_line(item: Any) -> str:
    """``/abs/cat.png (SHA-256 4a0945534329…, unchanged)``: where the edited file was, which bytes it had, and
    whether the file there still has them (what `again` needs to edit the same picture)."""
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return str(item)
    path, recorded = item["path"], item.get("sha256")
    if not isinstance(recorded, str) or not recorded:
        return render("info_source_no_digest", path=path)
    current = _digest(path)
    state = ("info_source_missing" if current is None else
             "info_source_unchanged" if current == recorded else "info_source_changed")
    return render("info_source_line", path=path, digest=recorded[:SHORT_DIGEST], state=render(state))


def _digest(path: str) -> str | None:
    """The SHA-256 of the regular file at ``path`` now, or None when there is none to read (gone, a FIFO)."""
    from glm_image_cli.safefile import open_regular

    try:
        with open_regular(path) as handle:
            digest = hashlib.sha256()
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
