"""An upstream answer that carries its image inline (``"b64_json": "..."``) read with the fewest copies of it.

Read whole and parsed, an 8 MB image's answer is held four times over at once: the body (10.7 MB of base64),
its text decoded, the parsed string, and the bytes decoded from that.  ``InlineImageReader`` takes the body as
it arrives and decodes each ``b64_json`` string on the way into the image's own buffer, keeping only the JSON
around it: about one image size per answer.
"""

from __future__ import annotations

import binascii
import re
import secrets
from typing import Any

from glm_image_cli import safejson


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


_KEY = re.compile(rb'"b64_json"\s*:\s*"')
_KEY_SPAN = 64  # a key split across two pieces is found when the next one arrives


class InlineImageReader:
    """``feed`` an answer's bytes as they arrive, then ``result()``: the JSON with each ``b64_json`` string
    already decoded (a ``bytearray``).  ValueError for invalid base64, an answer over ``max_bytes``, or text
    that is not JSON (from ``result``)."""

    def __init__(self, max_bytes: int = safejson.MAX_BYTES) -> None:
        self._text = bytearray()  # the answer without the images' base64 (a placeholder stands in each)
        self._images: dict[str, bytearray] = {}
        self._image: bytearray | None = None  # the one being decoded, between its quotes
        self._carry = b""  # base64 characters not yet a whole group of four
        self._floor = 0  # where a key may start: past the last image's placeholder
        self._token = f"glm-image-inline-{secrets.token_hex(8)}-"
        self._left = max_bytes

    def feed(self, piece: bytes) -> None:
        self._left -= len(piece)
        if self._left < 0:
            raise safejson.UnsafeJson("the answer is too large")
        while piece:
            piece = self._feed_text(piece) if self._image is None else self._feed_image(piece)

    def _feed_text(self, piece: bytes) -> bytes:
        start = len(self._text)
        self._text += piece
        match = _KEY.search(self._text, max(self._floor, start - _KEY_SPAN))
        if match is None:
            return b""
        rest = bytes(self._text[match.end():])
        del self._text[match.end():]
        placeholder = f"{self._token}{len(self._images)}"
        self._text += placeholder.encode("ascii")
        self._image = self._images[placeholder] = bytearray()
        return rest

    def _feed_image(self, piece: bytes) -> bytes:
        end = piece.find(b'"')
        self._decode(piece if end < 0 else piece[:end], last=end >= 0)
        if end < 0:
            return b""
        self._image = None
        self._floor = len(self._text)
        return piece[end:]  # the closing quote and what follows are JSON again

    def _decode(self, part: bytes, *, last: bool) -> None:
        data = self._carry + part
        if b"\\" in data:  # JSON may escape "/" as "\/" (and wrap lines as "\n")
            keep = b"\\" if data.endswith(b"\\") and not last else b""
            data = data[:len(data) - len(keep)].replace(b"\\/", b"/").replace(b"\\n", b"").replace(b"\\r", b"")
            if b"\\" in data:
                raise ValueError("invalid base64: an escape that base64 has no use for")
        else:
            keep = b""
        whole = len(data) if last else len(data) - len(data) % 4
        if last and whole % 4:
            raise ValueError("invalid base64: incomplete padding")
        try:
            self._image += binascii.a2b_base64(data[:whole], strict_mode=True) if whole else b""  # type: ignore[operator]
        except binascii.Error as exc:
            raise ValueError(f"invalid base64: {exc}") from None
        self._carry = data[whole:] + keep

    def result(self) -> Any:
        if self._image is not None:
            raise ValueError("the answer ended inside an image's base64")
        payload = safejson.loads(bytes(self._text))
        return _put_back(payload, self._images) if self._images else payload
