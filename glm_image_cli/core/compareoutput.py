"""What a finished compare leaves beside its images: the labelled grid(s) and compare.json.

Read back from the folder (the batch's index and the images' recipes), so a compare finished over several runs
(Ctrl-C, then the same command again) is described as a whole, and nothing here depends on the run in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.compare import COMPARE_FILE, ROLES, Axis, Cell, describe
from glm_image_cli.messages import Text
from glm_image_cli.storage.atomic import write_atomic
from glm_image_cli.storage.files import slugify

if TYPE_CHECKING:
    from glm_image_cli.core.batch import BatchItem
    from glm_image_cli.storage.config import ResolvedConfig


@dataclass
class CompareOutput:
    """compare.json's content and where it was written, the grids drawn, and what the user should be told."""

    document: dict[str, Any]
    path: Path
    grids: list[Path] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)


def axis_label(axis: Axis, value: str) -> str:
    """A grid label: the value alone where it speaks for itself, else ``name: value``."""
    if axis.name == "enhance":
        return f"enhance {value}"
    if axis.name == "negative":
        return f"negative: {value}"
    return value


def fixed_settings(settings: ResolvedConfig, axes: Sequence[Axis]) -> dict[str, Any]:
    """What every cell shares that no axis varies (compare.json's ``fixed``)."""
    varied = {axis.name for axis in axes}
    shared = {"model": settings.model, "size": settings.size, "style": settings.style, "quality": settings.quality}
    return {key: value for key, value in shared.items() if value and key not in varied}


def finish_compare(folder: Path, prompt: str, axes: Sequence[Axis], cells: Sequence[Cell],
                   items: Sequence[BatchItem], *, settings: ResolvedConfig, invalid: Mapping[int, str],
                   font_path: str | None = None, draw: bool = True) -> CompareOutput:
    """Find each cell's images, draw one grid per Z value (X across, Y down; the first image of a cell), and
    write compare.json.  Without Pillow the grids are skipped with a note naming the extra."""
    from glm_image_cli.core.batch import images_on_disk, work_units
    from glm_image_cli.storage.pngmeta import recipe_in_file

    units = work_units(items)
    found = images_on_disk(folder, {unit.key for unit in units})
    files: dict[int, list[str]] = {}
    recipes: dict[int, list[dict[str, Any]]] = {}
    first: dict[int, Path] = {}
    for unit in sorted(units, key=lambda unit: (unit.item.line, unit.sample)):
        path = found.get(unit.key)
        if path is None or path.parent != folder:  # --best-of: the others wait in candidates/
            continue
        number = unit.item.line  # a compare's items carry their cell's number as their line
        files.setdefault(number, []).append(path.relative_to(folder).as_posix())
        recipes.setdefault(number, []).append(recipe_in_file(path) or {})
        first.setdefault(number, path)
    errors = dict(invalid)
    for cell in cells:
        if cell.number not in files and cell.number not in errors:
            errors[cell.number] = "not made"
    output = CompareOutput(document={}, path=folder / COMPARE_FILE)
    grid_names: list[str] = []
    if draw and first:
        grid_names = _draw_grids(folder, axes, cells, first, font_path, output)
    output.document = describe(prompt, axes, cells, files, recipes, errors, grid_names,
                               fixed_settings(settings, axes))
    import json

    write_atomic(output.path, json.dumps(output.document, ensure_ascii=False, indent=2) + "\n", durable=False)
    return output


def _draw_grids(folder: Path, axes: Sequence[Axis], cells: Sequence[Cell], first: Mapping[int, Path],
                font_path: str | None, output: CompareOutput) -> list[str]:
    from glm_image_cli.storage.gridimage import GridSpec, draw_grid, find_cjk_font, pillow_available

    if not pillow_available():
        output.notes.append(Text("compare_grid_needs_pillow"))
        return []
    roles = dict(zip(ROLES, axes, strict=False))
    x_axis, y_axis, z_axis = roles.get("x"), roles.get("y"), roles.get("z")
    font = font_path or find_cjk_font()
    columns = [axis_label(x_axis, v) for v in x_axis.values] if x_axis is not None and x_axis.varies else []
    rows = [axis_label(y_axis, v) for v in y_axis.values] if y_axis is not None and y_axis.varies else []
    width = len(x_axis.values) if x_axis is not None else 1
    height = len(y_axis.values) if y_axis is not None else 1
    depth = len(z_axis.values) if z_axis is not None else 1
    by_position = {cell.position: cell for cell in cells}
    names = []
    for z in range(depth):
        images = [[first.get(by_position[(x, y, z)].number) for x in range(width)] for y in range(height)]
        title, name = "", "grid.png"
        if z_axis is not None and z_axis.varies:
            title = f"{z_axis.name}: {z_axis.values[z]}"
            name = f"grid-{z + 1}-{slugify(z_axis.values[z], 40)}.png"
        result = draw_grid(GridSpec(images, columns, rows, title), folder / name, font_path=font)
        output.grids.append(result.path)
        names.append(name)
        if result.legend and not any(note.message_id == "compare_grid_legend" for note in output.notes):
            output.notes.append(Text("compare_grid_legend", legend="; ".join(result.legend)))
    return names
