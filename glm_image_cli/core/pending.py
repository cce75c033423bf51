"""Asynchronous tasks of `generate` (no manifest) kept in the data folder's pending-jobs file until their image is
saved, and collected from it later (`glm-image collect`): the journal a `generate` run passes to the runner,
the recipe each record carries, and the plan and saving rebuilt from it.

A task id is paid for the moment it is returned; the record is written then, before the first poll, and removed
when the image is saved (or the task failed without charge).  A task that may still be billed stays recorded.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.runner import SampleUnit
from glm_image_cli.errors import GlmImageError
from glm_image_cli.storage.pendingjobs import PendingJobs

if TYPE_CHECKING:
    from glm_image_cli.backends.base import GeneratedImage
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.results import Cancel, Notice, Run
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.saving import ImageSaver


class PendingJournal:
    """The runner's journal for a run without a manifest: only paid asynchronous tasks are recorded."""

    resumable = False  # not a journal a re-run reads: the drain's words are generate's, not batch's

    def __init__(self, jobs: PendingJobs, saver: ImageSaver, command: str = "generate",
                 tag: Mapping[str, str] | None = None) -> None:
        """``tag``: fields added to each record (the MCP server's job id, so a restarted server finds them)."""
        self.jobs = jobs
        self.saver = saver
        self.command = command
        self.tag = dict(tag or {})
        self._ids: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Images of this run whose task is recorded and not saved yet."""
        with self._lock:
            return len(self._ids)

    def adopt(self, unit: Any, job_id: str) -> None:
        """A unit made from an existing record (collect): saving it removes that record."""
        with self._lock:
            self._ids[id(unit)] = job_id

    def submitted(self, unit: Any, task_id: str) -> None:
        job_id = self.jobs.add({**recipe_of(unit.plan, unit.sample, task_id, self.saver, self.command), **self.tag})
        self.adopt(unit, job_id)

    def dispatched(self, unit: Any) -> None:
        return None

    def refused(self, unit: Any) -> None:
        return None

    def answered(self, unit: Any, generated: GeneratedImage) -> None:
        return None

    def done(self, unit: Any, outcome: ImageOutcome) -> None:
        self._drop(unit)

    def failed(self, unit: Any, outcome: ImageOutcome) -> None:
        if not outcome.maybe_billed:  # may be billed (timed out while polling, download failed): keep it
            self._drop(unit)

    def _drop(self, unit: Any) -> None:
        with self._lock:
            job_id = self._ids.pop(id(unit), None)
        if job_id is not None:
            # The image is saved: a record that cannot be removed costs one free poll later, never the image.
            with contextlib.suppress(OSError, GlmImageError):
                self.jobs.remove(job_id)


def recipe_of(plan: GenerationPlan, sample: int, task_id: str, saver: ImageSaver, command: str) -> dict[str, Any]:
    """What collect needs to save the image as the original run would have: the plan and the saving."""
    return {
        "task_id": task_id, "model": plan.model, "prompt": plan.prompt, "prompt_sent": plan.prompt_sent,
        "size": plan.size, "quality": plan.quality, "style": plan.style.name if plan.style else None,
        "negative": plan.negative, "samples": plan.samples, "sample": sample, "watermark": plan.watermark,
        "user_id": plan.user_id, "enhanced_prompt": plan.enhanced_prompt, "enhance_model": plan.enhance_model,
        "output_dir": str(Path(saver.folder).resolve()), "name_template": saver.template.text,
        "format": saver.image_format, "metadata": saver.metadata, "history": saver.history is not None,
        "command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@dataclass(frozen=True)
class CollectUnit(SampleUnit):
    """One recorded task to collect: a sample of its plan (named like the original), keyed by its record."""

    job_id: str

    @property
    def key(self) -> str:
        return self.job_id


def plan_of(record: Mapping[str, Any], user_styles: Mapping[str, str] | None = None) -> GenerationPlan:
    """The plan a record was made from (nothing is validated again: it was sent and paid for already)."""
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.styles import find_style

    style = None
    if isinstance(record.get("style"), str):
        with contextlib.suppress(GlmImageError):
            style = find_style(record["style"], user_styles)

    def text(name: str) -> str | None:
        value = record.get(name)
        return value if isinstance(value, str) else None

    prompt = text("prompt") or ""
    samples = max(1, int(record.get("samples") or 1))
    return GenerationPlan(prompt=prompt, prompt_sent=text("prompt_sent") or prompt, model=text("model") or "glm-image",
                          size=text("size"), quality=text("quality"), style=style, negative=text("negative"),
                          samples=samples, watermark=record.get("watermark") is not False,
                          user_id=text("user_id"), enhanced_prompt=text("enhanced_prompt"),
                          enhance_model=text("enhance_model"))


def task_image(task_id: str) -> GeneratedImage:
    """A recovered image the runner collects by polling its task (never submitted again)."""
    from glm_image_cli.backends.base import GeneratedImage

    return GeneratedImage(url=None, inline_data=None, request_id=None, task_id=task_id, created=None,
                          content_filter=[])


def saver_of(record: Mapping[str, Any], default_folder: Path) -> ImageSaver:
    """Saving as the original run would have: its folder (checked writable), name template, format, recipe and
    history."""
    from datetime import datetime

    from glm_image_cli.storage.files import ensure_writable_dir
    from glm_image_cli.storage.history import History
    from glm_image_cli.storage.naming import GENERATE_TEMPLATE, NameTemplate
    from glm_image_cli.storage.saving import ImageSaver

    folder = Path(str(record.get("output_dir") or default_folder))
    ensure_writable_dir(folder)
    return ImageSaver(folder=folder, command=str(record.get("command") or "generate"),
                      metadata=record.get("metadata") is not False,
                      history=History() if record.get("history") else None,
                      template=NameTemplate.parse(str(record.get("name_template") or GENERATE_TEMPLATE)),
                      image_format=str(record.get("format") or "png"), created=datetime.now().astimezone())


def collect_record(studio: Studio, jobs: PendingJobs, job_id: str, record: Mapping[str, Any], *,
                   on_notice: Callable[[Notice], None] | None = None, cancel: Cancel | None = None) -> Run:
    """Poll one recorded task (free, never submitted again) and save its image as the original run would have;
    saved (or failed without charge), its record goes.  `glm-image collect` and the MCP server's fetch_image."""
    from glm_image_cli.core.runner import SaveImages

    saver = saver_of(record, Path(str(studio.settings.output_dir)))
    unit = CollectUnit(plan_of(record, studio.settings.user_styles), int(record.get("sample") or 1), job_id)
    journal = PendingJournal(jobs, saver, str(record.get("command") or "generate"))
    journal.adopt(unit, job_id)
    return studio.run_units([unit], delivery=SaveImages(saver), spend=None, journal=journal,
                            recovered={job_id: task_image(str(record["task_id"]))},
                            on_notice=on_notice or (lambda notice: None), cancel=cancel)
