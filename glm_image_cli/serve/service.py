"""What a serve request asks for and how it is made: the options, the job parsed from a request body (the
original /txt2img shape or OpenAI's images API), the API error answer with its honest status, and ImageService,
which hands the job to the Studio under the cap on images in progress and answers the images made."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import (
    AuthFailure,
    BudgetExceeded,
    ContentBlocked,
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
    from glm_image_cli.core.plans import GenerationPlan
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

    def run(self, job: ImageJob) -> tuple[GenerationPlan, list[ImageOutcome]]:
        """Make the job's samples in parallel (within the cap); the images made, or the first failure."""
        from glm_image_cli.core.consent import always

        plan = self.studio.plan(job.prompt, model=job.model, size=job.size, quality=job.quality, style=job.style,
                                negative=job.negative, samples=job.samples, images=job.images, mask=job.mask)
        images = plan.samples * (job.best_of or 1)  # every --best-of candidate is made, and holds a slot
        if not self.slots.try_acquire(images):
            raise ApiError(503, "SATURATED", render("api_saturated"),
                           retry_after=2, retryable=True)
        try:
            # The operator who started serve agreed to its costs; budgets still hold (402).
            run = self.studio.generate(plan, enhance=job.enhance, consent=always,
                                       delivery=AnswerImages(job.want_bytes, self.saver), vision=_vision(job))
        except GlmImageError as error:
            if getattr(error, "during", None) != "enhance":
                raise
            # A failed rewrite is answered like an image failure (429, 502, 504…), saying no image was requested.
            answer = api_error_from(error)
            answer.message = f"{render('enhance_failed', model=self.studio.settings.enhance_model)} {answer.message}"
            raise answer from None
        finally:
            self.slots.release(images)
        made = [outcome for outcome in run.outcomes if outcome.error is None and not outcome.candidate]
        if not made:  # paid images are always answered; a failure only when nothing was made
            failure = run.first_error or run.halted_by
            raise failure or ApiError(500, "INTERNAL", render("api_internal", detail="no outcome"))
        return run.plans[0], made


def _vision(job: ImageJob) -> Any:
    """"check" and "best_of" as the library's VisionSetup (None: neither)."""
    if not (job.check or job.best_of):
        return None
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.checks import CheckOptions

    return VisionSetup(CheckOptions(check=job.check), best_of=job.best_of)


@dataclass
class AnswerImages:
    """serve's delivery: keep what the HTTP answer needs (the bytes, or just the upstream URL), and save
    a copy with --save.  The bytes live until the answer is written, then go with the request."""

    want_bytes: bool
    saver: ImageSaver | None = None

    def __call__(self, unit: Any, generated: GeneratedImage, client: BigModelClient,
                 downloading: Callable[[], None]) -> ImageOutcome:
        from glm_image_cli.core.runner import ImageOutcome

        if not (self.want_bytes or self.saver is not None or generated.url is None):
            return ImageOutcome(unit, request_id=generated.request_id, content_filter=generated.content_filter,
                                url=generated.url)
        result = client.fetch(generated)
        path = self.saver.save(unit.plan, result, index=unit.index, sample=unit.sample) if self.saver else None
        return ImageOutcome(unit, path=path, request_id=result.request_id, content_filter=result.content_filter,
                            url=generated.url, payload=result)

    def failed(self, unit: Any, error: GlmImageError) -> None:
        if self.saver is not None:
            self.saver.failed(unit.plan, error)


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


def parse_txt2img(body: Mapping[str, Any], max_samples: int) -> ImageJob:
    """The original skill's body: prompt, negative_prompt, width, height, model, style, samples."""
    width = _integer(body, "width", 1, MAX_SIDE)
    height = _integer(body, "height", 1, MAX_SIDE)
    if (width is None) != (height is None):
        raise ApiError(400, "INVALID_FIELD", render("api_width_height"))
    return ImageJob(
        prompt=str(_text(body, "prompt", required=True)),
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
    return ImageJob(
        prompt=str(_text(body, "prompt", required=True)),
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
