"""The results of finished Batch API batches: mapped by ``custom_id``, recorded, then saved as a direct batch saves.

Each finished part's output and error files are read; a line's image is recorded in the manifest as a direct
answer is ("answered", with its URL) and handed to the one runner as an image paid for before (fetched, never
requested), so the files, recipes, history and manifest are a direct batch's.  A failed line is recorded failed
with the code a direct call's same answer has; a line the batch never ran (expired, cancelled, failed) is failed
and not charged; a line a *completed* batch left out may have been made, so it is never bought again blindly.
A part is closed once all its units are settled; until then a re-run reads its results again (they are kept for
30 days) and saves only what is not saved yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glm_image_cli.backends.batchwire import result_lines
from glm_image_cli.core.plans import error_json
from glm_image_cli.core.results import Notice
from glm_image_cli.core.runner import ImageOutcome
from glm_image_cli.errors import GlmImageError, UpstreamFailure

if TYPE_CHECKING:
    from glm_image_cli.backends.batchwire import BatchInfo
    from glm_image_cli.backends.bigmodel import GeneratedImage
    from glm_image_cli.core.batch import Selection, WorkUnit
    from glm_image_cli.core.batchapi import BatchApi, Progress
    from glm_image_cli.core.batchjournal import Part
    from glm_image_cli.core.ledger import RunSpend
    from glm_image_cli.core.manifest import Manifest
    from glm_image_cli.core.results import Cancel, Run
    from glm_image_cli.core.runner import Event
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.saving import ImageSaver

NOT_RUN = {"expired": "batchapi_expired", "cancelled": "batchapi_cancelled", "failed": "batchapi_failed"}


def _ignore(_: Any) -> None:
    return None


@dataclass
class Collected:
    """What collecting did: the runner's run over the images that arrived, the lines that made no image
    (``failed``: not charged; ``uncertain``: maybe made), and the units left for a run with their input."""

    run: Run | None = None
    failed: list[ImageOutcome] = field(default_factory=list)
    uncertain: list[ImageOutcome] = field(default_factory=list)
    foreign: int = 0
    closed: int = 0

    @property
    def outcomes(self) -> list[ImageOutcome]:
        return [*(self.run.outcomes if self.run is not None else []), *self.failed, *self.uncertain]


@dataclass
class _Mapped:
    images: dict[str, GeneratedImage] = field(default_factory=dict)
    errors: dict[str, GlmImageError] = field(default_factory=dict)


def read_part(api: BatchApi, info: BatchInfo, model: str | None) -> _Mapped:
    """The part's result lines by custom_id: the output file first, then the error file."""
    mapped = _Mapped()
    for file_id in (info.output_file_id, info.error_file_id):
        if not file_id:
            continue
        for record in result_lines(api.wire.content(file_id)):
            key = record.get("custom_id")
            if not isinstance(key, str):
                continue
            result = api.wire.result_of(record, model)
            if isinstance(result, GlmImageError):
                if key not in mapped.images:
                    mapped.errors[key] = result
            else:
                mapped.images[key] = result
                mapped.errors.pop(key, None)
    return mapped


def collect(api: BatchApi, studio: Studio, manifest: Manifest, saver: ImageSaver, units: dict[str, WorkUnit], *,
            on_event: Callable[[Event], None] = _ignore, on_notice: Callable[[Notice], None] = _ignore,
            cancel: Cancel | None = None, on_saving: Callable[[int], None] = _ignore) -> Collected:
    """Record and save the results of every open part whose batch has finished (``api.latest``); ``on_saving``
    hears how many images are about to be saved."""
    from glm_image_cli.core.runner import SaveImages

    collected = Collected()
    images: dict[str, GeneratedImage] = {}
    arriving: dict[str, Part] = {}
    finished = [part for part in api.journal.open_parts()
                if part.batch_id is not None and (info := api.latest.get(part.marker)) is not None and info.finished]
    for part in finished:
        info = api.latest[part.marker]
        mapped = read_part(api, info, part.model)
        settled: dict[str, str] = {}
        for key in part.keys:
            unit = units.get(key)
            if unit is None:
                collected.foreign += 1
                continue
            record = manifest.states.get(key) or {}
            if record.get("state") == "done":
                continue  # saved by an earlier run
            if record.get("state") == "failed" and record.get("batch_id") == part.batch_id:
                collected.failed.append(ImageOutcome(unit, error=_recorded_error(record)))  # said again, not redone
                continue
            if key in mapped.images:
                images[key], arriving[key] = mapped.images[key], part
                if mapped.images[key].url:
                    manifest.answered(unit, mapped.images[key])
            elif key in mapped.errors:
                collected.failed.append(_failed(manifest, unit, mapped.errors[key], part))
                settled[key] = "failed"
            elif info.status == "completed":  # the platform says done, yet no line: it may have been made
                error = UpstreamFailure("batchapi_no_result", batch_id=part.batch_id)
                manifest.record(unit, "dispatched", error=error_json(error), batch_id=part.batch_id)
                collected.uncertain.append(ImageOutcome(unit, error=error, paid=True))
            else:
                error = UpstreamFailure(NOT_RUN.get(info.status, "batchapi_failed"), batch_id=part.batch_id,
                                        detail=info.errors or info.status)
                collected.failed.append(_failed(manifest, unit, error, part))
                settled[key] = "failed"
        api.settle(part, settled)
    on_saving(len(images))
    if images:
        to_save = [units[key] for key in images]
        collected.run = studio.run_units(to_save, delivery=SaveImages(saver), spend=None, journal=manifest,
                                         recovered=images, on_event=on_event, on_notice=on_notice, cancel=cancel)
        for outcome in collected.run.outcomes:
            key = outcome.unit.key
            api.settle(arriving[key], {key: "saved" if outcome.error is None else "unsaved"})
    for part in finished:
        if _all_settled(part, units, manifest):
            api.journal.record(part, "closed")
            collected.closed += 1
    return collected


