"""A compare for library callers, serve and the MCP server: ``Studio.compare``.

The same steps as the CLI's compare (which adds live progress and a summary): the axes into cells, the cells
into a batch prepared against the Studio's settings, the Studio's budget hold and consent, its runner and drain
with the folder's manifest as journal, then the grid and compare.json.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.compare import Axis, Cell, folder_name, parse_axis, plan_cells
from glm_image_cli.errors import UsageError

if TYPE_CHECKING:
    from glm_image_cli.core.compareoutput import CompareOutput
    from glm_image_cli.core.consent import Consent, Estimate
    from glm_image_cli.core.results import Cancel, Notice, Run
    from glm_image_cli.core.runner import Event
    from glm_image_cli.core.studio import Studio


@dataclass
class CompareRun:
    """What a compare made: compare.json's content (``document``), its path and the grids, the estimate shown
    before, the underlying run (cost, errors), and the invalid cells left out (``--skip-invalid``)."""

    document: dict[str, Any]
    path: Path
    grids: list[Path]
    estimate: Estimate
    run: Run | None
    invalid: dict[int, str] = field(default_factory=dict)
    notes: list[Any] = field(default_factory=list)


def axes_from(spec: Mapping[str, Sequence[str] | str]) -> list[Axis]:
    """``{"model": ["a", "b"], "style": "x,y"}`` (lists, or comma-separated text), in the mapping's order."""
    axes = []
    for name, values in spec.items():
        key = str(name).replace("_", "-")
        if isinstance(values, str):
            axes.append(parse_axis(key, values))
        elif isinstance(values, list | tuple) and all(isinstance(value, str) for value in values):
            # Each value as given: a comma inside one is part of it
            axes.append(parse_axis(key, ",".join(value.replace("\\", "\\\\").replace(",", "\\,")
                                                for value in values)))
        else:
            raise UsageError("api_bad_argument", name=f"axes[{name!r}]", expected="a list of text",
                             got=type(values).__name__)
    return axes


def compare(studio: Studio, prompt: str, axes: Sequence[Axis], *, output_dir: str | Path | None = None,
            samples: int = 1, skip_invalid: bool = False, max_images: int = 100, consent: Consent | None = None,
            on_event: Callable[[Event], None] = lambda _: None, on_notice: Callable[[Notice], None] = lambda _: None,
            cancel: Cancel | None = None, font: str | None = None, dry_run: bool = False) -> CompareRun:
    """Make every cell of ``axes`` into ``output_dir`` (default: a folder under `output-dir` named by the prompt
    and axes, so the same call resumes there), then draw the grid and write compare.json."""
    import os

    from glm_image_cli.core.compareoutput import finish_compare
    from glm_image_cli.core.consent import estimate_run
    from glm_image_cli.core.runner import SaveImages
    from glm_image_cli.core.session import BatchRequest, prepare_batch

    folder_axes = list(axes)
    cells, items, axes = plan_cells(prompt, axes, samples=samples, max_images=max_images)
    folder = Path(os.path.expanduser(str(output_dir))) if output_dir is not None else \
        Path(os.path.expanduser(studio.settings.output_dir)) / folder_name(prompt, folder_axes)
    invalid: dict[int, str] = {}
    request = BatchRequest(input_path=prompt, samples=samples, output_dir=folder, skip_invalid=skip_invalid,
                           dry_run=dry_run, raw_items=items, command="compare")

    def report_invalid(errors: list[Any]) -> None:
        invalid.update({error.line: error.message for error in errors})
        if not skip_invalid:
            first = min(invalid)
            raise UsageError("compare_invalid_cell", count=len(errors), number=first,
                             cell=_cell(cells, first).label(), message=invalid[first])

    prepared = prepare_batch(request, settings=studio.settings, on_invalid=report_invalid)
    estimate = estimate_run(prepared.cfg, prepared.selection.images_per_model())
    if dry_run:
        return CompareRun({}, folder, [], estimate, None, invalid)
    spend = None
    try:
        spend = studio.hold_batch(prepared.selection, partial=False, consent=consent, on_notice=on_notice)
        selection, manifest = prepared.selection, prepared.manifest
        recovered = {unit.key: image for unit in selection.recoverable
                     if (image := manifest.recorded_image(unit)) is not None}
        run = studio.run_units([*selection.recoverable, *selection.to_run], delivery=SaveImages(prepared.saver),
                               spend=spend, journal=manifest, recovered=recovered, on_event=on_event,
                               on_notice=on_notice, cancel=cancel, saver=prepared.saver)
    finally:
        prepared.release()
        if spend is not None:
            spend.release()
    output: CompareOutput = finish_compare(prepared.folder, prompt, axes, cells, prepared.items,
                                           settings=prepared.cfg, invalid=invalid, font_path=font)
    return CompareRun(output.document, output.path, output.grids, estimate, run, invalid, list(output.notes))


def _cell(cells: Sequence[Cell], number: int) -> Cell:
    return next(cell for cell in cells if cell.number == number)
