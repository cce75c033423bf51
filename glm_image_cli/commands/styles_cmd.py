"""`glm-image styles`: the presets and what each adds to the prompt."""

from __future__ import annotations

import typer

from glm_image_cli.commands.common import JsonOption, LangOption, begin
from glm_image_cli.messages import render

HELP = """List the style presets (built-in and yours) and the phrase each adds.  列出风格预设。

Add your own in the config file's [styles] table, e.g. 胶片 = "35mm film photo, grain".

Example: glm-image generate "一只橘猫" --style 卡通
"""


def styles(ctx: typer.Context, json_output: JsonOption = False, lang: LangOption = None) -> None:
    from glm_image_cli.config import load_config
    from glm_image_cli.styles import all_styles, is_chinese

    state = begin(ctx, lang=lang, json_mode=json_output)
    ui = state.ui()
    presets = all_styles(load_config().user_styles)
    if state.json_mode:
        ui.emit_json([
            {"name": s.name, "english": s.english, "aliases": list(s.aliases), "phrase_zh": s.phrase_zh,
             "phrase_en": s.phrase_en, "user_defined": s.user_defined}
            for s in presets
        ])
        return
    chinese = state.lang == "zh"
    rows = []
    for s in presets:
        phrase = s.phrase_zh if chinese or (s.user_defined and is_chinese(s.phrase_zh)) else s.phrase_en
        english = render("user_style") if s.user_defined else s.english
        rows.append([s.name, english, phrase])
    ui.table([render("col_style"), render("col_english"), render("col_phrase")], rows)
