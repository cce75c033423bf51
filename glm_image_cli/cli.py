"""The `glm-image` command tree.  Expected failures become a one-line message + exit code here, only here."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from glm_image_cli import __version__
from glm_image_cli.commands import (
    batch_cmd,
    config_cmd,
    generate_cmd,
    history_cmd,
    images_cmd,
    mcp_cmd,
    ping_cmd,
    serve_cmd,
    styles_cmd,
)
from glm_image_cli.commands.common import LangOption, NoColorOption, bootstrap_language, state_of
from glm_image_cli.errors import ExitCode, GlmImageError
from glm_image_cli.language import help_language, help_text
from glm_image_cli.messages import current_language, render, using_language


class GlmImageGroup(typer.core.TyperGroup):
    """Turns the library's expected failures and Ctrl-C into one message and a documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        """One invocation, one language scope: the root callback and a command's --lang set the language inside
        it, errors are reported inside it, and it is reset however the command ends, so an in-process caller
        (CliRunner, an embedding program) never inherits the previous run's language."""
        with using_language(current_language()):
            try:
                return super().invoke(ctx)
            except GlmImageError as error:
                report_error(ctx, error)
                raise typer.Exit(int(error.exit_code)) from None
            except KeyboardInterrupt:
                state_of(ctx).ui().error(render("interrupted"))
                raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def report_error(ctx: Any, error: GlmImageError) -> None:
    from glm_image_cli.generation import error_json

    state = state_of(ctx)
    ui = state.ui()
    ui.error(str(error))
    if state.json_mode:
        ui.emit_json({"error": error_json(error)})


app = typer.Typer(
    name="glm-image",
    cls=GlmImageGroup,
    help=help_text("cmd.root"),
    invoke_without_command=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_cmd.app, name="config")
app.command("generate", help=generate_cmd.HELP, no_args_is_help=True)(generate_cmd.generate)
app.command("batch", help=batch_cmd.HELP, no_args_is_help=True)(batch_cmd.batch)
app.command("serve", help=serve_cmd.HELP)(serve_cmd.serve)
app.command("ping", help=ping_cmd.HELP)(ping_cmd.ping)
app.command("styles", help=styles_cmd.HELP)(styles_cmd.styles)
app.command("models", help=styles_cmd.MODELS_HELP)(styles_cmd.models)
app.add_typer(history_cmd.app, name="history")
app.command("again", help=history_cmd.AGAIN_HELP, no_args_is_help=True)(history_cmd.again)
app.command("info", help=images_cmd.INFO_HELP, no_args_is_help=True)(images_cmd.info)
app.command("gallery", help=images_cmd.GALLERY_HELP)(images_cmd.gallery)
app.command("mcp", help=mcp_cmd.HELP)(mcp_cmd.mcp)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"glm-image {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    lang: LangOption = None,
    no_color: NoColorOption = False,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_print_version, is_eager=True, help=help_text("opt.version")),
    ] = False,
) -> None:
    state = state_of(ctx)
    state.lang = bootstrap_language(lang)
    state.no_color = no_color
    if ctx.invoked_subcommand is None:
        _getting_started(state)


def _getting_started(state: Any) -> None:
    """A bare `glm-image`: the four steps that matter, not the whole reference."""
    from rich.console import Console
    from rich.panel import Panel

    from glm_image_cli.console import color_allowed
    from glm_image_cli.regions import CONSOLE_URLS

    console = Console(highlight=False, markup=False, emoji=False,
                      no_color=not color_allowed(sys.stdout, state.no_color))
    body = help_text("start.body").format(console_url=CONSOLE_URLS["cn"])
    console.print(Panel(body, title=help_text("start.title"), expand=False))


def _bare_server_flag(argv: list[str]) -> list[str]:
    """`ping --server` with no URL means the configured serve address (Typer options need a value)."""
    if "ping" not in argv or "--server" not in argv:
        return argv
    at = argv.index("--server")
    if at + 1 == len(argv) or argv[at + 1].startswith("-"):
        return [*argv[: at + 1], "", *argv[at + 1 :]]
    return argv


def main() -> None:
    """Console-script entry point.  Anything unexpected is a bug: say so in one line, no traceback."""
    try:
        app(args=_bare_server_flag(sys.argv[1:]))
    except Exception as exc:  # typer/click handle their own exceptions and exit before this
        from glm_image_cli.commands.common import RunState
        from glm_image_cli.console import Ui

        if RunState().debug:
            raise
        # The invocation's language scope is already closed here; argv and the settings still say which it was.
        Ui().error(render("internal_error", lang=help_language(), detail=f"{type(exc).__name__}: {exc}"))
        sys.exit(int(ExitCode.FAILURE))
