"""What a serve request asks for and how it is made: the options, the job parsed from a request body (the
original /txt2img shape or OpenAI's images API), the API error answer with its honest status, and ImageService,
which hands the job to the Studio under the cap on images in progress and answers the images made."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import (
    AuthFailure,
    BudgetExceeded,
    ContentBlocked,
    FolderInUse,
    GlmImageError,
    NetworkFailure,
    QuotaFailure,
    RateLimited,
    RefusedFailure,
    UpstreamFailure,
    UsageError,
)
from glm_image_cli.messages import render
from glm_image_cli.serve.guards import Slots

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient, GeneratedImage
    from glm_image_cli.core.pending import PendingJournal
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.prompting import PromptSource
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.saving import ImageSaver

OPENAI_MODEL_ALIASES = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini"})
MAX_SIDE = 8192  # anything larger is rejected before it reaches the size rules


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 5001
    token: str | None = None
    max_body: int = 64 * 1024
    max_edit_body: int = 32 * 1024 * 1024  # POST /v1/images/edits: multipart with the images (never below max_body)
    max_concurrent: int = 8
    rate_per_minute: float = 60.0
    burst: int = 10
    read_timeout: float = 10.0  # seconds to send a whole request (line, headers and body), not per read
    max_samples: int = 4
    max_connections: int = 256  # open client connections; more are answered 503 at once, without a thread
    ping_reserve: int = 4  # extra connections beyond max_connections, served for GET /ping only
    auth_failures: int = 5  # wrong tokens per client within auth_window before it gets 429 ...
    auth_window: float = 60.0  # ... until its oldest failure is this many seconds old
    shutdown_grace: float = 60.0
    quiet: bool = False
    spool_dir: Path | None = None  # where a request's images wait for its answer (None: the system's temp folder)
    max_compare_images: int = 36  # POST /compare: cells × n in one request


class ApiError(Exception):
    """An HTTP error answer: status, stable code, message, and whether a client may retry."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.retryable = retryable


def api_error_from(error: GlmImageError) -> ApiError:
    """Map a library failure to an honest status (README, "serve")."""
    message = str(error)
    if isinstance(error, BudgetExceeded):  # refused before sending: over the daily or monthly budget
        return ApiError(402, error.code, message)
    if isinstance(error, UsageError):
        return ApiError(400, error.code, message)
    if isinstance(error, FolderInUse):  # another request is making the same compare: try again when it is done
        return ApiError(409, error.code, message, retry_after=5, retryable=True)
    if isinstance(error, RateLimited):
        return ApiError(429, error.code, message, retry_after=30, retryable=True)
    if isinstance(error, NetworkFailure):
        if not error.sent:
            return ApiError(502, error.code, message, retryable=True)  # nothing was sent
        return ApiError(504, error.code, message)  # the answer was lost: a retry could pay twice
    if isinstance(error, (AuthFailure, RefusedFailure, ContentBlocked, QuotaFailure, UpstreamFailure)):
        return ApiError(502, error.code, message)
    return ApiError(500, error.code, message)


@dataclass
class ImageJob:
    prompt: str
    negative: str | None
    size: str | None
    model: str | None
    style: str | None
    quality: str | None
    samples: int
    want_bytes: bool
    enhance: bool | None = None  # "enhance": true|false (None: the `enhance` setting)
    images: tuple[str, ...] = ()  # an edit: the uploaded source images (temporary files)
    mask: str | None = None
    source: PromptSource | None = None  # "template"/"variables" or "expand": one plan per prompt it stands for
    check: bool = False  # "check": true — each image judged by the vision model, the verdict in the answer
    best_of: int | None = None  # "best_of": N candidates per image (all paid for), the best answered


