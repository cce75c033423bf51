"""`glm-image compare`: one prompt made along one to three axes, a labelled grid and compare.json.

A thin adapter: the axes become a compare's cells (core/compare.py), the cells run as a batch (the batch's
validation, consent, journal and summary), and the finished folder is described by core/compareoutput.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from glm_image_cli.cli.commands.common import (
    ConcurrencyOption,
    NoHistoryOption,
    NoMetadataOption,
    OutputDirOption,
    RetryUnsafeOption,
    TimeoutOption,
    YesOption,
    state_of,
)
from glm_image_cli.cli.commands.completion import complete_model, complete_quality, complete_size, complete_style
from glm_image_cli.cli.commands.generating import (
    BestOfOption,
    CheckOption,
    DiscardOption,
    PreviewOption,
    WildcardsOption,
    vision_setup,
)
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.cli.commands.common import RunState
    from glm_image_cli.core.batch import BatchSummary
    from glm_image_cli.core.batchinput import LineError
    from glm_image_cli.core.compare import Axis, Cell
    from glm_image_cli.core.session import PreparedBatch

HELP = help_text("cmd.compare")


def _axis_option(flag: str, help_id: str, short: str | None = None, complete: Any = None) -> Any:
    """An axis: comma-separated values; TAB offers the same values as the setting's own flag."""
    names = [flag, short] if short else [flag]
    return typer.Option(*names, help=help_text(help_id), show_default=False, metavar="A,B,...",
                        autocompletion=complete)


@output_options()
def compare(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help=help_text("arg.compare_prompt"), show_default=False)],
    model: Annotated[str | None, _axis_option("--model", "opt.compare_model", "-m", complete_model)] = None,
    style: Annotated[str | None, _axis_option("--style", "opt.compare_style", "-s", complete_style)] = None,
    size: Annotated[str | None, _axis_option("--size", "opt.compare_size", complete=complete_size)] = None,
    quality: Annotated[str | None, _axis_option("--quality", "opt.compare_quality", complete=complete_quality)] = None,
    negative: Annotated[str | None, _axis_option("--negative", "opt.compare_negative")] = None,
    enhance: Annotated[str | None, _axis_option("--enhance", "opt.compare_enhance")] = None,
    prompt_sr: Annotated[str | None, _axis_option("--prompt-sr", "opt.compare_prompt_sr")] = None,
    samples: Annotated[int, typer.Option("--samples", "-n", help=help_text("opt.compare_samples"), metavar="N")] = 1,
    output_dir: OutputDirOption = None,
    font: Annotated[Path | None, typer.Option("--font", help=help_text("opt.compare_font"), show_default=False,
                                              metavar="FILE")] = None,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=help_text("opt.compare_skip_invalid"))] = False,
    max_images: Annotated[int, typer.Option("--max-images", help=help_text("opt.compare_max_images"),
                                            metavar="N")] = 100,
    retry_unsafe: RetryUnsafeOption = False,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=help_text("opt.compare_dry_run"))] = False,
    wildcards: WildcardsOption = None,
    check: CheckOption = False,
    best_of: BestOfOption = None,
    discard_candidates: DiscardOption = False,
    preview: PreviewOption = None,
) -> None:
    from glm_image_cli.cli.commands.batchrun import execute_batch
    from glm_image_cli.core import compare as comparing
    from glm_image_cli.core.session import BatchRequest

    state = state_of(ctx)
    if output_dir is not None and str(output_dir) == "-":
        raise UsageError("stdout_folder_only", command="compare")
    given = {"model": model, "style": style, "size": size, "quality": quality, "negative": negative,
             "enhance": enhance, "prompt-sr": prompt_sr}
    # The axes in the order they were typed: the first runs across (X), the second down (Y), the third one grid each
    order = [name.replace("_", "-") for name in ctx.params if name.replace("_", "-") in given]
    axes = [comparing.parse_axis(name, given[name]) for name in order if given[name] is not None]  # type: ignore[arg-type]
    from glm_image_cli.core.prompting import wildcard_folders

    cells, raw_items, planned = comparing.plan_cells(prompt, axes, samples=samples, max_images=max_images,
                                                     wildcards=wildcard_folders(wildcards))
    folder = Path(output_dir) if output_dir is not None else _default_folder(prompt, axes)
    axes = planned
    vision = vision_setup(check, best_of, discard_candidates, False, no_metadata=no_metadata,
                          no_history=no_history)
    request = BatchRequest(input_path=prompt, samples=samples, output_dir=folder, concurrency=concurrency,
                           timeout=timeout, skip_invalid=skip_invalid, retry_unsafe=retry_unsafe,
                           no_metadata=no_metadata, no_history=no_history, dry_run=dry_run, raw_items=raw_items,
                           command="compare", check=check, best_of=vision.best_of if vision is not None else None)
    invalid: dict[int, str] = {}
    by_number = {cell.number: cell for cell in cells}

    def report_invalid(errors: list[LineError]) -> None:
        _report_invalid(state, errors, by_number, invalid, skip_invalid)

    def before(prepared: PreparedBatch) -> None:
        _print_cells(state, axes, cells, prepared, samples, folder)

    def after(prepared: PreparedBatch, summary: BatchSummary) -> None:
        _finish(state, prompt, axes, cells, prepared, invalid, font, preview)

    code = execute_batch(ctx, state, request, yes=yes, reviewing=False, preview=False, rerun_input=prompt,
                         on_invalid=report_invalid, before=before, after=after, command="compare",
                         vision=vision)
    raise typer.Exit(code)