def _recorded_error(record: dict[str, Any]) -> GlmImageError:
    """The failure a manifest record keeps, as an error with the same public code (for the summary)."""
    from glm_image_cli.errors import MEANINGS

    error = record.get("error") if isinstance(record.get("error"), dict) else {}
    code = error.get("code")
    message_id = next((mid for mid, meaning in MEANINGS.items() if meaning.code == code), "batchapi_failed")
    failure = UpstreamFailure(message_id, batch_id=record.get("batch_id"), detail=str(error.get("message") or "?"))
    exit_code = error.get("exit_code")
    if isinstance(exit_code, int) and not isinstance(exit_code, bool):
        failure.exit_code = exit_code  # type: ignore[misc]
    return failure


def _failed(manifest: Manifest, unit: WorkUnit, error: GlmImageError, part: Part) -> ImageOutcome:
    manifest.record(unit, "failed", error=error_json(error), batch_id=part.batch_id)
    return ImageOutcome(unit, error=error)


def _all_settled(part: Part, units: dict[str, WorkUnit], manifest: Manifest) -> bool:
    """Every unit of the part is in this input and saved, failed, or recorded as maybe made (with no result to
    fetch): nothing more will come from this batch."""
    for key in part.keys:
        if key not in units:
            return False
        record = manifest.states.get(key) or {}
        state = record.get("state")
        if state in ("done", "failed"):
            continue
        if state == "dispatched" and isinstance(record.get("error"), dict) \
                and record["error"].get("code") == "BATCH_NO_RESULT":
            continue
        return False
    return True


@dataclass
class ApiRun:
    """What a `--via batch-api` run did: the images collected (and those paid before and fetched now), and
    whether it left batches running on the platform (``pending`` images, ``left``)."""

    collected: Collected
    recovered: Run | None = None
    left: bool = False
    pending: int = 0

    @property
    def outcomes(self) -> list[ImageOutcome]:
        return [*self.collected.outcomes, *(self.recovered.outcomes if self.recovered is not None else [])]


def run_batch_api(api: BatchApi, studio: Studio, selection: Selection, units: dict[str, WorkUnit], manifest: Manifest,
                  saver: ImageSaver, spend: RunSpend | None, *, input_path: str | None = None,
                  on_progress: Callable[[Progress], None] = _ignore, on_event: Callable[[Event], None] = _ignore,
                  on_notice: Callable[[Notice], None] = _ignore, cancel: Cancel | None = None,
                  on_saving: Callable[[int], None] = _ignore) -> ApiRun:
    """A batch through the Batch API, after ``api.claim`` and the hold: re-attach the folder's parts, submit the
    selection's new units, wait for the platform, then collect.  Ctrl-C propagates from the wait (the batches go
    on); ``cancel`` ends the wait the same way (``left``).  ``on_saving(count)``: just before images are saved."""
    from glm_image_cli.core.runner import SaveImages

    api.attach(units, spend, on_progress)
    if selection.to_run:
        api.submit(selection.to_run, spend, input_path=input_path, on_progress=on_progress)
    finished = api.wait(on_progress=on_progress, cancel=cancel)
    result = ApiRun(collect(api, studio, manifest, saver, units, on_event=on_event, on_notice=on_notice,
                            cancel=cancel, on_saving=on_saving))
    if selection.recoverable:  # paid before (a direct run, or a result whose download failed): fetched, not bought
        recovered = {unit.key: image for unit in selection.recoverable
                     if (image := manifest.recorded_image(unit)) is not None}
        result.recovered = studio.run_units(selection.recoverable, delivery=SaveImages(saver), spend=None,
                                            journal=manifest, recovered=recovered, on_event=on_event,
                                            on_notice=on_notice, cancel=cancel)
    if not finished:
        result.left = True
        result.pending = sum(len([key for key in part.keys if key in units]) for part in api.journal.open_parts())
    if result.collected.foreign:
        from glm_image_cli.messages import Text

        on_notice(Notice("warning", Text("batchapi_foreign", count=result.collected.foreign)))
    return result
