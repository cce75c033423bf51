"""Saving an image: the recipe embedded (unless --no-metadata), an atomic never-overwriting write,
and a history record.  One place, so generate, batch and serve save images the same way."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from glm_image_cli import __version__
from glm_image_cli.errors import GlmImageError, OutputError, UsageError
from glm_image_cli.messages import Text
from glm_image_cli.storage.atomic import temp_file_beside
from glm_image_cli.storage.convert import EXTENSIONS, convert, converter_available
from glm_image_cli.storage.files import publish_new_file, write_new_file
from glm_image_cli.storage.naming import GENERATE_TEMPLATE, NameTemplate, sample_stem
from glm_image_cli.storage.pngmeta import RecipeInserter, embed_recipe, recipe_chunks

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient, GeneratedImage, ImageResult, ProgressCallback
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.storage.history import History


def recipe_for(plan: GenerationPlan, request_id: str | None, content_filter: list[dict[str, Any]] | None,
               created: datetime | None = None, batch_key: str | None = None) -> dict[str, Any]:
    """How the image was made; never includes the key."""
    return {
        "prompt": plan.prompt,
        "prompt_sent": plan.prompt_sent,
        "enhanced_prompt": plan.enhanced_prompt,  # --enhance: the chat model's rewrite of "prompt"
        "enhance_model": plan.enhance_model,
        "negative_prompt": plan.negative,
        "style": plan.style.name if plan.style else None,
        "model": plan.model,
        "size": plan.size,
        "quality": plan.quality,
        "request_id": request_id,
        "created": (created or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "content_filter": content_filter or None,
        "tool_version": __version__,
        "batch_key": batch_key,  # lets a batch whose manifest is gone recognise the image as made
        **({"source_images": source_images(plan.images), "mask": source_images((plan.mask,))[0]}
           if plan.images else {}),  # `edit`: what was edited (paths and SHA-256)
        # a template or {a|b} alternatives: the source, the expand mode and seed, what was chosen
        **({"expansion": dict(plan.origin)} if plan.origin else {}),
    }


def source_images(paths: tuple[str, ...] | tuple[str | None, ...]) -> list[dict[str, Any] | None]:
    """Each edited file's absolute path and SHA-256 (None for a missing mask)."""
    import hashlib
    from pathlib import Path

    out: list[dict[str, Any] | None] = []
    for path in paths:
        if path is None:
            out.append(None)
            continue
        file = Path(path)
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError:
            digest = None
        out.append({"path": str(file.resolve()), "sha256": digest})
    return out


