"""`glm-image show` (images in the terminal, with their recipe) and `glm-image grid` (a contact-sheet PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from glm_image_cli.cli.commands.common import state_of
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import OutputError, UsageError
from glm_image_cli.messages import render

SHOW_HELP = help_text("cmd.show")
GRID_HELP = help_text("cmd.grid")


def resolve_targets(targets: list[str]) -> list[Path]:
    """Files as they are, folders as their images, a number that is no file as the history entry's image."""
    from glm_image_cli.cli.contact import images_in

    found: list[Path] = []
    for target in targets:
        path = Path(target)
        if path.is_dir():
            images = images_in([path])
            if not images:
                raise UsageError("show_no_images", target=target)
            found.extend(images)
        elif path.is_file():
            found.append(path)
        elif target.strip().isdigit():
            from glm_image_cli.errors import GlmImageError
            from glm_image_cli.storage.history import History

            try:
                entry = History().get(int(target))
            except GlmImageError:
                raise UsageError("show_not_found", target=target) from None
            if not entry.path or not Path(entry.path).is_file():
                raise UsageError("show_not_found", target=target)
            found.append(Path(entry.path))
        else:
            raise UsageError("show_not_found", target=target)
    return found


def caption(path: Path, recipe: dict[str, Any] | None) -> str:
    """``path — prompt · model · size`` (the path alone when the image carries no recipe)."""
    if not recipe:
        return str(path)
    parts = [" ".join(str(recipe.get("prompt") or "").split())]
    parts += [str(recipe[key]) for key in ("model", "size") if recipe.get(key)]
    check = recipe.get("check")
    if isinstance(check, dict) and check.get("score") is not None:  # --check: the score, ✗ for a text mismatch
        parts.append(f"{check['score']}/10" + (" ✗" if check.get("text_ok") is False else ""))
    return f"{path} — " + " · ".join(part for part in parts if part)


def _require_pillow() -> None:
    from glm_image_cli.cli.preview import PillowMissing, load_pillow

    try:
        load_pillow()
    except PillowMissing:
        raise UsageError("preview_needs_pillow") from None


@output_options(quiet=False)
def show(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(help=help_text("arg.show_targets"), show_default=False,
                                                 metavar="FILE|ID|DIR")],
    columns: Annotated[int | None, typer.Option("--columns", help=help_text("opt.columns"), min=1, max=64,
                                                show_default=False, metavar="N")] = None,
) -> None:
    from glm_image_cli.storage.pngmeta import recipe_in_file

    state = state_of(ctx)
    ui = state.ui()
    paths = resolve_targets(targets)
    recipes = [recipe_in_file(path) for path in paths]
    if state.json_mode:
        ui.emit_json([{"path": str(path), "recipe": recipe} for path, recipe in zip(paths, recipes, strict=True)])
        return
    _require_pillow()
    captions = [caption(path, recipe) for path, recipe in zip(paths, recipes, strict=True)]
    from glm_image_cli.cli.contact import MAX_FILE_BYTES
    from glm_image_cli.cli.preview import PillowMissing, choose_protocol, draw, settings_of, should_preview
    from glm_image_cli.safefile import read_regular

    terminal = state.terminal
    if not should_preview("on", no_color=state.no_color, environ=terminal.environ, tty=terminal.stdout_tty):
        ui.note(render("show_not_terminal"))
        for line in captions:
            ui.result(line)
        return
    from glm_image_cli.storage.config import load_config

    _, protocol_setting, fraction = settings_of(load_config())
    protocol = choose_protocol(protocol_setting, terminal.environ)
    if protocol == "off":  # show is asked for explicitly: off only stops runs from drawing on their own
        from glm_image_cli.cli.preview import detect_protocol

        protocol = detect_protocol(terminal.environ)
    on_terminal = {"stream": state.output.stream("stdout"), "columns": terminal.width, "environ": terminal.environ}
    try:
        if len(paths) == 1:
            ui.result(captions[0])
            draw(read_regular(paths[0], MAX_FILE_BYTES), protocol=protocol, fraction=fraction, **on_terminal)
            return
        from glm_image_cli.cli.contact import contact_sheet_png

        sheet, _ = contact_sheet_png(paths, columns=columns, labels=False)
        draw(sheet, protocol=protocol, fraction=max(fraction, 0.8), **on_terminal)
    except PillowMissing:
        raise UsageError("preview_needs_pillow") from None
    except (OSError, ValueError) as exc:
        ui.warn(render("preview_failed", detail=exc))
    for number, line in enumerate(captions, 1):
        ui.result(f"{number}. {line}")


def _why(exc: Exception) -> object:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else exc


@output_options()
def grid(
    ctx: typer.Context,
    targets: Annotated[list[Path], typer.Argument(help=help_text("arg.grid_targets"), show_default=False,
                                                  metavar="DIR|FILE")],
    output: Annotated[Path, typer.Option("--output", "-o", help=help_text("opt.grid_output"), show_default=False,
                                         metavar="SHEET.png")],
    columns: Annotated[int | None, typer.Option("--columns", help=help_text("opt.columns"), min=1, max=64,
                                                show_default=False, metavar="N")] = None,
    labels: Annotated[bool, typer.Option("--labels", help=help_text("opt.labels"))] = False,
) -> None:
    _require_pillow()
    from glm_image_cli.cli.contact import contact_sheet_png, grid_columns, images_in, sheet_size

    state = state_of(ctx)
    ui = state.ui()
    for target in targets:
        if not target.exists():
            raise UsageError("show_not_found", target=str(target))
    paths = [path for path in images_in(targets) if path.resolve() != output.resolve()]
    if not paths:
        raise UsageError("show_no_images", target=", ".join(str(target) for target in targets))
    data, drawn = contact_sheet_png(paths, columns=columns, labels=labels,
                                    skipped=lambda path, exc: ui.warn(render("grid_skipped", path=path,
                                                                             detail=_why(exc))))
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise OutputError("output_not_writable", path=str(output.parent), detail=exc.strerror or str(exc)) from None
    if labels and not drawn:
        ui.warn(render("grid_no_font"))
    width, height = sheet_size(len(paths), columns, drawn)
    if state.json_mode:
        ui.emit_json({"path": str(output), "images": len(paths), "columns": grid_columns(len(paths), columns),
                      "width": width, "height": height, "labels": drawn})
    else:
        ui.result(str(output))
        ui.note(render("grid_written", path=output, count=len(paths)))
