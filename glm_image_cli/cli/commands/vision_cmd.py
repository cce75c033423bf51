"""`glm-image check` and `glm-image caption`: the vision model on images already on disk, over the Studio."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from glm_image_cli.cli.commands.common import YesOption, cli_consent, state_of
from glm_image_cli.cli.commands.completion import complete_lang
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text

if TYPE_CHECKING:
    from glm_image_cli.cli.commands.common import RunState
    from glm_image_cli.core.studiovision import FileVerdict
    from glm_image_cli.core.vision import Verdict

CHECK_HELP = help_text("cmd.check")
CAPTION_HELP = help_text("cmd.caption")
Targets = Annotated[list[str], typer.Argument(metavar="FILE|ID|DIR", help=help_text("arg.check_targets"),
                                              show_default=False)]


@output_options()
def check(
    ctx: typer.Context,
    targets: Targets,
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help=help_text("opt.check_prompt"),
                                               show_default=False)] = None,
    caption: Annotated[bool, typer.Option("--caption", help=help_text("opt.caption"))] = False,
    yes: YesOption = False,
) -> None:
    state = state_of(ctx)
    _run(state, lambda studio, said: studio.check(targets, prompt=prompt, caption=caption,
                                                   consent=cli_consent(state, yes), on_verdict=said))


@output_options(lang=False)
def caption(
    ctx: typer.Context,
    targets: Targets,
    lang: Annotated[str | None, typer.Option("--lang", metavar="zh|en", help=help_text("opt.caption_lang"),
                                             show_default=False, autocompletion=complete_lang)] = None,
    yes: YesOption = False,
) -> None:
    from glm_image_cli.cli.commands.common import begin
    from glm_image_cli.errors import UsageError

    if lang is not None and lang not in ("zh", "en"):
        raise UsageError("caption_bad_lang", value=lang)
    state = begin(ctx, lang=lang)
    _run(state, lambda studio, said: studio.caption(targets, lang=lang, consent=cli_consent(state, yes),
                                                     on_verdict=said))


def _run(state: RunState, work: Any) -> None:
    """One line per image on stdout (``path<TAB>verdict``), in the order given, or the JSON list; on a terminal
    each line as its verdict comes in (a folder of many images shows its progress).  Why an image is unchecked
    is also said on stderr.  Exit code of the first failed check."""
    from glm_image_cli.core.bestof import verdict_line, verdict_summary
    from glm_image_cli.core.studio import Studio

    ui = state.ui()
    lock = threading.Lock()
    live = state.terminal.stdout_tty and not state.json_mode

    def said(path: Path | None, verdict: Verdict) -> None:
        with lock:
            if not verdict.checked:
                ui.warn(str(verdict_line(path, verdict)))
            if live:
                ui.result(f"{path}\t{verdict_summary(verdict.to_json())}")

    with Studio.from_config(lang=state.lang, command="check") as studio:
        for warning in studio.warnings:
            ui.warn(str(warning))
        found: list[FileVerdict] = work(studio, said)
    if state.json_mode:
        ui.emit_json([item.to_json() for item in found])
    elif not live:
        for item in found:
            ui.result(f"{item.path}\t{verdict_summary(item.verdict.to_json())}")
    failed = next((item.verdict.exit_code for item in found if item.verdict.exit_code), None)
    if failed:
        raise typer.Exit(failed)