class ImageService:
    """The HTTP adapter's side of the library API: a validated job becomes a plan, the Studio makes it (budget,
    --enhance, runner, ledger), and the images made are answered.  One Studio for every request: one HTTP
    client, one limiter per model, one ledger.  ``slots`` caps the images in progress across requests."""

    def __init__(self, studio: Studio, options: ServeOptions, saver: ImageSaver | None = None) -> None:
        self.studio = studio
        self.options = options
        self.saver = saver
        self.slots = Slots(options.max_concurrent)

    def run(self, job: ImageJob, spool: Path | None = None) -> tuple[GenerationPlan, list[ImageOutcome]]:
        """Make the job's samples in parallel (within the cap); the images made, or the first failure.
        ``spool``: the request's folder for images the answer carries that --save does not keep (the caller
        removes it once the answer is written)."""
        from glm_image_cli.core.consent import always

        plans = self._plans(job)
        count = sum(plan.samples for plan in plans) * (job.best_of or 1)  # every --best-of candidate holds a slot
        if not self.slots.try_acquire(count):
            raise ApiError(503, "SATURATED", render("api_saturated"),
                           retry_after=2, retryable=True)
        try:
            # The operator who started serve agreed to its costs; budgets still hold (402).
            with self.studio.prepare(plans, enhance=job.enhance, consent=always, vision=_vision(job),
                                     delivery=AnswerImages(job.want_bytes, self.saver, spool)) as prepared:
                run = prepared.run(journal=self._journal())
        except GlmImageError as error:
            if getattr(error, "during", None) != "enhance":
                raise
            # A failed rewrite is answered like an image failure (429, 502, 504…), saying no image was requested.
            answer = api_error_from(error)
            answer.message = f"{render('enhance_failed', model=self.studio.settings.enhance_model)} {answer.message}"
            raise answer from None
        finally:
            self.slots.release(count)
        made = [outcome for outcome in run.outcomes if outcome.error is None and not outcome.candidate]
        if not made:  # paid images are always answered; a failure only when nothing was made
            failure = run.first_error or run.halted_by
            raise failure or ApiError(500, "INTERNAL", render("api_internal", detail="no outcome"))
        return run.plans[0], made

    def compare(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /compare: ``{"prompt", "axes": {"model": [...], "style": [...]}, "n", "skip_invalid"}`` made by
        the Studio's compare into a folder under --save (a compare is journaled there: the same request again
        resumes without paying twice); the answer is compare.json's content and the folder."""
        from glm_image_cli.core.consent import always

        if self.saver is None:
            raise ApiError(400, "COMPARE_NEEDS_SAVE", render("api_compare_needs_save"))
        prompt, axes, samples = body.get("prompt"), body.get("axes"), body.get("n", 1)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ApiError(400, "MISSING_FIELD", render("api_field_required", field="prompt"))
        if not isinstance(axes, dict) or not axes:
            raise ApiError(400, "INVALID_FIELD", render("api_compare_axes"))
        if isinstance(samples, bool) or not isinstance(samples, int):
            raise ApiError(400, "INVALID_FIELD", render("api_field_integer", field="n"))
        from glm_image_cli.core.compare import folder_name
        from glm_image_cli.core.comparerun import axes_from

        parsed = axes_from(axes)
        cells = 1
        for axis in parsed:
            cells *= len(axis.values)
        count = min(cells * samples, self.options.max_compare_images)
        if not self.slots.try_acquire(count):
            raise ApiError(503, "SATURATED", render("api_saturated"), retry_after=2, retryable=True)
        try:
            done = self.studio.compare(prompt, axes, samples=samples, consent=always,
                                       output_dir=self.saver.folder / folder_name(prompt, parsed),
                                       skip_invalid=body.get("skip_invalid") is True,
                                       max_images=self.options.max_compare_images)
        finally:
            self.slots.release(count)
        return {**done.document, "folder": str(done.path.parent)}

    def _plans(self, job: ImageJob) -> list[GenerationPlan]:
        """One plan, or one per prompt a template or "expand" makes (at most --max-samples images in all)."""
        options = {"model": job.model, "size": job.size, "quality": job.quality, "style": job.style,
                   "negative": job.negative}
        source = job.source
        if source is None:
            return [self.studio.plan(job.prompt, **options, samples=job.samples, images=job.images, mask=job.mask)]
        return self.studio.expand(source.text, template=source.template, variables=source.variables,
                                  expand=source.expand, seed=source.seed, max_images=self.options.max_samples,
                                  samples=job.samples, **options)


    def _journal(self) -> PendingJournal | None:
        """With --save, paid asynchronous tasks are recorded until saved, as `generate`'s are: a serve killed
        while the upstream works leaves them for `glm-image collect` (into the --save folder)."""
        if self.saver is None:
            return None
        from glm_image_cli.core.pending import PendingJournal
        from glm_image_cli.storage.history import data_dir
        from glm_image_cli.storage.pendingjobs import PendingJobs

        return PendingJournal(PendingJobs(data_dir()), self.saver, self.studio.command)


