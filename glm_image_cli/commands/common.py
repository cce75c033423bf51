"""What every command shares: the run state (language, --json, --quiet), common options, config loading."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from glm_image_cli.messages import choose_language, set_language


@dataclass
class RunState:
    """Stored in ``ctx.obj`` so the error handler at the CLI edge knows how to report."""

    lang: str = "en"
    json_mode: bool = False
    quiet: bool = False
    no_color: bool = False
    debug: bool = field(default_factory=lambda: bool(os.environ.get("GLM_IMAGE_DEBUG")))

    def ui(self) -> Any:
        from glm_image_cli.console import Ui

        return Ui(quiet=self.quiet, json_mode=self.json_mode, no_color=self.no_color)


LangOption = Annotated[
    str | None,
    typer.Option("--lang", help="Message language: zh or en (default: config `lang`, else the locale).",
                 show_default=False, metavar="zh|en"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Only results and errors; no progress.")]


def state_of(ctx: typer.Context) -> RunState:
    root = ctx.find_root()
    if not isinstance(root.obj, RunState):
        root.obj = RunState()
    return root.obj


def begin(ctx: typer.Context, *, lang: str | None = None, json_mode: bool = False, quiet: bool = False) -> RunState:
    """Record this command's output options and settle the message language."""
    state = state_of(ctx)
    state.json_mode = state.json_mode or json_mode
    state.quiet = state.quiet or quiet
    if lang:
        state.lang = validate_lang(lang)
        set_language(state.lang)
    return state


def validate_lang(lang: str) -> str:
    value = lang.strip().lower().replace("_", "-")
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en"):
        return "en"
    raise typer.BadParameter("zh | en", param_hint="--lang")


def bootstrap_language(flag: str | None) -> str:
    """Language before any command runs: --lang, then GLM_IMAGE_LANG / the config file's lang, then locale.

    A broken config file must not stop us from reporting that it is broken, so it is read leniently.
    """
    configured = os.environ.get("GLM_IMAGE_LANG")
    if not configured:
        try:
            from glm_image_cli.config import config_path, read_config_file

            value = read_config_file(config_path()).get("lang")
            configured = value if isinstance(value, str) else None
        except Exception:  # a broken file is reported later, in the user's language
            configured = None
    if flag:
        lang = validate_lang(flag)
    else:
        lang = choose_language(None, configured.strip().lower() if configured else None)
        if lang not in ("zh", "en"):
            lang = "en"
    set_language(lang)
    return lang
