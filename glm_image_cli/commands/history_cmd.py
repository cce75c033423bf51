"""`glm-image history` (list, search, show, clear) and `glm-image again ID` (re-run with overrides)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from glm_image_cli.commands.common import (
    ImageFormatOption,
    JsonOption,
    LangOption,
    ModelOption,
    NameOption,
    NegativeOption,
    NoHistoryOption,
    NoMetadataOption,
    NoWatermarkOption,
    OutputDirOption,
    QualityOption,
    QuietOption,
    SizeOption,
    StyleOption,
    UserIdOption,
    YesOption,
    begin,
    output_flags,
)
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import render

app = typer.Typer(
    help="""List and search past generations; `history show ID` for one.  查看和搜索生成历史。

Examples / 示例:

  glm-image history --search 猫 --since 2d

  glm-image history show 12

  glm-image again 12 -n 4 --style 油画
""",
    invoke_without_command=True,
)


@app.callback()
def history(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option("--search", help="Only prompts containing this text.",
                                               show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only since 30m, 3h, 2d, 1w or a date.",
                                              show_default=False)] = None,
    model: ModelOption = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed generations.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many (newest first).")] = 20,
    clear: Annotated[bool, typer.Option("--clear", help="Delete the whole history (asks first).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --clear.")] = False,
    json_output: JsonOption = False,
    lang: LangOption = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from glm_image_cli.history import History, parse_since

    state = begin(ctx, lang=lang, json_mode=json_output)
    ui = state.ui()
    store = History()
    if clear:
        _clear(store, yes, state)
        return
    entries = store.search(text=search, since=parse_since(since) if since else None, model=model,
                           failed=failed, limit=max(1, limit))
    if state.json_mode:
        ui.emit_json([entry.to_json() for entry in entries])
        return
    if not entries:
        ui.note(render("history_empty"))
        return
    from pathlib import Path

    from glm_image_cli.output import display_path

    rows = [[str(e.id), e.created.replace("T", " ")[:19], e.prompt if len(e.prompt) <= 40 else e.prompt[:39] + "…",
             e.model or "", e.size or "", display_path(Path(e.path)) if e.ok and e.path else f"✗ {e.error_code}"]
            for e in entries]
    ui.table([render("col_id"), render("col_time"), render("col_prompt"), render("col_model"), render("col_size"),
              render("col_result")], rows)


def _clear(store, yes: bool, state) -> None:
    count = len(store.search(limit=10**9))
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("history_clear_needs_yes")
        if not typer.confirm(render("history_clear_confirm", count=count), default=False):
            raise typer.Exit(1)
    state.ui().note(render("history_cleared", count=store.clear()))


@app.command("show", help="Show one history entry in full.  显示一条历史记录。")
def show(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `glm-image history`.")],
    json_output: JsonOption = False,
    lang: LangOption = None,
) -> None:
    from glm_image_cli.history import History

    state = begin(ctx, lang=lang, json_mode=json_output)
    entry = History().get(entry_id)
    if state.json_mode:
        state.ui().emit_json(entry.to_json())
        return
    rows = [[key, "" if value is None else str(value)] for key, value in entry.to_json().items()]
    state.ui().table([render("col_field"), render("col_value")], rows)


AGAIN_HELP = """Run a past generation again, optionally changing some of it.  重新运行一条历史记录。

Examples / 示例:

  glm-image again 12

  glm-image again 12 -n 4 --style 油画 --size 1344x768
"""


def again(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `glm-image history`.")],
    samples: Annotated[int, typer.Option("--samples", "-n", "--n", help="How many images.")] = 1,
    style: StyleOption = None,
    negative: NegativeOption = None,
    size: SizeOption = None,
    model: ModelOption = None,
    quality: QualityOption = None,
    output_dir: OutputDirOption = None,
    name: NameOption = None,
    image_format: ImageFormatOption = None,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    no_watermark: NoWatermarkOption = False,
    user_id: UserIdOption = None,
    yes: YesOption = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    lang: LangOption = None,
) -> None:
    from glm_image_cli.commands.generate_cmd import run_generate
    from glm_image_cli.history import History
    from glm_image_cli.session import GenerateRequest

    state = begin(ctx, lang=lang, json_mode=json_output, quiet=quiet)
    entry = History().get(entry_id)
    if not entry.prompt:
        raise UsageError("history_no_prompt", id=entry_id)
    request = GenerateRequest(
        prompt=entry.prompt, style=style or entry.style, negative=negative or entry.negative,
        size=size or entry.size, model=model or entry.model, quality=quality or entry.quality, samples=samples,
        output_dir=output_dir, no_metadata=no_metadata, no_history=no_history, command="again",
        output=output_flags(name, image_format, no_watermark, user_id), yes=yes,
    )
    run_generate(state, request)
