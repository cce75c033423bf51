"""`glm-image history` (list, search, show, clear) and `glm-image again ID` (re-run with overrides)."""

from __future__ import annotations

import re
import shlex
from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import (
    ImageFormatOption,
    ModelOption,
    NameOption,
    NegativeOption,
    NoHistoryOption,
    NoMetadataOption,
    NoWatermarkOption,
    QualityOption,
    SizeOption,
    StyleOption,
    UserIdOption,
    YesOption,
    output_flags,
    state_of,
)
from glm_image_cli.cli.commands.generating import (
    BestOfOption,
    CaptionOption,
    CheckOption,
    DiscardOption,
    DryRunOption,
    OpenOption,
    StdoutOutputDirOption,
)
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import ExitCode, UsageError
from glm_image_cli.messages import render

app = typer.Typer(help=help_text("cmd.history"), invoke_without_command=True)


@app.callback()
@output_options()
def history(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option("--search", help=help_text("opt.search"), show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help=help_text("opt.since"), show_default=False)] = None,
    model: ModelOption = None,
    failed: Annotated[bool, typer.Option("--failed", help=help_text("opt.failed"))] = False,
    limit: Annotated[int, typer.Option("--limit", help=help_text("opt.limit"))] = 20,
    clear: Annotated[bool, typer.Option("--clear", help=help_text("opt.clear"))] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=help_text("opt.yes_clear"))] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from glm_image_cli.storage.history import History, parse_since
    from glm_image_cli.storage.instants import local_text

    state = state_of(ctx)
    ui = state.ui()
    store = History()
    if clear:
        _clear(store, yes, state)
        return
    filters = {"text": search, "since": parse_since(since) if since else None, "model": model, "failed": failed}
    entries = store.search(**filters, limit=max(1, limit))
    verdicts = _verdicts([entry.path for entry in entries if entry.path])  # --check: each image's latest
    if state.json_mode:
        ui.emit_json([{**entry.to_json(), **({"check": verdicts[entry.path]} if entry.path in verdicts else {})}
                      for entry in entries])
        return
    if not entries:
        _nothing_found(ui, store, filters, {"text": f"--search {_typed(search)}", "since": f"--since {_typed(since)}",
                                            "model": f"--model {_typed(model)}", "failed": "--failed"})
        return
    from pathlib import Path

    from glm_image_cli.storage.files import display_path

    rows = [[str(e.id), local_text(e.created), e.prompt if len(e.prompt) <= 40 else e.prompt[:39] + "…",
             e.model or "", e.size or "", display_path(Path(e.path)) if e.ok and e.path else f"✗ {e.error_code}"]
            for e in entries]
    # Paths, times and model names are never broken mid-word: the prompt wraps, and size, model and time
    # columns give way (in that order) on a narrow terminal.
    columns = [render("col_id"), render("col_time"), render("col_prompt"), render("col_model"), render("col_size"),
               render("col_result")]
    if verdicts:  # a column only when something was checked
        for row, entry in zip(rows, entries, strict=True):
            row.append(_score(verdicts.get(entry.path or "")))
        columns.append(render("col_verdict"))
    ui.table(columns, rows, whole=(1, 3, 4, 5), optional=(4, 3, 1))
    if len(entries) >= max(1, limit):
        total = len(store.search(**filters, limit=-1))  # SQLite: a negative LIMIT is no limit
        if total > len(entries):
            ui.note(render("history_more", shown=len(entries), total=total))


def _typed(value: str | None) -> str:
    """A flag's value as it would be typed again: quoted only when a shell needs it (not for 猫)."""
    text = value or ""
    return text if re.fullmatch(r"[\w.:/+-]+", text) else shlex.quote(text)


def _nothing_found(ui, store, filters: dict, flags: dict[str, str]) -> None:
    """An empty answer says why: no history at all, or nothing that matches every filter given; then, for each
    filter, how many entries there are without it, so the user knows which one to widen."""
    total = len(store.search(limit=-1))  # SQLite: a negative LIMIT is no limit
    active = [name for name, value in filters.items() if value]
    if not total or not active:
        ui.note(render("history_empty"))
        return
    ui.note(render("history_no_match", total=total, filters=" ".join(flags[name] for name in active)))
    widen = []
    for name in active:
        count = len(store.search(**{**filters, name: None if name != "failed" else False}, limit=-1))
        if count:
            widen.append(render("history_without", flag=flags[name], count=count))
    ui.note(render("history_widen", options="; ".join(widen)) if widen else render("history_widen_none"))


def _verdicts(paths: list[str]) -> dict[str, dict]:
    """The latest verdict of each path (the history's `checks` table); none when it cannot be read."""
    from glm_image_cli.storage.verdicts import CheckRecords

    records = CheckRecords()
    try:
        return records.latest(paths)
    except Exception:  # an old or damaged file: the history is still listed
        return {}
    finally:
        records.close()


def _score(verdict: dict | None) -> str:
    if not verdict:
        return ""
    return f"{verdict['score']}/10" if verdict.get("score") is not None else render("check_unchecked_cell")


def _clear(store, yes: bool, state) -> None:
    count = len(store.search(limit=10**9))
    if not yes:
        if not state.terminal.stdin_tty:
            raise UsageError("history_clear_needs_yes")
        if not typer.confirm(render("history_clear_confirm", count=count), default=False, err=True):
            raise typer.Exit(int(ExitCode.INTERRUPTED))
    removed = store.clear()
    if state.json_mode:
        state.ui().emit_json({"removed": removed})
    else:
        state.ui().note(render("history_cleared", count=removed))


