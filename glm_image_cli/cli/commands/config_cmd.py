"""`glm-image config set/show/unset/path`: the per-user settings file."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from glm_image_cli.cli.commands.common import state_of
from glm_image_cli.cli.commands.completion import complete_setting
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.cli.terminal import Terminal
from glm_image_cli.errors import ConfigError, UsageError
from glm_image_cli.messages import Text, render

app = typer.Typer(help=help_text("cmd.config"), no_args_is_help=True)

KeyArgument = Annotated[str, typer.Argument(help=help_text("arg.config_key"), show_default=False,
                                            autocompletion=complete_setting)]
ProfileOption = Annotated[str | None, typer.Option("--profile", help=help_text("opt.config_profile"),
                                                   show_default=False, metavar="NAME")]


def _profile(profile: str | None) -> str | None:
    """This command's --profile, else the global one (--profile before the command, GLM_IMAGE_PROFILE)."""
    from glm_image_cli.storage.config import active_profile, check_profile_name

    return check_profile_name(profile) if profile is not None else active_profile()


KeyringOption = Annotated[bool, typer.Option("--keyring", help=help_text("opt.keyring"))]


@app.command("set", help=help_text("cmd.config_set"))
@output_options()
def set_(
    ctx: typer.Context,
    key: KeyArgument,
    value: Annotated[str | None, typer.Argument(help=help_text("arg.config_value"), show_default=False)] = None,
    profile: ProfileOption = None,
    keyring: KeyringOption = False,
) -> None:
    from glm_image_cli.storage import secretstore
    from glm_image_cli.storage.config import lookup_setting, mask_secret, parse_value, set_value

    state = state_of(ctx)
    profile = _profile(profile)
    setting = lookup_setting(key)
    if keyring and setting.key not in secretstore.KEYRING_KEYS:
        raise UsageError("keyring_only_secrets", key=setting.key)
    if keyring:
        secretstore.require_usable()  # before the key is typed
    raw = _read_value(setting.key, value, secret=setting.secret, terminal=state.terminal)
    warnings: list[Text] = []

    def check(data: dict[str, Any], setting: Any, path: Path) -> None:
        from glm_image_cli.core.settingcheck import check_new_value

        warnings.extend(check_new_value(data, profile, setting.key, path))
        if setting.key == "server-host":  # said when the host is chosen, not after every other change
            warnings.extend(open_host_warning(data, profile))

    entry = None
    if keyring:  # the key goes to the keyring first: a file that points at an entry never lacks it
        entry = secretstore.store(setting.key, profile, parse_value(setting, raw))
        setting, path = set_value(setting.key, secretstore.KEYRING_MARKER, profile=profile)
    else:
        was_in_keyring = _in_keyring(setting.key, profile)
        setting, path = set_value(setting.key, raw, profile=profile, check=check)
        if was_in_keyring:  # the key lives in the file now: no stale copy left behind in the keyring
            secretstore.forget(setting.key, profile)
    key_shown = f"{setting.key} [profiles.{profile}]" if profile else setting.key
    shown = mask_secret(raw.strip()) if setting.secret else raw.strip()
    if state.json_mode:
        state.ui().emit_json({"key": setting.key, "value": shown, "path": str(path),
                              **({"profile": profile} if profile else {}),
                              **({"keyring": {"service": secretstore.SERVICE, "entry": entry}} if entry else {}),
                              **({"warnings": [str(w) for w in warnings]} if warnings else {})})
        return
    if entry:
        saved = render("config_saved_keyring", key=key_shown, service=secretstore.SERVICE, account=entry, path=path)
    else:
        saved = render("config_saved", key=key_shown, path=path)
    state.ui().note(f"{saved} ({shown})")
    for warning in warnings:
        state.ui().warn(str(warning))


def _in_keyring(key: str, profile: str | None) -> bool:
    """Whether the config file keeps ``key`` (in [profiles.NAME] with ``profile``) in the system keyring."""
    from glm_image_cli.storage.config import PROFILES_TABLE, config_path, read_config_file
    from glm_image_cli.storage.secretstore import KEYRING_MARKER

    data = read_config_file(config_path())
    if profile is not None:
        profiles = data.get(PROFILES_TABLE)
        data = profiles.get(profile, {}) if isinstance(profiles, dict) else {}
    return isinstance(data, dict) and data.get(key) == KEYRING_MARKER


def _read_value(key: str, value: str | None, *, secret: bool, terminal: Terminal) -> str:
    """VALUE, or '-' for one line of stdin, or a (hidden, for secrets) prompt on a terminal."""
    if value == "-":
        return sys.stdin.readline(64 * 1024).strip()  # one line, bounded: /dev/zero must not fill memory
    if value is not None:
        return value
    if not terminal.stdin_tty:
        raise ConfigError("value_required_no_tty", key=key)
    prompt = render("api_key_prompt") if secret else key
    return typer.prompt(prompt, hide_input=secret, err=True)


