"""Regenerate glm_image_cli/cli/static.json from the Typer app:  python -m glm_image_cli.cli.build_static

It holds what does not depend on the terminal, so the fast path (entry.py) can answer without building the
Typer app: the command tree (commands, aliases, options, completion sources) for shell completion, and every
command's --help page as a model (glm_image_cli.cli.helppage.page_model) in English and Chinese, which
helppage.render draws at run time for the terminal's width and colour, exactly as the full CLI draws it.
tests/test_completion.py fails when the checked-in file differs from what this writes, so it cannot drift
from the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from glm_image_cli.cli.entry import STATIC_PATH

LANGUAGES = ("en", "zh")


def command_tree(command: Any, help_text: str | None = None) -> dict[str, Any]:
    """Commands, aliases, options (names, takes a value, completion source) and arguments of a command."""
    from glm_image_cli.cli.commands.completion import SOURCES

    node: dict[str, Any] = {"help": help_text, "options": [], "arguments": []}
    for param in command.params:
        descriptor = getattr(param, "type_descriptor", None)
        choices = getattr(descriptor, "choices", None) if getattr(descriptor, "is_choice", False) else None
        entry = {"dest": param.name, "complete": SOURCES.get(param.name), "choices": [str(c) for c in choices or []]}
        if param.param_type_name == "option":
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
        aliases = getattr(command, "aliases", None)
        if aliases:
            node["aliases"] = dict(sorted(aliases.items()))
    return node


def page_models(command: Any, lang: str) -> dict[str, dict[str, Any]]:
    """Every command's help page model, by command path ("" for the root, "config set", …)."""
    from glm_image_cli.cli.helppage import page_model, page_texts

    texts = page_texts(lang)
    pages: dict[str, dict[str, Any]] = {}

    def visit(cmd: Any, path: list[str], parent: Any) -> None:
        ctx = cmd.context_class(cmd, info_name=path[-1] if path else "glm-image", parent=parent,
                                **cmd.context_settings)
        pages[" ".join(path)] = page_model(cmd, ctx, path, texts)
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            if not getattr(sub, "hidden", False):
                visit(sub, [*path, name], ctx)

    visit(command, [], None)
    return pages


def _build_in_process(lang: str) -> dict[str, Any]:
    """In a child whose help language is ``lang`` (help texts are chosen when the commands are imported)."""
    from typer.main import get_command

    from glm_image_cli.cli.app import app

    command = get_command(app)
    tree = command_tree(command)
    tree["options"] = [opt for opt in tree["options"] if opt["dest"] not in ("install_completion",
                                                                             "show_completion")]
    return {"tree": tree, "pages": page_models(command, lang)}


def _build_for(lang: str) -> dict[str, Any]:
    env = {**os.environ, "GLM_IMAGE_LANG": lang, "GLM_IMAGE_CONFIG": os.devnull}
    code = ("import json, sys; from glm_image_cli.cli.build_static import _build_in_process; "
            "print(json.dumps(_build_in_process(sys.argv[1])))")
    completed = subprocess.run([sys.executable, "-c", code, lang], capture_output=True, text=True, env=env,
                               check=True)
    return json.loads(completed.stdout)


def build() -> dict[str, Any]:
    built = {lang: _build_for(lang) for lang in LANGUAGES}
    return {"tree": built["en"]["tree"], "help": {lang: built[lang]["pages"] for lang in LANGUAGES}}


def serialized() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    Path(STATIC_PATH).write_text(serialized(), encoding="utf-8")
    print(STATIC_PATH)


if __name__ == "__main__":
    main()
