"""`glm-image collect`: fetch the images of asynchronous tasks paid for by a `generate` that never saved them
(killed, hung up or abandoned while polling), from the data folder's pending-jobs file (core/pending.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from glm_image_cli.cli.commands.common import cancel_on_closed_output, notice_printer, state_of
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.messages import render

HELP = help_text("cmd.collect")


@output_options()
def collect(
    ctx: typer.Context,
    list_only: Annotated[bool, typer.Option("--list", help=help_text("opt.collect_list"))] = False,
) -> None:
    from glm_image_cli.core.pending import CollectUnit, PendingJournal, plan_of, task_image
    from glm_image_cli.core.runner import SaveImages
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.history import data_dir
    from glm_image_cli.storage.pendingjobs import PendingJobs

    state = state_of(ctx)
    ui = state.ui()
    jobs = PendingJobs(data_dir())
    records = jobs.records()
    if not records:
        if state.json_mode:
            ui.emit_json([])
        ui.note(render("collect_none"))
        return
    if not state.json_mode:
        for record in records.values():
            ui.note(render("collect_item", task_id=record["task_id"], model=record.get("model"),
                           prompt=record.get("prompt"), folder=record.get("output_dir")))
    if list_only:
        if state.json_mode:
            ui.emit_json([{"id": job_id, **record} for job_id, record in records.items()])
        return
    results: list[dict[str, Any]] = []
    exit_code = 0
    with Studio.from_config(lang=state.lang, command="collect") as studio:
        studio.require_key()
        for job_id, record in records.items():
            saver = _saver(studio, record)
            unit = CollectUnit(plan_of(record, studio.settings.user_styles), int(record.get("sample") or 1), job_id)
            journal = PendingJournal(jobs, saver, str(record.get("command") or "generate"))
            journal.adopt(unit, job_id)  # saved: its record goes
            with cancel_on_closed_output(state) as cancel:
                run = studio.run_units([unit], delivery=SaveImages(saver), spend=None, journal=journal,
                                       recovered={job_id: task_image(record["task_id"])},
                                       on_notice=notice_printer(state), cancel=cancel)
            state.output.absorb(run.output_failed)
            for outcome in run.outcomes:
                results.append({"task_id": record["task_id"], "path": str(outcome.path) if outcome.path else None,
                                "error": str(outcome.error) if outcome.error else None})
                if outcome.path is not None and not state.json_mode:
                    ui.result(str(outcome.path))
                if outcome.error is not None:
                    ui.error(f"{record['task_id']}: {outcome.error}")
                    exit_code = exit_code or int(outcome.error.exit_code)
            if run.interrupted:
                raise KeyboardInterrupt
    if state.json_mode:
        ui.emit_json(results)
    raise typer.Exit(exit_code)


def _saver(studio: Any, record: dict[str, Any]) -> Any:
    """Saving as the original run would have: its folder, name template, format, recipe and history."""
    from datetime import datetime
    from pathlib import Path

    from glm_image_cli.storage.files import ensure_writable_dir
    from glm_image_cli.storage.history import History
    from glm_image_cli.storage.naming import GENERATE_TEMPLATE, NameTemplate
    from glm_image_cli.storage.saving import ImageSaver

    folder = Path(str(record.get("output_dir") or studio.settings.output_dir))
    ensure_writable_dir(folder)
    return ImageSaver(folder=folder, command=str(record.get("command") or "generate"),
                      metadata=record.get("metadata") is not False,
                      history=History() if record.get("history") else None,
                      template=NameTemplate.parse(str(record.get("name_template") or GENERATE_TEMPLATE)),
                      image_format=str(record.get("format") or "png"), created=datetime.now().astimezone())
