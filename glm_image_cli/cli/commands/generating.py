"""Making the images of one prompt with live progress, then reporting them: shared by `generate` and `again`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from glm_image_cli.cli.commands.common import RunState, confirm_spend, drain_after_interrupt, report_saver_notes
from glm_image_cli.cli.language import help_text
from glm_image_cli.core.session import GenerateRequest, make_client, prepare_generation, samples_runner
from glm_image_cli.errors import GlmImageError
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient
    from glm_image_cli.cli.console import Ui
    from glm_image_cli.core.ledger import RunSpend
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.storage.config import ResolvedConfig
    from glm_image_cli.storage.saving import ImageSaver


# --enhance/--no-enhance and --no-cache, shared by generate, again, batch and enhance.
EnhanceOption = Annotated[bool | None, typer.Option("--enhance/--no-enhance", help=help_text("opt.enhance"),
                                                    show_default=False)]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help=help_text("opt.no_cache"))]
# --preview/--no-preview on generate and again (the picture after its path) and batch (one contact sheet).
PreviewOption = Annotated[bool | None, typer.Option("--preview/--no-preview", help=help_text("opt.preview"),
                                                    show_default=False)]
BatchPreviewOption = Annotated[bool | None, typer.Option("--preview/--no-preview",
                                                         help=help_text("opt.preview_batch"), show_default=False)]


def run_generate(state: RunState, request: GenerateRequest, preview: bool | None = None) -> None:
    """Validate, ask before spending, make the images, report.  Shared by `generate` and `again`."""
    ui = state.ui()
    from glm_image_cli.cli.commands.review import check_review

    check_review(request.review, request.yes)  # no terminal to review on: an error before anything is sent
    prepared = prepare_generation(request)
    for warning in prepared.warnings:
        ui.warn(str(warning))
    plan, cfg, saver = prepared.plan, prepared.cfg, prepared.saver
    from glm_image_cli.core.ledger import hold_for_run

    spend = hold_for_run(cfg, request.command, [plan.model] * plan.samples)  # over budget: refused, nothing sent
    with spend, make_client(cfg, state.lang, request.retry_unsafe) as client:
        chats: dict[str, int] = {}
        asked = False
        if cfg.enhance:
            from glm_image_cli.backends.registry import backend_named
            from glm_image_cli.core.enhance import chat_calls_needed, estimate_chats

            chats = chat_calls_needed([(plan.prompt, plan.model, plan.style)], cfg.enhance_model,
                                      use_cache=not request.no_cache)
            chat_cost, unknown_chats = estimate_chats(chats, cfg.region, cfg.prices,
                                                      backend=backend_named(cfg.backend))
            if chat_cost > 0 or unknown_chats:  # a priced chat call: consent before it is sent, counting it
                confirm_spend(state, cfg, {plan.model: plan.samples}, request.yes, chats)
                asked = True
            typed = plan
            plan = enhance_for_run(state, cfg, plan, client, use_cache=not request.no_cache)
            if request.review and not request.yes:
                from glm_image_cli.cli.commands.review import review_text
                from glm_image_cli.core.plans import with_enhancement

                text = review_text(state, plan.enhanced_prompt or plan.prompt_sent)
                if text != plan.enhanced_prompt:
                    plan = with_enhancement(typed, text, plan.enhance_model)
        if not asked:
            confirm_spend(state, cfg, {plan.model: plan.samples}, request.yes, chats)
        outcomes = _run(state, cfg, plan, client, saver, spend)
    report_saver_notes(state, saver)
    try:
        _report(state, plan, outcomes, saver.folder)
    finally:  # the picture(s) after the paths; the preview module is loaded only for a terminal
        import sys

        if preview is not False and sys.stdout.isatty():
            from glm_image_cli.cli.preview import preview_files

            preview_files(state, cfg, [o.path for o in outcomes if o.path is not None], preview)


def enhance_for_run(state: RunState, cfg: ResolvedConfig, plan: GenerationPlan, client: BigModelClient, *,
                    use_cache: bool = True) -> GenerationPlan:
    """--enhance: the rewrite, shown on stderr before any image is paid for.  A failed chat call stops here,
    saying so, with the chat error's code: no image is requested."""
    from glm_image_cli.core.enhance import check_enhance_model, enhance_plan

    ui = state.ui()
    for warning in check_enhance_model(cfg.enhance_model):
        ui.warn(str(warning))
    try:
        enhanced, rewrite = enhance_plan(client, cfg, plan, use_cache=use_cache)
    except GlmImageError:
        ui.error(render("enhance_failed", model=cfg.enhance_model))
        raise
    ui.note(render("enhance_cached" if rewrite.cached else "enhance_rewrite", model=rewrite.model, text=rewrite.text))
    already = {warning.message_id for warning in plan.warnings}
    for warning in enhanced.warnings:
        if warning.message_id not in already:
            ui.warn(str(warning))
    return enhanced


def _run(state: RunState, cfg: ResolvedConfig, plan: GenerationPlan, client: BigModelClient,
         saver: ImageSaver, spend: RunSpend | None = None) -> list[ImageOutcome]:
    interrupted = False
    with state.ui().image_progress(plan.samples) as progress:
        runner = samples_runner(cfg, plan, client, saver, spend=spend, on_event=progress.event)
        try:
            runner.run()
        except KeyboardInterrupt:
            interrupted = True  # nothing new is sent from here (this thread was the dispatcher)
    try:
        if interrupted:  # the live display is gone: the drain and what became of each image read plainly
            drain_after_interrupt(state, runner.stop(), "interrupted_waiting", runner.wait,
                                  lambda: _print_saved(state, runner.sorted_outcomes()))
            _print_saved(state, runner.sorted_outcomes())
            if runner.not_sent:
                state.ui().warn(render("not_sent_interrupted", count=len(runner.not_sent)))
            raise KeyboardInterrupt
    finally:
        runner.shutdown()
    if runner.halted_by is not None and runner.not_sent:
        state.ui().warn(render("not_sent_after_stop", count=len(runner.not_sent)))
    return runner.sorted_outcomes()


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
    else:
        _print_saved(state, outcomes)
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