@dataclass(frozen=True)
class HeldImage:
    """An image the answer carries: its file (saved with --save, else in the request's spool) and format."""

    path: Path
    format: str


def _vision(job: ImageJob) -> Any:
    """"check" and "best_of" as the library's VisionSetup (None: neither)."""
    if not (job.check or job.best_of):
        return None
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.checks import CheckOptions

    return VisionSetup(CheckOptions(check=job.check), best_of=job.best_of)


@dataclass
class AnswerImages:
    """serve's delivery: each image streamed from the upstream into a file, never whole in memory: the file
    --save keeps (recipe embedded), else one in the request's ``spool`` folder.  The answer encodes it from
    there (streamjson.py).  Nothing is downloaded when the answer is only the upstream's URL."""

    want_bytes: bool
    saver: ImageSaver | None = None
    spool: Path | None = None

    def __call__(self, unit: Any, generated: GeneratedImage, client: BigModelClient,
                 downloading: Callable[[], None]) -> ImageOutcome:
        from glm_image_cli.core.runner import ImageOutcome

        if not (self.want_bytes or self.saver is not None or generated.url is None):
            return ImageOutcome(unit, request_id=generated.request_id, content_filter=generated.content_filter,
                                url=generated.url)
        progress = lambda event, info: downloading() if event == "downloading" else None  # noqa: E731
        path = None
        if self.saver is not None:
            path = self.saver.save_streamed(unit.plan, generated, client, index=unit.index, sample=unit.sample,
                                            progress=progress)
            held = HeldImage(path, path.suffix.lstrip(".").lower().replace("jpg", "jpeg"))
        else:
            held = spool_image(self._spool_folder(), generated, client, progress)
        return ImageOutcome(unit, path=path, request_id=generated.request_id, content_filter=generated.content_filter,
                            url=generated.url, payload=held)

    def _spool_folder(self) -> Path:
        if self.spool is None:
            raise ValueError("an answer that carries images needs the request's spool folder")
        return self.spool

    def failed(self, unit: Any, error: GlmImageError) -> None:
        if self.saver is not None:
            self.saver.failed(unit.plan, error)


SPOOL_PREFIX = "glm-image-answer-"
STALE_SPOOL_SECONDS = 24 * 3600  # no answer takes this long: such a folder was left by a serve that died