@dataclass
class ImageSaver:
    """Where and how images of one run are saved, and where the run is remembered."""

    folder: Path
    command: str = "generate"
    metadata: bool = True
    history: History | None = None
    template: NameTemplate = field(default_factory=lambda: NameTemplate(GENERATE_TEMPLATE))
    image_format: str = "png"
    # The run's start, for the {date}/{time} tokens of names (stable across a run); None: each save's time.
    # The recipe's "created" is always the moment each image is saved.
    created: datetime | None = field(default_factory=lambda: datetime.now().astimezone())
    history_problem: Exception | None = None  # reported once by the CLI; never fails an image
    saved: int = 0  # images saved by this run, so a history problem is reported truthfully
    notices: list[Text] = field(default_factory=list)

    def save(self, plan: GenerationPlan, result: ImageResult, *, index: int, sample: int = 1,
             fixed_stem: str | None = None, key: str | None = None) -> Path:
        """Write one image held in memory: converted if asked, recipe embedded, named by the template,
        never overwriting."""
        when = self.created or datetime.now().astimezone()
        data, fmt, ext = self._encoded(result)
        if self.metadata and fmt == "png":
            data = embed_recipe(data, recipe_for(plan, result.request_id, result.content_filter,
                                                 datetime.now().astimezone(), self._batch_key(key)))
        path = self._place(plan, when, index, sample, fixed_stem, result.request_id, ext,
                           lambda target, stem: write_new_file(target, stem, ext, data))
        self._remember(plan, path=str(path.resolve()), request_id=result.request_id)
        return path

    def save_streamed(self, plan: GenerationPlan, generated: GeneratedImage, client: BigModelClient, *,
                      index: int, sample: int = 1, fixed_stem: str | None = None, key: str | None = None,
                      progress: ProgressCallback | None = None) -> Path:
        """Stream one image from the upstream into a temporary file beside its final name, the recipe
        inserted as the bytes pass, then publish it write-once: the image is never whole in memory.
        A conversion (jpeg/webp) needs the decoded picture anyway and goes through ``save``."""
        when = self.created or datetime.now().astimezone()
        recipe = None
        if self.metadata and self.image_format in ("png", "original"):
            recipe = recipe_chunks(recipe_for(plan, generated.request_id, generated.content_filter,
                                              datetime.now().astimezone(), self._batch_key(key)))
        try:
            with temp_file_beside(self.folder) as (fd, temp):
                with os.fdopen(fd, "wb") as handle:
                    writer = RecipeInserter(handle, recipe)
                    fmt, ext = client.stream_image(generated, writer.write, writer.restart,
                                                   progress or (lambda event, info: None))
                    writer.finish()
                    handle.flush()
                    os.fsync(handle.fileno())
                if self.image_format not in ("original", fmt):
                    from glm_image_cli.backends.bigmodel import ImageResult

                    result = ImageResult(data=temp.read_bytes(), format=fmt, extension=ext, url=generated.url,
                                         request_id=generated.request_id, content_filter=generated.content_filter)
                    return self.save(plan, result, index=index, sample=sample, fixed_stem=fixed_stem, key=key)
                path = self._place(plan, when, index, sample, fixed_stem, generated.request_id, ext,
                                   lambda target, stem: publish_new_file(temp, target, stem, ext))
        except OSError as exc:
            raise OutputError("output_not_writable", path=str(self.folder), detail=exc.strerror or str(exc)) from None
        self._remember(plan, path=str(path.resolve()), request_id=generated.request_id)
        return path

    def _batch_key(self, key: str | None) -> str | None:
        return key if self.command == "batch" else None

    def _place(self, plan: GenerationPlan, when: datetime, index: int, sample: int, fixed_stem: str | None,
               request_id: str | None, ext: str, publish: Callable[[Path, str], Path]) -> Path:
        """Publish under the asked-for name; if that name cannot exist here (too long for the file system,
        a sub-folder that cannot be made), under a plain one in the output folder: a paid image is kept."""
        try:
            target, stem = self._destination(plan, when, index, sample, fixed_stem, request_id, ext)
            return publish(target, stem)
        except OutputError as error:
            fallback = f"{index:04d}-{sample}-{_safe_id(request_id)}"
            path = publish(self.folder, fallback)
            self.notices.append(Text("saved_under_plain_name", path=str(path), detail=error.params.get("detail", "")))
            return path

    def _destination(self, plan: GenerationPlan, when: datetime, index: int, sample: int, fixed_stem: str | None,
                     request_id: str | None, ext: str) -> tuple[Path, str]:
        """The folder (created if the template names a sub-folder) and file stem of one image."""
        subfolder, stem = self._name(plan, when, index, sample, fixed_stem, request_id, ext)
        target = self.folder / subfolder
        if subfolder.parts:
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError("output_not_writable", path=str(target), detail=exc.strerror or str(exc)) from None
        return target, stem

    def _name(self, plan: GenerationPlan, when: datetime, index: int, sample: int, fixed_stem: str | None,
              request_id: str | None, ext: str) -> tuple[PurePosixPath, str]:
        if fixed_stem is not None:
            return PurePosixPath(), sample_stem(fixed_stem, sample, plan.samples)
        subfolder, stem = self.template.render(when=when, index=index, plan=plan, request_id=request_id, ext=ext)
        if self.template.tells_samples_apart(index_is_sample=self.command != "batch"):
            return subfolder, stem
        return subfolder, sample_stem(stem, sample, plan.samples)

    def check_name(self, plan: GenerationPlan, *, index: int, sample: int = 1, fixed_stem: str | None = None) -> None:
        """Before any money is spent: the name this image will get fits the file system's limits (bytes per
        name, bytes per path), with room for a long request id, the longest extension and a "-9999" suffix."""
        when = self.created or datetime.now().astimezone()
        subfolder, stem = self._name(plan, when, index, sample, fixed_stem, _LONG_REQUEST_ID, "jpeg")
        name_max, path_max = _limits(self.folder)
        for part in (*subfolder.parts, f"{stem}-9999.jpeg"):
            size = len(os.fsencode(part))
            if size > name_max:
                raise UsageError("name_too_long", name=part, size=size, limit=name_max)
        full = len(os.fsencode(str((self.folder / subfolder).resolve() / f"{stem}-9999.jpeg")))
        if full > path_max:
            raise UsageError("path_too_long", size=full, limit=path_max)

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
        if fields.get("ok", True):
            self.saved += 1
        if self.history is None:
            return
        try:
            self.history.add(command=self.command, prompt=plan.prompt, prompt_sent=plan.prompt_sent,
                             negative=plan.negative, style=plan.style.name if plan.style else None,
                             model=plan.model, size=plan.size, quality=plan.quality, **fields)
        except (GlmImageError, sqlite3.Error) as exc:  # a paid image must not be lost over its history
            self.history_problem, self.history = exc, None


def _safe_id(request_id: str | None) -> str:
    kept = "".join(ch for ch in (request_id or "") if ch.isascii() and (ch.isalnum() or ch in "-_"))[:40]
    return kept or "image"


_LONG_REQUEST_ID = "x" * 48  # longer than the request ids BigModel hands out


def _limits(folder: Path) -> tuple[int, int]:
    """(bytes per file name, bytes per path) where the images go; the common limits where unknown."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):  # Windows has no pathconf
        return 255, 4096
