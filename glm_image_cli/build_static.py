"""Regenerate glm_image_cli/static.json from the Typer app:  python -m glm_image_cli.build_static

It holds the command tree (for fast shell completion) and every command's --help page in English and
Chinese, plain and coloured, rendered by Typer/Rich at 80 columns.  tests/test_completion.py fails when
the checked-in file differs from what this writes, so it cannot drift from the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from glm_image_cli.entry import STATIC_PATH

WIDTH = "80"


def command_tree(command: Any, help_text: str | None = None) -> dict[str, Any]:
    """Commands, options (names, takes a value, completion source) and arguments of a click command."""
    node: dict[str, Any] = {"help": help_text, "options": [], "arguments": []}
    for param in command.params:
        entry = {"dest": param.name, "complete": _completion_source(param),
                 "choices": list(getattr(getattr(param, "type", None), "choices", None) or [])}
        if getattr(param, "param_type_name", "") == "option":
            if getattr(param, "hidden", False):
                continue
            names = [*param.opts, *param.secondary_opts]
            entry.update(names=names, flag=bool(getattr(param, "is_flag", False) or getattr(param, "count", False)),
                         help=(param.help or "").split("\n")[0] or None)
            node["options"].append(entry)
        else:
            node["arguments"].append(entry)
    node["options"].append({"names": ["--help", "-h"], "flag": True, "help": None, "dest": "help", "complete": None,
                            "choices": []})
    subcommands = getattr(command, "commands", None)
    if subcommands:
        node["commands"] = {name: command_tree(sub, (sub.help or "").split("\n")[0] or None)
                            for name, sub in sorted(subcommands.items()) if not getattr(sub, "hidden", False)}
    return node


def _completion_source(param: Any) -> str | None:
    """The name of the glm_image_cli.commands.completion function behind a Typer autocompletion."""
    wrapper = getattr(param, "_custom_shell_complete", None)
    for cell in getattr(wrapper, "__closure__", None) or ():
        name = getattr(cell.cell_contents, "__name__", "")
        if name.startswith("complete_"):
            return name.removeprefix("complete_")
    return None


def command_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[str]:
    paths = [" ".join(prefix)]
    for name, sub in tree.get("commands", {}).items():
        paths += command_paths(sub, (*prefix, name))
    return paths


def render_pages(lang: str, color: str, paths: list[str]) -> dict[str, str]:
    """Each page rendered by the real CLI in a child process (help texts are chosen at import time)."""
    env = {**os.environ, "GLM_IMAGE_LANG": lang, "TERMINAL_WIDTH": WIDTH, "COLUMNS": WIDTH, "LINES": "50",
           "GLM_IMAGE_CONFIG": os.devnull, "TERM": "xterm-256color", "COLORTERM": ""}
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    if color == "ansi":
        env["FORCE_COLOR"] = "1"
    else:
        env["NO_COLOR"] = "1"
    code = ("import json, sys; from glm_image_cli.build_static import _render_in_process; "
            "print(json.dumps(_render_in_process(json.loads(sys.argv[1]))))")
    completed = subprocess.run([sys.executable, "-c", code, json.dumps(paths)], capture_output=True, text=True,
                               env=env, check=True)
    return json.loads(completed.stdout)


def _render_in_process(paths: list[str]) -> dict[str, str]:
    from typer.testing import CliRunner

    from glm_image_cli.cli import app

    runner = CliRunner()
    pages = {}
    for path in paths:
        args = [*path.split(), "--help"] if path else ["--help"]
        pages[path] = runner.invoke(app, args, prog_name="glm-image", color=True).stdout
    return pages


def build() -> dict[str, Any]:
    from typer.main import get_command

    from glm_image_cli.cli import app

    tree = command_tree(get_command(app))
    tree["options"] = [opt for opt in tree["options"] if opt["dest"] not in ("install_completion",
                                                                             "show_completion")]
    paths = command_paths(tree)
    pages = {lang: {color: render_pages(lang, color, paths) for color in ("plain", "ansi")} for lang in ("en", "zh")}
    return {"tree": tree, "help": pages, "rendered_with": rendering_versions()}


def rendering_versions() -> dict[str, str]:
    """Typer and Rich draw the pages: another version may draw them a little differently."""
    from importlib.metadata import version

    return {"typer": version("typer"), "rich": version("rich")}


def serialized() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    Path(STATIC_PATH).write_text(serialized(), encoding="utf-8")
    print(STATIC_PATH)


if __name__ == "__main__":
    main()
