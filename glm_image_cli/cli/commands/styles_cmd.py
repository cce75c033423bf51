"""`glm-image styles` and `glm-image models`: what can be asked for."""

from __future__ import annotations

from typing import Any

import typer

from glm_image_cli.cli.commands.common import state_of
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.messages import render

HELP = help_text("cmd.styles")
MODELS_HELP = help_text("cmd.models")


@output_options(quiet=False)
def styles(ctx: typer.Context) -> None:
    from glm_image_cli.core.styles import all_styles
    from glm_image_cli.storage.config import load_config

    state = state_of(ctx)
    ui = state.ui()
    presets = all_styles(load_config().user_styles)
    if state.json_mode:
        ui.emit_json([
            {"name": s.name, "english": s.english, "aliases": list(s.aliases), "phrase_zh": s.phrase_zh,
             "phrase_en": s.phrase_en, "user_defined": s.user_defined}
            for s in presets
        ])
        return
    rows = [[s.name, render("user_style") if s.user_defined else s.english,
             s.phrase_zh if state.lang == "zh" else s.phrase_en] for s in presets]
    ui.table([render("col_style"), render("col_english"), render("col_phrase")], rows)


@output_options(quiet=False)
def models(ctx: typer.Context) -> None:
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core.session import make_client
    from glm_image_cli.storage.config import load_config

    state = state_of(ctx)
    ui = state.ui()
    cfg = load_config()
    backend = backend_named(cfg.backend)
    table = backend.list_models(lambda: make_client(cfg, state.lang))  # the reference table needs no key
    if backend.server_models:  # a self-hosted server: its own list, when it offers one
        _server_models(state, cfg, table)
        return
    table = table or []
    if state.json_mode:
        ui.emit_json(table)
        return
    rows = []
    for row in table:
        rule = row["size_rule"]
        rule_text = render("size_rule_short", min_side=rule["min_side"], max_side=rule["max_side"],
                           multiple=rule["multiple"], megapixels=rule["max_pixels"] / 1e6) if rule \
            else render("model_any_size")
        if row["price_cny"] == 0:
            price = render("model_free")
        elif row["price_cny"] is None:
            price = render("model_price_unknown")
        else:
            price = f"{row['price_cny']:g} CNY" + (f"\n{row['price_usd']:g} USD" if row["price_usd"] else "")
        name = row["model"] + (" *" if row["legacy"] else "") + ("\n" + render("model_async") if row["asynchronous"]
                                                                  else "")
        rows.append([name, "\n".join(row["recommended_sizes"]) or "-", rule_text, ", ".join(row["qualities"]), price])
    ui.table([render("col_model"), render("col_recommended"), render("col_rule"), render("col_quality"),
              render("col_price")], rows, no_wrap_columns=2)
    ui.note(render("model_default_note"))
    ui.note(render("model_legacy_note"))


def _server_models(state: Any, cfg: Any, found: list[dict[str, Any]] | None) -> None:
    ui = state.ui()
    if found is None:
        ui.note(render("models_not_offered", base=cfg.base_url))
        if state.json_mode:
            ui.emit_json([])
        return
    if state.json_mode:
        ui.emit_json(found)
        return
    ui.note(render("models_offered", base=cfg.base_url))
    ui.table([render("col_model"), render("col_owner")], [[row["model"], row["owned_by"] or "-"] for row in found])
