"""`batch --via batch-api`, `batch status DIR` and `batch cancel DIR`: the CLI's words for core/batchapi.py.

The core submits, re-attaches, polls and collects; this module only asks for consent, shows the platform's progress
(a line when the status or the counts change), and turns Ctrl-C while waiting into "left running, come back with
the same command".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from glm_image_cli.cli.commands.common import (
    RunState,
    cancel_on_closed_output,
    cli_consent,
    notice_printer,
)
from glm_image_cli.errors import ExitCode, UsageError
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.core.batch import BatchSummary
    from glm_image_cli.core.batchapi import BatchApi, Progress
    from glm_image_cli.core.batchjournal import Part
    from glm_image_cli.core.session import PreparedBatch
    from glm_image_cli.core.studio import Studio

ACTIONS = ("status", "cancel")
HEARTBEAT = 600.0  # an unchanged status is said again this often, so a long wait visibly lives


def via_value(value: str | None) -> str | None:
    """--via: direct, or batch-api (also: api); None leaves it to the `batch-via` setting."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("batch-api", "api"):
        return "api"
    if text == "direct":
        return "direct"
    raise typer.BadParameter("direct, batch-api", param_hint="--via")


def is_action(input_path: str, folder: str | None) -> bool:
    """`batch status DIR` / `batch cancel DIR` (a prompt file named status or cancel still works alone)."""
    return input_path in ACTIONS and (folder is not None or not Path(input_path).exists())


