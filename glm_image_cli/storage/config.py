"""Settings: where they live, which source wins, and reading and writing the file (settingspec.py says what
values are valid).

Precedence is flag > environment > config file > default.  The file is TOML under
``platformdirs.user_config_dir("glm-image")`` (``GLM_IMAGE_CONFIG`` points elsewhere), written
atomically with mode 0600 because it holds the API key.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from glm_image_cli.backends.regions import REGIONS
from glm_image_cli.errors import ConfigError, GlmImageError, UsageError
from glm_image_cli.messages import Text
from glm_image_cli.safefile import UnreadableFile, read_regular
from glm_image_cli.storage.atomic import failure_detail, write_atomic
from glm_image_cli.storage.settingspec import SETTINGS, InvalidValue, Setting, on_off

CONFIG_PATH_ENV = "GLM_IMAGE_CONFIG"
STYLES_TABLE = "styles"
PRICES_TABLE = "prices"  # [prices]: model -> price per image in the region's currency (pricing.estimate)
PROFILES_TABLE = "profiles"  # [profiles.NAME]: settings that replace the top-level ones under --profile NAME
PROFILE_ENV = "GLM_IMAGE_PROFILE"
# --profile NAME for this invocation (set by the root callback, reset when it ends); else $GLM_IMAGE_PROFILE.
PROFILE: ContextVar[str | None] = ContextVar("glm_image_profile", default=None)
MAX_PRICE = 10_000.0
MAX_CONFIG_BYTES = 1024 * 1024  # a settings file is a few hundred bytes: anything near this is not one


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file: ``$GLM_IMAGE_CONFIG`` if set, else the per-user config folder."""
    env = os.environ if environ is None else environ
    override = env.get(CONFIG_PATH_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("glm-image", appauthor=False)) / "config.toml"


# The command-line flag that sets each setting, named in its error (`--timeout 1`), not the setting's key.
FLAGS: dict[str, str] = {
    "model": "--model", "size": "--size", "style": "--style", "quality": "--quality", "output-dir": "--output-dir",
    "timeout": "--timeout", "concurrency": "--concurrency", "name-template": "--name", "format": "--image-format",
    "watermark": "--no-watermark", "user-id": "--user-id", "server-host": "--host", "server-port": "--port",
    "server-token": "--token", "enhance": "--enhance",
}


def lookup_setting(key: str) -> Setting:
    normalized = key.strip().lower().replace("_", "-")
    if normalized not in SETTINGS:
        suggestion = close_setting(normalized)
        if suggestion is not None:
            raise ConfigError("config_unknown_key_typo", key=key, suggestion=suggestion, keys=", ".join(SETTINGS))
        raise ConfigError("config_unknown_key", key=key, keys=", ".join(SETTINGS))
    return SETTINGS[normalized]


def close_setting(name: str) -> str | None:
    """The setting ``name`` was probably meant to be (``modle`` -> ``model``), or None."""
    import difflib

    found = difflib.get_close_matches(name.strip().lower().replace("_", "-"), list(SETTINGS), n=1, cutoff=0.75)
    return found[0] if found else None


def parse_value(setting: Setting, value: Any, error: type[GlmImageError] = ConfigError) -> Any:
    """Validate a value for ``setting`` or raise ``error`` naming the key and the rule."""
    try:
        return setting.parse(value)
    except InvalidValue as exc:
        raise error("config_bad_value", key=setting.key, reason=exc.reason) from None


def _parse_from_env(setting: Setting, name: str, value: str) -> Any:
    """A value from environment variable ``name``: a settings error (exit 3) naming the variable."""
    try:
        return setting.parse(value)
    except InvalidValue as exc:
        raise ConfigError("env_bad_value", env=name, key=setting.key, reason=exc.reason) from None


def _parse_from_flag(setting: Setting, value: Any, flag_names: Mapping[str, str] | None) -> Any:
    """A value given on the command line: a usage error (exit 2) naming the flag the user typed."""
    names = FLAGS if flag_names is None else flag_names
    try:
        return setting.parse(value)
    except InvalidValue as exc:
        raise UsageError("flag_bad_value", flag=names.get(setting.key, setting.key), reason=exc.reason) from None


