"""`glm-image enhance PROMPT`: the rewrite a GLM chat model makes of a prompt; no image is requested."""

from __future__ import annotations

from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import ModelOption, NegativeOption, StyleOption, state_of
from glm_image_cli.cli.commands.generating import NoCacheOption
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import UsageError

HELP = help_text("cmd.enhance")


@output_options()
def enhance(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help=help_text("arg.prompt"), show_default=False)],
    model: ModelOption = None,
    style: StyleOption = None,
    negative: NegativeOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core.enhance import check_enhance_model, enhance_plan, family_of
    from glm_image_cli.core.plans import mark_enhance_failure, plan_generation
    from glm_image_cli.core.session import make_client
    from glm_image_cli.errors import GlmImageError
    from glm_image_cli.messages import render
    from glm_image_cli.storage.config import load_config

    state = state_of(ctx)
    ui = state.ui()
    cfg = load_config(flags={"model": model, "style": style})
    for warning in cfg.warnings:
        ui.warn(str(warning))
    try:
        plan = plan_generation(prompt, model=cfg.model, style=cfg.style, negative=negative,
                               user_styles=cfg.user_styles, backend=backend_named(cfg.backend))
    except UsageError as error:  # a style from the config file is named as the file's (exit 3)
        from glm_image_cli.core.settingcheck import settings_fault

        raise settings_fault(cfg, error, {}) from None
    for warning in [*plan.warnings, *check_enhance_model(cfg.enhance_model)]:
        ui.warn(str(warning))
    with make_client(cfg, state.lang) as client:
        try:
            enhanced, rewrite = enhance_plan(client, cfg, plan, use_cache=not no_cache)
        except GlmImageError as error:  # said (once) with the error, on the terminal and in --json
            mark_enhance_failure(error, cfg.enhance_model)
            raise
        except Exception:
            ui.error(render("enhance_failed", model=cfg.enhance_model))
            raise
    if state.json_mode:
        ui.emit_json({"prompt": plan.prompt, "enhanced_prompt": rewrite.text, "prompt_sent": enhanced.prompt_sent,
                      "model": plan.model, "family": family_of(plan.model), "style": plan.style.name if plan.style
                      else None, "enhance_model": rewrite.model, "cached": rewrite.cached})
        return
    ui.result(rewrite.text)
