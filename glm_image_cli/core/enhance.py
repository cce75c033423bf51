"""Prompt enhancement: a GLM chat model rewrites a short prompt into the long, concrete caption the image
models were trained on, before any image is paid for.

Two recipes, chosen by the image model, written here in our own words after studying the model makers'
own advice (their sentences are not reused):
- CogView family: CogView4's ``inference/prompt_optimize.py`` (github.com/THUDM/CogView4) — one bilingual
  "image description assistant" instruction, few-shot pairs, near-greedy sampling;
- ``glm-image``: GLM-Image's ``examples/prompt_utils.py`` (github.com/zai-org/GLM-Image) — a Chinese or an
  English instruction by the prompt's language, three kinds of scene, flowing prose, a named visual style.

Rewrites are cached on disk (key: original prompt, style, image-model family, chat model, recipe version),
so a re-run of a batch, ``again`` and a repeated command make no new chat call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli import safejson
from glm_image_cli.core.pricing import FREE_CHAT_MODELS as FREE_CHAT_MODELS
from glm_image_cli.core.pricing import chat_price as chat_price
from glm_image_cli.core.pricing import estimate_chats as estimate_chats
from glm_image_cli.core.styles import Style, is_chinese
from glm_image_cli.errors import UpstreamFailure
from glm_image_cli.messages import Text
from glm_image_cli.safefile import read_regular
from glm_image_cli.storage.atomic import write_atomic

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient
    from glm_image_cli.core.ledger import Spending
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.storage.config import ResolvedConfig

DEFAULT_ENHANCE_MODEL = "glm-4-flash-250414"
# Chat models known to the tool; the free ones cost nothing (platform model overview).  Other names are sent,
# with a warning.
CHAT_MODELS = ("glm-4-flash-250414", "glm-4.7-flash", "glm-4-flash", "glm-4-air-250414", "glm-4-plus",
               "glm-4.5", "glm-4.5-air", "glm-4.6", "glm-4.7")
RECIPE_VERSION = 1
CACHE_FOLDER = "enhance-cache"


def family_of(image_model: str) -> str:
    """Which recipe an image model gets: ``glm-image`` or ``cogview`` (every other model)."""
    return "glm-image" if image_model.strip().lower().startswith("glm-image") else "cogview"


def chat_calls_needed(prompts: list[tuple[str, str, Style | None]], enhance_model: str, *,
                      use_cache: bool = True) -> dict[str, int]:
    """``{enhance_model: n}``: the chat calls the rewrites of ``(prompt, image model, style)`` will make (none for
    those in the cache, unless ``use_cache`` is False)."""
    cache = RewriteCache()
    count = sum(1 for prompt, image_model, style in prompts
                if not use_cache or cache.get(cache_key(prompt, style, image_model, enhance_model)) is None)
    return {enhance_model: count} if count else {}


def check_enhance_model(name: str) -> list[Text]:
    """Warnings for the chat model: an unknown name is sent as it is, with a warning."""
    return [] if name in CHAT_MODELS else [Text("enhance_model_unknown_warning", model=name)]


# --- the CogView recipe --------------------------------------------------------------------------------

_COGVIEW_SYSTEM = (
    "You write picture descriptions for a text-to-image model. 你为文生图模型撰写画面描述。\n"
    "Take the user's idea, however short, and answer with one single, detailed description of one picture. "
    "Write it in the language the user wrote in: Chinese ideas get a Chinese description, English ideas an "
    "English one. 用户用什么语言，你就用什么语言回答。\n"
    "Say what the main subject is and what it is doing, which medium the picture is (photograph, oil "
    "painting, watercolour, 3D render, illustration…), its style, the telling details, the colours and the "
    "light. Describe things that can be seen in the picture; leave out moods, meanings and feelings that "
    "cannot be drawn.\n"
    "Give only the description: no title, no list, no notes, no explanation, no quotation marks. "
    "只给出描述本身，不要标题、列表或任何解释。"
)
_COGVIEW_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("一只猫",
     "一张写实风格的摄影作品：一只橘白相间的短毛猫蜷坐在木质窗台上，前爪并拢，琥珀色的眼睛望向镜头。午后的阳光从左侧窗户"
     "斜照进来，在猫毛边缘勾出一圈暖金色的轮廓光，窗台上有细小的浮尘在光里闪亮。背景是虚化的米色纱帘和一盆绿萝，整体色调"
     "温暖柔和，浅景深，细节清晰，毛发纹理分明。"),
    ("a lighthouse at dusk",
     "A wide-angle landscape photograph of a white stone lighthouse with a red lantern room standing on a rocky "
     "headland at dusk. Its beam cuts a pale path through a light sea mist, waves break into white foam on the dark "
     "rocks below, and the sky fades from deep violet overhead to a band of orange along the horizon. Cool blue "
     "shadows, warm highlights on the tower, long exposure smoothing the water, sharp detail on the stonework."),
    ("赛博朋克城市",
     "一幅数字插画：雨夜中的未来城市街道，两侧高楼密布，外墙挂满粉色、青色的霓虹招牌和全息广告，湿漉漉的路面映出斑斓的"
     "倒影。一名穿黑色雨衣的行人撑着透明雨伞走过画面中央，头顶有悬浮列车驶过。冷色调为主，点缀高饱和的霓虹光，空气中有"
     "薄雾和光晕，细节丰富，电影感构图。"),
)


def _squeeze(text: str) -> str:
    """One line: newlines and runs of spaces become one space (the CogView recipe wants single-line text)."""
    return re.sub(r"[ \t\u3000]{2,}", " ", re.sub(r"\s*[\r\n]+\s*", " ", text)).strip()


# --- the GLM-Image recipe ------------------------------------------------------------------------------

_GLM_IMAGE_SYSTEM_EN = (
    "You turn a user's short idea into a rich prompt for an image model that reads long, precise captions.\n"
    "First decide what kind of picture it is, then write accordingly:\n"
    "1. A realistic portrait or photo of people: the person's age, face, hair, clothes, pose and expression, "
    "the lens and framing, the light on the face and the setting behind them.\n"
    "2. A picture built around text (poster, sign, cover, infographic, slide, card): quote every piece of "
    "text that must appear exactly, in double quotes, and say where it sits and how it is set (size, weight, "
    "colour). If the user asks for a poster or infographic but gives no copy, invent short, concrete, "
    "plausible copy (title, subtitle, dates, labels) and quote it.\n"
    "3. Any other scene: the layout from foreground to background, where the light comes from, the colour "
    "palette, the time of day and the weather.\n"
    "Always name one visual style (for example photorealistic, watercolour, flat vector, 3D render, ink "
    "painting). Keep names of people, places, brands and works exactly as the user wrote them. Write flowing "
    "prose in English, one or two paragraphs, no lists or headings, and reply with the prompt only."
)
_GLM_IMAGE_SYSTEM_ZH = (
    "你的任务是把用户简短的想法扩写成给图像模型用的详细提示词，这个模型擅长理解长而精确的画面描述。\n"
    "先判断画面属于哪一类，再按类别来写：\n"
    "一、写实人像或人物照片：写清人物的年龄、面部、发型、服装、姿势和表情，镜头与构图，脸上的光线以及身后的环境。\n"
    "二、以文字为主的画面（海报、招牌、封面、信息图、幻灯片、卡片）：画面中要出现的每一段文字都用双引号原样写出，并说明"
    "它的位置和排版（字号、粗细、颜色）。如果用户要海报或信息图却没有给出文案，就自己拟定简短、具体、合理的文案（标题、"
    "副标题、日期、标签等）并用引号写出。\n"
    "三、其他场景：从前景到背景的布局、光线来自哪个方向、整体配色、时间和天气。\n"
    "每次都要点明一种视觉风格（例如写实摄影、水彩、扁平矢量、三维渲染、水墨画）。人名、地名、品牌和作品名保持用户原样。"
    "用中文写成连贯的一到两段文字，不要分点、不要标题，只输出提示词本身。"
)


@dataclass(frozen=True)
class Recipe:
    """The chat request for one prompt: messages and sampling parameters."""

    family: str
    messages: list[dict[str, str]]
    temperature: float
    top_p: float
    max_tokens: int

    def body(self, model: str) -> dict[str, Any]:
        return {"model": model, "messages": self.messages, "temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens}


def _style_hint(style: Style | None, prompt: str) -> str:
    if style is None:
        return ""
    phrase = style.phrase_for(prompt)
    if is_chinese(prompt):
        return f"\n（画面风格：{phrase}。描述要与这一风格一致，不要换成其他风格。）"
    return f"\n(Picture style: {phrase}. Keep the description consistent with this style; do not choose another.)"


def recipe_for(prompt: str, image_model: str, style: Style | None = None) -> Recipe:
    """The recipe of the image model's family, for this prompt (and the style preset, if any)."""
    family = family_of(image_model)
    if family == "cogview":
        text = _squeeze(prompt)
        messages = [{"role": "system", "content": _COGVIEW_SYSTEM}]
        for idea, description in _COGVIEW_EXAMPLES:
            messages += [{"role": "user", "content": idea}, {"role": "assistant", "content": description}]
        messages.append({"role": "user", "content": text + _style_hint(style, text)})
        return Recipe(family, messages, temperature=0.01, top_p=0.7, max_tokens=300)
    text = prompt.strip()
    system = _GLM_IMAGE_SYSTEM_ZH if is_chinese(text) else _GLM_IMAGE_SYSTEM_EN
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text + _style_hint(style, text)}]
    return Recipe(family, messages, temperature=0.7, top_p=0.9, max_tokens=1024)


