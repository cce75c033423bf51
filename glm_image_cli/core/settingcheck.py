"""Settings that only make sense together: a size, quality or style is valid only for the model (and the
[styles] table) it is used with.  ``config set``, ``config edit`` and ``config import`` check them before
writing; a bad one found at use is reported as the setting and where it lives (the config file, a profile or
an environment variable, exit 3), never as a flag the user did not type."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from glm_image_cli.errors import ConfigError, GlmImageError, UsageError
from glm_image_cli.messages import Text
from glm_image_cli.storage.config import PROFILES_TABLE, STYLES_TABLE, ResolvedConfig
from glm_image_cli.storage.settingspec import SETTINGS, InvalidValue

# Which setting a planning error is about.
BLAMED = {
    "invalid_size": "size", "bad_size_format": "size", "quality_not_supported": "quality",
    "unknown_style": "style", "unknown_style_no_match": "style", "model_typo": "model",
}
TOGETHER = ("backend", "model", "size", "quality", "style")


class Reason(Text):
    """A whole message used as the reason inside another sentence: without its final full stop."""

    def __str__(self) -> str:
        return super().__str__().rstrip(".。")


def reason_of(error: GlmImageError) -> Reason:
    return Reason(error.message_id, **error.params)


def check_together(values: Mapping[str, Any], user_styles: Mapping[str, str] | None = None) -> None:
    """Raise the planning error (UsageError) when ``values`` (setting name -> value, parsed; missing ones take
    their defaults) do not fit together: the size for the model, the quality for the model, a known style."""
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core.plans import plan_generation

    wanted = {key: values.get(key, SETTINGS[key].default) for key in TOGETHER}
    plan_generation("x", model=wanted["model"], size=wanted["size"], quality=wanted["quality"],
                    style=wanted["style"], user_styles=user_styles, backend=backend_named(wanted["backend"]))


def settings_fault(cfg: ResolvedConfig, error: GlmImageError, given: Mapping[str, Any]) -> GlmImageError:
    """The error to report for ``error`` from planning with ``cfg``: where the setting at fault was not
    ``given`` for this call and comes from the config file, a profile or the environment, a settings error
    naming it and where it lives (exit 3); else ``error`` itself (a flag or an argument is reported as typed)."""
    key = BLAMED.get(error.message_id)
    if key is None or given.get(key) is not None:
        return error
    source = cfg.sources.get(key, "default")
    if source == "file":
        return ConfigError("config_file_bad_value", path=str(cfg.path), key=key, reason=reason_of(error))
    if source.startswith("profile:"):
        return ConfigError("config_profile_bad_value", path=str(cfg.path), profile=source[8:], key=key,
                           reason=reason_of(error))
    if source.startswith("env:"):
        return ConfigError("env_bad_value", env=source[4:], key=key, reason=reason_of(error))
    return error


def check_settings(cfg: ResolvedConfig) -> None:
    """Refuse settings that do not fit together before anything is planned (a batch's defaults), naming the
    setting and its file or variable; a flag at fault is left to the per-item checks that name it."""
    try:
        check_together(cfg.values, cfg.user_styles)
    except UsageError as error:
        fault = settings_fault(cfg, error, {})
        if fault is not error:
            raise fault from None


def table_values(data: Mapping[str, Any], profile: str | None) -> dict[str, Any]:
    """The values the file gives the settings checked together (the profile's over the top level), parsed;
    a value that does not parse is left out (it is reported on its own)."""
    tables = [data]
    profiles = data.get(PROFILES_TABLE)
    if profile is not None and isinstance(profiles, dict) and isinstance(profiles.get(profile), dict):
        tables.append(profiles[profile])
    values: dict[str, Any] = {}
    for table in tables:
        for key in TOGETHER:
            if key in table:
                try:
                    values[key] = SETTINGS[key].parse(table[key])
                except InvalidValue:
                    values.pop(key, None)
    return values


def file_styles(data: Mapping[str, Any]) -> dict[str, str]:
    table = data.get(STYLES_TABLE)
    if not isinstance(table, dict):
        return {}
    return {str(name).strip(): str(phrase).strip() for name, phrase in table.items() if isinstance(phrase, str)}


def check_new_value(data: Mapping[str, Any], profile: str | None, key: str, path: Path) -> list[Text]:
    """Before ``config set KEY`` writes ``data`` (the file with the new value in place): refuse a value that does
    not fit the settings it is used with (ConfigError, exit 3, nothing saved), and return warnings for another
    setting in the file that the new value makes invalid (saved: the user may be about to change it too)."""
    try:
        check_together(table_values(data, profile), file_styles(data))
    except UsageError as error:
        blamed = BLAMED.get(error.message_id)
        if blamed == key or blamed is None:
            raise ConfigError("config_bad_value", key=key, reason=reason_of(error)) from None
        return [_conflict(blamed, profile, path, error)]
    return []


def conflicts(data: Mapping[str, Any], profile: str | None, path: Path) -> list[Text]:
    """After a change that cannot be refused (``config unset``): a warning naming a setting left that no longer
    fits the others, if there is one."""
    try:
        check_together(table_values(data, profile), file_styles(data))
    except UsageError as error:
        blamed = BLAMED.get(error.message_id)
        return [_conflict(blamed, profile, path, error)] if blamed else []
    return []


def _conflict(key: str, profile: str | None, path: Path, error: GlmImageError) -> Text:
    fix = f"glm-image config set --profile {profile} {key} …" if profile else f"glm-image config set {key} …"
    return Text("config_set_conflict", key=key, path=str(path), reason=reason_of(error), fix=fix)


def file_problem(path: Path) -> Text | None:
    """Why the config file at ``path`` cannot be used, as a short reason ("size: …", "not valid TOML: …"),
    or None when every setting in it, at the top level and in each profile, is valid and fits together.
    Stricter than reading it: an unknown setting is refused (with the one meant), not ignored."""
    from glm_image_cli.storage.config import PROFILE, load_config, read_config_file

    try:
        data = read_config_file(path)
        unknown = _unknown_keys(data)
        if unknown is not None:
            return unknown
        profiles = data.get(PROFILES_TABLE, {})
        token = PROFILE.set(None)  # the top level itself, whatever --profile this command runs under
        try:
            for profile in (None, *profiles):
                cfg = load_config(environ={}, path=path, profile=profile)
                try:
                    check_together(cfg.values, cfg.user_styles)
                except UsageError as error:
                    raise settings_fault(cfg, error, {}) from None
        finally:
            PROFILE.reset(token)
    except GlmImageError as error:
        return _short_reason(error)
    return None


def _unknown_keys(data: Mapping[str, Any]) -> Text | None:
    from glm_image_cli.storage.config import PRICES_TABLE, close_setting

    profiles = data.get(PROFILES_TABLE, {})
    if not isinstance(profiles, dict) or not all(isinstance(table, dict) for table in profiles.values()):
        return Text("reason_setting", key=PROFILES_TABLE, reason=Text("reason_profiles"))
    tables = [(None, data), *profiles.items()]
    for profile, table in tables:
        for key in table:
            if key in SETTINGS or (profile is None and key in (STYLES_TABLE, PRICES_TABLE, PROFILES_TABLE)):
                continue
            suggestion = close_setting(str(key))
            reason = Text("reason_unknown_setting_typo", key=key, suggestion=suggestion) if suggestion \
                else Text("reason_unknown_setting", key=key)
            return reason if profile is None else Text("reason_in_profile", profile=profile, reason=reason)
    return None


def _short_reason(error: GlmImageError) -> Text:
    params = error.params
    if error.message_id == "config_file_bad_value":
        return Text("reason_setting", key=params["key"], reason=params["reason"])
    if error.message_id == "config_profile_bad_value":
        return Text("reason_in_profile", profile=params["profile"],
                    reason=Text("reason_setting", key=params["key"], reason=params["reason"]))
    if error.message_id == "config_file_invalid":
        return Text("reason_toml", detail=params["detail"])
    if error.message_id == "config_unreadable":
        return Text("reason_setting", key=params["path"], reason=params["detail"])
    return reason_of(error)