@app.command("unset", help=help_text("cmd.config_unset"))
@output_options()
def unset(
    ctx: typer.Context,
    key: KeyArgument,
    profile: ProfileOption = None,
) -> None:
    from glm_image_cli.core.settingcheck import conflicts
    from glm_image_cli.storage import secretstore
    from glm_image_cli.storage.config import lookup_setting, read_config_file, unset_value

    state = state_of(ctx)
    profile = _profile(profile)
    in_keyring = _in_keyring(lookup_setting(key).key, profile)
    setting, path, present = unset_value(key, profile=profile)
    # the entry goes with the marker (when the keyring can be reached)
    in_keyring = in_keyring and secretstore.forget(setting.key, profile)
    warnings = conflicts(read_config_file(path), profile, path) if present else []
    if state.json_mode:
        state.ui().emit_json({"key": setting.key, "removed": present, "path": str(path),
                              **({"warnings": [str(w) for w in warnings]} if warnings else {})})
        return
    if in_keyring:
        state.ui().note(render("config_removed_keyring", key=setting.key, path=path))
    else:
        state.ui().note(render("config_removed" if present else "config_not_set", key=setting.key, path=path))
    for warning in warnings:
        state.ui().warn(str(warning))


@app.command("show", help=help_text("cmd.config_show"))
@output_options()
def show(
    ctx: typer.Context,
    profile: ProfileOption = None,
) -> None:
    from glm_image_cli.storage.config import mask_secret
    from glm_image_cli.storage.settingspec import SETTINGS

    state = state_of(ctx)
    ui = state.ui()
    resolved = _resolved(profile)
    for warning in resolved.warnings:
        ui.warn(str(warning))
    settings: dict[str, dict[str, Any]] = {}
    for problem in resolved.secret_problems.values():
        ui.warn(str(problem))
    for key, setting in SETTINGS.items():
        value = resolved[key]
        if setting.secret and value:
            value = mask_secret(value)
        if key == "base-url" and value is None:
            value = resolved.base_url
        settings[key] = {"value": value, "source": resolved.sources[key]}
    if state.json_mode:
        ui.emit_json({"path": str(resolved.path), "exists": resolved.path.exists(), "settings": settings,
                      "styles": resolved.user_styles, "prices": dict(resolved.prices), "profile": resolved.profile})
        return
    if resolved.profile:
        ui.note(render("config_show_profile", profile=resolved.profile))
    rows = [[key, _display(entry["value"]), _display_source(entry["source"])] for key, entry in settings.items()]
    ui.table([render("col_setting"), render("col_value"), render("col_source")], rows, title=str(resolved.path))
    if resolved.prices:
        from glm_image_cli.core.pricing import PRICES_AS_OF

        listed = ", ".join(f"{model} = {price:g}" for model, price in sorted(resolved.prices.items()))
        ui.result(render("config_show_prices", prices=listed, currency="USD" if resolved.region == "intl" else "CNY",
                         date=PRICES_AS_OF))


def _resolved(profile: str | None) -> Any:
    """The settings as they apply now, under this command's --profile when given."""
    from glm_image_cli.storage.config import PROFILE, check_profile_name, load_config

    if profile is None:
        return load_config()
    token = PROFILE.set(check_profile_name(profile))
    try:
        return load_config()
    finally:
        PROFILE.reset(token)


@app.command("get", help=help_text("cmd.config_get"))
@output_options(quiet=False)
def get(
    ctx: typer.Context,
    key: KeyArgument,
    profile: ProfileOption = None,
) -> None:
    from glm_image_cli.storage.config import lookup_setting, mask_secret

    state = state_of(ctx)
    ui = state.ui()
    setting = lookup_setting(key)
    resolved = _resolved(profile)
    if setting.key in resolved.secret_problems:  # kept in the keyring, which cannot be read: say why
        raise resolved.secret_problems[setting.key]
    value = resolved[setting.key]
    if setting.key == "base-url" and value is None:
        value = resolved.base_url
    if setting.secret and value:
        value = mask_secret(value)
        ui.note(render("config_get_secret", key=setting.key))
    if state.json_mode:
        ui.emit_json({"key": setting.key, "value": value, "source": resolved.sources[setting.key]})
    elif value is not None and value != "":
        ui.result(_display(value))


def _display(value: Any) -> str:
    if value is None or value == "":
        return render("not_set")
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _display_source(source: str) -> str:
    if source.startswith("keyring:"):
        _, service, entry = source.split(":", 2)
        return render("source_keyring", service=service, account=entry)
    if source.startswith("env:"):
        return render("source_env", name=source[4:])
    if source.startswith("profile:"):
        return render("source_profile", name=source[8:])
    return render(f"source_{source}")


