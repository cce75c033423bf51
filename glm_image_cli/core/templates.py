"""Prompt templates: a prompt with ``{name}`` variables, saved under a name with defaults, filled in later.

    glm-image template save poster "海报，{subject}，{style}风格" --size 1088x1920 --var style=水彩
    glm-image generate -t poster subject=猫

A template is one JSON file, ``<data folder>/templates/<name>.json``: ``{"prompt": ..., "defaults": {"size":
...}, "variables": {"style": "水彩"}}``.  ``defaults`` are settings (style, negative, size, model, quality) that
the command's own flags override; ``variables`` are default values of the prompt's variables.

``{name}`` (letters, digits, ``_``; not starting with a digit) is a variable; ``\\{`` is a literal brace, and any
other braces (``{a|b}`` alternatives, ``{text}``) are left for expand.py.  A value is inserted as written, so a
value may itself hold alternatives: ``style="{水彩|油画}"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glm_image_cli.errors import ConfigError, UsageError
from glm_image_cli.messages import Text

DEFAULT_KEYS = ("style", "negative", "size", "model", "quality")
MAX_TEMPLATE_BYTES = 64 * 1024  # a prompt and a few settings
MAX_TEMPLATES = 1000  # listed at most
_NAME = re.compile(r"[^\W_][\w.-]{0,63}")
_VARIABLE = re.compile(r"(?<!\\)\{([^\W\d]\w{0,63})\}")


@dataclass(frozen=True)
class Template:
    name: str
    prompt: str
    defaults: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """The prompt's variables, in the order they first appear."""
        return list(dict.fromkeys(_VARIABLE.findall(self.prompt)))

    def fill(self, values: Mapping[str, str]) -> str:
        """The prompt with every variable filled: ``values`` over the template's own defaults.  A missing value
        or a name the template does not have is an error naming it."""
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            raise UsageError("template_unknown_variable", template=self.name, variable=unknown[0],
                             variables=", ".join(self.names) or "-")
        given = {**self.variables, **values}
        for name in self.names:
            if name not in given:
                raise UsageError("template_missing_variable", template=self.name, variable=name)
        return _VARIABLE.sub(lambda match: given[match.group(1)], self.prompt)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "prompt": self.prompt, "defaults": dict(self.defaults),
                "variables": dict(self.variables)}


def check_name(name: str) -> str:
    """A template's name becomes a file name: letters, digits, ``_ . -``, not starting with a dot or ``_``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError("template_bad_name", name=str(name))
    return name


def parse_assignments(words: list[str]) -> dict[str, str]:
    """``subject=猫 style=水彩`` as a mapping; a word without ``=`` is an error naming it."""
    values: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not re.fullmatch(r"[^\W\d]\w*", name.strip()):
            raise UsageError("template_bad_assignment", text=word)
        values[name.strip()] = value
    return values


def make_template(name: str, prompt: str, defaults: Mapping[str, str | None] | None = None,
                  variables: Mapping[str, str] | None = None) -> Template:
    """A validated template: its name, a non-empty prompt, known default keys, and variables it uses."""
    check_name(name)
    if not isinstance(prompt, str) or not prompt.strip():
        raise UsageError("empty_prompt")
    kept = {key: value for key, value in (defaults or {}).items() if value is not None}
    for key, value in kept.items():
        if key not in DEFAULT_KEYS or not isinstance(value, str):
            raise UsageError("template_bad_default", key=key, valid=", ".join(DEFAULT_KEYS))
    template = Template(name, prompt, kept, dict(variables or {}))
    for variable in template.variables:
        if variable not in template.names:
            raise UsageError("template_unknown_variable", template=name, variable=variable,
                             variables=", ".join(template.names) or "-")
    return template


class TemplateStore:
    """The templates folder: one JSON file per template, written atomically, read with a size limit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def default(cls) -> TemplateStore:
        from glm_image_cli.storage.history import data_dir

        return cls(data_dir() / "templates")

    def path(self, name: str) -> Path:
        return self.folder / f"{check_name(name)}.json"

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        found = sorted(path.stem for path in self.folder.glob("*.json") if _NAME.fullmatch(path.stem))
        return found[:MAX_TEMPLATES]

    def get(self, name: str) -> Template:
        path = self.path(name)
        if not path.exists():
            from difflib import get_close_matches

            close = get_close_matches(name, self.names(), n=1)
            hint = Text("template_did_you_mean", name=close[0]) if close else ""
            raise UsageError("template_not_found", name=name, hint=hint)
        return self._read(name, path)

    def all(self) -> list[Template]:
        return [self.get(name) for name in self.names()]

    def save(self, template: Template) -> bool:
        """Write it (replacing one of the same name); True when it replaced one."""
        import json

        from glm_image_cli.storage.atomic import write_atomic

        path = self.path(template.name)
        replaced = path.exists()
        body = {k: v for k, v in template.to_json().items() if k != "name" and v != {}}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(body, ensure_ascii=False, indent=2) + "\n", durable=True)
        except OSError as exc:
            raise ConfigError("template_unwritable", path=str(path), detail=exc.strerror or str(exc)) from None
        return replaced

    def delete(self, name: str) -> None:
        path = self.path(name)
        if not path.exists():
            self.get(name)  # the "not found" error, with a suggestion
        try:
            path.unlink()
        except OSError as exc:
            raise ConfigError("template_unwritable", path=str(path), detail=exc.strerror or str(exc)) from None

    def _read(self, name: str, path: Path) -> Template:
        from glm_image_cli import safejson
        from glm_image_cli.safefile import UnreadableFile, read_regular

        try:
            data = safejson.loads(read_regular(path, MAX_TEMPLATE_BYTES).decode("utf-8-sig"))
        except (OSError, UnreadableFile, ValueError, RecursionError) as exc:
            detail = getattr(exc, "strerror", None) or getattr(exc, "msg", None) or str(exc)
            raise ConfigError("template_invalid", path=str(path), detail=detail) from None
        if not isinstance(data, dict) or not isinstance(data.get("prompt"), str) \
                or not isinstance(data.get("defaults", {}), dict) or not isinstance(data.get("variables", {}), dict):
            raise ConfigError("template_invalid", path=str(path), detail=Text("template_shape"))
        try:
            return make_template(name, data["prompt"], data.get("defaults"), data.get("variables"))
        except UsageError as exc:
            raise ConfigError("template_invalid", path=str(path), detail=str(exc)) from None


def with_defaults(options: Mapping[str, Any], template: Template | None) -> dict[str, Any]:
    """The command's options with the template's defaults in the places the command left empty (None):
    flags override template defaults, which override the settings."""
    merged = dict(options)
    for key, value in (template.defaults if template else {}).items():
        if merged.get(key) is None:
            merged[key] = value
    return merged