def _default_folder(prompt: str, axes: list[Axis]) -> Path:
    """Under the `output-dir` setting, a folder named by the prompt and axes: the same command resumes there."""
    import os

    from glm_image_cli.core.compare import folder_name
    from glm_image_cli.storage.config import load_config

    settings = load_config()
    return Path(os.path.expanduser(settings.output_dir)) / folder_name(prompt, axes)


def _report_invalid(state: RunState, errors: list[LineError], cells: dict[int, Cell], invalid: dict[int, str],
                    skip_invalid: bool) -> None:
    """Each invalid cell by its values; without --skip-invalid nothing is sent."""
    ui = state.ui()
    for error in errors:
        invalid[error.line] = error.message
        ui.error(render("compare_cell_invalid", number=error.line, cell=cells[error.line].label(),
                        message=error.message))
    if not skip_invalid:
        raise UsageError("compare_invalid", count=len(errors))
    ui.warn(render("compare_skipping_invalid", count=len(errors)))


def _print_cells(state: RunState, axes: list[Axis], cells: list[Cell], prepared: PreparedBatch, samples: int,
                 folder: Path) -> None:
    """The shape of the compare and its estimate, before consent is asked (and all of a dry run)."""
    from glm_image_cli.core.compare import ROLES
    from glm_image_cli.core.consent import estimate_run
    from glm_image_cli.storage.files import display_path

    ui = state.ui()
    estimate = estimate_run(prepared.cfg, prepared.selection.images_per_model())
    shape = " × ".join(f"{role.upper()} {axis.name} ({len(axis.values)})" for role, axis in zip(ROLES, axes,
                                                                                                  strict=False))
    if state.json_mode:
        ui.emit_json_line({"type": "compare_plan", "cells": len(cells), "samples": samples,
                           "axes": [{"role": role, "name": axis.name, "values": list(axis.values)}
                                    for role, axis in zip(ROLES, axes, strict=False)],
                           "folder": str(folder), **estimate.to_json()})
        return
    images = sum(prepared.selection.images_per_model().values()) + len(prepared.selection.done_before)
    ui.note(render("compare_plan", cells=len(cells), shape=shape, images=images,
                   cost=estimate.total, currency=estimate.currency, folder=display_path(folder)))
    if prepared.saver is None:  # a dry run lists every cell
        for cell in cells:
            ui.result(render("compare_plan_cell", number=cell.number, cell=cell.label()))


def _finish(state: RunState, prompt: str, axes: list[Axis], cells: list[Cell], prepared: PreparedBatch,
            invalid: dict[int, str], font: Path | None, preview: bool | None) -> None:
    from glm_image_cli.core.compareoutput import finish_compare
    from glm_image_cli.storage.files import display_path

    ui = state.ui()
    output = finish_compare(prepared.folder, prompt, axes, cells, prepared.items, settings=prepared.cfg,
                            invalid=invalid, font_path=str(font) if font else None)
    for note in output.notes:
        ui.note(str(note))
    if state.json_mode:
        ui.emit_json_line({"type": "compare", "path": str(output.path), **output.document})
        return
    for grid in output.grids:
        ui.result(render("compare_grid", path=display_path(grid)))
    ui.result(render("compare_json", path=display_path(output.path)))
    if output.grids and state.terminal.stdout_tty and preview is not False:
        from glm_image_cli.cli.preview import preview_files

        preview_files(state, prepared.cfg, output.grids, preview)
