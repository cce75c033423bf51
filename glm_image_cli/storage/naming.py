"""File-name templates: `--name "{date}/{slug}-{index}"`, checked before any money is spent.

Token values are made file-name safe, the template may create sub-folders, and nothing it renders can
leave the output folder (absolute paths and `..` are refused).
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from glm_image_cli.errors import UsageError
from glm_image_cli.storage.files import slugify

if TYPE_CHECKING:
    from glm_image_cli.core.plans import GenerationPlan

TOKENS = ("date", "time", "index", "slug", "model", "size", "style", "hash", "request_id", "ext")
GENERATE_TEMPLATE = "{date}-{time}-{slug}"
BATCH_TEMPLATE = "{index:04d}-{slug}"
MAX_WIDTH = 64  # a format spec's width or precision: more pads a name past every file system's limit


@dataclass(frozen=True)
class NameTemplate:
    """A validated template; ``tells_samples_apart`` says whether several images of one prompt get names of
    their own from it, or need the `-1`, `-2` … of ``sample_stem``."""

    text: str

    @classmethod
    def parse(cls, text: str) -> NameTemplate:
        template = text.strip().replace("\\", "/")
        if template.endswith(".{ext}"):
            template = template[: -len(".{ext}")]
        try:
            fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise UsageError("name_template_syntax", template=text, detail=str(exc)) from None
        unknown = sorted({name for name, _ in fields if name not in TOKENS})
        if unknown or not template:
            raise UsageError("name_template_token", template=text, tokens=", ".join(unknown) or "''",
                             valid=", ".join("{" + t + "}" for t in TOKENS))
        for _, spec in fields:
            if spec and not _modest(spec):
                raise UsageError("name_template_width", template=text, spec=spec, limit=MAX_WIDTH)
        parsed = cls(template)
        parsed._check_stays_inside(text)
        return parsed

    def tells_samples_apart(self, index_is_sample: bool) -> bool:
        """Whether the images of one prompt render different names: by ``{request_id}``, or by ``{index}`` where
        it counts the images (generate); in a batch ``{index}`` is the item's number, the same for its images."""
        return "{request_id" in self.text or (index_is_sample and "{index" in self.text)

    def render(self, *, when: datetime, index: int, plan: GenerationPlan, request_id: str | None,
               ext: str) -> tuple[PurePosixPath, str]:
        """(sub-folder relative to the output folder, file stem)."""
        values = {
            "date": f"{when:%Y%m%d}", "time": f"{when:%H%M%S}", "index": index, "slug": slugify(plan.prompt),
            "model": _safe(plan.model), "size": _safe(plan.size or "auto"),
            "style": _safe(plan.style.name if plan.style else "none"), "hash": request_hash(plan),
            "request_id": _safe(request_id or "no-id"), "ext": ext,
        }
        try:
            rendered = self.text.format(**values)
        except (ValueError, TypeError) as exc:
            raise UsageError("name_template_syntax", template=self.text, detail=str(exc)) from None
        path = PurePosixPath(rendered)
        parts = [part for part in path.parts if part not in ("", ".")]
        if path.is_absolute() or ".." in parts or not parts:
            raise UsageError("name_template_escape", template=self.text)
        return PurePosixPath(*parts[:-1]), parts[-1]

    def _check_stays_inside(self, original: str) -> None:
        from types import SimpleNamespace

        # Any plan will do: only the fields a template names are read.
        sample = SimpleNamespace(prompt="x", prompt_sent="x", model="m", size="1x1", quality=None, style=None,
                                 negative=None, samples=1, enhanced_prompt=None)
        try:
            self.render(when=datetime(2000, 1, 1), index=1, plan=sample,  # type: ignore[arg-type]
                         request_id="r", ext="png")
        except UsageError as error:
            if error.message_id == "name_template_escape":
                raise UsageError("name_template_escape", template=original) from None
            raise


def sample_stem(stem: str, sample: int, samples: int) -> str:
    """The one naming scheme for several images of one prompt, everywhere (generate, again, edit, chat, serve
    --save, a batch line's ``n`` with or without its ``name``): `-1`, `-2` … after the name; none for one image.
    A name that is already taken gets the next free `-N` (``files.publish_new_file``), never an overwrite."""
    return f"{stem}-{sample}" if samples > 1 else stem


def _modest(spec: str) -> bool:
    """A format spec whose widths and precisions are plain numbers up to MAX_WIDTH: ``{index:>999999999}`` would
    build a gigabyte string before any name is checked, and a nested ``{field}`` would choose its width at run time."""
    if "{" in spec:
        return False
    return all(len(number.lstrip("0")) <= 2 and int(number) <= MAX_WIDTH for number in re.findall(r"[0-9]+", spec))


def request_hash(plan: GenerationPlan) -> str:
    """8 hex digits identifying the request (prompt sent + model + size + quality)."""
    text = "|".join((plan.prompt_sent, plan.model, plan.size or "", plan.quality or ""))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _safe(value: str) -> str:
    return slugify(value, max_chars=64)
