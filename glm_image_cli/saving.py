"""Saving an image: the recipe embedded (unless --no-metadata), an atomic never-overwriting write,
and a history record.  One place, so generate, batch and serve save images the same way."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from glm_image_cli import __version__
from glm_image_cli.convert import EXTENSIONS, convert, converter_available
from glm_image_cli.errors import GlmImageError, OutputError
from glm_image_cli.messages import Text
from glm_image_cli.naming import GENERATE_TEMPLATE, NameTemplate
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
    template: NameTemplate = field(default_factory=lambda: NameTemplate(GENERATE_TEMPLATE))
    image_format: str = "png"
    created: datetime | None = field(default_factory=lambda: datetime.now().astimezone())  # None: each save's time
    history_problem: Exception | None = None  # reported once by the CLI; never fails an image
    notices: list[Text] = field(default_factory=list)

    def save(self, plan: GenerationPlan, result: ImageResult, *, index: int, sample: int = 1,
             fixed_stem: str | None = None) -> Path:
        """Write one image: converted if asked, recipe embedded, named by the template, never overwriting."""
        when = self.created or datetime.now().astimezone()
        data, fmt, ext = self._encoded(result)
        if self.metadata and fmt == "png":
            data = embed_recipe(data, recipe_for(plan, result, when))
        if fixed_stem is not None:
            subfolder, stem = PurePosixPath(), fixed_stem
            needs_index = plan.samples > 1
        else:
            subfolder, stem = self.template.render(when=when, index=index, plan=plan,
                                                   request_id=result.request_id, ext=ext)
            needs_index = plan.samples > 1 and not self.template.has_index
        if needs_index:
            stem = f"{stem}-{sample}"
        target = self.folder / subfolder
        if subfolder.parts:
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError("output_not_writable", path=str(target), detail=exc.strerror or str(exc)) from None
        path = write_new_file(target, stem, ext, data)
        self._remember(plan, path=str(path.resolve()), request_id=result.request_id)
        return path

    def _encoded(self, result: ImageResult) -> tuple[bytes, str, str]:
        """The bytes to write, their format and extension: unchanged when already right."""
        wanted = self.image_format
        if wanted == "original" or wanted == result.format:
            return result.data, result.format, result.extension
        if converter_available():
            try:
                return convert(result.data, wanted), wanted, EXTENSIONS[wanted]
            except (OSError, ValueError) as exc:  # undecodable bytes: keep what was paid for, as it is
                self.notices.append(Text("convert_failed", format=result.format.upper(), target=wanted,
                                         ext=result.extension, detail=str(exc)))
                return result.data, result.format, result.extension
        # Only the default (png) reaches here without Pillow: keep the real format, never mislabel it.
        self.notices.append(Text("real_format_kept", format=result.format.upper(), ext=result.extension))
        return result.data, result.format, result.extension

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
