"""The settings glm-image knows: each one's key, default, environment variables, and the rule its values must
follow (``InvalidValue`` says which rule, in the user's language).  config.py reads, merges and writes them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glm_image_cli.backends.registry import BACKEND_NAMES, DEFAULT_BACKEND
from glm_image_cli.messages import Text
from glm_image_cli.storage.instants import DEFAULT_BUDGET_TIMEZONE


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


def on_off(value: Any) -> bool:
    """A switch as users write it: on/off, true/false, yes/no, 1/0 (or a TOML boolean)."""
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


def _batch_via(value: Any) -> str:
    """How `batch` makes its images: ``direct`` calls, or ``api`` (the platform's Batch API; also ``batch-api``)."""
    text = str(value).strip().lower()
    return "api" if text == "batch-api" else _choices("direct", "api")(text)


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
        Setting("history", on_off, True, ("GLM_IMAGE_HISTORY",), choices=("on", "off")),
        Setting("metadata", on_off, True, ("GLM_IMAGE_METADATA",), choices=("on", "off")),
        Setting("name-template", _name_template, env=("GLM_IMAGE_NAME_TEMPLATE",)),
        Setting("format", _choices("png", "jpeg", "webp", "original"), "png", ("GLM_IMAGE_FORMAT",),
                choices=("png", "jpeg", "webp", "original")),
        Setting("watermark", on_off, True, ("GLM_IMAGE_WATERMARK",), choices=("on", "off")),
        Setting("user-id", _user_id, env=("GLM_IMAGE_USER_ID",)),
        Setting("confirm-above", _number(0, 1_000_000), 1.0, ("GLM_IMAGE_CONFIRM_ABOVE",)),
        Setting("budget-daily", _number(0, 1_000_000), env=("GLM_IMAGE_BUDGET_DAILY",)),
        Setting("budget-monthly", _number(0, 1_000_000), env=("GLM_IMAGE_BUDGET_MONTHLY",)),
        Setting("budget-timezone", _time_zone, DEFAULT_BUDGET_TIMEZONE, ("GLM_IMAGE_BUDGET_TIMEZONE",)),
        Setting("server-host", _text, "127.0.0.1", ("GLM_IMAGE_SERVER_HOST",)),
        Setting("server-port", _integer(0, 65535), 5001, ("GLM_IMAGE_SERVER_PORT",)),
        Setting("server-token", _api_key, env=("GLM_IMAGE_SERVER_TOKEN",), secret=True),
        Setting("enhance", on_off, False, ("GLM_IMAGE_ENHANCE",), choices=("on", "off")),
        Setting("enhance-model", _text, "glm-4-flash-250414", ("GLM_IMAGE_ENHANCE_MODEL",)),
        Setting("check-model", _text, "glm-4.6v-flash", ("GLM_IMAGE_CHECK_MODEL",)),  # --check, caption: vision
        Setting("preview", _choices("auto", "on", "off"), "auto", ("GLM_IMAGE_PREVIEW_MODE",),
                choices=("auto", "on", "off")),
        Setting("preview-protocol", _choices("auto", "kitty", "iterm", "sixel", "blocks", "off"), "auto",
                ("GLM_IMAGE_PREVIEW",), choices=("auto", "kitty", "iterm", "sixel", "blocks", "off")),
        Setting("preview-width", _number(0.1, 1), 0.5, ("GLM_IMAGE_PREVIEW_WIDTH",)),
        # chat draws a picture after every turn: smaller by default, so the conversation stays on screen
        Setting("chat-preview-width", _number(0.1, 1), 0.25, ("GLM_IMAGE_CHAT_PREVIEW_WIDTH",)),
        # batch --via batch-api: the platform's Batch API (half price, hours) or direct calls (the default)
        Setting("batch-via", _batch_via, "direct", ("GLM_IMAGE_BATCH_VIA",), choices=("direct", "api")),
        Setting("batch-poll", _number(0, 3600), 30.0, ("GLM_IMAGE_BATCH_POLL",)),
    )
}
