"""The console-script entry point, with fast paths that never build the Typer app.

A TAB press runs the program, and `--help`/`--version` should feel instant, but building the command
tree imports Typer and (for parsing) pydantic.  So completion requests, `--version` and plain `--help`
pages are answered from `static.json` (the command tree and a model of every help page, generated from the
real Typer app by `python -m glm_image_cli.cli.build_static` and checked by a test that fails when it is
stale); the page is drawn for the terminal's width by glm_image_cli.cli.helppage, which the full CLI draws its
pages with too.  Everything else goes to the full CLI.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

STATIC_PATH = Path(__file__).with_name("static.json")
COMPLETE_VAR = "_GLM_IMAGE_COMPLETE"
HELP_FLAGS = ("--help", "-h")


def main() -> None:
    argv = sys.argv[1:]
    environ = os.environ  # read here, at the edge, and passed down
    if environ.get(COMPLETE_VAR):
        if _complete(environ[COMPLETE_VAR], environ):
            return
    elif argv in (["--version"], ["-V"]):
        from glm_image_cli import __version__

        _print(f"glm-image {__version__}\n")
        return
    elif _print_static_help(argv):
        return
    _skip_httpx_command_line()
    from glm_image_cli.cli.app import main as full_main

    full_main()


def _skip_httpx_command_line() -> None:
    """httpx imports its own command-line tool at import time (click, pygments, rich.syntax: about 40 ms
    of every run) though this process never uses it.  In our own console script, and only there, a
    placeholder stands in for that module; httpx's clients are untouched."""
    if "httpx" in sys.modules:
        return
    import types

    placeholder = types.ModuleType("httpx._main")

    def main() -> None:  # what httpx's __init__ re-exports; never called by glm-image
        raise SystemExit("the httpx command line is not available inside glm-image")

    placeholder.main = main  # type: ignore[attr-defined]
    sys.modules.setdefault("httpx._main", placeholder)


@cache
def static_data() -> dict[str, Any]:
    try:
        return json.loads(STATIC_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# --- help ----------------------------------------------------------------------------------------------

def _print_static_help(argv: list[str]) -> bool:
    """`glm-image [COMMAND …] --help` with nothing else: draw the stored page for this terminal."""
    words = _without_language_and_color(argv)
    if not words or words[-1] not in HELP_FLAGS or any(w.startswith("-") for w in words[:-1]):
        return False
    path = command_path(static_data().get("tree", {}), words[:-1])
    if path is None:
        return False
    from glm_image_cli.cli.language import help_language

    page = static_data().get("help", {}).get(help_language(), {}).get(path)
    if page is None:
        return False
    from glm_image_cli.cli.helppage import render, width_for
    from glm_image_cli.cli.terminal import Terminal

    terminal = Terminal.detect()
    _print(render(page, width_for(terminal), terminal.color_on("stdout", "--no-color" in argv)))
    return True


def _print(text: str) -> None:
    """``text`` on stdout; a reader that went away (`glm-image --help | head -3`) ends the process with 141,
    quietly, as in the full CLI (terminal.Output)."""
    from glm_image_cli.cli.terminal import Output, quiet_closed_streams

    output = Output()
    output.write("stdout", text)
    if output.closed is not None:
        quiet_closed_streams(output)
        raise SystemExit(141)


def command_path(tree: dict[str, Any], words: list[str]) -> str | None:
    """The command path ("config set") that ``words`` name, aliases resolved; None unless all are commands."""
    node, names = tree, []
    for word in words:
        word = node.get("aliases", {}).get(word, word)
        if word not in node.get("commands", {}):
            return None
        node = node["commands"][word]
        names.append(word)
    return " ".join(names)


def _without_language_and_color(argv: list[str]) -> list[str]:
    words, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--lang":
            skip = True
        elif not arg.startswith("--lang=") and arg != "--no-color":
            words.append(arg)
    return words


# --- completion ------------------------------------------------------------------------------------------

def _complete(instruction: str, environ: Mapping[str, str]) -> bool:
    """Answer a completion request from the static command tree, in the shell's own format (the words to
    complete come in ``environ``, as the shell's script put them there)."""
    tree = static_data().get("tree")
    if tree is None or not instruction.startswith("complete_"):
        return False
    from glm_image_cli.cli.fastcomplete import answer

    result = answer(instruction.partition("_")[2], lambda args, incomplete: candidates(tree, args, incomplete),
                    environ)
    if result is None:
        return False
    text, code = result
    if text:
        _print(text + "\n")
    if code:
        raise SystemExit(code)
    return True


def candidates(tree: dict[str, Any], args: list[str], incomplete: str) -> list[tuple[str, str | None]]:
    """What may come next after ``args`` given the partial word ``incomplete``."""
    node, values, pending = tree, {}, None
    for arg in args:
        if pending is not None:
            values[pending["dest"]] = arg
            pending = None
            continue
        option = _find_option(node, arg)
        if option is not None:
            pending = None if option["flag"] or "=" in arg else option
        elif node.get("aliases", {}).get(arg, arg) in node.get("commands", {}):
            node = node["commands"][node.get("aliases", {}).get(arg, arg)]
    if pending is None and incomplete.startswith("-"):
        return [(name, opt["help"]) for opt in node.get("options", []) for name in opt["names"]
                if name.startswith(incomplete)]
    if pending is not None:
        return _values(pending, incomplete, values)
    commands = node.get("commands", {})
    if commands:
        return [(name, sub.get("help")) for name, sub in commands.items() if name.startswith(incomplete)] + \
            [(alias, commands[target].get("help")) for alias, target in node.get("aliases", {}).items()
             if alias.startswith(incomplete)]
    argument = next(iter(node.get("arguments", [])), None)
    return _values(argument, incomplete, values) if argument else []


def _find_option(node: dict[str, Any], arg: str) -> dict[str, Any] | None:
    name = arg.split("=", 1)[0]
    return next((opt for opt in node.get("options", []) if name in opt["names"]), None)


def _values(param: dict[str, Any], incomplete: str, values: dict[str, str]) -> list[tuple[str, str | None]]:
    if param.get("choices"):
        return [(choice, None) for choice in param["choices"] if choice.startswith(incomplete)]
    source = param.get("complete")
    if not source:
        return []
    from glm_image_cli.cli.commands import completion

    if source == "size":
        return [(size, None) for size in completion.complete_size(_FakeContext(values), incomplete)]
    found = getattr(completion, f"complete_{source}")(incomplete)
    return [item if isinstance(item, tuple) else (item, None) for item in found]


class _FakeContext:
    """Just enough of a click context for complete_size: the values parsed so far."""

    def __init__(self, params: dict[str, str]) -> None:
        self.params = params
