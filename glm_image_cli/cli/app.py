"""The `glm-image` command tree.  Expected failures become a one-line message + exit code here, only here."""

from __future__ import annotations

import sys
import types
from typing import Annotated, Any, NoReturn

import typer
from typer._click.exceptions import ClickException  # Typer vendors Click; its errors are these

from glm_image_cli import __version__
from glm_image_cli.cli.commands import (
    batch_cmd,
    chat_cmd,
    collect_cmd,
    compare_cmd,
    config_cmd,
    edit_cmd,
    enhance_cmd,
    generate_cmd,
    history_cmd,
    images_cmd,
    mcp_cmd,
    ping_cmd,
    serve_cmd,
    show_cmd,
    styles_cmd,
    template_cmd,
    usage_cmd,
    vision_cmd,
)
from glm_image_cli.cli.commands.common import (
    LangOption,
    NoColorOption,
    RunState,
    VerboseOption,
    bootstrap_language,
    set_verbose,
    state_of,
)
from glm_image_cli.cli.language import help_language, help_text, help_texts, language_for
from glm_image_cli.errors import ExitCode, GlmImageError
from glm_image_cli.messages import current_language, render, using_language

# Short names people type, shown next to the command in `glm-image --help` and completed by TAB.
ALIASES = {"gen": "generate"}


