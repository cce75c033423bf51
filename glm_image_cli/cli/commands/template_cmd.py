"""`glm-image template save|list|show|edit|delete|path`: prompt templates (core/templates.py), used with
`generate -t NAME var=value` and a batch line's "template" field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from glm_image_cli.cli.commands.common import (
    ModelOption,
    NegativeOption,
    QualityOption,
    SizeOption,
    StyleOption,
    state_of,
)
from glm_image_cli.cli.commands.completion import complete_template
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.cli.commands.common import RunState
    from glm_image_cli.core.templates import Template

app = typer.Typer(help=help_text("cmd.template"), no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help=help_text("arg.template_name"), show_default=False,
                                             autocompletion=complete_template)]


@app.command("save", help=help_text("cmd.template_save"))
@output_options()
def save(
    ctx: typer.Context,
    name: NameArgument,
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help=help_text("arg.template_prompt"),
                                          show_default=False)],
    style: StyleOption = None,
    negative: NegativeOption = None,
    size: SizeOption = None,
    model: ModelOption = None,
    quality: QualityOption = None,
    var: Annotated[list[str] | None, typer.Option("--var", "-V", help=help_text("opt.template_var"),
                                                  show_default=False, metavar="NAME=VALUE")] = None,
) -> None:
    from glm_image_cli.core.templates import TemplateStore, make_template, parse_assignments

    state = state_of(ctx)
    defaults = {"style": style, "negative": negative, "size": size, "model": model, "quality": quality}
    template = make_template(name, prompt, defaults, parse_assignments(var or []))
    _check_defaults(template)
    store = TemplateStore.default()
    replaced = store.save(template)
    _said(state, template, "template_replaced" if replaced else "template_saved", store.path(name))


def _check_defaults(template: Template) -> None:
    """The defaults are checked now, as `generate` would check them (a style or size typo is found at save)."""
    from glm_image_cli.core.studio import Studio

    options = {key: template.defaults.get(key) for key in ("style", "negative", "size", "model", "quality")}
    with Studio.from_config(command="template") as studio:
        studio.plan("-", **options)


def _said(state: RunState, template: Template, message_id: str, path: Any) -> None:
    from glm_image_cli.storage.files import display_path

    if state.json_mode:
        state.ui().emit_json({**template.to_json(), "path": str(path)})
    else:
        state.ui().note(render(message_id, name=template.name, path=display_path(path)))


@app.command("list", help=help_text("cmd.template_list"))
@output_options()
def list_templates(ctx: typer.Context) -> None:
    from glm_image_cli.core.templates import TemplateStore

    state = state_of(ctx)
    ui = state.ui()
    templates = TemplateStore.default().all()
    if state.json_mode:
        ui.emit_json([template.to_json() for template in templates])
        return
    if not templates:
        ui.note(render("template_none"))
        return
    rows = [[t.name, t.prompt, ", ".join(t.names) or "-", _defaults_text(t)] for t in templates]
    ui.table([render("col_template"), render("col_prompt"), render("col_variables"), render("col_defaults")], rows)


def _defaults_text(template: Template) -> str:
    values = [f"{key}={value}" for key, value in template.defaults.items()]
    values += [f"{{{key}}}={value}" for key, value in template.variables.items()]
    return ", ".join(values) or "-"


@app.command("show", help=help_text("cmd.template_show"))
@output_options()
def show(ctx: typer.Context, name: NameArgument) -> None:
    from glm_image_cli.core.templates import TemplateStore

    state = state_of(ctx)
    ui = state.ui()
    template = TemplateStore.default().get(name)
    if state.json_mode:
        ui.emit_json(template.to_json())
        return
    ui.result(template.prompt)
    rows = [[render("col_variables"), ", ".join(template.names) or "-"],
            [render("col_defaults"), _defaults_text(template)]]
    ui.table(["", ""], rows, stream="stderr", show_header=False)


@app.command("delete", help=help_text("cmd.template_delete"))
@output_options()
def delete(ctx: typer.Context, name: NameArgument) -> None:
    from glm_image_cli.core.templates import TemplateStore

    state = state_of(ctx)
    TemplateStore.default().delete(name)
    if state.json_mode:
        state.ui().emit_json({"name": name, "deleted": True})
    else:
        state.ui().note(render("template_deleted", name=name))


@app.command("edit", help=help_text("cmd.template_edit"))
@output_options()
def edit(ctx: typer.Context, name: NameArgument) -> None:
    """The file in $EDITOR; what comes back is checked as `template save` checks it, and saved only if valid."""
    import json

    import click

    from glm_image_cli import safejson
    from glm_image_cli.core.templates import TemplateStore, make_template
    from glm_image_cli.errors import UsageError

    state = state_of(ctx)
    store = TemplateStore.default()
    template = store.get(name)
    if not state.terminal.editor:
        raise UsageError("template_no_editor")
    body = {"prompt": template.prompt, "defaults": template.defaults, "variables": template.variables}
    before = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    after = click.edit(before, editor=state.terminal.editor, extension=".json", require_save=True)
    if after is None or after == before:
        state.ui().note(render("template_unchanged", name=name))
        return
    try:
        data = safejson.loads(after)
        if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
            raise ValueError(render("template_shape"))
        edited = make_template(name, data["prompt"], data.get("defaults") or {}, data.get("variables") or {})
        _check_defaults(edited)
    except (ValueError, AttributeError, RecursionError, UsageError) as exc:
        raise UsageError("template_edit_invalid", detail=str(exc)) from None
    store.save(edited)
    _said(state, edited, "template_saved", store.path(name))


@app.command("path", help=help_text("cmd.template_path"))
@output_options()
def path(ctx: typer.Context) -> None:
    from glm_image_cli.core.templates import TemplateStore

    state = state_of(ctx)
    folder = TemplateStore.default().folder
    if state.json_mode:
        state.ui().emit_json({"path": str(folder), "exists": folder.is_dir()})
    else:
        state.ui().result(str(folder))
