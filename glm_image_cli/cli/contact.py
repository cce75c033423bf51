"""Contact sheets: thumbnails of several images on one PNG, optionally labelled with each image's prompt.

Needs Pillow (the ``preview`` extra).  Labels are often Chinese, so they are drawn only with a CJK-capable
font found on the system (fc-match, then common paths); without one the sheet has no labels.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import struct
import subprocess
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from glm_image_cli.messages import Text
from glm_image_cli.safefile import read_regular

MAX_PIXELS = 64_000_000  # 8000 × 8000: larger pictures are not decoded to be shown (a 30000² one needs 2.7 GB)
MAX_FILE_BYTES = 256 << 20  # an image file read to be shown; the upstream sends at most 64 MiB
THUMB = 256  # each thumbnail fits a THUMB × THUMB box
GAP = 8
LABEL_HEIGHT = 28
BACKGROUND = (24, 24, 24)
LABEL_COLOR = (230, 230, 230)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
CJK_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


class PillowMissing(RuntimeError):
    """Pillow is needed for this picture (scaling, Sixel, half blocks, contact sheets) and is not installed."""


def load_pillow() -> Any:
    """``PIL.Image``, or PillowMissing."""
    try:
        from PIL import Image
    except ImportError:
        raise PillowMissing() from None
    return Image


class ImageTooLarge(ValueError):
    """The picture declares more than ``MAX_PIXELS`` pixels: refused before any pixel is decoded."""

    def __init__(self, width: int, height: int, pixels: int = 0) -> None:
        super().__init__(width, height)
        self.width, self.height, self.pixels = width, height, pixels or width * height

    def __str__(self) -> str:
        if self.width and self.height:
            return str(Text("detail_image_too_large", width=self.width, height=self.height, limit=MAX_PIXELS))
        return str(Text("detail_image_too_many_pixels", pixels=self.pixels, limit=MAX_PIXELS))


def open_picture(source: Path | bytes) -> Any:
    """A decoded Pillow image from a regular file (a FIFO or device is refused, see ``read_regular``) or from
    bytes.  Its size is read from the header first: more than ``MAX_PIXELS`` raises ImageTooLarge (a
    ValueError), Pillow's own decompression-bomb check included, so a bomb costs neither time nor memory."""
    image_module = load_pillow()
    data = read_regular(source, MAX_FILE_BYTES) if isinstance(source, Path) else source
    with warnings.catch_warnings():
        warnings.simplefilter("error", image_module.DecompressionBombWarning)
        try:
            picture = image_module.open(io.BytesIO(data))
        except (image_module.DecompressionBombError, image_module.DecompressionBombWarning) as exc:
            width, height = _declared_size(data)  # Pillow names only the pixel count, other formats than PNG too
            counted = re.search(r"\((\d+) pixels\)", str(exc))
            raise ImageTooLarge(width, height, int(counted.group(1)) if counted else 0) from None
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(width, height)
    picture.load()
    return picture


def _declared_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR; (0, 0) for another format (only named in the message)."""
    if data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 0, 0


def grid_columns(count: int, columns: int | None = None) -> int:
    return max(1, min(count, columns or math.ceil(math.sqrt(count))))


def images_in(targets: Iterable[Path]) -> list[Path]:
    """The image files named, a folder standing for its images (sorted by name)."""
    found: list[Path] = []
    for target in targets:
        if target.is_dir():
            found.extend(sorted(p for p in target.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        else:
            found.append(target)
    return found


def cjk_font() -> str | None:
    """A font file that has Chinese glyphs, or None."""
    if shutil.which("fc-match"):
        try:
            answer = subprocess.run(["fc-match", "-f", "%{file}\n%{lang}", ":lang=zh"], capture_output=True,
                                    text=True, timeout=3, check=False)
        except (OSError, subprocess.SubprocessError):
            answer = None
        if answer is not None and answer.returncode == 0:
            file, _, langs = answer.stdout.partition("\n")
            if file and any(lang.startswith("zh") for lang in langs.split("|")) and Path(file).is_file():
                return file
    return next((path for path in CJK_FONT_PATHS if Path(path).is_file()), None)


def sheet_size(count: int, columns: int | None = None, labels: bool = False) -> tuple[int, int]:
    """The sheet's pixel size for ``count`` images."""
    cols = grid_columns(count, columns)
    rows = -(-count // cols)
    cell_height = THUMB + (LABEL_HEIGHT if labels else 0)
    return cols * THUMB + (cols + 1) * GAP, rows * cell_height + (rows + 1) * GAP


def label_of(path: Path) -> str:
    from glm_image_cli.storage.pngmeta import recipe_in_file

    try:
        recipe = recipe_in_file(path) or {}
    except (OSError, ValueError):
        recipe = {}
    return str(recipe.get("prompt") or path.name)


def contact_sheet(paths: list[Path], *, columns: int | None = None, labels: bool = False,
                  skipped: Callable[[Path, Exception], None] | None = None) -> tuple[Any, bool]:
    """(the sheet as a Pillow image, whether labels were drawn).  Unreadable or too large images leave an empty
    cell, and ``skipped`` is told which and why."""
    image_module = load_pillow()
    from PIL import ImageDraw, ImageFont

    font = None
    if labels:
        font_path = cjk_font()
        if font_path is not None:
            try:
                font = ImageFont.truetype(font_path, 16)
            except OSError:
                font = None
    drawn = font is not None
    width, height = sheet_size(len(paths), columns, drawn)
    cols = grid_columns(len(paths), columns)
    sheet = image_module.new("RGB", (width, height), BACKGROUND)
    pen = ImageDraw.Draw(sheet)
    cell_height = THUMB + (LABEL_HEIGHT if drawn else 0)
    for number, path in enumerate(paths):
        left = GAP + (number % cols) * (THUMB + GAP)
        top = GAP + (number // cols) * (cell_height + GAP)
        try:
            with open_picture(path) as picture:
                thumb = picture.convert("RGB")
                thumb.thumbnail((THUMB, THUMB))
        except (OSError, ValueError) as exc:
            if skipped is not None:
                skipped(path, exc)
            continue
        sheet.paste(thumb, (left + (THUMB - thumb.width) // 2, top + (THUMB - thumb.height) // 2))
        if drawn:
            pen.text((left, top + THUMB + 4), _fit(pen, label_of(path), font, THUMB), fill=LABEL_COLOR, font=font)
    return sheet, drawn


def _fit(pen: Any, text: str, font: Any, width: int) -> str:
    text = " ".join(text.split())
    if pen.textlength(text, font=font) <= width:
        return text
    while text and pen.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet_png(paths: list[Path], *, columns: int | None = None, labels: bool = False,
                      skipped: Callable[[Path, Exception], None] | None = None) -> tuple[bytes, bool]:
    sheet, drawn = contact_sheet(paths, columns=columns, labels=labels, skipped=skipped)
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue(), drawn
