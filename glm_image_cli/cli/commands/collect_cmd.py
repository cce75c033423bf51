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
    from glm_image_cli.core.pending import collect_record
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
            with cancel_on_closed_output(state) as cancel:
                run = collect_record(studio, jobs, job_id, record, on_notice=notice_printer(state), cancel=cancel)
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