def read_config_file(path: Path) -> dict[str, Any]:
    """The raw TOML table, or {} when the file does not exist yet.

    Only a regular file of at most ``MAX_CONFIG_BYTES`` is read (``GLM_IMAGE_CONFIG=/dev/zero`` or a FIFO
    must not hang or exhaust memory), it must be UTF-8, and nesting too deep for the parser is invalid TOML.
    """
    try:
        data = _read_small_file(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError("config_unreadable", path=str(path), detail=exc.strerror or str(exc)) from None
    if isinstance(data, Text):
        raise ConfigError("config_unreadable", path=str(path), detail=data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("config_unreadable", path=str(path), detail=Text("detail_not_utf8", offset=exc.start)) \
            from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config_file_invalid", path=str(path), detail=str(exc)) from None
    except RecursionError:
        raise ConfigError("config_file_invalid", path=str(path), detail=Text("detail_too_deep")) from None


def _read_small_file(path: Path) -> bytes | Text:
    """The file's bytes, or why it is not read: not a regular file, or larger than ``MAX_CONFIG_BYTES``.
    Opened without blocking, so a FIFO named as the config file is refused instead of waited on."""
    try:
        return read_regular(path, MAX_CONFIG_BYTES)
    except UnreadableFile as exc:
        return exc.detail


def write_config_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically and durably with mode 0600 in a 0700 folder; never over a symbolic link."""
    import tomli_w

    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        write_atomic(path, tomli_w.dumps(dict(data)), durable=True, mode=0o600)
    except OSError as exc:
        raise ConfigError("config_unwritable", path=str(path), detail=failure_detail(exc)) from None


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting's effective value, typed: one field per entry of ``SETTINGS``, kebab-case as snake_case.

    ``base_url`` is the URL actually used: the setting when given, else the region's default.
    """

    api_key: str | None
    region: str
    base_url: str
    backend: str
    model: str
    size: str | None
    style: str | None
    quality: str | None
    output_dir: str
    lang: str
    timeout: float
    concurrency: int
    history: bool
    metadata: bool
    name_template: str | None
    format: str
    watermark: bool
    user_id: str | None
    confirm_above: float
    budget_daily: float | None
    budget_monthly: float | None
    budget_timezone: str
    server_host: str
    server_port: int
    server_token: str | None
    enhance: bool
    enhance_model: str
    check_model: str
    preview: str
    preview_protocol: str
    preview_width: float
    chat_preview_width: float
    batch_via: str
    batch_poll: float

    @staticmethod
    def fields_from(values: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for one field per setting, from values keyed by setting name."""
        fields = {key.replace("-", "_"): values[key] for key in SETTINGS}
        fields["base_url"] = values["base-url"] or REGIONS[values["region"]]
        return fields


@dataclass(frozen=True, kw_only=True)
class ResolvedConfig(Settings):
    """The typed settings plus where each came from ('default', 'file', 'env:NAME', 'flag').

    ``values`` and ``cfg["key"]`` give the raw value by setting name (``base-url`` stays None when unset).
    """

    path: Path
    values: dict[str, Any]
    sources: dict[str, str]
    user_styles: dict[str, str] = field(default_factory=dict)
    warnings: list[Text] = field(default_factory=list)
    # the [prices] table as written (model, lower case -> price); what an unlisted model costs is the backend's
    # rule (Backend.unit_price), never encoded here
    prices: dict[str, float] = field(default_factory=dict)
    profile: str | None = None  # the active [profiles.NAME], if any
    # why a secret kept in the system keyring could not be read (setting -> error): raised when it is needed
    # (require_api_key), shown by `config show`, so commands that need no key still run
    secret_problems: dict[str, GlmImageError] = field(default_factory=dict)

    @classmethod
    def resolve(cls, path: Path, values: dict[str, Any], sources: dict[str, str],
                user_styles: dict[str, str] | None = None, warnings: list[Text] | None = None,
                prices: dict[str, float] | None = None) -> ResolvedConfig:
        return cls(path=path, values=values, sources=sources, user_styles=user_styles or {},
                   warnings=warnings if warnings is not None else [], prices=prices or {},
                   **Settings.fields_from(values))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def load_config(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
    flag_names: Mapping[str, str] | None = None,
    profile: str | None = None,
) -> ResolvedConfig:
    """Resolve every setting: flag > the active profile > environment > file > default.  Flags with value None
    are unset.  A profile with its own ``base-url`` takes its key from the profile only.
    ``profile`` names the [profiles.NAME] table (default: --profile, else $GLM_IMAGE_PROFILE).

    A bad value names where it came from: the flag (``flag_names``, by default the CLI's ``FLAGS``; exit 2),
    the environment variable or the config file (exit 3)."""
    env = os.environ if environ is None else environ
    path = path or config_path(env)
    raw = read_config_file(path)
    profile = profile or active_profile(env)
    overrides = _profile_table(raw, profile, path)
    user_styles = _user_styles(raw, path)
    prices = _user_prices(raw, path)
    warnings: list[Text] = []
    _warn_about_file(raw, path, warnings)
    for key in overrides:
        if key not in SETTINGS:
            warnings.append(Text("config_ignored_key", key=f"{PROFILES_TABLE}.{profile}.{key}", path=str(path)))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, setting in SETTINGS.items():
        value, source = setting.default, "default"
        if key in raw and not (key == "api-key" and "base-url" in overrides):
            value, source = _parse_from_file(setting, raw[key], path), "file"
        if key in overrides:
            value, source = _parse_from_file(setting, overrides[key], path, profile), f"profile:{profile}"
        # A profile is chosen on purpose: its own values beat the generic environment, and a profile that points
        # at a server of its own never gets the key meant for another host (set one in the profile).
        for name in () if key in overrides or (key == "api-key" and "base-url" in overrides) else setting.env:
            if env.get(name, "").strip():
                value, source = _parse_from_env(setting, name, env[name]), f"env:{name}"
                break
        if flags and flags.get(key) is not None:
            value, source = _parse_from_flag(setting, flags[key], flag_names), "flag"
        values[key] = value
        sources[key] = source
    problems = _from_keyring(values, sources, path)
    resolved = ResolvedConfig.resolve(path, values, sources, user_styles, warnings, prices)
    if problems:
        resolved = replace(resolved, secret_problems=problems)
    return resolved if profile is None else replace(resolved, profile=profile)


@dataclass(frozen=True)
class _InKeyring:
    """A secret the file keeps in the system keyring (``api-key = "@keyring"``), read only when it is used."""

    key: str
    profile: str | None


def _from_keyring(values: dict[str, Any], sources: dict[str, str], path: Path) -> dict[str, GlmImageError]:
    """Read the secrets the file keeps in the keyring (only those not overridden by the environment or a flag);
    one that cannot be read is None, its error kept for when it is needed."""
    from glm_image_cli.storage.secretstore import SERVICE, entry_name, fetch

    problems: dict[str, GlmImageError] = {}
    for key, value in values.items():
        if isinstance(value, _InKeyring):
            sources[key] = f"keyring:{SERVICE}:{entry_name(value.key, value.profile)}"
            try:
                values[key] = fetch(value.key, value.profile, path)
            except GlmImageError as error:
                values[key], problems[key] = None, error
    return problems


def active_profile(environ: Mapping[str, str] | None = None) -> str | None:
    """--profile NAME, else $GLM_IMAGE_PROFILE, else None (the top-level settings)."""
    env = os.environ if environ is None else environ
    name = PROFILE.get() or env.get(PROFILE_ENV, "").strip()
    return name or None


def _profile_table(raw: Mapping[str, Any], profile: str | None, path: Path) -> dict[str, Any]:
    """The [profiles.NAME] table of the active profile ({} without one); an unknown name is an error."""
    if profile is None:
        return {}
    profiles = raw.get(PROFILES_TABLE, {})
    table = profiles.get(profile) if isinstance(profiles, dict) else None
    if not isinstance(table, dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "-"
        raise ConfigError("profile_unknown", profile=profile, path=str(path), profiles=known)
    return table


def _parse_from_file(setting: Setting, value: Any, path: Path, profile: str | None = None) -> Any:
    from glm_image_cli.storage.secretstore import KEYRING_KEYS, KEYRING_MARKER

    if setting.key in KEYRING_KEYS and value == KEYRING_MARKER:
        return _InKeyring(setting.key, profile)
    try:
        _check_toml_type(setting, value)
        return setting.parse(value)
    except InvalidValue as exc:
        raise ConfigError("config_file_bad_value", path=str(path), key=setting.key, reason=exc.reason) from None


def _check_toml_type(setting: Setting, value: Any) -> None:
    """Every setting is one plain value: an array, a table or a date is refused rather than turned into its
    text (``api-key = ["x"]`` would otherwise be sent as ``Bearer ['x']``), and true/false only fits on/off."""
    if isinstance(value, bool):
        if setting.parse is not on_off:
            raise InvalidValue(Text("reason_toml_type", kind="boolean"))
    elif isinstance(value, list):
        raise InvalidValue(Text("reason_toml_type", kind="array"))
    elif isinstance(value, dict):
        raise InvalidValue(Text("reason_toml_type", kind="table"))
    elif not isinstance(value, (str, int, float)):
        raise InvalidValue(Text("reason_toml_type", kind="date-time"))


def _user_styles(raw: Mapping[str, Any], path: Path) -> dict[str, str]:
    table = raw.get(STYLES_TABLE, {})
    valid = isinstance(table, dict) and all(
        isinstance(name, str) and name.strip() and isinstance(phrase, str) and phrase.strip()
        for name, phrase in table.items()
    )
    if not valid:
        reason = Text("reason_styles_table")
        raise ConfigError("config_file_bad_value", path=str(path), key=STYLES_TABLE, reason=reason)
    return {name.strip(): phrase.strip() for name, phrase in table.items()}


def _user_prices(raw: Mapping[str, Any], path: Path) -> dict[str, float]:
    """The [prices] table: model name -> price per image (0 to MAX_PRICE) in the region's currency."""
    table = raw.get(PRICES_TABLE, {})
    valid = isinstance(table, dict) and all(
        isinstance(name, str) and name.strip() and isinstance(price, (int, float)) and not isinstance(price, bool)
        and 0 <= price <= MAX_PRICE for name, price in table.items()
    )
    if not valid:
        reason = Text("reason_prices_table", max=MAX_PRICE)
        raise ConfigError("config_file_bad_value", path=str(path), key=PRICES_TABLE, reason=reason)
    return {name.strip().lower(): float(price) for name, price in table.items()}


def _warn_about_file(raw: Mapping[str, Any], path: Path, warnings: list[Text]) -> None:
    for key in raw:
        if key not in SETTINGS and key not in (STYLES_TABLE, PRICES_TABLE, PROFILES_TABLE):
            warnings.append(Text("config_ignored_key", key=key, path=str(path)))
    if "api-key" in raw:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(Text("config_insecure_mode", path=str(path)))


def set_value(key: str, value: Any, path: Path | None = None, profile: str | None = None,
              check: Callable[[dict[str, Any], Setting, Path], None] | None = None) -> tuple[Setting, Path]:
    """Validate and store one setting in the config file (in [profiles.NAME] with ``profile``, creating the
    table), keeping everything else in it.  ``check`` sees the file's data with the new value in place before
    it is written, and raises to keep the file as it was (a size that does not fit the model)."""
    setting = lookup_setting(key)
    parsed = parse_value(setting, value)
    path = path or config_path()
    data = read_config_file(path)
    _settings_table(data, profile, create=True)[setting.key] = parsed
    if check is not None:
        check(data, setting, path)
    write_config_file(path, data)
    return setting, path


def unset_value(key: str, path: Path | None = None, profile: str | None = None) -> tuple[Setting, Path, bool]:
    """Remove one setting from the file (from [profiles.NAME] with ``profile``); returns whether it was there."""
    setting = lookup_setting(key)
    path = path or config_path()
    data = read_config_file(path)
    present = _settings_table(data, profile, create=False).pop(setting.key, None) is not None
    if present:
        write_config_file(path, data)
    return setting, path, present


def check_profile_name(name: str) -> str:
    """A profile name is a plain word (letters, digits, - and _): it becomes a TOML table name."""
    text = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", text):
        raise UsageError("flag_bad_value", flag="--profile", reason=Text("reason_profile_name"))
    return text


def _settings_table(data: dict[str, Any], profile: str | None, *, create: bool) -> dict[str, Any]:
    if profile is None:
        return data
    profiles = data.setdefault(PROFILES_TABLE, {}) if create else data.get(PROFILES_TABLE, {})
    if not isinstance(profiles, dict):
        raise ConfigError("config_file_bad_value", path="config", key=PROFILES_TABLE, reason=Text("reason_profiles"))
    table = profiles.setdefault(profile, {}) if create else profiles.get(profile, {})
    if not isinstance(table, dict):
        raise ConfigError("config_file_bad_value", path="config", key=PROFILES_TABLE, reason=Text("reason_profiles"))
    return table


def mask_secret(value: str) -> str:
    """Show at most the first 4 and last 4 characters, and fewer for short keys."""
    if len(value) >= 16:
        return f"{value[:4]}…{value[-4:]}"
    if len(value) >= 8:
        return f"{value[:2]}…{value[-2:]}"
    return "…" if value else ""
