"""An upstream answer that carries its image inline (``"b64_json": "..."``) read with the fewest copies of it.

Parsed as a whole, an 8 MB image's answer is held four times over at once: the body (10.7 MB of base64), its
text decoded, the parsed string, and the bytes decoded from that.  Here each plain ``b64_json`` string is
decoded straight from the body's bytes, and only the JSON around it is parsed: the body and the image's bytes,
nothing more.  A value this does not recognise as plain base64 (an escaped ``\\/``, say) stays in the JSON and
is decoded by the usual path.
"""

from __future__ import annotations

import binascii
import re
import secrets
from typing import Any

from glm_image_cli import safejson

# A key and the plain base64 string after it.  In valid JSON an unescaped "b64_json" followed by a colon is a key:
# inside a string its quotes would be escaped (\"), which this does not match.
_INLINE = re.compile(rb'"b64_json"\s*:\s*"([A-Za-z0-9+/]*={0,2})"')
MIN_INLINE = 4096  # smaller values are left to the usual path (nothing to save)


def loads_with_images(body: bytes) -> Any:
    """``safejson.loads(body)``, with each ``b64_json`` value already decoded to ``bytes``; ValueError for text
    that is not JSON (as safejson.loads) or base64 that is not valid."""
    if b'"b64_json"' not in body or len(body) > safejson.MAX_BYTES:  # too large: safejson says so
        return safejson.loads(body)
    view = memoryview(body)
    token = f"glm-image-inline-{secrets.token_hex(8)}-"
    images: dict[str, bytes] = {}
    pieces: list[bytes | memoryview] = []
    position = 0
    for match in _INLINE.finditer(body):
        start, end = match.span(1)
        if end - start < MIN_INLINE:
            continue
        placeholder = f"{token}{len(images)}"
        try:
            images[placeholder] = binascii.a2b_base64(view[start:end], strict_mode=True)
        except binascii.Error as exc:
            raise ValueError(f"invalid base64: {exc}") from None
        pieces += [view[position:start], placeholder.encode("ascii")]
        position = end
    if not images:
        return safejson.loads(body)
    pieces.append(view[position:])
    payload = safejson.loads(b"".join(pieces))
    return _put_back(payload, images)


def _put_back(payload: Any, images: dict[str, bytes]) -> Any:
    """Each placeholder string in ``payload`` replaced by its image's bytes (walked without recursion)."""
    pending = [payload]
    while pending:
        item = pending.pop()
        entries = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, value in list(entries):
            if isinstance(value, str) and value in images:
                item[key] = images[value]
            elif isinstance(value, (dict, list)):
                pending.append(value)
    return payload
