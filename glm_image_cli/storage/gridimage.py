"""A labelled grid PNG of a compare's images: X across, Y down, the differing values as labels.

Pillow draws it (the `preview` extra).  Labels need a font with the values' characters: a CJK-capable font is
looked for where each OS keeps one; without one, Chinese labels become X1, Y2... and a legend beside the grid says
what they stand for in Latin text, where it can, and points at compare.json for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glm_image_cli.storage.atomic import write_atomic

# Fonts that draw Chinese, by OS: Linux packages (WenQuanYi, Noto/Source Han), macOS, Windows.
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansCN-Regular.otf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
)
CELL = 512  # the long side of a cell, in pixels
MAX_PIXELS = 64_000_000  # a larger picture is not decoded for a cell (as the terminal preview)
GAP = 8
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MISSING = (225, 225, 225)


@dataclass
class GridSpec:
    """What one grid shows: ``images[y][x]`` (None: no image for that cell), and the labels that differ."""

    images: list[list[Path | None]]
    column_labels: list[str]  # empty: no X labels (the X axis does not vary)
    row_labels: list[str]
    title: str = ""  # a Z axis's value, or nothing


@dataclass
class GridResult:
    path: Path
    width: int
    height: int
    legend: list[str]  # "X1 = 水彩": what short labels stand for, when the font could not draw the values


def find_cjk_font(candidates: Sequence[str] = CJK_FONTS) -> str | None:
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return str(path)
    return None


def pillow_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def _font(path: str | None, size: int) -> Any:
    from PIL import ImageFont

    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def _latin(text: str) -> bool:
    return all(ord(ch) < 0x250 for ch in text)


def cell_box(paths: Sequence[Path], cell: int = CELL) -> tuple[int, int]:
    """The box every image is fitted into: the largest width and height among them, scaled to ``cell`` on the
    long side (images of another shape are letterboxed)."""

    widest, tallest = 1, 1
    for path in paths:
        size = _size(path)
        if size is not None:
            widest, tallest = max(widest, size[0]), max(tallest, size[1])
    scale = cell / max(widest, tallest)
    return max(1, round(widest * scale)), max(1, round(tallest * scale))


def _size(path: Path) -> tuple[int, int] | None:
    """An image's size from its header, or None when it is no image we draw: unreadable, not a regular file, or
    larger than MAX_PIXELS (a file in the folder is anyone's; a bomb is shown as an empty cell)."""
    from PIL import Image

    try:
        if not path.is_file() or path.is_symlink():
            return None
        with Image.open(path) as image:
            size = image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return size if 0 < size[0] * size[1] <= MAX_PIXELS else None


def _picture(path: Path, box: tuple[int, int]) -> Any:
    """The image fitted into ``box`` (small ones grow), or None when ``_size`` refuses it or it cannot be decoded."""
    from PIL import Image, ImageOps

    if _size(path) is None:
        return None
    try:
        with Image.open(path) as image:
            return ImageOps.contain(image.convert("RGB"), box)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def draw_grid(spec: GridSpec, target: Path, *, font_path: str | None, cell: int = CELL) -> GridResult:
    """Draw and write the grid atomically (PNG).  Labels the font cannot draw become X1/Y1 with a legend."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    present = [path for row in spec.images for path in row if path is not None]
    box_w, box_h = cell_box(present, cell) if present else (cell, cell)
    font_size = max(14, cell // 18)
    font = _font(font_path, font_size)
    columns, rows = spec.column_labels, spec.row_labels
    legend: list[str] = []
    if font_path is None and not all(_latin(text) for text in [*columns, *rows, spec.title]):
        legend = [f"X{i} = {text}" for i, text in enumerate(columns, 1)] + \
                 [f"Y{i} = {text}" for i, text in enumerate(rows, 1)]
        columns = [f"X{i}" for i in range(1, len(columns) + 1)]
        rows = [f"Y{i}" for i in range(1, len(rows) + 1)]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def width_of(text: str) -> int:
        return int(measure.textlength(text, font=font))

    line = font_size + font_size // 2
    top = (line + GAP if columns else 0) + (line + GAP if spec.title else 0)
    left = min(max((width_of(text) for text in rows), default=0) + 2 * GAP, box_w) if rows else 0
    legend_lines = [_legend_text(text) for text in legend]
    legend_w = max((width_of(text) for text in legend_lines), default=0) + 2 * GAP if legend else 0
    n_rows, n_cols = len(spec.images), max(len(row) for row in spec.images)
    width = left + n_cols * box_w + (n_cols + 1) * GAP + legend_w
    height = top + n_rows * box_h + (n_rows + 1) * GAP
    height = max(height, len(legend_lines) * line + 2 * GAP)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    y0 = GAP
    if spec.title:
        draw.text((left + GAP, y0), _fit(spec.title, width - left - 2 * GAP, width_of), font=font, fill=INK)
        y0 += line + GAP
    for x, text in enumerate(columns):
        x0 = left + GAP + x * (box_w + GAP)
        shown = _fit(text, box_w, width_of)
        draw.text((x0 + (box_w - width_of(shown)) // 2, y0), shown, font=font, fill=INK)
    for y, row in enumerate(spec.images):
        y1 = top + GAP + y * (box_h + GAP)
        if rows:
            shown = _fit(rows[y], left - 2 * GAP, width_of)
            draw.text((GAP, y1 + (box_h - line) // 2), shown, font=font, fill=INK)
        for x, path in enumerate(row):
            x1 = left + GAP + x * (box_w + GAP)
            picture = _picture(path, (box_w, box_h)) if path is not None else None
            if picture is None:
                draw.rectangle((x1, y1, x1 + box_w - 1, y1 + box_h - 1), fill=MISSING)
                continue
            canvas.paste(picture, (x1 + (box_w - picture.width) // 2, y1 + (box_h - picture.height) // 2))
    for number, text in enumerate(legend_lines):
        draw.text((width - legend_w + GAP, GAP + number * line), text, font=font, fill=INK)
    data = BytesIO()
    canvas.save(data, format="PNG")
    write_atomic(target, data.getvalue(), durable=False)
    return GridResult(target, width, height, legend)


def _legend_text(entry: str) -> str:
    """``X1 = 水彩`` drawn in Latin text: what the font cannot draw is left to compare.json."""
    key, _, value = entry.partition(" = ")
    return f"{key} = {value}" if _latin(value) else f"{key} = (compare.json)"


def _fit(text: str, room: int, width_of: Any) -> str:
    if width_of(text) <= room:
        return text
    while text and width_of(text + "…") > room:
        text = text[:-1]
    return text + "…"
