"""PNG text chunks with the standard library: write an image's recipe into it, read it back.

Recipes go in iTXt chunks (UTF-8, so Chinese survives) plus a ``parameters`` chunk in the
"prompt / Negative prompt: … / Steps…" layout that AUTOMATIC1111-style tools and image viewers read.
The API key is never part of a recipe.
"""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from glm_image_cli import safejson
from glm_image_cli.safefile import open_regular

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 1 << 20  # one text chunk, stored or inflated: a recipe is a few kilobytes
MAX_PNG_BYTES = 256 << 20  # a whole file read for its text (`info`); the upstream sends at most 64 MiB
SOFTWARE_KEY = "Software"
RECIPE_KEYS = ("prompt", "prompt_sent", "negative_prompt", "style", "model", "size", "quality", "request_id",
               "created", "content_filter", "tool_version", "batch_key", "enhanced_prompt", "enhance_model",
               "source_images", "mask", "expansion",  # `edit`: the edited files (path, sha256) as JSON
               "check", "candidates")  # --check, --best-of: the vision verdict, every candidate's (storage/verdicts)


class PngError(ValueError):
    """The bytes are not a well-formed PNG (bad signature, truncated chunk or CRC mismatch)."""


def iter_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """(type, payload, offset of the chunk) for every chunk, checking lengths and CRCs."""
    if not data.startswith(PNG_SIGNATURE):
        raise PngError("not a PNG file")
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 12 > len(data):
            raise PngError("truncated chunk")
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise PngError("truncated chunk")
        payload = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:end])
        if zlib.crc32(kind + payload) != crc:
            raise PngError(f"CRC mismatch in {kind.decode('latin-1')}")
        yield kind, payload, offset
        offset = end
        if kind == b"IEND":
            return
    raise PngError("no IEND chunk")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def text_chunk(keyword: str, text: str) -> bytes:
    """tEXt when the text is Latin-1, else iTXt (UTF-8), as PNG readers expect."""
    key = keyword.encode("latin-1")[:79]
    try:
        return _chunk(b"tEXt", key + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return itxt_chunk(keyword, text)


def itxt_chunk(keyword: str, text: str) -> bytes:
    """An uncompressed international text chunk: keyword, flags, empty language tags, UTF-8 text."""
    key = keyword.encode("latin-1")[:79]
    return _chunk(b"iTXt", key + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8"))


def embed_text(png: bytes, fields: Mapping[str, str]) -> bytes:
    """A copy of ``png`` with the fields as text chunks right after IHDR (where readers look first)."""
    chunks = list(iter_chunks(png))
    if not chunks or chunks[0][0] != b"IHDR":
        raise PngError("IHDR is not the first chunk")
    insert_at = chunks[1][2] if len(chunks) > 1 else len(png)
    return png[:insert_at] + _text_chunks(fields) + png[insert_at:]


def read_text(png: bytes) -> dict[str, str]:
    """Every tEXt, zTXt and iTXt chunk as keyword -> text (later chunks win)."""
    fields: dict[str, str] = {}
    for kind, payload, _ in iter_chunks(png):
        field = _text_field(kind, payload)
        if field is not None:
            fields[field[0]] = field[1]
    return fields


def _text_field(kind: bytes, payload: bytes) -> tuple[str, str] | None:
    """(keyword, text) of a text chunk; None for other chunks and for a damaged one (it hides no other)."""
    try:
        if kind == b"tEXt":
            key, _, value = payload.partition(b"\x00")
            return key.decode("latin-1"), value.decode("latin-1")
        if kind == b"zTXt":
            key, _, rest = payload.partition(b"\x00")
            return key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1")
        if kind == b"iTXt":
            key, _, rest = payload.partition(b"\x00")
            compressed, _method = rest[0], rest[1]
            _language, _, rest = rest[2:].partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
            value = _inflate(text) if compressed else text
            return key.decode("latin-1"), value.decode("utf-8")
    except (zlib.error, UnicodeDecodeError, IndexError):
        return None
    return None


def _inflate(data: bytes) -> bytes:
    """A compressed text chunk's text, refused (zlib.error) past ``MAX_TEXT_BYTES``: a few kilobytes can
    inflate to gigabytes, and no recipe is near that long."""
    inflater = zlib.decompressobj()
    text = inflater.decompress(data, MAX_TEXT_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        raise zlib.error("text chunk too large or truncated")
    return text


_MAX_HEAD_CHUNKS = 64


def recipe_in_file(path: Any) -> dict[str, Any] | None:
    """The recipe of a PNG file, reading only its text chunks before the image data: cheap enough to look
    through a whole output folder (a batch resumes from its images when its manifest is gone)."""
    fields = text_before_pixels(path)
    return _recipe_from(fields) if fields is not None else None


def text_before_pixels(path: Any) -> dict[str, str] | None:
    """Every text chunk of a PNG file before its image data (None: no readable PNG)."""
    fields: dict[str, str] = {}
    try:
        with open_regular(path) as handle:  # a FIFO named *.png must not hang a resume
            if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                return None
            for _ in range(_MAX_HEAD_CHUNKS):
                header = handle.read(8)
                if len(header) < 8:
                    break
                (length,) = struct.unpack(">I", header[:4])
                kind = header[4:]
                if kind in (b"IDAT", b"IEND"):
                    break
                if kind in (b"tEXt", b"zTXt", b"iTXt") and length <= MAX_TEXT_BYTES:
                    field = _text_field(kind, handle.read(length))
                    handle.seek(4, 1)
                    if field is not None:
                        fields[field[0]] = field[1]
                else:
                    handle.seek(length + 4, 1)
    except OSError:
        return None
    return fields


def a1111_parameters(recipe: Mapping[str, Any]) -> str:
    """The text AUTOMATIC1111 writes: prompt line, "Negative prompt:" line, then "Key: value, …"."""
    lines = [str(recipe.get("prompt_sent") or recipe.get("prompt") or "")]
    if recipe.get("negative_prompt"):
        lines.append(f"Negative prompt: {recipe['negative_prompt']}")
    settings = [("Steps", "n/a"), ("Size", recipe.get("size")), ("Model", recipe.get("model")),
                ("Quality", recipe.get("quality")), ("Style", recipe.get("style")),
                ("Request id", recipe.get("request_id")), ("Version", recipe.get("tool_version"))]
    lines.append(", ".join(f"{name}: {value}" for name, value in settings if value))
    return "\n".join(lines)


def _recipe_fields(recipe: Mapping[str, Any]) -> dict[str, str]:
    fields = {key: _as_text(recipe.get(key)) for key in RECIPE_KEYS}
    fields[SOFTWARE_KEY] = f"glm-image {recipe.get('tool_version', '')}".strip()
    fields["parameters"] = a1111_parameters(recipe)
    return fields


def _text_chunks(fields: Mapping[str, str]) -> bytes:
    return b"".join(itxt_chunk(key, value) if key != "parameters" else text_chunk(key, value)
                    for key, value in fields.items() if value)


def embed_recipe(png: bytes, recipe: Mapping[str, Any]) -> bytes:
    """Write the recipe (one iTXt per field) plus Software and parameters chunks."""
    return embed_text(png, _recipe_fields(recipe))


def recipe_chunks(recipe: Mapping[str, Any]) -> bytes:
    """The recipe's text chunks, ready to go right after IHDR (see ``RecipeInserter``)."""
    return _text_chunks(_recipe_fields(recipe))


_IHDR_END = len(PNG_SIGNATURE) + 8 + 13 + 4  # signature, then IHDR: length, type, 13 bytes of data, CRC


class RecipeInserter:
    """Writes an image stream to a file, putting text chunks right after a PNG's IHDR as the bytes pass,
    so a large image is never held whole.  Other formats (and odd PNGs) are written unchanged."""

    def __init__(self, handle: BinaryIO, chunks: bytes | None) -> None:
        self.handle = handle
        self.chunks = chunks
        self.restart()

    def restart(self) -> None:
        """A retried download starts the file again."""
        self.handle.seek(0)
        self.handle.truncate()
        self._head = b""
        self._passing = not self.chunks

    def write(self, data: bytes) -> None:
        if self._passing:
            self.handle.write(data)
            return
        self._head += data
        if len(self._head) >= _IHDR_END:
            self._release()

    def finish(self) -> None:
        if not self._passing:
            self._release()

    def _release(self) -> None:
        head, self._head, self._passing = self._head, b"", True
        is_png = head.startswith(PNG_SIGNATURE) and head[len(PNG_SIGNATURE) + 4:len(PNG_SIGNATURE) + 8] == b"IHDR"
        if is_png and len(head) >= _IHDR_END and self.chunks:
            self.handle.write(head[:_IHDR_END] + self.chunks + head[_IHDR_END:])
        else:
            self.handle.write(head)


def read_recipe(png: bytes) -> dict[str, Any] | None:
    """The recipe glm-image wrote, or None for a PNG it did not make."""
    return _recipe_from(read_text(png))


def recipe_from_text(fields: Mapping[str, str]) -> dict[str, Any] | None:
    """The recipe among a PNG's text fields (``text_before_pixels``), or None for a PNG glm-image did not make."""
    return _recipe_from(fields)


def _recipe_from(fields: Mapping[str, str]) -> dict[str, Any] | None:
    if not fields.get(SOFTWARE_KEY, "").startswith("glm-image"):
        return None
    recipe: dict[str, Any] = {key: fields[key] for key in RECIPE_KEYS if key in fields}
    for key in ("content_filter", "source_images", "mask", "expansion", "check", "candidates"):
        if key in recipe:
            with contextlib.suppress(ValueError):
                recipe[key] = safejson.loads(recipe[key])
    return recipe


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
