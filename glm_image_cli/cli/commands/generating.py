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
from glm_image_cli.cli.commands.completion import complete_template
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
    from glm_image_cli.core.prompting import PromptSource
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
# generate, again and edit: -o - (the image on stdout), --dry-run (plan and estimate only), --open (the viewer).
StdoutOutputDirOption = Annotated[Path | None, typer.Option("--output-dir", "-o", show_default=False, metavar="DIR",
                                                            help=help_text("opt.generate_output_dir"))]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help=help_text("opt.generate_dry_run"))]
OpenOption = Annotated[bool, typer.Option("--open", help=help_text("opt.open_viewer"))]


def stdout_or_folder(output_dir: Path | None) -> tuple[Path | None, bool]:
    """(the folder flag, whether the image goes to stdout): with -o - the copy is kept in the default folder."""
    from glm_image_cli.cli.tostdout import wants_stdout

    return (None, True) if wants_stdout(output_dir) else (output_dir, False)


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


def run_generate(state: RunState, request: GenerateRequest, preview: bool | None = None, *, dry_run: bool = False,
                 open_images: bool = False, to_stdout: bool = False) -> None:
    """generate, again and edit over the library API: input into a plan, the Studio's notices and events onto
    the terminal, the run's results into paths (or JSON) and an exit code.  ``dry_run``: the plan and the
    estimate only; ``open_images``: the saved images in the system viewer; ``to_stdout`` (-o -): the image's
    bytes on stdout, a copy kept in the default output folder."""
    from glm_image_cli.cli.commands.review import check_review, review_text

    ui = state.ui()
    if to_stdout and not dry_run:
        from glm_image_cli.cli.tostdout import check_stdout_target

        check_stdout_target(state, request.samples)
    if not dry_run:
        check_review(state, request.review, request.yes)  # no terminal to review on: an error before anything is sent
    studio = open_studio(state, request)
    with studio:
        for warning in studio.warnings:
            ui.warn(str(warning))
        plans = plans_of(state, studio, request)
        if dry_run:
            from glm_image_cli.cli.planview import show_plan

            show_plan(state, studio, plans, enhance=request.enhance, use_cache=not request.no_cache,
                      to_stdout=to_stdout, vision=request.vision)
            return
        if to_stdout and len(plans) > 1:  # alternatives or wildcards stand for several images: not one stream
            from glm_image_cli.cli.tostdout import check_stdout_target

            check_stdout_target(state, sum(plan.samples for plan in plans))
        studio.require_key()
        saver = studio.saver(metadata=not request.no_metadata, history=not request.no_history)
        review = (lambda _plan, text: review_text(state, text)) if request.review and not request.yes else None
        notice = notice_printer(state)
        with studio.prepare(plans, saver=saver, use_cache=not request.no_cache, consent=cli_consent(state, request.yes),
                            review=review, on_notice=notice, vision=request.vision) as job:
            run = _run(state, job, notice)
    report_saver_notes(state, saver)
    saved = [r.path for r in run if r.path is not None and not r.record.get("candidate")]  # not --best-of's rest
    try:
        _report(state, job.plans, run.outcomes, saver.folder, to_stdout=to_stdout)
    finally:  # the picture(s) after the paths; the preview module is loaded only for a terminal
        if preview is not False and state.terminal.stdout_tty and not to_stdout:
            from glm_image_cli.cli.preview import preview_files

            preview_files(state, studio.settings, saved, preview)
        if open_images:
            from glm_image_cli.cli.opener import open_saved

            open_saved(state, saved)


def plans_of(state: RunState, studio: Studio, request: GenerateRequest) -> list[GenerationPlan]:
    """The request's plans: one, or (generate) one per prompt its template and alternatives stand for."""
    source = request.source
    if source is None:
        return [studio.plan(request.prompt, negative=request.negative, samples=request.samples,
                            no_style=request.no_style, images=request.images, mask=request.mask)]
    plans = studio.expand(source.text, template=source.template, variables=source.variables, expand=source.expand,
                          seed=source.seed, wildcards=source.wildcards, max_images=request.max_images,
                          samples=request.samples, negative=request.negative, style=request.style,
                          size=request.size, model=request.model, quality=request.quality)
    seed = (plans[0].origin or {}).get("seed")
    if seed is not None and source.seed is None:  # chosen here: said, so the same draw can be made again
        state.ui().note(render("expand_seed_note", count=len(plans), seed=seed))
    return plans


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


