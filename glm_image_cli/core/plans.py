"""What the user asked for, validated into a plan before any money is spent, and the JSON records of images.

Kept free of Typer and Rich so every command and the MCP server share it; the runner makes the images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glm_image_cli.backends import models
from glm_image_cli.core.styles import Style, compose_prompt, find_style
from glm_image_cli.errors import GlmImageError, UsageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.backends.base import Backend, ImageRequest
    from glm_image_cli.core.runner import ImageOutcome


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
    # --enhance: the chat model's rewrite of ``prompt`` (which stays as typed); ``prompt_sent`` is composed from it
    enhanced_prompt: str | None = None
    enhance_model: str | None = None
    images: tuple[str, ...] = ()  # `edit`: the source images (the request is an edit, openai backend)
    mask: str | None = None
    # how an expanded or templated prompt was made (template, source text, expand mode, seed, choices): the recipe
    origin: Mapping[str, Any] | None = field(default=None, compare=False)

    def image_request(self) -> ImageRequest:
        """The body of each of the plan's calls."""
        from glm_image_cli.backends.base import ImageRequest

        return ImageRequest(self.model, self.prompt_sent, self.size, self.quality, watermark=self.watermark,
                            user_id=self.user_id, images=self.images, mask=self.mask)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1


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
    backend: Backend | None = None,
) -> GenerationPlan:
    """Validate the request (prompt, model, size, quality, style, n) and compose the prompt sent.  The model, size
    and quality follow ``backend``'s rules (``backend_named(cfg.backend)``; None: the default backend's):
    BigModel's reference table, or an OpenAI-compatible server's own names passed through unchecked."""
    from glm_image_cli.backends.registry import default_backend

    _check_text(prompt=prompt, negative=negative, style=style, model=model, size=size, quality=quality,
                user_id=user_id)
    prompt = prompt.strip()
    if not prompt:
        raise UsageError("empty_prompt")
    models.check_samples(samples)
    choice = (backend if backend is not None else default_backend()).resolve(model.strip(), size, quality)
    model, spec, warnings = choice.model, choice.spec, list(choice.warnings)
    resolved_size, resolved_quality = choice.size, choice.quality
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


def with_enhancement(plan: GenerationPlan, rewrite: str, enhance_model: str | None = None) -> GenerationPlan:
    """The plan with ``rewrite`` in place of the typed prompt, the style preset and the negative folded into
    it exactly as into a plain prompt; the typed prompt is kept in ``prompt``."""
    from dataclasses import replace

    spec = models.find_model(plan.model)
    sent = compose_prompt(rewrite, plan.style, plan.negative)
    warnings = [w for w in plan.warnings if w.message_id != "long_prompt_warning"]
    if models.check_prompt_length(spec, sent, plan.model):
        warnings.append(Text("long_prompt_warning", length=len(sent)))
    return replace(plan, prompt_sent=sent, enhanced_prompt=rewrite.strip(), enhance_model=enhance_model,
                   warnings=tuple(warnings))


def _check_text(**fields: str | None) -> None:
    """Every text must be encodable: a lone surrogate (argv bytes that were not UTF-8, a JSON "\\ud800")
    cannot be sent, saved or logged, so it is a usage error here, before anything is spent.  Nor may it hold a
    control character but newline and tab (and CR before LF): an escape sequence in a prompt would be saved in
    the image's recipe and replayed on every terminal that shows it."""
    for name, value in fields.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError("invalid_text", field=name.replace("_", "-")) from None
            found = _CONTROL.search(value.replace("\r\n", "\n"))
            if found:
                raise UsageError("control_character", field=name.replace("_", "-"),
                                 character=f"\\x{ord(found.group()):02x}")


def combine_size(size: str | None, width: int | None, height: int | None) -> str | None:
    """--size WxH or --width/--height, not both, and width and height together."""
    if width is None and height is None:
        return size
    if size is not None:
        raise UsageError("size_conflict")
    if width is None or height is None:
        raise UsageError("width_height_pair")
    return f"{width}x{height}"


def image_record(outcome: ImageOutcome) -> dict[str, Any]:
    """The fields every image record has, in `generate --json` and `batch --json` alike."""
    plan: GenerationPlan = outcome.unit.plan
    return {
        "ok": outcome.error is None,
        "path": str(outcome.path) if outcome.path else None,
        "prompt": plan.prompt,
        "prompt_sent": plan.prompt_sent,
        "enhanced_prompt": plan.enhanced_prompt,
        "model": plan.model,
        "size": plan.size,
        "request_id": outcome.request_id,
        "content_filter": outcome.content_filter if outcome.error is None else None,
        "seconds": round(outcome.seconds, 3),
        **({"check": outcome.check} if getattr(outcome, "check", None) is not None else {}),  # --check's verdict
        **({"candidate": True} if getattr(outcome, "candidate", False) else {}),  # --best-of: not the one kept
    }


def generate_record(outcome: ImageOutcome) -> dict[str, Any]:
    """The documented ``generate --json`` object for one image (README, "JSON output")."""
    plan: GenerationPlan = outcome.unit.plan
    record: dict[str, Any] = {
        "index": outcome.index,
        **image_record(outcome),
        "quality": plan.quality,
        "style": plan.style.name if plan.style else None,
        "format": outcome.path.suffix.lstrip(".").replace("jpg", "jpeg") if outcome.path else None,
    }
    if outcome.error is not None:
        record["error"] = error_json(outcome.error)
    return record


def error_json(error: GlmImageError) -> dict[str, Any]:
    """The documented JSON shape of an error."""
    record = {
        "code": error.code,
        "exit_code": int(error.exit_code),
        "message": str(error),
        "upstream_code": getattr(error, "upstream_code", None),
    }
    if getattr(error, "during", None):  # "enhance": the prompt's rewrite failed, no image was requested
        record["during"] = error.during  # type: ignore[attr-defined]
    if record.get("during") == "enhance":  # said in the message too, as on the terminal, serve and MCP
        from glm_image_cli.messages import render

        model = getattr(error, "enhance_model", None)
        record["enhance_model"] = model
        record["message"] = f"{render('enhance_failed', model=model or '?')} {record['message']}"
    return record


def mark_enhance_failure(error: BaseException, model: str) -> None:
    """Tag a failed rewrite's error so every front end and every JSON says it was the enhancement (and which
    chat model), not an image call: no image was requested for it."""
    if getattr(error, "during", None) is None:
        error.during = "enhance"  # type: ignore[attr-defined]
    if getattr(error, "enhance_model", None) is None:
        error.enhance_model = model  # type: ignore[attr-defined]
