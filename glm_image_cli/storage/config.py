"""Settings: where they live, what values are valid, and which source wins.

Precedence is flag > environment > config file > default.  The file is TOML under
``platformdirs.user_config_dir("glm-image")`` (``GLM_IMAGE_CONFIG`` points elsewhere), written
atomically with mode 0600 because it holds the API key.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from glm_image_cli.backends.regions import REGIONS
from glm_image_cli.backends.registry import BACKEND_NAMES, DEFAULT_BACKEND
from glm_image_cli.errors import ConfigError, GlmImageError, UsageError
from glm_image_cli.messages import Text
from glm_image_cli.storage.instants import DEFAULT_BUDGET_TIMEZONE

CONFIG_PATH_ENV = "GLM_IMAGE_CONFIG"
STYLES_TABLE = "styles"
PRICES_TABLE = "prices"  # [prices]: model -> price per image in the region's currency (pricing.estimate)
PROFILES_TABLE = "profiles"  # [profiles.NAME]: settings that replace the top-level ones under --profile NAME
PROFILE_ENV = "GLM_IMAGE_PROFILE"
# --profile NAME for this invocation (set by the root callback, reset when it ends); else $GLM_IMAGE_PROFILE.
PROFILE: ContextVar[str | None] = ContextVar("glm_image_profile", default=None)
MAX_PRICE = 10_000.0
MAX_CONFIG_BYTES = 1024 * 1024  # a settings file is a few hundred bytes: anything near this is not one


class InvalidValue(ValueError):
    """A value failed validation; ``reason`` explains the rule in the user's language."""

    def __init__(self, reason: Text) -> None:
        super().__init__(str(reason))
        self.reason = reason


