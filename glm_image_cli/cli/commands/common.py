"""What every command shares: the run state (language, --json, --quiet, the terminal), common options, config
loading."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from glm_image_cli.cli.commands.completion import (
    complete_encoding,
    complete_format,
    complete_lang,
    complete_model,
    complete_quality,
    complete_size,
    complete_style,
)
from glm_image_cli.cli.language import choose_language, configured_language, help_text
from glm_image_cli.cli.terminal import Output, Terminal
from glm_image_cli.messages import LANGUAGE

if TYPE_CHECKING:
    from glm_image_cli.core.consent import Consent, Estimate
    from glm_image_cli.core.results import Cancel, Notice


@dataclass
class RunState:
    """Stored in ``ctx.obj`` so the error handler at the CLI edge knows how to report.  ``terminal`` is gathered
    once, where the invocation starts (the console script passes it in; tests may pass their own), and
    ``output`` is the one guard every line of the invocation is written through."""

    lang: str = "en"
    json_mode: bool = False
    quiet: bool = False
    no_color: bool = False
    verbose: bool = False  # -v: trace HTTP exchanges on stderr (glm_image_cli.backends.httptrace)
    terminal: Terminal = field(default_factory=Terminal.detect)
    output: Output = field(default_factory=Output)
    signalled: int | None = None  # SIGHUP or SIGTERM drained the run (cli/signals.py): exit 128 + its number

    @property
    def debug(self) -> bool:
        """GLM_IMAGE_DEBUG: unexpected errors show their traceback."""
        return self.terminal.debug

    def ui(self) -> Any:
        """The run's one Ui (per output options): a live display and the lines printed while it runs must go
        through the same console, or the display's redraws overwrite those lines."""
        from glm_image_cli.cli.console import Ui

        options = (self.quiet, self.json_mode, self.no_color)
        cached = self.__dict__.get("_ui")
        if cached is None or cached[0] != options:
            cached = self.__dict__["_ui"] = (options, Ui(quiet=self.quiet, json_mode=self.json_mode,
                                                          no_color=self.no_color, terminal=self.terminal,
                                                          output=self.output))
        return cached[1]


LangOption = Annotated[str | None, typer.Option("--lang", help=help_text("opt.lang"), show_default=False,
                                               metavar="zh|en", autocompletion=complete_lang)]
JsonOption = Annotated[bool, typer.Option("--json", help=help_text("opt.json"))]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help=help_text("opt.quiet"))]
NoColorOption = Annotated[bool, typer.Option("--no-color", help=help_text("opt.no_color"))]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help=help_text("opt.verbose"))]


def state_of(ctx: typer.Context) -> RunState:
    root = ctx.find_root()
    if not isinstance(root.obj, RunState):
        root.obj = RunState()
    return root.obj


def begin(ctx: typer.Context, *, lang: str | None = None, json_mode: bool = False, quiet: bool = False,
          no_color: bool = False, verbose: bool = False) -> RunState:
    """Record this command's output options and settle the message language.  The language is set in the
    invocation's scope, opened by cli.GlmImageGroup.invoke, which resets it when the command ends."""
    state = state_of(ctx)
    state.json_mode = state.json_mode or json_mode
    state.quiet = state.quiet or quiet
    state.no_color = state.no_color or no_color
    if verbose and not state.verbose:
        set_verbose(ctx, True)
    if lang:
        state.lang = validate_lang(lang)
        LANGUAGE.set(state.lang)
    return state


def set_verbose(ctx: typer.Context, verbose: bool) -> None:
    """-v/--verbose, before or after the command: HTTP clients made from now on in this invocation trace their
    exchanges.  Reset when the invocation ends, so an in-process caller's next run starts quiet."""
    from glm_image_cli.backends.httptrace import TRACE_WRITER, VERBOSE

    state = state_of(ctx)
    state.verbose = verbose
    token = VERBOSE.set(verbose)
    # The trace goes through the invocation's output guard: a closed stderr is noticed there (and stops a run).
    writer_token = TRACE_WRITER.set(lambda line: state.output.line("stderr", line))

    def reset() -> None:
        with contextlib.suppress(ValueError, RuntimeError):  # set in another context, or reset already
            VERBOSE.reset(token)
        with contextlib.suppress(ValueError, RuntimeError):
            TRACE_WRITER.reset(writer_token)

    ctx.find_root().call_on_close(reset)


def validate_lang(lang: str) -> str:
    value = lang.strip().lower().replace("_", "-")
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en"):
        return "en"
    raise typer.BadParameter("zh | en", param_hint="--lang")


def bootstrap_language(flag: str | None) -> str:
    """Language before any command runs: --lang, then GLM_IMAGE_LANG / the config file's lang, then locale.
    Set for this invocation only (the scope opened by cli.GlmImageGroup.invoke)."""
    lang = validate_lang(flag) if flag else choose_language(None, configured_language())
    LANGUAGE.set(lang)
    return lang


# Options shared by `generate` and `batch` (for batch they are defaults for every item).
StyleOption = Annotated[str | None, typer.Option("--style", "-s", help=help_text("opt.style"), show_default=False,
                                                 metavar="STYLE", autocompletion=complete_style)]
NegativeOption = Annotated[str | None, typer.Option("--negative", help=help_text("opt.negative"), show_default=False)]
SizeOption = Annotated[str | None, typer.Option("--size", help=help_text("opt.size"), show_default=False, metavar="WxH",
                                                autocompletion=complete_size)]
ModelOption = Annotated[str | None, typer.Option("--model", "-m", help=help_text("opt.model"), show_default=False,
                                                 metavar="MODEL", autocompletion=complete_model)]
