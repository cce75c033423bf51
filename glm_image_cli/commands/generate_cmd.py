"""`glm-image generate`: one prompt, n images, saved to the output folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from glm_image_cli.commands.common import JsonOption, LangOption, QuietOption, RunState, begin
from glm_image_cli.errors import ConfigError, ExitCode, GlmImageError, UsageError
from glm_image_cli.messages import CONSOLE_URLS, render

if TYPE_CHECKING:
    from glm_image_cli.config import ResolvedConfig
    from glm_image_cli.console import Ui
    from glm_image_cli.generation import GenerationPlan, GenerationRun, ImageOutcome

HELP = """Generate images from a text prompt (Chinese or English).  根据提示词生成图片。

Examples / 示例:

  glm-image generate "一只可爱的卡通猫，白色背景" --style 卡通

  glm-image generate "a lighthouse at dusk" -n 2 --size 1344x768 -m cogview-4-250304 -o ./out

  echo "水墨山水" | glm-image generate -

  glm-image generate "城市夜景" --negative "模糊，低质量" --json
"""


def generate(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="The prompt; - reads it from standard input.", show_default=False)],
    style: Annotated[str | None, typer.Option("--style", "-s", help="Style preset (see `glm-image styles`).",
                                              show_default=False)] = None,
    negative: Annotated[str | None, typer.Option("--negative", help="What the image should not show.",
                                                 show_default=False)] = None,
    size: Annotated[str | None, typer.Option("--size", help="WIDTHxHEIGHT, e.g. 1024x1024.",
                                             show_default=False)] = None,
    width: Annotated[int | None, typer.Option("--width", help="Width in pixels (with --height).",
                                              show_default=False)] = None,
    height: Annotated[int | None, typer.Option("--height", help="Height in pixels (with --width).",
                                               show_default=False)] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model (default: cogview-4-250304).",
                                              show_default=False)] = None,
    quality: Annotated[str | None, typer.Option("--quality", help="hd or standard.", show_default=False)] = None,
    samples: Annotated[int, typer.Option("--samples", "-n", help="How many images (one API call each).")] = 1,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", "-o", help="Folder for the images.",
                                                    show_default=False)] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-j", help="Calls in flight at once.",
                                                    show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds to wait for each answer.",
                                                  show_default=False)] = None,
    retry_unsafe: Annotated[bool, typer.Option(
        "--retry-unsafe", help="Also retry calls that may already have been billed (timeouts, lost answers).",
    )] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    lang: LangOption = None,
) -> None:
    from glm_image_cli.config import load_config
    from glm_image_cli.generation import combine_size, plan_generation
    from glm_image_cli.output import ensure_writable_dir

    state = begin(ctx, lang=lang, json_mode=json_output, quiet=quiet)
    ui = state.ui()
    text = _read_prompt(prompt)
    cfg = load_config(flags={
        "model": model, "size": combine_size(size, width, height), "style": style, "quality": quality,
        "output-dir": str(output_dir) if output_dir else None, "concurrency": concurrency, "timeout": timeout,
    })
    for warning in cfg.warnings:
        ui.warn(str(warning))
    plan = plan_generation(
        text, model=cfg["model"], size=cfg["size"], quality=cfg["quality"], style=cfg["style"],
        negative=negative, samples=samples, user_styles=cfg.user_styles,
    )
    api_key = _require_api_key(cfg)
    folder = ensure_writable_dir(Path(os.path.expanduser(cfg["output-dir"])))
    for warning in plan.warnings:
        ui.warn(str(warning))
    outcomes = _run(state, cfg, plan, api_key, folder, retry_unsafe)
    _report(state, plan, outcomes, folder)


def _read_prompt(prompt: str) -> str:
    if prompt != "-":
        return prompt
    try:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("stdin_unreadable", detail=str(exc)) from None
    if not text.strip():
        raise UsageError("empty_prompt")
    return text


def _require_api_key(cfg: ResolvedConfig) -> str:
    key = cfg["api-key"]
    if not key:
        raise ConfigError("missing_api_key", console_url=CONSOLE_URLS.get(cfg.region, CONSOLE_URLS["cn"]))
    return str(key)


def _run(state: RunState, cfg: ResolvedConfig, plan: GenerationPlan, api_key: str, folder: Path,
         retry_unsafe: bool) -> list[ImageOutcome]:
    from glm_image_cli.client import BigModelClient
    from glm_image_cli.generation import GenerationRun

    ui = state.ui()
    with (
        BigModelClient(api_key, cfg.base_url, timeout=cfg["timeout"], lang=state.lang, region=cfg.region,
                       retry_unsafe=retry_unsafe) as client,
        ui.image_progress(plan.samples) as progress,
    ):
        run = GenerationRun(plan, client, folder, concurrency=cfg["concurrency"], on_event=progress.event)
        run.start()
        try:
            while not run.wait():
                pass
        except KeyboardInterrupt:
            _finish_after_interrupt(state, run)
        run.shutdown()
        return run.outcomes()


def _finish_after_interrupt(state: RunState, run: GenerationRun) -> None:
    """First Ctrl-C: send nothing new, keep what is already paid for; second: abandon it."""
    ui = state.ui()
    in_flight = run.stop_dispatching()
    if in_flight:
        ui.warn(render("interrupted_waiting", count=in_flight))
        try:
            while not run.wait():
                pass
        except KeyboardInterrupt:
            _print_saved(state, run.outcomes())
            ui.error(render("interrupted"))
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(ExitCode.INTERRUPTED))  # worker threads cannot be stopped; leave without them
    _print_saved(state, run.outcomes())
    raise KeyboardInterrupt


def _print_saved(state: RunState, outcomes: list[ImageOutcome]) -> None:
    ui = state.ui()
    for outcome in outcomes:
        if outcome.path is not None and not state.json_mode:
            ui.result(str(outcome.path))


def _report(state: RunState, plan: GenerationPlan, outcomes: list[ImageOutcome], folder: Path) -> None:
    """Paths (or JSON) on stdout, one line per failure on stderr, exit code of the first failure."""
    from glm_image_cli.output import display_path

    ui = state.ui()
    failures = [o for o in outcomes if o.error is not None]
    for outcome in outcomes:
        if outcome.result is not None and outcome.result.format != "png":
            ui.warn(render("real_format_kept", format=outcome.result.format.upper(),
                           ext=outcome.result.extension))
    if state.json_mode:
        ui.emit_json([o.to_json(plan) for o in outcomes])
    else:
        _print_saved(state, outcomes)
    _report_failures(ui, plan, failures)
    saved = len(outcomes) - len(failures)
    if plan.samples > 1:
        ui.note(render("summary_saved", saved=saved, total=plan.samples, folder=display_path(folder)))
    if failures:
        first: GlmImageError = failures[0].error  # type: ignore[assignment]
        raise typer.Exit(int(first.exit_code))


def _report_failures(ui: Ui, plan: GenerationPlan, failures: list[ImageOutcome]) -> None:
    """One line per distinct failure; the image number only matters when there are several images."""
    shown: set[str] = set()
    for outcome in failures:
        text = str(outcome.error)
        if text in shown:
            continue
        shown.add(text)
        if plan.samples > 1:
            text = f"{render('image_label', index=outcome.index, total=plan.samples)}: {text}"
        ui.error(text)
