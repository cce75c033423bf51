"""`generate --dry-run`: what would be made and what it would cost, through the library API (Studio.plan and
Studio.estimate), with nothing sent and no key needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from glm_image_cli.messages import render


def plan_record(plan: Any, estimate: Any, *, enhance: bool, folder: Path, to_stdout: bool) -> dict[str, Any]:
    """The documented `generate --dry-run --json` object."""
    return {
        "type": "plan", "dry_run": True, "prompt": plan.prompt, "prompt_sent": plan.prompt_sent,
        "negative": plan.negative, "model": plan.model, "size": plan.size, "quality": plan.quality,
        "style": plan.style.name if plan.style else None, "n": plan.samples, "enhance": enhance,
        "images": list(plan.images), "mask": plan.mask, "output_dir": str(folder), "stdout": to_stdout,
        "estimate": estimate.to_json(),
    }


def show_plan(state: Any, studio: Any, plans: list[Any], *, enhance: bool | None, use_cache: bool,
              to_stdout: bool = False, vision: Any = None) -> None:
    """The plan(s) and the estimate on stdout (JSON with --json), then "nothing was sent" on stderr.  Several
    plans (a template's alternatives or wildcards): each prompt listed, one estimate for all."""
    from dataclasses import replace

    estimate = studio.estimate(plans, enhance=enhance, use_cache=use_cache, vision=vision)
    if vision is not None and vision.best_of:  # every candidate is made and paid for
        plans = [replace(plan, samples=plan.samples * vision.best_of) for plan in plans]
    enhancing = studio.enhancing(enhance)
    folder = Path(os.path.expanduser(str(studio.settings.output_dir)))
    ui = state.ui()
    if state.json_mode:
        if len(plans) == 1:
            ui.emit_json(plan_record(plans[0], estimate, enhance=enhancing, folder=folder, to_stdout=to_stdout))
        else:  # each prompt's own images and rewrite; the checks are in the estimate of them all
            records = [plan_record(plan, studio.estimate(plan, enhance=enhance, use_cache=use_cache),
                                   enhance=enhancing, folder=folder, to_stdout=to_stdout) for plan in plans]
            ui.emit_json({"type": "plans", "dry_run": True, "plans": records, "estimate": estimate.to_json()})
        return
    none = render("dry_run_none")
    for plan in plans:
        ui.result(render("dry_run_images", count=plan.samples, model=plan.model, size=plan.size or none,
                         quality=plan.quality or render("dry_run_default"),
                         style=plan.style.name if plan.style else none))
        ui.result(render("dry_run_prompt", prompt=plan.prompt_sent))
    if enhancing:
        calls = sum(estimate.chats.values())
        ui.result(render("dry_run_enhance", model=studio.settings.enhance_model, calls=calls)
                  if calls else render("dry_run_enhance_cached", model=studio.settings.enhance_model))
    ui.result(render("dry_run_stdout" if to_stdout else "dry_run_folder", folder=folder))
    unknown = estimate.unknown_images + estimate.unknown_chats
    suffix = render("batch_cost_unknown", count=unknown) if unknown else ""
    ui.result(render("batch_cost", cost=estimate.total, currency=estimate.currency, unknown=suffix))
    if estimate.needs_consent:
        ui.note(render("dry_run_consent", threshold=estimate.threshold, currency=estimate.currency))
    ui.note(render("batch_dry_run"))