class GlmImageGroup(typer.core.TyperGroup):
    """Turns the library's expected failures and Ctrl-C into one message and a documented exit code, Click's
    usage errors into one line in the user's language, and draws every --help page with helppage."""

    aliases = ALIASES

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._args: list[str] = []
        _draw_help_with_helppage(self)

    def main(self, args: Any = None, *rest: Any, **extra: Any) -> Any:
        self._args = [str(arg) for arg in (sys.argv[1:] if args is None else args)]
        return super().main(args, *rest, **extra)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickException as error:  # Click's usage errors while reading the root's own options
            self._report_usage_error(error)

    def invoke(self, ctx: Any) -> Any:
        """One invocation, one language scope: the root callback and a command's --lang set the language inside
        it, errors are reported inside it, and it is reset however the command ends, so an in-process caller
        (CliRunner, an embedding program) never inherits the previous run's language.  Once stdout or stderr
        was found closed (`| head`), the invocation ends with 141 whatever else happened, saying nothing."""
        output = state_of(ctx).output
        with using_language(current_language()):
            try:
                result = self._invoke_reporting(ctx)
            except typer.Exit as done:
                signalled = state_of(ctx).signalled
                if signalled is not None and done.exit_code == ExitCode.INTERRUPTED:  # drained after a signal
                    from glm_image_cli.cli.signals import exit_code_after

                    raise typer.Exit(exit_code_after(signalled)) from None
                if output.closed is None:
                    raise
            except BrokenPipeError:  # printed to a closed pipe without the output guard: the same thing
                output.lost("stdout")
            if output.closed is not None:
                raise typer.Exit(int(ExitCode.OUTPUT_CLOSED)) from None
            return result

    def _invoke_reporting(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GlmImageError as error:
            report_error(ctx, error)
            raise typer.Exit(int(error.exit_code)) from None
        except KeyboardInterrupt:
            state_of(ctx).ui().error(render("interrupted"))
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except ClickException as error:  # Click's usage errors in a command's arguments
            self._report_usage_error(error)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """An alias runs (and names itself in usage lines and errors as) the command it stands for."""
        name, command, rest = super().resolve_command(ctx, args)
        return (command.name if command is not None and command.name else name), command, rest

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        from typer._click.shell_completion import CompletionItem

        items = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            return items
        return items + [CompletionItem(alias, help=self.commands[target].get_short_help_str())
                        for alias, target in self.aliases.items() if alias.startswith(incomplete)]

    def _path_in_args(self) -> list[str]:
        """The commands named on the command line (for errors Click raises without saying where)."""
        node, path = self, ["glm-image"]
        for arg in self._args:
            commands = getattr(node, "commands", None) or {}
            name = getattr(node, "aliases", {}).get(arg, arg)
            if name in commands:
                node = commands[name]
                path.append(name)
        return path

    def _report_usage_error(self, error: Exception) -> NoReturn:
        """A mistake on the command line: one line in the user's language and where to read more, exit 2
        (Click's usage errors); a group called without its command shows the group's help instead."""
        from typer._click.exceptions import NoArgsIsHelpError

        code = int(getattr(error, "exit_code", ExitCode.USAGE))
        ctx = getattr(error, "ctx", None)
        if isinstance(error, NoArgsIsHelpError) and ctx is not None:
            typer.echo(ctx.get_help(), err=True)
            raise typer.Exit(code)
        lang = language_for(self._args)
        with using_language(lang):
            path = command_path(ctx) if ctx is not None else self._path_in_args()
            state = state_of(ctx) if ctx is not None else RunState()
            state.no_color = state.no_color or "--no-color" in self._args
            state.ui().error(usage_error_line(error, path, lang))
        raise typer.Exit(code)


def usage_error_line(error: Exception, path: list[str], lang: str) -> str:
    """Click's usage error as one sentence in ``lang``, with the command (``path``) whose --help explains it."""
    import re

    from typer._click import exceptions as click_errors

    def say(key: str, **params: Any) -> str:
        return help_texts([key], lang)[key].format(**params)

    message = str(getattr(error, "message", "") or error)
    if isinstance(error, click_errors.NoSuchOption):
        problem = say("usage.no_such_option", name=error.option_name)
        if error.possibilities:
            problem += say("usage.did_you_mean", names=", ".join(sorted(error.possibilities)))
    elif isinstance(error, click_errors.MissingParameter):
        param = error.param
        if param is not None and param.param_type_name == "argument":
            problem = say("usage.missing_argument", name=param.metavar or param.name.upper())
        else:
            problem = say("usage.missing_option", name=_param_name(param, error.param_hint))
    elif isinstance(error, click_errors.BadParameter):
        detail = message
        # Typer's own wording (pydantic's in 0.29, Click's before) becomes ours, in the user's language.
        if detail.startswith("Input should be a valid integer") or re.search(r"is not a valid int(eger)?\b", detail):
            detail = say("usage.not_integer")
        elif detail.startswith("Input should be a valid number") or re.search(r"is not a valid float\b", detail):
            detail = say("usage.not_number")
        problem = say("usage.invalid_value", name=_param_name(error.param, error.param_hint), detail=detail)
    elif isinstance(error, click_errors.BadOptionUsage) and "requires" in message:
        problem = say("usage.needs_value", name=error.option_name)
    elif isinstance(error, click_errors.BadOptionUsage) and "does not take a value" in message:
        problem = say("usage.no_value", name=error.option_name)
    elif found := re.fullmatch(r"No such command '(.*)'\.(?: Did you mean (.*)\?)?", message, re.S):
        problem = say("usage.no_such_command", name=found[1])
        if found[2]:
            problem += say("usage.did_you_mean", names=found[2])
    elif message == "Missing command.":
        problem = say("usage.missing_command")
    elif found := re.fullmatch(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message, re.S):
        problem = say("usage.extra_arguments", args=found[1])
    else:
        problem = getattr(error, "format_message", lambda: message)()
    return say("usage.try_help", problem=problem.rstrip("。."), command=" ".join(path))


def _param_name(param: Any, hint: Any) -> str:
    if param is not None and getattr(param, "opts", None) and param.param_type_name == "option":
        return "/".join(sorted(param.opts, key=lambda opt: opt.startswith("--")))
    if param is not None:
        return param.metavar or param.name.upper()
    return " / ".join(hint) if isinstance(hint, (list, tuple)) else str(hint or "")


def command_path(ctx: Any) -> list[str]:
    """``glm-image`` and the command names leading to ``ctx`` (whatever name the program was started by)."""
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return ["glm-image", *reversed(names)]


def _draw_help_with_helppage(command: Any) -> None:
    """Every command's --help page is drawn by helppage, as the fast path draws it from static.json."""
    command.format_help = types.MethodType(_format_help, command)
    for sub in (getattr(command, "commands", None) or {}).values():
        _draw_help_with_helppage(sub)


def _format_help(command: Any, ctx: Any, formatter: Any) -> None:
    from glm_image_cli.cli.helppage import page_model, page_texts, render, width_for

    lang = help_language()
    page = page_model(command, ctx, command_path(ctx)[1:], page_texts(lang))
    no_color = "--no-color" in sys.argv[1:] or "--no-color" in getattr(ctx.find_root().command, "_args", [])
    terminal = state_of(ctx).terminal
    formatter.write(render(page, width_for(terminal), terminal.color_on("stdout", no_color)))


def report_error(ctx: Any, error: GlmImageError) -> None:
    from glm_image_cli.core.plans import error_json
    from glm_image_cli.errors import SpendDeclined

    state = state_of(ctx)
    ui = state.ui()
    if isinstance(error, SpendDeclined):  # the user's own answer: said plainly, not as an error
        ui.note(str(error))
        return
    if getattr(error, "during", None) == "enhance":  # the rewrite failed: no image was requested
        ui.error(render("enhance_failed", model=getattr(error, "enhance_model", "?")))
    ui.error(str(error))
    if state.json_mode:  # one line: also a valid last line of batch's JSON Lines
        ui.emit_json_line({"error": error_json(error)})


app = typer.Typer(
    name="glm-image",
    cls=GlmImageGroup,
    help=help_text("cmd.root"),
    invoke_without_command=True,
    rich_markup_mode=None,  # pages are drawn by helppage: nothing in help texts is markup
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_cmd.app, name="config")
app.command("generate", help=generate_cmd.HELP)(generate_cmd.generate)
app.command("enhance", help=enhance_cmd.HELP)(enhance_cmd.enhance)
app.command("edit", help=edit_cmd.HELP)(edit_cmd.edit)
app.command("batch", help=batch_cmd.HELP)(batch_cmd.batch)
app.command("compare", help=compare_cmd.HELP)(compare_cmd.compare)
app.command("chat", help=chat_cmd.HELP)(chat_cmd.chat)
app.command("serve", help=serve_cmd.HELP)(serve_cmd.serve)
app.command("ping", help=ping_cmd.HELP)(ping_cmd.ping)
app.command("collect", help=collect_cmd.HELP)(collect_cmd.collect)
app.command("styles", help=styles_cmd.HELP)(styles_cmd.styles)
app.add_typer(template_cmd.app, name="template")
app.command("models", help=styles_cmd.MODELS_HELP)(styles_cmd.models)
app.add_typer(history_cmd.app, name="history")
app.command("again", help=history_cmd.AGAIN_HELP)(history_cmd.again)
app.command("info", help=images_cmd.INFO_HELP)(images_cmd.info)
app.command("gallery", help=images_cmd.GALLERY_HELP)(images_cmd.gallery)
app.command("show", help=show_cmd.SHOW_HELP)(show_cmd.show)
app.command("grid", help=show_cmd.GRID_HELP)(show_cmd.grid)
app.command("mcp", help=mcp_cmd.HELP)(mcp_cmd.mcp)
app.command("usage", help=usage_cmd.HELP)(usage_cmd.usage)
app.command("check", help=vision_cmd.CHECK_HELP)(vision_cmd.check)
app.command("caption", help=vision_cmd.CAPTION_HELP)(vision_cmd.caption)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"glm-image {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    lang: LangOption = None,
    no_color: NoColorOption = False,
    verbose: VerboseOption = False,
    profile: Annotated[str | None, typer.Option("--profile", help=help_text("opt.profile"), show_default=False,
                                                metavar="NAME")] = None,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_print_version, is_eager=True, help=help_text("opt.version")),
    ] = False,
) -> None:
    state = state_of(ctx)
    state.lang = bootstrap_language(lang)
    state.no_color = no_color
    set_verbose(ctx, verbose)  # always: each invocation starts from its own flag
    _set_profile(ctx, profile)
    if ctx.invoked_subcommand is None:
        _getting_started(state)


