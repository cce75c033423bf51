"""Saving an image: the recipe embedded (unless --no-metadata), an atomic never-overwriting write,
and a history record.  One place, so generate, batch and serve save images the same way."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli import __version__
from glm_image_cli.errors import GlmImageError
from glm_image_cli.output import write_new_file
from glm_image_cli.pngmeta import embed_recipe

if TYPE_CHECKING:
    from glm_image_cli.client import ImageResult
    from glm_image_cli.generation import GenerationPlan
    from glm_image_cli.history import History


def recipe_for(plan: GenerationPlan, result: ImageResult, created: datetime | None = None) -> dict[str, Any]:
    """How the image was made; never includes the key."""
    return {
        "prompt": plan.prompt,
        "prompt_sent": plan.prompt_sent,
        "negative_prompt": plan.negative,
        "style": plan.style.name if plan.style else None,
        "model": plan.model,
        "size": plan.size,
        "quality": plan.quality,
        "request_id": result.request_id,
        "created": (created or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "content_filter": result.content_filter or None,
        "tool_version": __version__,
    }


@dataclass
class ImageSaver:
    """Where and how images of one run are saved, and where the run is remembered."""

    folder: Path
    command: str = "generate"
    metadata: bool = True
    history: History | None = None
    created: datetime = field(default_factory=lambda: datetime.now().astimezone())
    history_problem: Exception | None = None  # reported once by the CLI; never fails an image

    def save(self, stem: str, plan: GenerationPlan, result: ImageResult) -> Path:
        data = result.data
        if self.metadata and result.format == "png":
            data = embed_recipe(data, recipe_for(plan, result, self.created))
        path = write_new_file(self.folder, stem, result.extension, data)
        self._remember(plan, path=str(path.resolve()), request_id=result.request_id)
        return path

    def failed(self, plan: GenerationPlan, error: GlmImageError) -> None:
        self._remember(plan, ok=False, error_code=error.code, error=str(error),
                       request_id=getattr(error, "request_id", None))

    def _remember(self, plan: GenerationPlan, **fields: Any) -> None:
        if self.history is None:
            return
        try:
            self.history.add(command=self.command, prompt=plan.prompt, prompt_sent=plan.prompt_sent,
                             negative=plan.negative, style=plan.style.name if plan.style else None,
                             model=plan.model, size=plan.size, quality=plan.quality, **fields)
        except (GlmImageError, sqlite3.Error) as exc:  # a paid image must not be lost over its history
            self.history_problem, self.history = exc, None
