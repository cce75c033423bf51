"""Style presets and prompt composition.

The upstream takes only a prompt, so a style is a tuned phrase appended to it and a negative
prompt is folded in as an "avoid" sentence, both in the prompt's own language.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from glm_image_cli.errors import UsageError


@dataclass(frozen=True)
class Style:
    name: str  # Chinese name (for user styles: the name as written)
    english: str
    phrase_zh: str
    phrase_en: str
    aliases: tuple[str, ...] = ()
    user_defined: bool = False

    def phrase_for(self, prompt: str) -> str:
        return self.phrase_zh if is_chinese(prompt) else self.phrase_en


BUILTIN_STYLES: tuple[Style, ...] = (
    Style("写实", "realistic",
          "写实摄影风格，真实光影，细节丰富，8K 高清",
          "photorealistic, natural lighting, rich detail, sharp focus, 8k",
          ("photo", "photorealistic", "真实", "摄影")),
    Style("卡通", "cartoon",
          "卡通插画风格，线条干净，色彩明快，造型可爱",
          "cartoon illustration, clean lines, bright flat colours, cute shapes",
          ("toon",)),
    Style("动漫", "anime",
          "日系动漫风格，赛璐璐上色，精致线稿，明亮色彩",
          "anime style, cel shading, crisp line art, vibrant colours",
          ("manga", "二次元")),
    Style("油画", "oil-painting",
          "古典油画风格，厚涂笔触，画布质感，浓郁色彩",
          "oil painting, visible impasto brushstrokes, canvas texture, rich colours",
          ("oil",)),
    Style("水彩", "watercolor",
          "水彩画风格，柔和晕染，透明色层，纸张纹理",
          "watercolor painting, soft washes, translucent layers, paper texture",
          ("watercolour",)),
    Style("素描", "sketch",
          "铅笔素描风格，黑白灰调，细腻排线，明暗对比",
          "pencil sketch, graphite shading, fine hatching, monochrome",
          ("pencil", "drawing")),
    Style("国风", "chinese-ink",
          "中国传统水墨画风格，留白意境，笔墨浓淡相宜",
          "traditional Chinese ink wash painting, expressive brushwork, generous negative space",
          ("水墨", "ink", "chinese")),
    Style("赛博朋克", "cyberpunk",
          "赛博朋克风格，霓虹灯光，未来都市，雨夜氛围",
          "cyberpunk, neon lights, futuristic city, rainy night atmosphere",
          ("cyber",)),
    Style("像素", "pixel-art",
          "像素艺术风格，复古 16 位游戏画面，清晰像素块",
          "pixel art, retro 16-bit game graphics, crisp pixels",
          ("pixel", "像素风")),
    Style("3D", "3d",
          "3D 渲染风格，C4D，柔和全局光照，材质细腻",
          "3D render, soft global illumination, detailed materials, octane render",
          ("三维", "3d-render")),
    Style("扁平", "flat",
          "扁平插画风格，简洁几何，纯色块，矢量感",
          "flat vector illustration, simple geometric shapes, solid colours",
          ("vector",)),
    Style("电影感", "cinematic",
          "电影感画面，宽银幕构图，戏剧性光影，浅景深",
          "cinematic still, widescreen composition, dramatic lighting, shallow depth of field",
          ("film", "电影")),
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TRAILING_PUNCTUATION = ".,;:!?。，；：！？、 \t\n"


def is_chinese(text: str) -> bool:
    """True when the text contains CJK characters: the prompt is (at least partly) Chinese."""
    return bool(_CJK.search(text))


def all_styles(user_styles: Mapping[str, str] | None = None) -> list[Style]:
    """Built-ins first, then the user's [styles] table (a user style may shadow a built-in name)."""
    users = [Style(name, name, phrase, phrase, user_defined=True) for name, phrase in (user_styles or {}).items()]
    user_names = {s.name.lower() for s in users}
    builtins = [s for s in BUILTIN_STYLES if s.name.lower() not in user_names and s.english not in user_names]
    return builtins + users


def find_style(name: str, user_styles: Mapping[str, str] | None = None) -> Style:
    """Look a style up by Chinese name, English name or alias; unknown -> error with the closest names."""
    wanted = name.strip().lower()
    styles = all_styles(user_styles)
    for style in styles:
        if wanted in {style.name.lower(), style.english.lower(), *(a.lower() for a in style.aliases)}:
            return style
    names = [n for s in styles for n in dict.fromkeys((s.name, s.english))]
    close = difflib.get_close_matches(name.strip(), names, n=3, cutoff=0.5)
    close += [n for n in names if wanted and wanted in n.lower() and n not in close]
    if close:
        raise UsageError("unknown_style", style=name, suggestions=", ".join(close[:3]))
    raise UsageError("unknown_style_no_match", style=name)


def compose_prompt(prompt: str, style: Style | None = None, negative: str | None = None) -> str:
    """The text actually sent: prompt + style phrase + "avoid" sentence, in the prompt's language."""
    text = prompt.strip()
    chinese = is_chinese(text)
    if style is not None:
        separator = "，" if chinese else ", "
        text = text.rstrip(_TRAILING_PUNCTUATION) + separator + style.phrase_for(text)
    if negative and negative.strip():
        avoid = negative.strip().rstrip(_TRAILING_PUNCTUATION)
        if chinese:
            text = f"{text.rstrip(_TRAILING_PUNCTUATION)}。画面中不要出现：{avoid}"
        else:
            text = f"{text.rstrip(_TRAILING_PUNCTUATION)}. Avoid: {avoid}."
    return text
