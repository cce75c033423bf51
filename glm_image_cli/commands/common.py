"""What every command shares: the run state (language, --json, --quiet), common options, config loading."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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


# Options shared by `generate` and `batch` (for batch they are defaults for every item).
StyleOption = Annotated[str | None, typer.Option("--style", "-s", help="Style preset (see `glm-image styles`).",
                                                 show_default=False)]
NegativeOption = Annotated[str | None, typer.Option("--negative", help="What the image should not show.",
                                                    show_default=False)]
SizeOption = Annotated[str | None, typer.Option("--size", help="WIDTHxHEIGHT, e.g. 1024x1024.", show_default=False)]
ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Model (default: cogview-4-250304).",
                                                 show_default=False)]
QualityOption = Annotated[str | None, typer.Option("--quality", help="hd or standard.", show_default=False)]
SamplesOption = Annotated[int, typer.Option("--samples", "-n", help="Images per prompt (one API call each).")]
OutputDirOption = Annotated[Path | None, typer.Option("--output-dir", "-o", help="Folder for the images.",
                                                      show_default=False)]
ConcurrencyOption = Annotated[int | None, typer.Option("--concurrency", "-j", help="Calls in flight at once.",
                                                       show_default=False)]
TimeoutOption = Annotated[float | None, typer.Option("--timeout", help="Seconds to wait for each answer.",
                                                     show_default=False)]
RetryUnsafeOption = Annotated[bool, typer.Option(
    "--retry-unsafe", help="Also retry calls that may already have been billed (timeouts, lost answers).")]


def require_api_key(cfg: Any) -> str:
    """The key, or the one-line "how to set one" error before anything is sent."""
    from glm_image_cli.errors import ConfigError
    from glm_image_cli.messages import CONSOLE_URLS

    key = cfg["api-key"]
    if not key:
        raise ConfigError("missing_api_key", console_url=CONSOLE_URLS.get(cfg.region, CONSOLE_URLS["cn"]))
    return str(key)


def make_client(state: RunState, cfg: Any, retry_unsafe: bool, connections: int | None = None) -> Any:
    from glm_image_cli.client import BigModelClient

    wanted = connections if connections is not None else int(cfg["concurrency"]) * 2
    return BigModelClient(require_api_key(cfg), cfg.base_url, timeout=cfg["timeout"], lang=state.lang,
                          region=cfg.region, retry_unsafe=retry_unsafe, max_connections=max(16, wanted))


def drain_after_interrupt(state: RunState, in_flight: int, message_id: str, wait: Callable[[], None],
                          on_abandon: Callable[[], None]) -> None:
    """First Ctrl-C: nothing new is sent and what is in flight (maybe billed) is awaited and kept.
    A second Ctrl-C abandons it: ``on_abandon`` reports, then the process leaves without the workers."""
    from glm_image_cli.errors import ExitCode
    from glm_image_cli.messages import render

    ui = state.ui()
    if not in_flight:
        return
    ui.warn(render(message_id, count=in_flight))
    try:
        wait()
    except KeyboardInterrupt:
        on_abandon()
        ui.error(render("interrupted"))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(ExitCode.INTERRUPTED))  # worker threads cannot be stopped; leave without them


NoMetadataOption = Annotated[bool, typer.Option("--no-metadata", help="Do not embed the recipe in the images.")]
NoHistoryOption = Annotated[bool, typer.Option("--no-history", help="Do not record this run in the history.")]


def make_saver(cfg: Any, folder: Path, command: str, *, no_metadata: bool = False, no_history: bool = False) -> Any:
    """How this run saves images: recipe embedded unless disabled, history unless disabled."""
    from glm_image_cli.history import History
    from glm_image_cli.saving import ImageSaver

    history = History() if cfg["history"] and not no_history else None
    return ImageSaver(folder=folder, command=command, metadata=bool(cfg["metadata"]) and not no_metadata,
                      history=history)


def report_history_problem(state: RunState, saver: Any) -> None:
    from glm_image_cli.messages import render

    if saver is not None and saver.history_problem is not None:
        state.ui().warn(render("history_not_recorded", detail=str(saver.history_problem)))
