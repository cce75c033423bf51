"""`glm-image config set/show/unset/path`: the per-user settings file."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from glm_image_cli.commands.common import JsonOption, LangOption, begin
from glm_image_cli.errors import ConfigError
from glm_image_cli.messages import render

app = typer.Typer(
    help="Show and change settings (API key, model, size, style…).  查看和修改设置。",
    no_args_is_help=True,
)

KEYS_HELP = ("api-key, region (cn|intl), base-url, model, size, style, quality (hd|standard), output-dir, "
             "lang (auto|zh|en), timeout (seconds), concurrency")


@app.command("set", help=f"""Store a setting in the config file.  保存一个设置项。

KEY is one of: {KEYS_HELP}.

With no VALUE for api-key you are asked for it with hidden input; - reads VALUE from standard input.

Examples:

  glm-image config set api-key

  glm-image config set model cogview-3-flash

  glm-image config set style 国风
""")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name, e.g. api-key.", show_default=False)],
    value: Annotated[str | None, typer.Argument(help="New value; - reads it from stdin.", show_default=False)] = None,
    lang: LangOption = None,
) -> None:
    from glm_image_cli.config import lookup_setting, mask_secret, set_value

    state = begin(ctx, lang=lang)
    setting = lookup_setting(key)
    raw = _read_value(setting.key, value, secret=setting.secret)
    setting, path = set_value(setting.key, raw)
    shown = mask_secret(raw.strip()) if setting.secret else raw.strip()
    state.ui().note(f"{render('config_saved', key=setting.key, path=path)} ({shown})")


def _read_value(key: str, value: str | None, *, secret: bool) -> str:
    """VALUE, or '-' for one line of stdin, or a (hidden, for secrets) prompt on a terminal."""
    if value == "-":
        return sys.stdin.readline().strip()
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise ConfigError("value_required_no_tty", key=key)
    prompt = render("api_key_prompt") if secret else key
    return typer.prompt(prompt, hide_input=secret)


@app.command("unset", help="""Remove a setting from the config file (its default applies again).  删除一个设置项。

Example: glm-image config unset style
""")
def unset(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name.", show_default=False)],
    lang: LangOption = None,
) -> None:
    from glm_image_cli.config import unset_value

    state = begin(ctx, lang=lang)
    setting, path, present = unset_value(key)
    message = "config_removed" if present else "config_not_set"
    state.ui().note(render(message, key=setting.key, path=path))


@app.command("show", help="""Show every setting, its value and where it comes from; the key is masked.
显示所有设置项及其来源（密钥打码）。

Sources: flag > environment > config file > default.
""")
def show(ctx: typer.Context, json_output: JsonOption = False, lang: LangOption = None) -> None:
    from glm_image_cli.config import SETTINGS, load_config, mask_secret

    state = begin(ctx, lang=lang, json_mode=json_output)
    ui = state.ui()
    resolved = load_config()
    for warning in resolved.warnings:
        ui.warn(str(warning))
    settings: dict[str, dict[str, Any]] = {}
    for key, setting in SETTINGS.items():
        value = resolved[key]
        if setting.secret and value:
            value = mask_secret(value)
        if key == "base-url" and value is None:
            value = resolved.base_url
        settings[key] = {"value": value, "source": resolved.sources[key]}
    if state.json_mode:
        ui.emit_json({"path": str(resolved.path), "exists": resolved.path.exists(), "settings": settings,
                      "styles": resolved.user_styles})
        return
    rows = [[key, _display(entry["value"]), _display_source(entry["source"])] for key, entry in settings.items()]
    ui.table([render("col_setting"), render("col_value"), render("col_source")], rows, title=str(resolved.path))


def _display(value: Any) -> str:
    if value is None or value == "":
        return render("not_set")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _display_source(source: str) -> str:
    if source.startswith("env:"):
        return render("source_env", name=source[4:])
    return render(f"source_{source}")


@app.command("path", help="Print the config file's path (GLM_IMAGE_CONFIG overrides it).  显示配置文件路径。")
def path(ctx: typer.Context, json_output: JsonOption = False) -> None:
    from glm_image_cli.config import config_path

    state = begin(ctx, json_mode=json_output)
    location = config_path()
    if state.json_mode:
        state.ui().emit_json({"path": str(location), "exists": location.exists()})
    else:
        state.ui().result(str(location))