QualityOption = Annotated[str | None, typer.Option("--quality", help=help_text("opt.quality"), show_default=False,
                                                   metavar="QUALITY", autocompletion=complete_quality)]
SamplesOption = Annotated[int, typer.Option("--samples", "-n", help=help_text("opt.samples"), metavar="N")]
OutputDirOption = Annotated[Path | None, typer.Option("--output-dir", "-o", help=help_text("opt.output_dir"),
                                                      show_default=False, metavar="DIR")]
ConcurrencyOption = Annotated[int | None, typer.Option("--concurrency", "-j", help=help_text("opt.concurrency"),
                                                       show_default=False, metavar="N")]
TimeoutOption = Annotated[float | None, typer.Option("--timeout", help=help_text("opt.timeout"), show_default=False,
                                                     metavar="SECONDS")]
RetryUnsafeOption = Annotated[bool, typer.Option("--retry-unsafe", help=help_text("opt.retry_unsafe"))]


NoMetadataOption = Annotated[bool, typer.Option("--no-metadata", help=help_text("opt.no_metadata"))]
NoHistoryOption = Annotated[bool, typer.Option("--no-history", help=help_text("opt.no_history"))]


def report_saver_notes(state: RunState, saver: Any) -> None:
    """What the saver noticed on the way (kept formats, history trouble), each said once."""
    from glm_image_cli.messages import render

    if saver is None:
        return
    ui = state.ui()
    for notice in dict.fromkeys(str(n) for n in saver.notices):
        ui.warn(notice)
    if saver.history_problem is not None:
        said = "history_not_recorded" if saver.saved else "history_not_recorded_nothing_saved"
        ui.warn(render(said, detail=str(saver.history_problem)))


NameOption = Annotated[str | None, typer.Option("--name", help=help_text("opt.name"), show_default=False,
                                                 metavar="TEMPLATE")]
NoWatermarkOption = Annotated[bool, typer.Option("--no-watermark", help=help_text("opt.no_watermark"))]
UserIdOption = Annotated[str | None, typer.Option("--user-id", help=help_text("opt.user_id"), show_default=False,
                                                   metavar="ID")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help=help_text("opt.yes"))]
ImageFormatOption = Annotated[str | None, typer.Option("--image-format", help=help_text("opt.format"),
                                                       show_default=False, metavar="FORMAT",
                                                       autocompletion=complete_format)]
# Prompts given as bytes (batch's INPUT or `-`, generate's `-`): their text encoding (core/textinput.py).
EncodingOption = Annotated[str | None, typer.Option("--encoding", help=help_text("opt.encoding"), show_default=False,
                                                    metavar="NAME", autocompletion=complete_encoding)]


def output_flags(name: str | None, image_format: str | None, no_watermark: bool, user_id: str | None) -> dict:
    """Settings flags shared by generate, batch and again (None: from the settings)."""
    return {"name-template": name, "format": image_format, "watermark": False if no_watermark else None,
            "user-id": user_id}


def cli_consent(state: RunState, yes: bool) -> Consent | None:
    """How the CLI gives consent to a cost above `confirm-above`: --yes in advance, else a question on the
    terminal; without a terminal, none (the core refuses the run with the line that names --yes)."""
    from glm_image_cli.core.consent import always

    if yes:
        return always
    if not state.terminal.stdin_tty:
        return None
    return lambda estimate: ask_consent(estimate)


def ask_consent(estimate: Estimate) -> bool:
    """The spend question on stderr, default no."""
    from glm_image_cli.core.consent import question

    return confirm_or_no(str(question(estimate)))


def confirm_or_no(text: str) -> bool:
    """A yes/no question on stderr, default no.  Ctrl-C or Ctrl-D instead of an answer is a "no" (nothing is
    sent; the caller says so in one line), never Click's "Aborted!" and exit 1."""
    try:
        return bool(typer.confirm(text, default=False, err=True))
    except typer.Abort:
        with contextlib.suppress(OSError, ValueError):  # end the question's line; a terminal gone is no matter
            typer.echo("", err=True)
        return False


def notice_printer(state: RunState) -> Callable[[Notice], None]:
    """The core's notices on stderr: warnings as warnings, the rest as notes."""
    ui = state.ui()

    def show(notice: Notice) -> None:
        (ui.warn if notice.level == "warning" else ui.note)(str(notice))

    return show


def leave_abandoned(state: RunState, in_flight: int = 0) -> NoReturn:
    """A second Ctrl-C abandoned calls in flight: say so and leave without the worker threads (they cannot be
    stopped; what they were doing may have been billed)."""
    from glm_image_cli.errors import ExitCode
    from glm_image_cli.messages import render

    if in_flight:
        state.ui().warn(render("abandoned_in_flight", count=in_flight))
    state.ui().error(render("interrupted"))
    os._exit(int(ExitCode.INTERRUPTED))  # every line is flushed as it is written (terminal.Output)


@contextlib.contextmanager
def cancel_on_closed_output(state: RunState, on_drain: Callable[[int], None] | None = None) -> Iterator[Cancel]:
    """A Cancel for a run: stdout or stderr found closed (`| head`) stops sending, and what is in flight
    finishes and is saved (the CLI edge then exits 141); SIGHUP and SIGTERM do the same (exit 129, 143), and
    ``on_drain(count)`` says how many calls are still in flight then."""
    from glm_image_cli.cli.signals import draining_on_signals
    from glm_image_cli.core.results import Cancel

    cancel = Cancel()
    with state.output.calling_on_close(cancel.cancel), draining_on_signals(state, cancel, on_drain):
        yield cancel
