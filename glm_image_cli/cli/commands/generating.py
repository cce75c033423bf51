"""Making the images of one prompt with live progress, then reporting them: shared by `generate` and `again`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from glm_image_cli.cli.commands.common import (
    RunState,
    cancel_on_closed_output,
    cli_consent,
    leave_abandoned,
    notice_printer,
    report_saver_notes,
)
from glm_image_cli.cli.language import help_text
from glm_image_cli.core.session import GenerateRequest
from glm_image_cli.errors import GlmImageError
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from collections.abc import Callable

    from glm_image_cli.cli.console import Ui
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.pending import PendingJournal
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.results import Notice, Run
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.core.studio import Job, Studio


# --enhance/--no-enhance and --no-cache, shared by generate, again, batch and enhance.
EnhanceOption = Annotated[bool | None, typer.Option("--enhance/--no-enhance", help=help_text("opt.enhance"),
                                                    show_default=False)]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help=help_text("opt.no_cache"))]
# --preview/--no-preview on generate and again (the picture after its path) and batch (one contact sheet).
PreviewOption = Annotated[bool | None, typer.Option("--preview/--no-preview", help=help_text("opt.preview"),
                                                    show_default=False)]
BatchPreviewOption = Annotated[bool | None, typer.Option("--preview/--no-preview",
                                                         help=help_text("opt.preview_batch"), show_default=False)]

# --check, --best-of N, --discard-candidates and --caption on generate, again, edit and batch (issue 28).
CheckOption = Annotated[bool, typer.Option("--check", help=help_text("opt.check"))]
BestOfOption = Annotated[int | None, typer.Option("--best-of", metavar="N", help=help_text("opt.best_of"),
                                                  show_default=False)]
DiscardOption = Annotated[bool, typer.Option("--discard-candidates", help=help_text("opt.discard_candidates"))]
CaptionOption = Annotated[bool, typer.Option("--caption", help=help_text("opt.caption"))]


def vision_setup(check: bool, best_of: int | None, discard: bool, caption: bool, *,
                 no_metadata: bool = False, no_history: bool = False) -> VisionSetup | None:
    """What the flags ask of the vision model (None: nothing); --best-of's range is checked before anything."""
    if not (check or best_of is not None or caption):
        return None
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.checks import CheckOptions

    return VisionSetup(CheckOptions(check=check, caption=caption, metadata=not no_metadata, history=not no_history),
                       best_of=best_of, discard=discard)


def run_generate(state: RunState, request: GenerateRequest, preview: bool | None = None) -> None:
    """generate, again and edit over the library API: input into a plan, the Studio's notices and events onto
    the terminal, the run's results into paths (or JSON) and an exit code."""
    from glm_image_cli.cli.commands.review import check_review, review_text

    ui = state.ui()
    check_review(state, request.review, request.yes)  # no terminal to review on: an error before anything is sent
    studio = open_studio(state, request)
    with studio:
        for warning in studio.warnings:
            ui.warn(str(warning))
        plan = studio.plan(request.prompt, negative=request.negative, samples=request.samples,
                           no_style=request.no_style, images=request.images, mask=request.mask)
        studio.require_key()
        saver = studio.saver(metadata=not request.no_metadata, history=not request.no_history)
        review = (lambda _plan, text: review_text(state, text)) if request.review and not request.yes else None
        notice = notice_printer(state)
        with studio.prepare(plan, saver=saver, use_cache=not request.no_cache, consent=cli_consent(state, request.yes),
                            review=review, on_notice=notice, vision=request.vision) as job:
            run = _run(state, job, notice)
    report_saver_notes(state, saver)
    try:
        _report(state, job.plans[0], run.outcomes, saver.folder)
    finally:  # the picture(s) after the paths; the preview module is loaded only for a terminal
        if preview is not False and state.terminal.stdout_tty:
            from glm_image_cli.cli.preview import preview_files

            kept = [r.path for r in run if r.path is not None and not r.record.get("candidate")]  # not --best-of's rest
            preview_files(state, studio.settings, kept, preview)


