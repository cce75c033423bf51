"""Everything a run needs before it spends money, shared by the CLI commands and the MCP server:
the key, the HTTP client, the image saver, and a validated plan for `generate`-like requests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import ConfigError
from glm_image_cli.messages import Text
from glm_image_cli.regions import CONSOLE_URLS

if TYPE_CHECKING:
    from glm_image_cli.client import BigModelClient
    from glm_image_cli.config import ResolvedConfig
    from glm_image_cli.generation import GenerationPlan
    from glm_image_cli.saving import ImageSaver


def require_api_key(cfg: ResolvedConfig) -> str:
    """The key, or the one-line "how to set one" error before anything is sent."""
    key = cfg["api-key"]
    if not key:
        raise ConfigError("missing_api_key", console_url=CONSOLE_URLS.get(cfg.region, CONSOLE_URLS["cn"]))
    return str(key)


def make_client(cfg: ResolvedConfig, lang: str, retry_unsafe: bool = False,
                connections: int | None = None) -> BigModelClient:
    from glm_image_cli.client import BigModelClient

    wanted = connections if connections is not None else int(cfg["concurrency"]) * 2
    return BigModelClient(require_api_key(cfg), cfg.base_url, timeout=cfg["timeout"], lang=lang,
                          region=cfg.region, retry_unsafe=retry_unsafe, max_connections=max(16, wanted))


def checked_image_format(cfg: ResolvedConfig) -> str:
    """The output format, with an explicit conversion checked before any money is spent."""
    from glm_image_cli.convert import check_format_choice

    return check_format_choice(cfg["format"], explicit=cfg.sources["format"] != "default")


def make_saver(cfg: ResolvedConfig, folder: Path, command: str, *, no_metadata: bool = False,
               no_history: bool = False, default_template: str | None = None) -> ImageSaver:
    """How a run saves images: name template, format, recipe unless disabled, history unless disabled."""
    from glm_image_cli.history import History
    from glm_image_cli.naming import GENERATE_TEMPLATE, NameTemplate
    from glm_image_cli.saving import ImageSaver

    history = History() if cfg["history"] and not no_history else None
    template = NameTemplate.parse(cfg["name-template"] or default_template or GENERATE_TEMPLATE)
    return ImageSaver(folder=folder, command=command, metadata=bool(cfg["metadata"]) and not no_metadata,
                      history=history, template=template, image_format=checked_image_format(cfg),
                      created=None if command == "serve" else datetime.now().astimezone())


@dataclass
class GenerateRequest:
    """What `generate`, `again` or the MCP tool was asked for; None means "from the settings"."""

    prompt: str
    style: str | None = None
    negative: str | None = None
    size: str | None = None
    model: str | None = None
    quality: str | None = None
    samples: int = 1
    output_dir: Path | str | None = None
    concurrency: int | None = None
    timeout: float | None = None
    retry_unsafe: bool = False
    no_metadata: bool = False
    no_history: bool = False
    output: dict[str, Any] = field(default_factory=dict)  # name-template, format, watermark, user-id flags
    yes: bool = False
    command: str = "generate"


@dataclass
class PreparedGeneration:
    cfg: ResolvedConfig
    plan: GenerationPlan
    saver: ImageSaver
    warnings: list[Text]


def prepare_generation(request: GenerateRequest) -> PreparedGeneration:
    """Validate everything (settings, prompt, size, style, key, output folder) without spending anything."""
    from glm_image_cli.config import load_config
    from glm_image_cli.generation import plan_generation
    from glm_image_cli.output import ensure_writable_dir

    cfg = load_config(flags={
        "model": request.model, "size": request.size, "style": request.style, "quality": request.quality,
        "output-dir": str(request.output_dir) if request.output_dir else None,
        "concurrency": request.concurrency, "timeout": request.timeout, **request.output,
    })
    plan = plan_generation(
        request.prompt, model=cfg["model"], size=cfg["size"], quality=cfg["quality"], style=cfg["style"],
        negative=request.negative, samples=request.samples, user_styles=cfg.user_styles,
        watermark=cfg["watermark"], user_id=cfg["user-id"],
    )
    require_api_key(cfg)
    folder = ensure_writable_dir(Path(os.path.expanduser(cfg["output-dir"])))
    saver = make_saver(cfg, folder, request.command, no_metadata=request.no_metadata, no_history=request.no_history)
    return PreparedGeneration(cfg=cfg, plan=plan, saver=saver, warnings=[*cfg.warnings, *plan.warnings])
