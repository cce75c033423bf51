"""`compare`: one picture made several ways, along one to three axes, as one journaled run.

The idea is AUTOMATIC1111's X/Y/Z plot script (scripts/xyz_grid.py in stable-diffusion-webui): axes of values,
their cross product, and a grid labelled with the values that differ.  What is here is our own: every cell becomes
one item of an ordinary batch (core/batch.py), so validation, prices, consent, the folder lock, the manifest and
never-paying-twice are the batch's own; this module only turns axes into cells and cells into batch items, and
describes the result (compare.json).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from glm_image_cli.core.batchinput import RawItem
from glm_image_cli.errors import UsageError
from glm_image_cli.storage.files import slugify

# The parameters an axis may vary, in the order `compare --help` lists them.
AXIS_NAMES = ("model", "style", "size", "quality", "negative", "enhance", "prompt-sr")
PROMPT_AXIS = "prompt"  # not a flag: the prompts a PROMPT's {a|b} alternatives and __name__ wildcards stand for
ROLES = ("x", "y", "z")
MAX_VALUES = 32  # per axis: a grid wider than this is no longer something to look at
COMPARE_FILE = "compare.json"
COMPARE_VERSION = 1


@dataclass(frozen=True)
class Axis:
    """One parameter and the values it takes, in the order given (X across, Y down, Z one grid each)."""

    name: str
    values: tuple[str, ...]

    @property
    def varies(self) -> bool:
        return len(self.values) > 1


@dataclass(frozen=True)
class Cell:
    """One combination of axis values: ``position`` is its (x, y, z) index, ``values`` its value per axis."""

    number: int
    position: tuple[int, int, int]
    values: tuple[tuple[str, str], ...]

    def value(self, axis: str) -> str | None:
        return dict(self.values).get(axis)

    def label(self) -> str:
        """``model=cogview-4, style=水彩``: how the cell is named in messages."""
        return ", ".join(f"{name}={value}" for name, value in self.values)


def split_values(text: str) -> list[str]:
    """``a,b,c`` (an ASCII or a Chinese comma between values; ``\\,`` is a literal comma), blanks dropped."""
    values, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",，":
            values.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if escaped:
        current.append("\\")
    values.append("".join(current).strip())
    return [value for value in values if value]


def parse_axis(name: str, text: str) -> Axis:
    """An axis from its flag's text, checked for what can be checked without settings."""
    from glm_image_cli.storage.settingspec import InvalidValue, on_off

    values = split_values(text)
    flag = f"--{name}"
    if not values:
        raise UsageError("compare_axis_empty", flag=flag)
    if name == "enhance":
        try:
            values = ["on" if on_off(value) else "off" for value in values]
        except InvalidValue:
            raise UsageError("compare_axis_enhance", flag=flag, value=text) from None
    if name == "prompt-sr" and len(values) < 2:
        raise UsageError("compare_prompt_sr_short", flag=flag)
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise UsageError("compare_axis_duplicate", flag=flag, value=duplicates[0])
    if len(values) > MAX_VALUES:
        raise UsageError("compare_axis_long", flag=flag, count=len(values), limit=MAX_VALUES)
    return Axis(name, tuple(values))


def check_axes(prompt: str, axes: Sequence[Axis]) -> None:
    """One to three axes, each parameter once, and a search term that is in the prompt."""
    if not any(axis.varies for axis in axes):
        raise UsageError("compare_no_axes")
    if len(axes) > len(ROLES):
        raise UsageError("compare_too_many_axes", count=len(axes))
    for axis in axes:
        if axis.name not in (*AXIS_NAMES, PROMPT_AXIS):
            raise UsageError("compare_axis_unknown", name=axis.name, names=", ".join(AXIS_NAMES))
        if axis.name == "prompt-sr" and axis.values[0] not in prompt:
            raise UsageError("compare_prompt_sr_missing", term=axis.values[0])


def make_cells(axes: Sequence[Axis]) -> list[Cell]:
    """The cross product, X varying fastest, then Y, then Z: the order of reading a grid, grid by grid."""
    ranges = [range(len(axis.values)) for axis in axes] + [range(1)] * (len(ROLES) - len(axes))
    cells = []
    for number, (z, y, x) in enumerate(itertools.product(*reversed(ranges)), 1):
        position = (x, y, z)
        values = tuple((axis.name, axis.values[index]) for axis, index in zip(axes, position, strict=False))
        cells.append(Cell(number, position, values))
    return cells


def cell_prompt(prompt: str, cell: Cell, axes: Sequence[Axis]) -> str:
    """The cell's prompt (its alternative, when the prompt has some), with --prompt-sr's first term replaced by
    the cell's value (the first value keeps it)."""
    prompt = cell.value(PROMPT_AXIS) or prompt
    for axis in axes:
        if axis.name == "prompt-sr":
            return prompt.replace(axis.values[0], cell.value("prompt-sr") or axis.values[0])
    return prompt