def clear_stale_spool(folder: Path | None) -> None:
    """Remove the request folders a killed serve left in ``folder`` (those of a serve running beside us are
    younger than a day and stay)."""
    import shutil
    import time

    if folder is None or not folder.is_dir():
        return
    for entry in folder.glob(SPOOL_PREFIX + "*"):
        try:
            if entry.is_dir() and not entry.is_symlink() and \
                    time.time() - entry.stat().st_mtime > STALE_SPOOL_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def spool_image(folder: Path, generated: GeneratedImage, client: BigModelClient,
                progress: Callable[[str, Any], None]) -> HeldImage:
    """The upstream's bytes as they are (no recipe, no conversion: what the client asked for) in a new private
    file in ``folder``; a failed download leaves no file behind."""
    import os

    from glm_image_cli.storage.atomic import new_temp_file

    fd, path = new_temp_file(folder, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            def restart() -> None:
                handle.seek(0)
                handle.truncate()

            fmt, _ = client.stream_image(generated, handle.write, restart, progress)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return HeldImage(path, fmt)


# --- request parsing -----------------------------------------------------------------------------

def _text(body: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (value == "" and not required):
        if required:
            raise ApiError(400, "MISSING_FIELD", render("api_field_required", field=name))
        return None
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_FIELD", render("api_field_string", field=name))
    try:
        value.encode("utf-8")  # JSON's "\ud800" escape decodes to a lone surrogate, which no later step can encode
    except UnicodeEncodeError:
        raise ApiError(400, "INVALID_FIELD", render("api_field_surrogate", field=name)) from None
    if required and not value.strip():
        raise ApiError(400, "MISSING_FIELD", render("api_field_empty", field=name))
    return value


def _integer(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise ApiError(400, "INVALID_FIELD", render("api_field_integer", field=name))
    if not low <= value <= high:
        raise ApiError(400, "INVALID_FIELD", render("api_field_range", field=name, low=low, high=high))
    return int(value)


def _flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ApiError(400, "INVALID_FIELD", render("api_field_boolean", field=name))
    return value


def _prompt_source(body: Mapping[str, Any]) -> PromptSource | None:
    """"template" (with "variables") or "expand" ("all" or "random:N", with "seed"): the prompt stands for several
    (README, "Templates" and "Alternatives and wildcards"); without them the prompt is sent as it is."""
    from glm_image_cli.core.prompting import PromptSource

    template, expand = _text(body, "template"), _text(body, "expand")
    if template is None and expand is None:
        return None
    variables = body.get("variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ApiError(400, "INVALID_FIELD", render("api_field_variables"))
    return PromptSource(_text(body, "prompt"), template, dict(variables), expand,
                        _integer(body, "seed", 0, 2**63 - 1))


def parse_txt2img(body: Mapping[str, Any], max_samples: int) -> ImageJob:
    """The original skill's body: prompt, negative_prompt, width, height, model, style, samples."""
    width = _integer(body, "width", 1, MAX_SIDE)
    height = _integer(body, "height", 1, MAX_SIDE)
    if (width is None) != (height is None):
        raise ApiError(400, "INVALID_FIELD", render("api_width_height"))
    source = _prompt_source(body)
    return ImageJob(
        prompt=str(_text(body, "prompt", required=source is None or source.template is None) or ""),
        source=source,
        negative=_text(body, "negative_prompt"),
        size=f"{width}x{height}" if width and height else None,
        model=_text(body, "model"),
        style=_text(body, "style"),
        quality=_text(body, "quality"),
        samples=_integer(body, "samples", 1, max_samples) or 1,
        want_bytes=True,
        enhance=_flag(body, "enhance"),
        check=bool(_flag(body, "check")),
        best_of=_integer(body, "best_of", 1, 8),
    )


def parse_openai(body: Mapping[str, Any], max_samples: int) -> ImageJob:
    """OpenAI's images API body; OpenAI model names map to the configured model."""
    response_format = _text(body, "response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise ApiError(400, "INVALID_FIELD", render("api_response_format"))
    size = _text(body, "size")
    model = _text(body, "model")
    style = _text(body, "style")
    quality = _text(body, "quality")
    source = _prompt_source(body)
    return ImageJob(
        prompt=str(_text(body, "prompt", required=source is None or source.template is None) or ""),
        source=source,
        negative=_text(body, "negative_prompt"),
        size=None if size in (None, "auto") else size,
        model=None if model in OPENAI_MODEL_ALIASES else model,
        style=None if style in ("vivid", "natural") else style,  # OpenAI's own style values
        quality={"hd": "hd", "high": "hd", "standard": "standard"}.get(quality or ""),
        samples=_integer(body, "n", 1, max_samples) or 1,
        want_bytes=response_format == "b64_json",
        enhance=_flag(body, "enhance"),
        check=bool(_flag(body, "check")),
        best_of=_integer(body, "best_of", 1, 8),
    )