def _report(state: RunState, plans: list[GenerationPlan], outcomes: list[ImageOutcome], folder: Path, *,
            to_stdout: bool = False) -> None:
    """Paths (or JSON, or with -o - the image itself) on stdout, one line per failure on stderr, exit code of the
    first failure."""
    from glm_image_cli.core.plans import generate_record
    from glm_image_cli.storage.files import display_path

    ui = state.ui()
    failures = [o for o in outcomes if o.error is not None]
    if to_stdout:
        from glm_image_cli.cli.tostdout import write_image

        for outcome in outcomes:
            if outcome.path is not None and not outcome.candidate:  # --best-of: the kept image
                write_image(state, outcome.path)
    elif state.json_mode:
        ui.emit_json([generate_record(o) for o in outcomes])
    else:  # --best-of: the kept images (the others are in candidates/, and in --json)
        _print_saved(state, [o for o in outcomes if not o.candidate])
    # --best-of: the images asked for, not the candidates made for them (those moved to candidates/ are no loss)
    total = sum(plan.samples for plan in plans) - sum(1 for o in outcomes if o.candidate)
    _report_failures(ui, len(outcomes), outcomes)
    saved = len([o for o in outcomes if o.error is None and not o.candidate])
    if total > 1:
        ui.note(render("summary_saved", saved=saved, total=total, folder=display_path(folder)))
    if failures:
        first: GlmImageError = failures[0].error  # type: ignore[assignment]
        raise typer.Exit(int(first.exit_code))


def _report_failures(ui: Ui, total: int, outcomes: list[ImageOutcome]) -> None:
    """One line per distinct failure; the image number only matters when there are several images."""
    shown: set[str] = set()
    for number, outcome in enumerate(outcomes, 1):
        if outcome.error is None:
            continue
        text = str(outcome.error)
        if text in shown:
            continue
        shown.add(text)
        if total > 1:
            text = f"{render('image_label', index=number, total=total)}: {text}"
        ui.error(text)


# --- the flags that turn what was typed into prompts (templates, {a|b} alternatives, __name__ wildcards) -------
# declared once for generate and batch; the work is core/prompting.py's.

TemplateOption = Annotated[str | None, typer.Option("--template", "-t", help=help_text("opt.template"),
                                                    show_default=False, metavar="TEMPLATE",
                                                    autocompletion=complete_template)]
ExpandOption = Annotated[str | None, typer.Option("--expand", help=help_text("opt.expand"), show_default=False,
                                                  metavar="all|random:N")]
SeedOption = Annotated[int | None, typer.Option("--seed", help=help_text("opt.seed"), show_default=False)]
WildcardsOption = Annotated[Path | None, typer.Option("--wildcards", help=help_text("opt.wildcards"),
                                                      show_default=False, metavar="DIR")]
MaxImagesOption = Annotated[int, typer.Option("--max-images", help=help_text("opt.max_images_expand"),
                                              metavar="N")]


def prompt_source(ctx: typer.Context, words: list[str], template: str | None, expand: str | None,
                  seed: int | None, wildcards: Path | None, read_prompt: Callable[[str], str]) -> PromptSource:
    """generate's PROMPT (one word; - reads standard input) or, with -t, its NAME=VALUE words; a missing or an
    extra word is the same one-line usage error Click gives."""
    from typer._click.exceptions import MissingParameter
    from typer._click.exceptions import UsageError as ClickUsageError

    from glm_image_cli.core.expand import ExpandMode
    from glm_image_cli.core.prompting import PromptSource
    from glm_image_cli.core.templates import parse_assignments
    from glm_image_cli.errors import UsageError

    mode = ExpandMode.parse(expand, seed)  # a bad --expand before anything else
    if seed is not None and mode.count is None:
        raise UsageError("expand_seed_without_random")
    folder = str(wildcards) if wildcards is not None else None
    if template is not None:
        return PromptSource(None, template, parse_assignments(words), expand, seed, folder)
    if not words:
        param = next(p for p in ctx.command.params if p.name == "words")
        raise MissingParameter(ctx=ctx, param=param)
    if len(words) > 1:
        if all("=" in word for word in words):
            raise UsageError("template_variables_without_template")
        raise ClickUsageError(f"Got unexpected extra argument ({' '.join(words[1:])})", ctx=ctx)
    return PromptSource(read_prompt(words[0]), None, {}, expand, seed, folder)