def _choices(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise InvalidValue(Text("reason_choices", choices=", ".join(allowed)))
        return text

    return parse


def _number(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not low <= number <= high:
            raise InvalidValue(Text("reason_number_range", low=low, high=high))
        return number

    return parse


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"[+]?\d+", text) or not low <= int(text) <= high:
            raise InvalidValue(Text("reason_integer_range", low=low, high=high))
        return int(text)

    return parse


def _on_off(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise InvalidValue(Text("reason_choices", choices="on, off"))


def _user_id(value: Any) -> str:
    text = _text(value)
    if not 6 <= len(text) <= 128 or any(ch.isspace() for ch in text):
        raise InvalidValue(Text("reason_user_id"))
    return text


def _name_template(value: Any) -> str:
    from glm_image_cli.errors import GlmImageError
    from glm_image_cli.storage.naming import NameTemplate

    try:
        return NameTemplate.parse(_text(value)).text
    except GlmImageError as error:
        raise InvalidValue(_Sentence(error.message_id, **error.params)) from None


class _Sentence(Text):
    """A whole message used as a reason inside another sentence: without its final full stop."""

    def __str__(self) -> str:
        return super().__str__().rstrip(".。")


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (a byte that was not UTF-8, smuggled in by the OS or by JSON):
    such a string cannot be encoded, so it must be refused before it reaches a request, a file or a log."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _path_text(value: Any) -> str:
    """Text that names a file or folder: may hold surrogate escapes, which are a POSIX path's own bytes."""
    text = str(value).strip()
    if not text:
        raise InvalidValue(Text("reason_not_empty"))
    return text


def _text(value: Any) -> str:
    text = _path_text(value)
    if has_surrogates(text):
        raise InvalidValue(Text("reason_invalid_text"))
    return text


def _api_key(value: Any) -> str:
    text = _text(value)
    if any(ch.isspace() for ch in text):
        raise InvalidValue(Text("reason_api_key"))
    if not all("!" <= ch <= "~" for ch in text):  # it goes into an HTTP header, which is ASCII
        raise InvalidValue(Text("reason_api_key_ascii"))
    return text


def _url(value: Any) -> str:
    text = _text(value).rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", text) or not _url_parses(text):
        raise InvalidValue(Text("reason_url"))
    return text


def _url_parses(text: str) -> bool:
    """Whether the HTTP client accepts the URL (a host it can encode, a numeric port in range)."""
    from urllib.parse import urlsplit

    import httpx

    try:
        urlsplit(text).port  # noqa: B018 - raises ValueError for a port out of range
        return bool(httpx.URL(text).host)
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return False


def _size(value: Any) -> str:
    from glm_image_cli.backends.models import parse_size

    try:
        width, height = parse_size(str(value))
    except ValueError:
        raise InvalidValue(Text("reason_size")) from None
    return f"{width}x{height}"


def _model(value: Any) -> str:
    from glm_image_cli.backends.models import likely_typo

    text = _text(value)
    suggestion = likely_typo(text)
    if suggestion is not None:  # a new name is kept (it may be a model newer than the table); a near miss is not
        raise InvalidValue(Text("reason_model_typo", model=text, suggestion=suggestion))
    return text


def _time_zone(value: Any) -> str:
    """An IANA zone name the system knows (``Asia/Shanghai``, ``UTC``): the budgets' day and month."""
    from glm_image_cli.storage.instants import zone_named

    text = _text(value)
    try:
        zone_named(text)
    except ValueError:
        raise InvalidValue(Text("reason_time_zone")) from None
    return text


def _style(value: Any) -> str:
    return _text(value)  # checked against the known styles when used, since [styles] may add names


@dataclass(frozen=True)
class Setting:
    """One user-visible setting: its key, how to parse it, and which env vars can set it."""

    key: str
    parse: Callable[[Any], Any]
    default: Any = None
    env: tuple[str, ...] = ()
    secret: bool = False
    choices: tuple[str, ...] = ()


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("api-key", _api_key, env=("GLM_API_KEY", "ZAI_API_KEY", "ZHIPUAI_API_KEY"), secret=True),
        Setting("region", _choices("cn", "intl"), "cn", ("GLM_IMAGE_REGION",), choices=("cn", "intl")),
        Setting("base-url", _url, env=("GLM_BASE_URL", "ZAI_BASE_URL")),
        Setting("backend", _choices(*BACKEND_NAMES), DEFAULT_BACKEND, ("GLM_IMAGE_BACKEND",), choices=BACKEND_NAMES),
        Setting("model", _model, "cogview-4-250304", ("GLM_IMAGE_MODEL",)),
        Setting("size", _size, env=("GLM_IMAGE_SIZE",)),
        Setting("style", _style, env=("GLM_IMAGE_STYLE",)),
        Setting("quality", _choices("hd", "standard"), env=("GLM_IMAGE_QUALITY",), choices=("hd", "standard")),
        Setting("output-dir", _path_text, "./glm-images", ("GLM_IMAGE_OUTPUT_DIR",)),
        Setting("lang", _choices("auto", "zh", "en"), "auto", ("GLM_IMAGE_LANG",), choices=("auto", "zh", "en")),
        Setting("timeout", _number(5, 1800), 120.0, ("GLM_IMAGE_TIMEOUT",)),
        Setting("concurrency", _integer(1, 32), 2, ("GLM_IMAGE_CONCURRENCY",)),
        Setting("history", _on_off, True, ("GLM_IMAGE_HISTORY",), choices=("on", "off")),
        Setting("metadata", _on_off, True, ("GLM_IMAGE_METADATA",), choices=("on", "off")),
        Setting("name-template", _name_template, env=("GLM_IMAGE_NAME_TEMPLATE",)),
        Setting("format", _choices("png", "jpeg", "webp", "original"), "png", ("GLM_IMAGE_FORMAT",),
                choices=("png", "jpeg", "webp", "original")),
        Setting("watermark", _on_off, True, ("GLM_IMAGE_WATERMARK",), choices=("on", "off")),
        Setting("user-id", _user_id, env=("GLM_IMAGE_USER_ID",)),
        Setting("confirm-above", _number(0, 1_000_000), 1.0, ("GLM_IMAGE_CONFIRM_ABOVE",)),
        Setting("budget-daily", _number(0, 1_000_000), env=("GLM_IMAGE_BUDGET_DAILY",)),
        Setting("budget-monthly", _number(0, 1_000_000), env=("GLM_IMAGE_BUDGET_MONTHLY",)),
        Setting("budget-timezone", _time_zone, DEFAULT_BUDGET_TIMEZONE, ("GLM_IMAGE_BUDGET_TIMEZONE",)),
        Setting("server-host", _text, "127.0.0.1", ("GLM_IMAGE_SERVER_HOST",)),
        Setting("server-port", _integer(0, 65535), 5001, ("GLM_IMAGE_SERVER_PORT",)),
        Setting("server-token", _api_key, env=("GLM_IMAGE_SERVER_TOKEN",), secret=True),
        Setting("enhance", _on_off, False, ("GLM_IMAGE_ENHANCE",), choices=("on", "off")),
        Setting("enhance-model", _text, "glm-4-flash-250414", ("GLM_IMAGE_ENHANCE_MODEL",)),
        Setting("preview", _choices("auto", "on", "off"), "auto", ("GLM_IMAGE_PREVIEW_MODE",),
                choices=("auto", "on", "off")),
        Setting("preview-protocol", _choices("auto", "kitty", "iterm", "sixel", "blocks", "off"), "auto",
                ("GLM_IMAGE_PREVIEW",), choices=("auto", "kitty", "iterm", "sixel", "blocks", "off")),
        Setting("preview-width", _number(0.1, 1), 0.5, ("GLM_IMAGE_PREVIEW_WIDTH",)),
    )
}


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
        raise ConfigError("config_unknown_key", key=key, keys=", ".join(SETTINGS))
    return SETTINGS[normalized]


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
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        return Text("detail_not_regular_file")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        return Text("detail_too_large", limit=MAX_CONFIG_BYTES)
    return data