@app.command("edit", help=help_text("cmd.config_edit"))
@output_options()
def edit(
    ctx: typer.Context,
) -> None:
    from glm_image_cli.cli.configedit import draft_path, edit_config, editor_command
    from glm_image_cli.storage.config import config_path

    state = state_of(ctx)
    ui = state.ui()
    path = config_path()
    editor = editor_command(os.environ)

    def again(reason: Text) -> bool:
        ui.error(render("config_edit_invalid", reason=reason, path=path, draft=draft_path(path)))
        return typer.confirm(render("config_edit_again"), default=True, err=True)

    interactive = state.terminal.stdin_tty and not state.json_mode
    outcome = edit_config(path, editor, render("config_edit_header"), edit_again=again if interactive else None,
                          on_resume=lambda draft: ui.note(render("config_edit_resume", draft=draft, path=path)))
    if state.json_mode:
        ui.emit_json({"path": str(path), "result": outcome.result})
    elif outcome.result == "saved":
        ui.note(render("config_edit_saved", path=path))
    else:
        ui.note(render("config_edit_unchanged", path=path))


@app.command("path", help=help_text("cmd.config_path"))
@output_options(quiet=False)
def path(
    ctx: typer.Context,
) -> None:
    from glm_image_cli.storage.config import config_path

    state = state_of(ctx)
    location = config_path()
    if state.json_mode:
        state.ui().emit_json({"path": str(location), "exists": location.exists()})
    else:
        state.ui().result(str(location))


@app.command("import", help=help_text("cmd.config_import"))
@output_options()
def import_(
    ctx: typer.Context,
    env_path: Annotated[Path, typer.Argument(metavar="PATH", help=help_text("arg.env_path"), show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=help_text("opt.import_dry_run"))] = False,
) -> None:
    from glm_image_cli.storage.config import config_path, read_config_file, write_config_file
    from glm_image_cli.storage.envimport import plan_import, read_env_file, shown

    state = state_of(ctx)
    ui = state.ui()
    plan = plan_import(read_env_file(env_path))
    target = config_path()
    data = read_config_file(target)
    _check_import(plan, data)
    changes = [{"key": key, "old": shown(key, data.get(key)), "new": shown(key, value),
                "changed": data.get(key) != value} for key, value in plan.values.items()]
    if not dry_run and any(change["changed"] for change in changes):
        write_config_file(target, {**data, **plan.values})
    if state.json_mode:
        ui.emit_json({"path": str(target), "source": str(env_path), "dry_run": dry_run, "changes": changes,
                      "notes": [str(note) for note in plan.notes]})
        return
    for change in changes:
        if change["changed"]:
            ui.result(render("import_change", key=change["key"], old=_display(change["old"]),
                             new=_display(change["new"])))
        else:
            ui.result(render("import_same", key=change["key"], value=_display(change["new"])))
    for note in plan.notes:
        ui.warn(str(note))
    if dry_run:
        ui.note(render("import_dry_run", path=target))
    elif changes:
        ui.note(render("import_done", count=sum(1 for change in changes if change["changed"]), path=target))
    else:
        ui.note(render("import_nothing", path=env_path))


def _check_import(plan: Any, data: dict[str, Any]) -> None:
    """What `config set` refuses is not imported either (a size the model does not take, an unknown style),
    each said in a note; a server-host other machines reach, without a token, is imported with a warning."""
    from glm_image_cli.core.settingcheck import BLAMED, check_together, file_styles, reason_of, table_values
    from glm_image_cli.errors import UsageError
    from glm_image_cli.storage.envimport import SIMPLE

    names = {key: name for name, key in SIMPLE.items()} | {"size": "DEFAULT_WIDTH/DEFAULT_HEIGHT"}
    for _ in range(len(plan.values)):
        merged = {**data, **plan.values}
        try:
            check_together(table_values(merged, None), file_styles(merged))
            break
        except UsageError as error:
            key = BLAMED.get(error.message_id)
            if key not in plan.values:
                break  # the file's own value is at fault: not this import's to drop
            del plan.values[key]
            plan.notes.append(Text("import_bad_value", name=names.get(key, key), reason=reason_of(error)))
    plan.notes.extend(open_host_warning({**data, **plan.values}, None))


def open_host_warning(data: Mapping[str, Any], profile: str | None) -> list[Text]:
    """A server-host other machines can reach, without a server-token: `serve` would refuse to start, so say
    it when the setting is written rather than when the server is started."""
    from glm_image_cli.serve.guards import is_loopback
    from glm_image_cli.storage.config import PROFILES_TABLE

    tables = [data]
    profiles = data.get(PROFILES_TABLE)
    if profile is not None and isinstance(profiles, dict) and isinstance(profiles.get(profile), dict):
        tables.append(profiles[profile])
    host = token = None
    for table in tables:
        host = table.get("server-host", host)
        token = table.get("server-token", token)
    if os.environ.get("GLM_IMAGE_SERVER_TOKEN", "").strip():
        return []
    if isinstance(host, str) and host.strip() and not is_loopback(host.strip()) and not token:
        return [Text("config_open_host", host=host.strip())]
    return []
