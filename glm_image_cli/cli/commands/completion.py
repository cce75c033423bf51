"""Dynamic values for shell completion.  A TAB press runs the program, so these import almost nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Which parameters complete from which function below (complete_<source>), by parameter name: the same name
# means the same values in every command.  Declared here, not read back out of Typer, so build_static can put
# them in the command tree the fast path (entry.py) answers TAB from; tests/test_help.py checks that every
# parameter completes the same on both paths.
SOURCES = {"lang": "lang", "style": "style", "size": "size", "model": "model", "quality": "quality",
           "image_format": "format", "input_format": "input_format", "encoding": "encoding",
           "key": "setting", "by": "usage_by"}


def complete_style(incomplete: str) -> list[tuple[str, str]]:
    """Built-in and user styles, by Chinese and English name, with the phrase as help."""
    from glm_image_cli.core.styles import all_styles

    found = []
    for style in all_styles(_user_styles()):
        for name in dict.fromkeys((style.name, style.english)):
            if name.lower().startswith(incomplete.lower()):
                found.append((name, style.phrase_en if name == style.english else style.phrase_zh))
    return found


def complete_model(incomplete: str) -> list[tuple[str, str]]:
    from glm_image_cli.backends.models import MODELS

    return [(name, _model_help(spec)) for name, spec in MODELS.items() if name.startswith(incomplete)]


def complete_size(ctx: Any, incomplete: str) -> list[str]:
    """The recommended sizes of the model already on the command line (else the configured one)."""
    from glm_image_cli.backends.models import DEFAULT_MODEL, MODELS

    model = (ctx.params.get("model") if ctx is not None else None) or _configured("model") or DEFAULT_MODEL
    spec = MODELS.get(str(model))
    sizes = spec.recommended_sizes if spec else ()
    return [size for size in sizes if size.startswith(incomplete)]


def complete_format(incomplete: str) -> list[str]:
    return [name for name in ("png", "jpeg", "webp", "original") if name.startswith(incomplete)]


def complete_lang(incomplete: str) -> list[str]:
    return [name for name in ("zh", "en") if name.startswith(incomplete)]


def complete_quality(incomplete: str) -> list[str]:
    return [name for name in ("hd", "standard") if name.startswith(incomplete)]


def complete_input_format(incomplete: str) -> list[str]:
    return [name for name in ("txt", "jsonl", "csv") if name.startswith(incomplete)]


def complete_encoding(incomplete: str) -> list[str]:
    """--encoding: the encodings prompt files come in most often (any name Python knows is accepted)."""
    from glm_image_cli.core.textinput import SUGGESTED

    return [name for name in SUGGESTED if name.startswith(incomplete.lower())]


def complete_usage_by(incomplete: str) -> list[str]:
    """`usage --by`: the groupings (commands/usage_cmd.GROUPINGS)."""
    return [name for name in ("day", "model", "command") if name.startswith(incomplete)]


def complete_setting(incomplete: str) -> list[str]:
    from glm_image_cli.storage.settingspec import SETTINGS

    return [key for key in SETTINGS if key.startswith(incomplete)]


def _model_help(spec: Any) -> str:
    price = "free" if spec.price_cny == 0 else (f"{spec.price_cny} CNY" if spec.price_cny else "legacy")
    return f"{spec.default_size or 'any size'}, {price}"


def _user_styles() -> dict[str, str]:
    raw = _raw_config()
    styles = raw.get("styles")
    return {k: v for k, v in styles.items() if isinstance(v, str)} if isinstance(styles, dict) else {}


def _configured(key: str, environ: Mapping[str, str] | None = None) -> Any:
    """A setting as TAB sees it: its GLM_IMAGE_* variable in ``environ`` (os.environ), else the config file."""
    import os

    env = os.environ if environ is None else environ
    return env.get(f"GLM_IMAGE_{key.upper().replace('-', '_')}") or _raw_config().get(key)


def _raw_config() -> dict[str, Any]:
    try:
        from glm_image_cli.storage.config import config_path, read_config_file

        return read_config_file(config_path())
    except Exception:  # completion must never print an error into the shell
        return {}


def complete_template(incomplete: str) -> list[str]:
    """The saved prompt templates (`generate -t`, `template show|edit|delete`)."""
    try:
        from glm_image_cli.core.templates import TemplateStore

        return [name for name in TemplateStore.default().names() if name.startswith(incomplete)]
    except Exception:  # completion never fails loudly
        return []
