"""`glm-image generate`: one prompt, n images, saved to the output folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from glm_image_cli.commands.common import (
    ConcurrencyOption,
    JsonOption,
    LangOption,
    ModelOption,
    NameOption,
    NegativeOption,
    NoColorOption,
    NoHistoryOption,
    NoMetadataOption,
    NoWatermarkOption,
    OutputDirOption,
    QualityOption,
    QuietOption,
    RetryUnsafeOption,
    RunState,
    SamplesOption,
    SizeOption,
    StyleOption,
    TimeoutOption,
    UserIdOption,
    YesOption,
    begin,
    confirm_spend,
    drain_after_interrupt,
    output_flags,
    report_saver_notes,
)
from glm_image_cli.commands.completion import complete_format
from glm_image_cli.errors import GlmImageError, UsageError
from glm_image_cli.language import help_text
from glm_image_cli.messages import render
from glm_image_cli.session import GenerateRequest, make_client, prepare_generation

if TYPE_CHECKING:
    from glm_image_cli.client import BigModelClient
    from glm_image_cli.config import ResolvedConfig
    from glm_image_cli.console import Ui
    from glm_image_cli.generation import GenerationPlan
    from glm_image_cli.runner import ImageOutcome
    from glm_image_cli.saving import ImageSaver

HELP = help_text("cmd.generate")


def generate(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help=help_text("arg.prompt"), show_default=False)],
    style: StyleOption = None,
    negative: NegativeOption = None,
    size: SizeOption = None,
    width: Annotated[int | None, typer.Option("--width", help=help_text("opt.width"), show_default=False)] = None,
    height: Annotated[int | None, typer.Option("--height", help=help_text("opt.height"), show_default=False)] = None,
    model: ModelOption = None,
    quality: QualityOption = None,
    samples: SamplesOption = 1,
    output_dir: OutputDirOption = None,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retry_unsafe: RetryUnsafeOption = False,
    name: NameOption = None,
    image_format: Annotated[str | None, typer.Option("--format", "--image-format", help=help_text("opt.format"),
                                                     show_default=False, autocompletion=complete_format)] = None,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    no_watermark: NoWatermarkOption = False,
    user_id: UserIdOption = None,
    yes: YesOption = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    no_color: NoColorOption = False,
    lang: LangOption = None,
) -> None:
    from glm_image_cli.generation import combine_size

    state = begin(ctx, lang=lang, json_mode=json_output, quiet=quiet, no_color=no_color)
    request = GenerateRequest(
        prompt=_read_prompt(prompt), style=style, negative=negative, size=combine_size(size, width, height),
        model=model, quality=quality, samples=samples, output_dir=output_dir, concurrency=concurrency,
        timeout=timeout, retry_unsafe=retry_unsafe, no_metadata=no_metadata, no_history=no_history,
        output=output_flags(name, image_format, no_watermark, user_id), yes=yes,
    )
    run_generate(state, request)


def run_generate(state: RunState, request: GenerateRequest) -> None:
    """Validate, ask before spending, make the images, report.  Shared by `generate` and `again`."""
    ui = state.ui()
    prepared = prepare_generation(request)
    for warning in prepared.warnings:
        ui.warn(str(warning))
    plan, cfg, saver = prepared.plan, prepared.cfg, prepared.saver
    confirm_spend(state, cfg, {plan.model: plan.samples}, request.yes)
    with make_client(cfg, state.lang, request.retry_unsafe) as client:
        outcomes = _run(state, cfg, plan, client, saver)
    report_saver_notes(state, saver)
    _report(state, plan, outcomes, saver.folder)


def _read_prompt(prompt: str) -> str:
    if prompt != "-":
        return prompt
    try:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("stdin_unreadable", detail=str(exc)) from None
    if not text.strip():
        raise UsageError("empty_prompt")
    return text


def _run(state: RunState, cfg: ResolvedConfig, plan: GenerationPlan, client: BigModelClient,
         saver: ImageSaver) -> list[ImageOutcome]:
    from glm_image_cli.runner import Runner, SaveImages, samples_of

    with state.ui().image_progress(plan.samples) as progress:
        runner = Runner(samples_of(plan), client, SaveImages(saver), concurrency=cfg["concurrency"],
                        on_event=progress.event)
        try:
            runner.run()
        except KeyboardInterrupt:
            drain_after_interrupt(state, runner.stop(), "interrupted_waiting", runner.wait,
                                  lambda: _print_saved(state, runner.sorted_outcomes()))
            _print_saved(state, runner.sorted_outcomes())
            raise
        finally:
            runner.shutdown()
        return runner.sorted_outcomes()


def _print_saved(state: RunState, outcomes: list[ImageOutcome]) -> None:
    ui = state.ui()
    for outcome in outcomes:
        if outcome.path is not None and not state.json_mode:
            ui.result(str(outcome.path))


def _report(state: RunState, plan: GenerationPlan, outcomes: list[ImageOutcome], folder: Path) -> None:
    """Paths (or JSON) on stdout, one line per failure on stderr, exit code of the first failure."""
    from glm_image_cli.generation import generate_record
    from glm_image_cli.output import display_path

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
