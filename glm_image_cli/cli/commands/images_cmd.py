"""`glm-image info` (read an image's recipe back) and `glm-image gallery` (an index.html to browse)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from glm_image_cli.cli.commands.common import state_of
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import ExitCode
from glm_image_cli.messages import render

INFO_HELP = help_text("cmd.info")
GALLERY_HELP = help_text("cmd.gallery")


@output_options(quiet=False)
def info(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help=help_text("arg.info_files"), show_default=False)],
) -> None:
    from glm_image_cli.safefile import read_regular
    from glm_image_cli.storage.pngmeta import MAX_PNG_BYTES, PNG_SIGNATURE, PngError, read_recipe, read_text

    state = state_of(ctx)
    ui = state.ui()
    results: list[dict[str, Any]] = []
    problems = 0
    for path in files:
        entry: dict[str, Any] = {"path": str(path), "recipe": None, "error": None}
        data = b""
        try:
            data = read_regular(path, MAX_PNG_BYTES)  # never a FIFO or /dev/zero
            recipe = read_recipe(data)
        except PngError as exc:
            if data.startswith(PNG_SIGNATURE):
                entry["error"] = render("info_damaged_png", path=path, detail=exc)
            else:
                entry["error"] = render("info_not_png", path=path)
        except OSError as exc:
            entry["error"] = render("info_unreadable", path=path, detail=exc.strerror or exc)
        else:
            entry["recipe"] = recipe
            description = read_text(data).get("Description")  # --caption, `caption`: the standard alt text
            if description:
                entry["description"] = description
            if recipe is None:
                entry["error"] = render("info_foreign", path=path)
        problems += entry["error"] is not None
        results.append(entry)
    if state.json_mode:
        ui.emit_json(results)
    for entry in results:
        if entry["error"]:
            ui.error(entry["error"])
        elif not state.json_mode:
            recipe = entry["recipe"]
            # --enhance: the typed prompt, then the rewrite, then the text sent; no empty enhance rows otherwise
            order = ["prompt", "enhanced_prompt", "enhance_model"] if recipe.get("enhanced_prompt") else ["prompt"]
            hidden = {"enhanced_prompt", "enhance_model"} - set(order)
            keys = [key for key in order if key in recipe] + [key for key in recipe if key not in {*order, *hidden}]
            rows = [[key, _show(recipe[key], key)] for key in keys]
            if entry.get("description"):
                rows.append(["Description", entry["description"]])
            ui.table([render("col_field"), render("col_value")], rows, title=entry["path"])
    if problems:
        raise typer.Exit(int(ExitCode.USAGE))


def _show(value: Any, key: str) -> str:
    if key in ("check", "candidates"):  # --check, --best-of: the verdict in one line, each candidate's score
        from glm_image_cli.core.bestof import candidates_summary, verdict_summary

        return verdict_summary(value) if key == "check" else candidates_summary(value)
    from glm_image_cli.cli.recipeview import field_text

    return field_text(key, value)


@output_options()
def gallery(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Argument(help=help_text("arg.gallery_folder"), show_default=False)] = None,
    open_browser: Annotated[bool, typer.Option("--open", help=help_text("opt.open"))] = False,
) -> None:
    import os

    from glm_image_cli.storage.config import load_config
    from glm_image_cli.storage.gallery import collect_cards, write_gallery

    state = state_of(ctx)
    ui = state.ui()
    target = folder if folder is not None else Path(os.path.expanduser(load_config().output_dir))
    page = write_gallery(target)
    if state.json_mode:
        ui.emit_json({"path": str(page), "images": len(collect_cards(target))})
    else:
        ui.result(str(page))
        ui.note(render("gallery_written", path=page))
    if open_browser and not _open_in_browser(page):
        ui.warn(render("gallery_no_browser", path=page.resolve()))


def _open_in_browser(page: Path) -> bool:
    """Whether a browser was started on the page (False on a server or a container without one)."""
    import webbrowser

    try:
        return bool(webbrowser.open(page.resolve().as_uri()))
    except (webbrowser.Error, OSError):
        return False