def open_studio(state: RunState, request: GenerateRequest) -> Studio:
    """The Studio for one command: the settings with this command's flags over them."""
    from glm_image_cli.core.session import settings_flags
    from glm_image_cli.core.studio import Studio

    return Studio.from_config(overrides=settings_flags(request), lang=state.lang, command=request.command,
                              retry_unsafe=request.retry_unsafe)


def _run(state: RunState, job: Job, notice: Callable[[Notice], None]) -> Run:
    """The images with live progress.  Ctrl-C, SIGHUP or SIGTERM: the Studio drains (what is in flight is kept);
    a second Ctrl-C abandons it, and the process leaves without the worker threads."""
    from glm_image_cli.core.results import Abandoned, Notice
    from glm_image_cli.messages import Text

    def draining(count: int) -> None:  # SIGHUP or SIGTERM: said as after the first Ctrl-C
        notice(Notice("warning", Text("interrupted_waiting", count=count)))

    journal = _pending_journal(job)
    try:
        with state.ui().image_progress(job.images) as progress, cancel_on_closed_output(state, draining) as cancel:
            run = job.run(on_event=progress.event, on_notice=notice, cancel=cancel, journal=journal)
    except Abandoned as abandoned:
        _print_saved(state, abandoned.run.outcomes)
        _mention_pending(state, journal)
        leave_abandoned(state, abandoned.in_flight)
    state.output.absorb(run.output_failed)
    _mention_pending(state, journal)
    if run.interrupted:
        _print_saved(state, run.outcomes)
        raise KeyboardInterrupt
    return run


def _pending_journal(job: Job) -> PendingJournal | None:
    """Paid asynchronous tasks (glm-image) recorded in the data folder until saved, for `glm-image collect`."""
    if job.saver is None:
        return None
    from glm_image_cli.core.pending import PendingJournal
    from glm_image_cli.storage.history import data_dir
    from glm_image_cli.storage.pendingjobs import PendingJobs

    return PendingJournal(PendingJobs(data_dir()), job.saver, job.studio.command)


def _mention_pending(state: RunState, journal: PendingJournal | None) -> None:
    """Paid tasks left unsaved (abandoned, interrupted, timed out): say how to get them without paying again."""
    if journal is not None and journal.pending:
        state.ui().warn(render("pending_jobs_left", count=journal.pending))


def _print_saved(state: RunState, outcomes: list[ImageOutcome]) -> None:
    ui = state.ui()
    for outcome in outcomes:
        if outcome.path is not None and not state.json_mode:
            ui.result(str(outcome.path))


def _report(state: RunState, plan: GenerationPlan, outcomes: list[ImageOutcome], folder: Path) -> None:
    """Paths (or JSON) on stdout, one line per failure on stderr, exit code of the first failure."""
    from glm_image_cli.core.plans import generate_record
    from glm_image_cli.storage.files import display_path

    ui = state.ui()
    failures = [o for o in outcomes if o.error is not None]
    if state.json_mode:
        ui.emit_json([generate_record(o) for o in outcomes])
    else:  # --best-of: the kept images (the others are in candidates/, and in --json)
        _print_saved(state, [o for o in outcomes if not o.candidate])
    _report_failures(ui, plan, failures)
    saved = len(outcomes) - len(failures)
    if plan.samples > 1:
        ui.note(render("summary_saved", saved=saved, total=plan.samples, folder=display_path(folder)))
    if failures:
        first: GlmImageError = failures[0].error  # type: ignore[assignment]
        raise typer.Exit(int(first.exit_code))


def _report_failures(ui: Ui, plan: GenerationPlan, failures: list[ImageOutcome]) -> None:
    """One line per distinct failure; the image number only matters when there are several images."""
    shown: set[str] = set()
    for outcome in failures:
        text = str(outcome.error)
        if text in shown:
            continue
        shown.add(text)
        if plan.samples > 1:
            text = f"{render('image_label', index=outcome.index, total=plan.samples)}: {text}"
        ui.error(text)
