"""What the MCP tools share: the Studio with a tool's arguments over the user's settings, everything before the
first image is paid for (plan, consent, budget hold, --enhance rewrite), and the images made as a tool's answer
(JSON records, warnings, a small preview).  generate_image (tools.py) and the background jobs (jobtools.py)."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import GlmImageError

if TYPE_CHECKING:
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.core.studio import Job, Studio

MAX_MCP_SAMPLES = 4
MAX_MCP_COMPARE = 24  # compare_images: cells × n in one call
PREVIEW_SIDE = 256
PREVIEW_MAX_BYTES = 512 * 1024
PREVIEW_MAX_PIXELS = 64_000_000  # larger pictures are not decoded for a thumbnail (as the CLI's preview)


def open_studio(lang: str, model: str | None, size: str | None, style: str | None, output_dir: str | None,
                enhance: bool | None) -> Studio:
    """The user's settings with the tool's arguments over them (a bad value names the tool's own argument)."""
    from glm_image_cli.core.studio import Studio

    overrides = {"model": model, "size": size, "style": style, "output-dir": output_dir, "enhance": enhance}
    names = {key: key.replace("-", "_") for key in overrides}
    return Studio.from_config(overrides=overrides, flag_names=names, lang=lang, command="mcp")


def prepare_job(studio: Studio, prompt: str, negative: str | None, n: int, allow_spend: bool,
                notices: list[Any], source: Any = None, vision: Any = None) -> Job:
    """Everything before the first image is paid for: the plan, the consent (``allow_spend``), the budget hold and
    an --enhance rewrite (a failed one is the tool's error: no image was requested).  ``source``: a template or
    {a|b} alternatives (core/prompting.PromptSource), one plan per prompt, at most MAX_MCP_SAMPLES images."""
    from glm_image_cli.errors import UsageError

    if not 1 <= n <= MAX_MCP_SAMPLES:
        raise UsageError("samples_range", n=n, max=MAX_MCP_SAMPLES)

    def consent(estimate: Any) -> bool:
        if allow_spend:
            return True
        raise UsageError("mcp_spend_needs_consent", cost=estimate.total, currency=estimate.currency,
                         limit=estimate.threshold)

    plans = studio.expand(source.text, template=source.template, variables=source.variables, expand=source.expand,
                          seed=source.seed, max_images=MAX_MCP_SAMPLES, samples=n, negative=negative) \
        if source is not None else [studio.plan(prompt, negative=negative, samples=n)]
    try:
        return studio.prepare(plans, consent=consent, on_notice=notices.append, vision=vision)
    except GlmImageError as error:
        if getattr(error, "during", None) == "enhance":
            from mcp.server.mcpserver.exceptions import ToolError

            from glm_image_cli.messages import render

            raise ToolError(f"{render('enhance_failed', model=studio.settings.enhance_model)} {error} "
                            f"[{error.code}]") from None
        raise


def run_content(warnings: list[Any], outcomes: list[ImageOutcome], notices: list[Any]) -> list[Any]:
    """Images made as the tool's answer: their JSON records and the warnings (the settings' ``warnings`` and those
    among ``notices``), and a preview of the first saved one; when every image failed, the first failure."""
    from glm_image_cli.core.plans import generate_record

    failed = [outcome.error for outcome in outcomes if outcome.error is not None]
    if failed and len(failed) == len(outcomes):
        raise failed[0]
    warnings = [*warnings, *(notice.text for notice in notices if notice.level == "warning")]
    summary = {"images": [generate_record(o) for o in outcomes], "warnings": [str(w) for w in warnings]}
    content: list[Any] = [json.dumps(summary, ensure_ascii=False)]
    preview = _preview(outcomes)
    if preview is not None:
        content.append(preview)
    return content


def _preview(outcomes: list[ImageOutcome]) -> Any:
    """A small inline image of the first saved picture: a thumbnail with Pillow, else the file if small."""
    from mcp.server.mcpserver.utilities.types import Image

    saved = next((o for o in outcomes if o.path is not None and not o.candidate), None)  # --best-of's kept one
    if saved is None:
        return None
    data = saved.path.read_bytes()
    try:
        from PIL import Image as PillowImage
    except ImportError:
        suffix = saved.path.suffix.lstrip(".").replace("jpg", "jpeg")
        return Image(data=data, format=suffix) if len(data) <= PREVIEW_MAX_BYTES else None
    try:
        with PillowImage.open(io.BytesIO(data)) as picture:
            if picture.width * picture.height > PREVIEW_MAX_PIXELS:
                return None  # a bomb (30000×30000 declared) is saved and paid for: no preview, never a failed call
            picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            out = io.BytesIO()
            picture.convert("RGB").save(out, format="PNG")
    except (OSError, ValueError, PillowImage.DecompressionBombError):
        return None
    return Image(data=out.getvalue(), format="png")