def clean_answer(text: str, family: str) -> str:
    """The rewrite as sent: no reasoning block, no wrapping quotes, one line for CogView."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL).strip()
    if len(text) >= 2 and text[0] + text[-1] in ('""', "“”", "''", "「」"):
        text = text[1:-1].strip()
    if family == "cogview":
        return _squeeze(text)
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"\s*\n\s*", " ", text)).strip()


# --- the cache ------------------------------------------------------------------------------------------

def cache_key(prompt: str, style: Style | None, image_model: str, enhance_model: str) -> str:
    identity = json.dumps([RECIPE_VERSION, family_of(image_model), enhance_model, style.name if style else None,
                           prompt.strip()], ensure_ascii=False)
    return hashlib.sha256(identity.encode()).hexdigest()


class RewriteCache:
    """One small JSON file per rewrite under the data folder; unreadable entries count as missing."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is None:
            from glm_image_cli.storage.history import data_dir

            folder = data_dir() / CACHE_FOLDER
        self.folder = folder

    def get(self, key: str) -> str | None:
        try:
            record = safejson.loads(read_regular(self.folder / f"{key}.json", 1 << 20))
        except (OSError, ValueError):
            return None
        text = record.get("rewrite") if isinstance(record, dict) else None
        return text if isinstance(text, str) and text.strip() else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Written atomically; a cache that cannot be written is no failure (the rewrite is still used)."""
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / f"{key}.json", json.dumps(record, ensure_ascii=False), durable=False,
                         mode=0o600)


# --- enhancing ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rewrite:
    original: str
    text: str
    model: str
    family: str
    cached: bool


def cached_rewrite(prompt: str, *, image_model: str, style: Style | None, enhance_model: str,
                   cache: RewriteCache | None = None) -> Rewrite | None:
    """The cached rewrite, without any call (a dry run, for example)."""
    cache = cache or RewriteCache()
    text = cache.get(cache_key(prompt, style, image_model, enhance_model))
    if text is None:
        return None
    return Rewrite(prompt.strip(), text, enhance_model, family_of(image_model), cached=True)


def enhance_prompt(client: BigModelClient, prompt: str, *, image_model: str, style: Style | None = None,
                   enhance_model: str = DEFAULT_ENHANCE_MODEL, use_cache: bool = True,
                   cache: RewriteCache | None = None, spending: Spending | None = None) -> Rewrite:
    """The rewrite of ``prompt`` for ``image_model``: from the cache unless ``use_cache`` is False, else one
    chat call (under the client's retry rules: a call that may have been processed is not sent again)."""
    cache = cache or RewriteCache()
    key = cache_key(prompt, style, image_model, enhance_model)
    if use_cache:
        found = cache.get(key)
        if found is not None:
            return Rewrite(prompt.strip(), found, enhance_model, family_of(image_model), cached=True)
    recipe = recipe_for(prompt, image_model, style)
    with spending.call(enhance_model) if spending is not None else contextlib.nullcontext():  # a priced model: ledger
        payload = client.chat_completion(recipe.body(enhance_model))
    text = clean_answer(answer_text(payload), recipe.family)
    if not text:
        raise UpstreamFailure("bad_response", detail="the chat answer is empty", request_id=request_id_of(payload))
    cache.put(key, {"prompt": prompt.strip(), "style": style.name if style else None, "family": recipe.family,
                    "model": enhance_model, "recipe_version": RECIPE_VERSION, "rewrite": text})
    return Rewrite(prompt.strip(), text, enhance_model, recipe.family, cached=False)


def request_id_of(payload: dict[str, Any]) -> str | None:
    value = payload.get("request_id") or payload.get("id")
    return value if isinstance(value, str) else None


def answer_text(payload: dict[str, Any]) -> str:
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return message["content"]
    raise UpstreamFailure("bad_response", detail="no message in the chat answer", request_id=request_id_of(payload))


def enhance_plan(client: BigModelClient, cfg: ResolvedConfig, plan: GenerationPlan, *,
                 use_cache: bool = True) -> tuple[GenerationPlan, Rewrite]:
    """The plan with its prompt rewritten (style and negative folded into the rewrite)."""
    from glm_image_cli.core.ledger import make_spending
    from glm_image_cli.core.plans import with_enhancement

    spending = make_spending(cfg, "enhance")
    try:
        rewrite = enhance_prompt(client, plan.prompt, image_model=plan.model, style=plan.style,
                                 enhance_model=cfg.enhance_model, use_cache=use_cache, spending=spending)
    finally:
        spending.ledger.close()
    return with_enhancement(plan, rewrite.text, rewrite.model), rewrite
