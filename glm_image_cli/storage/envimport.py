"""`glm-image config import`: the original skill's `.env`, turned into settings.

The skill read ``GLM_API_KEY``, ``DEFAULT_WIDTH``/``DEFAULT_HEIGHT``, ``DEFAULT_MODEL``, ``DEFAULT_STYLE``,
``SERVER_HOST`` and ``SERVER_PORT`` (and a ``GLM_API_SECRET`` the platform never needed).  Values may be
quoted or not, lines may be comments or start with ``export``.  What the user chose is kept; anything
dropped or worth changing is said in a note.  The key is only ever shown masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glm_image_cli.errors import ConfigError, GlmImageError
from glm_image_cli.messages import Text
from glm_image_cli.safefile import open_regular

MAX_ENV_BYTES = 1024 * 1024
SIMPLE = {"GLM_API_KEY": "api-key", "DEFAULT_MODEL": "model", "DEFAULT_STYLE": "style",
          "SERVER_HOST": "server-host", "SERVER_PORT": "server-port"}
SIZE_PARTS = ("DEFAULT_WIDTH", "DEFAULT_HEIGHT")
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_env(text: str) -> dict[str, str]:
    """NAME=value lines: blank lines and comments skipped, ``export`` allowed, quotes removed (escapes in
    double quotes), an unquoted value ends at `` #``."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        name, raw = match.group(1), match.group(2)
        if len(raw) >= 2 and raw[0] == raw[-1] == "'":
            value = raw[1:-1]
        elif raw.startswith('"') and raw.rfind('"') > 0:
            inner = raw[1:raw.rfind('"')]
            value = re.sub(r'\\(["\\n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), inner)
        elif raw.startswith("'") and raw.rfind("'") > 0:
            value = raw[1:raw.rfind("'")]
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        values[name] = value
    return values


def read_env_file(path: Path) -> dict[str, str]:
    try:
        with open_regular(path) as handle:  # a FIFO or a device is refused, never waited on
            data = handle.read(MAX_ENV_BYTES + 1)
    except OSError as exc:
        raise ConfigError("env_file_unreadable", path=str(path), detail=exc.strerror or str(exc)) from None
    if len(data) > MAX_ENV_BYTES:
        raise ConfigError("env_file_unreadable", path=str(path), detail=Text("detail_too_large", limit=MAX_ENV_BYTES))
    try:
        return parse_env(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError("env_file_unreadable", path=str(path),
                          detail=Text("detail_not_utf8", offset=exc.start)) from None


@dataclass
class ImportPlan:
    """What the import would set (setting -> parsed value) and what it says about the rest."""

    values: dict[str, Any] = field(default_factory=dict)
    notes: list[Text] = field(default_factory=list)


def plan_import(env: dict[str, str]) -> ImportPlan:
    from glm_image_cli.backends import models
    from glm_image_cli.storage.config import parse_value
    from glm_image_cli.storage.settingspec import SETTINGS

    plan = ImportPlan()

    def take(name: str, key: str, value: str) -> None:
        try:
            plan.values[key] = parse_value(SETTINGS[key], value)
        except GlmImageError as error:
            plan.notes.append(Text("import_bad_value", name=name, reason=error.params.get("reason", "")))

    for name, value in env.items():
        if name in SIMPLE:
            if value.strip():
                take(name, SIMPLE[name], value)
        elif name == "GLM_API_SECRET":
            plan.notes.append(Text("import_secret_ignored"))
        elif name not in SIZE_PARTS:
            plan.notes.append(Text("import_unknown", name=name))
    width, height = (env.get(name, "").strip() for name in SIZE_PARTS)
    if width and height:
        take("DEFAULT_WIDTH/DEFAULT_HEIGHT", "size", f"{width}x{height}")
    elif width or height:
        plan.notes.append(Text("import_size_half"))
    model = plan.values.get("model")
    spec = models.find_model(model) if model else None
    if spec is not None and spec.legacy:
        plan.notes.append(Text("import_legacy_model", model=model))
    return plan


def shown(key: str, value: Any) -> Any:
    """A value as it may be printed: secrets masked."""
    from glm_image_cli.storage.config import mask_secret
    from glm_image_cli.storage.settingspec import SETTINGS

    if value is not None and SETTINGS[key].secret:
        return mask_secret(str(value))
    return value