def elapsed_text(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class ProgressLines:
    """The platform's progress as lines on stderr (or JSON lines): said when it changes, and every HEARTBEAT."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self._said: dict[str, tuple[Any, float]] = {}

    def __call__(self, progress: Progress) -> None:
        ui, part, info = self.state.ui(), progress.part, progress.batch
        count = len(part.keys)
        if progress.stage == "uploading":
            ui.note(render("batchapi_uploading", count=count, model=part.model))
        elif progress.stage in ("submitted", "attached"):
            message = "batchapi_submitted" if progress.stage == "submitted" else "batchapi_attached"
            ui.note(render(message, batch_id=part.batch_id, count=count, model=part.model))
        elif progress.stage == "status" and info is not None:
            shown = (info.status, info.completed, info.failed, info.total)
            last = self._said.get(part.marker)
            if last is not None and last[0] == shown and time.monotonic() - last[1] < HEARTBEAT:
                return
            self._said[part.marker] = (shown, time.monotonic())
            if self.state.json_mode:
                ui.emit_json_line({"type": "batch_api", "batch_id": info.id, "model": part.model,
                                   "status": info.status, "total": info.total or count,
                                   "completed": info.completed, "failed": info.failed,
                                   "elapsed": round(progress.elapsed, 1)})
            else:
                ui.note(render("batchapi_status", batch_id=info.id, status=info.status, completed=info.completed,
                               total=info.total or count, failed=info.failed, elapsed=elapsed_text(progress.elapsed)))


@dataclass(frozen=True)
class DirectWords:
    """What a direct batch says, said the same way here (batch_cmd's functions: no import back into it)."""

    report_selection: Callable[[RunState, Any], None]
    show_event: Callable[[RunState, Any, Any], None]
    finish: Callable[..., BatchSummary]


def run_via_api(state: RunState, studio: Studio, prepared: PreparedBatch, rerun: Any, words: DirectWords, *,
                yes: bool, partial: bool, chats: dict[str, int], preview: bool | None,
                input_path: str) -> BatchSummary:
    """The batch through the platform's Batch API; returns the summary (as a direct batch's), or leaves with
    exit 130 when the user (or a signal) leaves the batches running."""
    from glm_image_cli.core.batchapi import check_backend
    from glm_image_cli.core.batchresults import run_batch_api
    from glm_image_cli.core.results import Run

    ui = state.ui()
    started = time.monotonic()
    check_backend(studio.client)  # another backend: one line, before anything
    selection = prepared.selection
    units = {unit.key: unit for units in (selection.to_run, selection.done_before, selection.uncertain,
                                          selection.failed_skipped, selection.capped, selection.recoverable)
             for unit in units}
    api = studio.batch_api(prepared.folder, guard=prepared.lock.check if prepared.lock is not None else None)
    claimed = api.claim(selection)
    spend = studio.hold_batch(selection, partial=partial, consent=cli_consent(state, yes), chats=chats,
                              on_notice=notice_printer(state), via="api")
    try:
        words.report_selection(state, prepared)
        if selection.to_run:
            ui.note(render("batchapi_intro", images=len(selection.to_run)))
        new = list(selection.to_run)
        progress = _SavingProgress(state, words.show_event)
        with cancel_on_closed_output(state) as cancel:
            try:
                done = run_batch_api(api, studio, selection, units, prepared.manifest, prepared.saver, spend,
                                     input_path=input_path, on_progress=ProgressLines(state),
                                     on_event=progress.on_event, on_notice=notice_printer(state), cancel=cancel,
                                     on_saving=progress.start)
            except KeyboardInterrupt:
                _leave(state, api, units, rerun, prepared.folder)
            finally:
                progress.close()
    finally:
        spend.release()
    if done.left:
        _leave(state, api, units, rerun, prepared.folder)
    if state.json_mode:  # the lines that made no image, as a direct batch reports its failures
        from glm_image_cli.core.batch import item_record

        for outcome in [*done.collected.failed, *done.collected.uncertain]:
            ui.emit_json_line(item_record(outcome))
    selection.to_run[:] = new + claimed  # the summary counts every image this run dealt with
    run = Run([], [], studio.estimate([]), outcomes=done.outcomes)
    summary = words.finish(state, selection, prepared.manifest, run, studio, prepared.folder, started, rerun,
                           limits=False)
    if any(run is not None and run.interrupted for run in (done.collected.run, done.recovered)):
        state.ui().error(render("interrupted"))  # what was not saved yet is saved by the same command again
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if preview is not False and state.terminal.stdout_tty:
        from glm_image_cli.cli.preview import preview_files

        paths = [outcome.path for outcome in done.outcomes if outcome.path is not None]
        preview_files(state, studio.settings, paths, preview)
    return summary


class _SavingProgress:
    """The saving of collected images, drawn as a direct batch's progress (BatchProgress)."""

    def __init__(self, state: RunState, show_event: Callable[[RunState, Any, Any], None]) -> None:
        self.state = state
        self.show_event = show_event
        self._progress: Any = None

    def start(self, count: int) -> None:
        from glm_image_cli.cli.console import BatchProgress

        if count:
            self._progress = BatchProgress(self.state.ui(), count, label_width=24).__enter__()

    def on_event(self, event: Any) -> None:
        if self._progress is not None:
            self.show_event(self.state, self._progress, event)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
            self._progress = None


def _leave(state: RunState, api: BatchApi, units: dict[str, Any], rerun: Any, folder: Path) -> None:
    from glm_image_cli.storage.files import display_path

    pending = sum(1 for part in api.journal.open_parts() for key in part.keys if key in units)
    state.ui().warn(render("batchapi_left", count=pending, command=rerun.command(),
                           folder=display_path(folder)))
    raise typer.Exit(int(ExitCode.INTERRUPTED))


# --- batch status DIR / batch cancel DIR -------------------------------------------------------------------------

def status_or_cancel(state: RunState, action: str, folder_text: str) -> None:
    """Re-attach to the folder's batches and show them (status), or cancel them (cancel).  No folder lock: a run
    collecting in another terminal is not in the way."""
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.files import display_path

    folder = Path(folder_text).expanduser()
    if not folder.is_dir():
        raise UsageError("batchapi_no_folder", folder=folder_text)
    with Studio.from_config(lang=state.lang, command="batch") as studio:
        api = studio.batch_api(folder)
        if not api.journal.parts:
            state.ui().note(render("batchapi_status_none", folder=display_path(folder)))
            return
        if action == "cancel":
            _cancel(state, api, folder)
        else:
            _status(state, api, folder)


def _status(state: RunState, api: BatchApi, folder: Path) -> None:
    from glm_image_cli.storage.files import display_path

    ui = state.ui()
    rows, records, inputs = [], [], set()
    for part in api.journal.parts.values():
        if part.open and part.batch_id is None and part.creating:
            api.resolve(part)  # a create whose answer was lost: found by listing (never created again)
        info = api.refresh(part) if part.open and part.batch_id is not None else None
        status = info.status if info is not None else _step(part)
        counts = (info.completed, info.failed, info.total) if info is not None else \
            (part.counts.get("completed", 0), part.counts.get("failed", 0), len(part.keys))
        elapsed = elapsed_text(api.elapsed(part)) if part.batch_id is not None and part.open else ""
        rows.append([part.batch_id or part.marker, part.model, str(len(part.keys)), status,
                     f"{counts[0]} / {counts[1]}", elapsed])
        records.append({"part": part.marker, "batch_id": part.batch_id, "model": part.model,
                        "images": len(part.keys), "status": status, "completed": counts[0], "failed": counts[1],
                        "open": part.open, "elapsed": round(api.elapsed(part), 1) if part.batch_id else None})
        if part.open and part.input:
            inputs.add(part.input)
    if state.json_mode:
        ui.emit_json_line({"type": "batch_api_status", "folder": str(folder), "parts": records})
        return
    columns = [render(name) for name in ("batchapi_status_heading", "batchapi_column_model", "batchapi_column_images",
                                         "batchapi_column_status", "batchapi_column_done", "batchapi_column_elapsed")]
    ui.table(columns, rows, title=render("batchapi_status_title", folder=display_path(folder)))
    for input_path in sorted(inputs):
        ui.note(render("batchapi_status_collect", command=_command(input_path, folder)))


def _cancel(state: RunState, api: BatchApi, folder: Path) -> None:
    ui = state.ui()
    inputs = {part.input for part in api.journal.open_parts() if part.input}
    for part, info in api.cancel():
        if info is None:
            ui.note(render("batchapi_cancel_unsent", count=len(part.keys)))
        else:
            ui.note(render("batchapi_cancelling", batch_id=info.id, status=info.status))
    for input_path in sorted(inputs):
        ui.note(render("batchapi_cancel_done", command=_command(input_path, folder)))


def _step(part: Part) -> str:
    if part.ended is not None:
        return render(f"batchapi_step_{part.ended}")
    if part.creating:
        return render("batchapi_step_creating")
    return render("batchapi_step_uploaded" if part.file_id else "batchapi_step_planned")


def _command(input_path: str, folder: Path) -> str:
    import shlex

    from glm_image_cli.storage.files import display_path

    words = ["glm-image", "batch", input_path, "-o", display_path(folder), "--via", "batch-api"]
    return " ".join(shlex.quote(word) for word in words)