def cell_fields(prompt: str, cell: Cell, axes: Sequence[Axis], name: str) -> dict[str, Any]:
    """A batch line for the cell: the prompt and the axis values as its fields, and its file name."""
    fields: dict[str, Any] = {"prompt": cell_prompt(prompt, cell, axes), "name": name}
    for axis_name, value in cell.values:
        if axis_name == "enhance":
            fields["enhance"] = value == "on"
        elif axis_name not in ("prompt-sr", PROMPT_AXIS):
            fields[axis_name] = value
    return fields


def cell_names(cells: Sequence[Cell], axes: Sequence[Axis]) -> list[str]:
    """Each cell's file name from the values that differ (``cogview-4_水彩``); equal slugs get ``-2``, ``-3``."""
    varying = {axis.name for axis in axes if axis.varies}
    order = (*AXIS_NAMES, PROMPT_AXIS)  # the same cell has the same name whatever order the axes were typed in
    names: list[str] = []
    for cell in cells:
        parts = [slugify(value, 40) for name, value in sorted(cell.values, key=lambda pair: order.index(pair[0]))
                 if name in varying]
        base = "_".join(parts) or "image"
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}-{count}"
        names.append(name)
    return names


def with_alternatives(prompt: str, axes: Sequence[Axis], wildcards: Any = None) -> tuple[str, list[Axis]]:
    """A prompt with ``{a|b}`` alternatives or ``__name__`` wildcards (core/expand.py) compares its prompts too:
    they become one more axis, ``prompt``, after the ones given.  Without them: the prompt, escapes resolved."""
    from glm_image_cli.core.expand import expand

    if wildcards is None:
        from glm_image_cli.core.prompting import wildcard_folders

        wildcards = wildcard_folders()
    prompts = list(dict.fromkeys(item.prompt for item in expand(prompt, wildcards=wildcards, limit=MAX_VALUES)))
    if len(prompts) == 1:
        return prompts[0], list(axes)
    return prompts[0], [*axes, Axis(PROMPT_AXIS, tuple(prompts))]


def raw_items(prompt: str, axes: Sequence[Axis], wildcards: Any = None) -> tuple[list[Cell], list[RawItem],
                                                                                  list[Axis]]:
    """The cells, one batch item per cell (its ``line`` is the cell's number), and the axes (with ``prompt``
    when the prompt has alternatives)."""
    prompt, axes = with_alternatives(prompt, axes, wildcards)
    check_axes(prompt, axes)
    cells = make_cells(axes)
    names = cell_names(cells, axes)
    items = [RawItem(cell.number, cell_fields(prompt, cell, axes, name)) for cell, name in zip(cells, names,
                                                                                                strict=True)]
    return cells, items, list(axes)


def plan_cells(prompt: Any, axes: Sequence[Axis], *, samples: int, max_images: int,
               wildcards: Any = None) -> tuple[list[Cell], list[RawItem], list[Axis]]:
    """Everything checked before a compare is prepared, for every front end: a prompt, ``samples`` per cell in
    range, the cells (``raw_items``), and no more than ``max_images`` images in all (refused with the count)."""
    from glm_image_cli.backends import models

    if not isinstance(prompt, str) or not prompt.strip():
        raise UsageError("compare_empty_prompt")
    models.check_samples(samples)
    cells, items, axes = raw_items(prompt, axes, wildcards)
    if len(cells) * samples > max_images:
        raise UsageError("compare_too_many", count=len(cells) * samples, cells=len(cells), samples=samples,
                         limit=max_images)
    for item in items:
        item.fields["n"] = samples
    return cells, items, axes


def folder_name(prompt: str, axes: Sequence[Axis]) -> str:
    """The default output folder of a compare: the same prompt and axes find the same folder (and resume)."""
    # The axes sorted: typed in another order they are the same cells, in the same folder (nothing bought twice)
    identity = json.dumps([prompt, sorted([axis.name, sorted(axis.values)] for axis in axes)], ensure_ascii=False)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"compare-{slugify(prompt, 24)}-{digest}"


def describe(prompt: str, axes: Sequence[Axis], cells: Sequence[Cell], files: Mapping[int, list[str]],
             recipes: Mapping[int, list[dict[str, Any]]], errors: Mapping[int, str], grids: Sequence[str],
             fixed: Mapping[str, Any]) -> dict[str, Any]:
    """compare.json: the axes, every cell with its values, files and recipes, and the grids (paths relative to
    the folder).  Serve's /compare and MCP's compare_images answer with the same object."""
    return {
        "version": COMPARE_VERSION,
        "prompt": prompt,
        "fixed": dict(fixed),
        "axes": [{"role": role, "name": axis.name, "values": list(axis.values)} for role, axis in zip(ROLES, axes,
                                                                                                      strict=False)],
        "cells": [{"number": cell.number, "position": list(cell.position), "values": dict(cell.values),
                   "files": files.get(cell.number, []), "recipes": recipes.get(cell.number, []),
                   **({"error": errors[cell.number]} if cell.number in errors else {})} for cell in cells],
        "grids": list(grids),
    }