def write_config_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically (temp file + rename) with mode 0600 in a 0700 folder."""
    import tomli_w

    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        fd, temp_name = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                tomli_w.dump(dict(data), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError("config_unwritable", path=str(path), detail=exc.strerror or str(exc)) from None


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
    preview: str
    preview_protocol: str
    preview_width: float

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
    """Resolve every setting: flag > environment > file > default.  Flags with value None are unset.
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
        if key in raw:
            value, source = _parse_from_file(setting, raw[key], path), "file"
        if key in overrides:
            value, source = _parse_from_file(setting, overrides[key], path), f"profile:{profile}"
        for name in setting.env:
            if env.get(name, "").strip():
                value, source = _parse_from_env(setting, name, env[name]), f"env:{name}"
                break
        if flags and flags.get(key) is not None:
            value, source = _parse_from_flag(setting, flags[key], flag_names), "flag"
        values[key] = value
        sources[key] = source
    resolved = ResolvedConfig.resolve(path, values, sources, user_styles, warnings, prices)
    return resolved if profile is None else replace(resolved, profile=profile)


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


def _parse_from_file(setting: Setting, value: Any, path: Path) -> Any:
    try:
        _check_toml_type(setting, value)
        return setting.parse(value)
    except InvalidValue as exc:
        raise ConfigError("config_file_bad_value", path=str(path), key=setting.key, reason=exc.reason) from None


def _check_toml_type(setting: Setting, value: Any) -> None:
    """Every setting is one plain value: an array, a table or a date is refused rather than turned into its
    text (``api-key = ["x"]`` would otherwise be sent as ``Bearer ['x']``), and true/false only fits on/off."""
    if isinstance(value, bool):
        if setting.parse is not _on_off:
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


def set_value(key: str, value: Any, path: Path | None = None, profile: str | None = None) -> tuple[Setting, Path]:
    """Validate and store one setting in the config file (in [profiles.NAME] with ``profile``, creating the
    table), keeping everything else in it."""
    setting = lookup_setting(key)
    parsed = parse_value(setting, value)
    path = path or config_path()
    data = read_config_file(path)
    _settings_table(data, profile, create=True)[setting.key] = parsed
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
