"""Optional image format conversion with Pillow (the `convert` extra); everything else works without it."""

from __future__ import annotations

import io

from glm_image_cli.errors import UsageError

FORMATS = ("png", "jpeg", "webp", "original")
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


def converter_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def check_format_choice(target: str, explicit: bool) -> str:
    """Validate --format before any request; an explicit conversion without Pillow names the extra."""
    target = target.strip().lower().replace("jpg", "jpeg")
    if target not in FORMATS:
        raise UsageError("format_unknown", format=target, choices=", ".join(FORMATS))
    if explicit and target in ("jpeg", "webp") and not converter_available():
        raise UsageError("format_needs_pillow", format=target)
    return target


def convert(data: bytes, target: str) -> bytes:
    """Re-encode image bytes as ``target`` (png, jpeg or webp)."""
    from PIL import Image

    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # a ValueError like any undecodable answer: the bytes are kept
        raise ValueError(str(exc)) from None
    with opened as image:
        image.load()
        if target == "jpeg" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        options = {"quality": 92} if target in ("jpeg", "webp") else {}
        image.save(out, format=target.upper(), **options)
        return out.getvalue()
