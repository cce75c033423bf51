"""One `generate` run: turn what the user asked for into validated requests, run them, save images.

Kept free of Typer and Rich so batch and serve can reuse it and tests can call it directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli import models
from glm_image_cli.errors import ExitCode, GlmImageError, UsageError
from glm_image_cli.messages import Text
from glm_image_cli.styles import Style, compose_prompt, find_style

if TYPE_CHECKING:
    from glm_image_cli.client import BigModelClient, ImageRequest, ImageResult
    from glm_image_cli.saving import ImageSaver


@dataclass(frozen=True)
class GenerationPlan:
    """Everything needed to make the images, validated before any money is spent."""

    prompt: str
    prompt_sent: str
    model: str
    size: str | None
    quality: str | None
    style: Style | None
    negative: str | None
    samples: int
    warnings: tuple[Text, ...] = ()
    watermark: bool = True  # False asks for watermark_enabled=false
    user_id: str | None = None

    def image_request(self) -> ImageRequest:
        """The body of each of the plan's calls."""
        from glm_image_cli.client import ImageRequest

        return ImageRequest(self.model, self.prompt_sent, self.size, self.quality, watermark=self.watermark,
                            user_id=self.user_id)


def plan_generation(
    prompt: str,
    *,
    model: str,
    size: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    negative: str | None = None,
    samples: int = 1,
    user_styles: Mapping[str, str] | None = None,
    watermark: bool = True,
    user_id: str | None = None,
) -> GenerationPlan:
    """Validate the request (prompt, model, size, quality, style, n) and compose the prompt sent."""
    prompt = prompt.strip()
    if not prompt:
        raise UsageError("empty_prompt")
    models.check_samples(samples)
    model = model.strip()
    spec = models.find_model(model)
    if spec is not None:
        model = spec.name
    warnings: list[Text] = []
    if spec is None:
        warnings.append(Text("unknown_model_warning", model=model))
    elif spec.legacy:
        warnings.append(Text("legacy_model_warning", model=model))
    resolved_size = models.resolve_size(spec, size, model)
    resolved_quality = models.check_quality(spec, quality, model)
    chosen_style = find_style(style, user_styles) if style else None
    sent = compose_prompt(prompt, chosen_style, negative)
    if models.check_prompt_length(spec, sent, model):
        warnings.append(Text("long_prompt_warning", length=len(sent)))
    return GenerationPlan(
        prompt=prompt,
        prompt_sent=sent,
        model=model,
        size=resolved_size,
        quality=resolved_quality,
        style=chosen_style,
        negative=negative.strip() if negative and negative.strip() else None,
        samples=samples,
        warnings=tuple(warnings),
        watermark=watermark,
        user_id=user_id,
    )


def combine_size(size: str | None, width: int | None, height: int | None) -> str | None:
    """--size WxH or --width/--height, not both, and width and height together."""
    if width is None and height is None:
        return size
    if size is not None:
        raise UsageError("size_conflict")
    if width is None or height is None:
        raise UsageError("width_height_pair")
    return f"{width}x{height}"


@dataclass
class ImageOutcome:
    """What happened to one of the n images: saved (path + result) or failed (error)."""

    index: int
    path: Path | None = None
    result: ImageResult | None = None
    error: GlmImageError | None = None
    seconds: float = 0.0

    def shared_json(self, plan: GenerationPlan) -> dict[str, Any]:
        """The fields every image record has, in `generate --json` and `batch --json` alike."""
        return {
            "ok": self.error is None,
            "path": str(self.path) if self.path else None,
            "prompt": plan.prompt,
            "prompt_sent": plan.prompt_sent,
            "model": plan.model,
            "size": plan.size,
            "request_id": self.result.request_id if self.result else getattr(self.error, "request_id", None),
            "content_filter": self.result.content_filter if self.result else None,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self, plan: GenerationPlan) -> dict[str, Any]:
        """The documented ``generate --json`` object for one image (README, "JSON output")."""
        record: dict[str, Any] = {
            "index": self.index,
            **self.shared_json(plan),
            "quality": plan.quality,
            "style": plan.style.name if plan.style else None,
            "format": self.path.suffix.lstrip(".").replace("jpg", "jpeg") if self.path else None,
        }
        if self.error is not None:
            record["error"] = error_json(self.error)
        return record


def error_json(error: GlmImageError) -> dict[str, Any]:
    """The documented JSON shape of an error."""
    return {
        "code": error.code,
        "exit_code": int(error.exit_code),
        "message": str(error),
        "upstream_code": getattr(error, "upstream_code", None),
    }


# Failures that repeat for every sample of the same prompt (key, balance, parameters, content).
SAME_FOR_EVERY_SAMPLE = frozenset({ExitCode.AUTH, ExitCode.QUOTA, ExitCode.REFUSED, ExitCode.CONTENT_BLOCKED})

EventCallback = Callable[[int, str, Mapping[str, Any]], None]


@dataclass
class GenerationRun:
    """Runs a plan's n requests, at most ``concurrency`` at once, saving each image as it arrives."""

    plan: GenerationPlan
    client: BigModelClient
    saver: ImageSaver
    concurrency: int = 2
    on_event: EventCallback = field(default=lambda index, event, info: None)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, self.plan.samples)),
                                            thread_name_prefix="glm-image")
        self._futures: dict[Future[ImageOutcome], int] = {}
        self._cancelled = threading.Event()

    def start(self) -> None:
        request = self.plan.image_request()
        for index in range(1, self.plan.samples + 1):
            self.on_event(index, "queued", {})
            self._futures[self._executor.submit(self._make_one, index, request)] = index

    def wait(self) -> None:
        """Wait until every image finished or was cancelled.  Ctrl-C interrupts the wait."""
        wait(list(self._futures), return_when=ALL_COMPLETED)

    def stop_dispatching(self) -> int:
        """Ctrl-C: cancel images not started yet; returns how many are already in flight (maybe billed)."""
        self._cancelled.set()
        for future in self._futures:
            future.cancel()
        return sum(1 for f in self._futures if f.running())

    def outcomes(self) -> list[ImageOutcome]:
        done = [f.result() for f in self._futures if f.done() and not f.cancelled()]
        return sorted(done, key=lambda o: o.index)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _make_one(self, index: int, request: Any) -> ImageOutcome:
        import time

        started = time.monotonic()
        outcome = ImageOutcome(index=index)
        if self._cancelled.is_set():
            return outcome
        try:
            result = self.client.generate(request, lambda event, info: self.on_event(index, event, info))
            outcome.result = result
            outcome.path = self.saver.save(self.plan, result, index=index, sample=index)
        except GlmImageError as exc:
            outcome.error = exc
            self.saver.failed(self.plan, exc)
        outcome.seconds = time.monotonic() - started
        if outcome.error is not None and outcome.error.exit_code in SAME_FOR_EVERY_SAMPLE:
            self.stop_dispatching()  # the other samples would fail the same way: do not send them
        self.on_event(index, "saved" if outcome.error is None else "failed", {"outcome": outcome})
        return outcome
