"""The output options every command takes (--json, --quiet, --no-color, --lang, -v), declared once.

``@output_options()`` adds them to a command's signature for Typer and settles them (``begin``) before
the command runs, so a command body starts from ``state_of(ctx)`` and never repeats the declarations.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from glm_image_cli.cli.commands.common import JsonOption, LangOption, NoColorOption, QuietOption, VerboseOption, begin

Command = TypeVar("Command", bound=Callable[..., Any])

_OPTIONS = {"json_output": (JsonOption, False), "quiet": (QuietOption, False),
            "no_color": (NoColorOption, False), "lang": (LangOption, None), "verbose": (VerboseOption, False)}


def output_options(*, quiet: bool = True, lang: bool = True) -> Callable[[Command], Command]:
    """Give the command --json, --no-color, --lang, -v/--verbose and (unless ``quiet=False``) --quiet/-q;
    ``lang=False``: the command declares its own --lang (`caption`: the caption's language, and the messages')."""
    names = [name for name in _OPTIONS if (quiet or name != "quiet") and (lang or name != "lang")]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)  # Typer reads a set __signature__ as it is
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=_OPTIONS[name][1],
                                   annotation=_OPTIONS[name][0]) for name in names]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name, _OPTIONS[name][1]) for name in names}
            ctx = kwargs.get("ctx", args[0] if args else None)
            begin(ctx, lang=given.get("lang"), json_mode=bool(given.get("json_output")),
                  quiet=bool(given.get("quiet")), no_color=bool(given.get("no_color")),
                  verbose=bool(given.get("verbose")))
            return command(*args, **kwargs)

        run.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), *extra])
        run.__annotations__ = {**command.__annotations__, **{name: _OPTIONS[name][0] for name in names}}
        return run  # type: ignore[return-value]

    return decorate