IdArgument = Annotated[int, typer.Argument(metavar="ID", help=help_text("arg.history_id"))]


@app.command("show", help=help_text("cmd.history_show"))
@output_options(quiet=False)
def show(
    ctx: typer.Context,
    entry_id: IdArgument,
) -> None:
    from glm_image_cli.storage.history import History

    state = state_of(ctx)
    entry = History().get(entry_id)
    verdict = _verdicts([entry.path]).get(entry.path or "") if entry.path else None
    if state.json_mode:
        state.ui().emit_json({**entry.to_json(), **({"check": verdict} if verdict else {})})
        return
    rows = [[key, "" if value is None else str(value)] for key, value in entry.to_json().items()]
    if verdict:
        from glm_image_cli.core.bestof import verdict_summary

        rows.append(["check", verdict_summary(verdict)])
    state.ui().table([render("col_field"), render("col_value")], rows)


AGAIN_HELP = help_text("cmd.again")


@output_options()
def again(
    ctx: typer.Context,
    entry_id: IdArgument,
    samples: Annotated[int, typer.Option("--samples", "-n", help=help_text("opt.samples"), metavar="N")] = 1,
    style: StyleOption = None,
    negative: NegativeOption = None,
    size: SizeOption = None,
    model: ModelOption = None,
    quality: QualityOption = None,
    output_dir: StdoutOutputDirOption = None,
    name: NameOption = None,
    image_format: ImageFormatOption = None,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    no_watermark: NoWatermarkOption = False,
    user_id: UserIdOption = None,
    yes: YesOption = False,
    enhance: Annotated[bool | None, typer.Option("--enhance/--no-enhance", help=help_text("opt.enhance_again"),
                                                 show_default=False)] = None,
    review: Annotated[bool, typer.Option("--review", help=help_text("opt.review"))] = False,
    preview: Annotated[bool | None, typer.Option("--preview/--no-preview", help=help_text("opt.preview"),
                                                 show_default=False)] = None,
    dry_run: DryRunOption = False,
    open_images: OpenOption = False,
    check: CheckOption = False,
    best_of: BestOfOption = None,
    discard_candidates: DiscardOption = False,
    caption: CaptionOption = False,
) -> None:
    from glm_image_cli.cli.commands.generating import run_generate, stdout_or_folder, vision_setup
    from glm_image_cli.core.session import GenerateRequest
    from glm_image_cli.storage.history import History

    state = state_of(ctx)
    output_dir, to_stdout = stdout_or_folder(output_dir)
    entry = History().get(entry_id)
    if not entry.prompt:
        raise UsageError("history_no_prompt", id=entry_id)
    images, mask = _edit_sources(entry)
    request = GenerateRequest(
        prompt=entry.prompt, style=style or entry.style, negative=negative or entry.negative,
        size=size or entry.size, model=model or entry.model, quality=quality or entry.quality, samples=samples,
        images=images, mask=mask,
        output_dir=output_dir, no_metadata=no_metadata, no_history=no_history, command="again",
        output=output_flags(name, image_format, no_watermark, user_id), yes=yes,
        # A rewritten entry re-uses its rewrite (kept in the rewrite cache); --enhance asks for a new one.
        enhance=True if enhance or (enhance is None and (review or _was_enhanced(entry))) else enhance,
        no_cache=bool(enhance), review=review,
        vision=vision_setup(check, best_of, discard_candidates, caption, no_metadata=no_metadata,
                            no_history=no_history),
    )
    run_generate(state, request, preview, dry_run=dry_run, open_images=open_images, to_stdout=to_stdout)


def _edit_sources(entry) -> tuple[tuple[str, ...], str | None]:
    """For an edited image: its source images and mask, read back from its recipe and checked against the
    hashes recorded there, so `again` edits the same pictures (or says why it cannot) instead of
    silently making a new image from the prompt alone."""
    if entry.command != "edit":
        return (), None
    from glm_image_cli.storage.pngmeta import recipe_in_file
    from glm_image_cli.storage.saving import source_images

    recipe = recipe_in_file(entry.path) if entry.path else None
    recorded = (recipe or {}).get("source_images")
    if not isinstance(recorded, list) or not recorded:
        raise UsageError("again_edit_sources", id=entry.id, path=entry.path or "?")
    wanted = [*recorded, (recipe or {}).get("mask")]
    paths = [item.get("path") if isinstance(item, dict) else None for item in wanted]
    for item, path in zip(wanted, paths, strict=True):
        if item is None:
            continue
        current = source_images((path,))[0] if isinstance(path, str) else None
        if not current or current.get("sha256") != item.get("sha256"):
            raise UsageError("again_edit_sources", id=entry.id, path=path or "?")
    return tuple(paths[:-1]), paths[-1]


def _was_enhanced(entry) -> bool:
    """Whether the entry's prompt was rewritten by --enhance: the prompt sent does not begin with the typed one
    (a style preset or a negative only ever add to its end)."""
    from glm_image_cli.core.styles import _TRAILING_PUNCTUATION

    typed = entry.prompt.strip().rstrip(_TRAILING_PUNCTUATION)
    return bool(entry.prompt_sent) and bool(typed) and not entry.prompt_sent.startswith(typed)
