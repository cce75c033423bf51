"""What a run of bytes is: an image format known by its magic number, or not an image."""

from __future__ import annotations

# magic number -> (format name, file extension)
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png", "png"),
    (b"\xff\xd8\xff", 0, "jpeg", "jpg"),
    (b"GIF8", 0, "gif", "gif"),
)

EDIT_FORMATS = ("png", "jpeg", "webp")  # what an edit accepts as a source or a mask (the README says so)


def sniff_image_format(data: bytes) -> tuple[str, str] | None:
    """(format, extension) from the bytes' magic number, or None when they are no known image."""
    for magic, offset, name, ext in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "webp"
    return None