def _set_profile(ctx: Any, profile: str | None) -> None:
    """--profile NAME: every setting read in this invocation comes from [profiles.NAME] first; reset at its end."""
    import contextlib

    from glm_image_cli.storage.config import PROFILE, check_profile_name

    token = PROFILE.set(check_profile_name(profile) if profile is not None else None)

    def reset() -> None:
        with contextlib.suppress(ValueError, RuntimeError):
            PROFILE.reset(token)

    ctx.call_on_close(reset)


def _getting_started(state: Any) -> None:
    """A bare `glm-image`: the four steps that matter, not the whole reference."""
    from rich.console import Console
    from rich.panel import Panel

    from glm_image_cli.backends.regions import CONSOLE_URLS

    console = Console(file=state.output.stream("stdout"), highlight=False, markup=False, emoji=False,
                      no_color=not state.terminal.color_on("stdout", state.no_color))
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
    """Console-script entry point: the terminal's facts are gathered here, once, and passed down with the run
    state.  Anything unexpected is a bug: say so in one line, no traceback.  After a closed pipe: exit 141,
    quietly (see terminal.Output)."""
    from glm_image_cli.cli.terminal import Terminal, prepare_standard_streams, quiet_closed_streams

    prepare_standard_streams()
    state = RunState(terminal=Terminal.detect())
    try:
        app(args=_bare_server_flag(sys.argv[1:]), obj=state)
    except SystemExit as done:
        if state.output.closed is not None and state.signalled is None:  # a hang-up closes the terminal too
            done.code = int(ExitCode.OUTPUT_CLOSED)
        raise
    except BrokenPipeError:
        state.output.lost("stdout")
        sys.exit(int(ExitCode.OUTPUT_CLOSED))
    except Exception as exc:  # typer/click handle their own exceptions and exit before this
        if state.debug:
            raise
        # The invocation's language scope is already closed here; argv and the settings still say which it was.
        state.ui().error(render("internal_error", lang=help_language(), detail=f"{type(exc).__name__}: {exc}"))
        sys.exit(int(ExitCode.OUTPUT_CLOSED if state.output.closed else ExitCode.FAILURE))
    finally:
        quiet_closed_streams(state.output)
