"""What each upstream model accepts: sizes, qualities, prompt length, endpoint, price.

Facts come from the platform's reference (see docs/bigmodel-api-notes.md).  Validating here, before
a request, means a mistake costs nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from glm_image_cli.errors import UsageError
from glm_image_cli.messages import Text

DEFAULT_MODEL = "cogview-4-250304"
MAX_SAMPLES = 10
LONG_PROMPT = 1000


@dataclass(frozen=True)
class SizeRule:
    min_side: int
    max_side: int
    multiple: int
    max_pixels: int

    def accepts(self, width: int, height: int) -> bool:
        return all(
            self.min_side <= side <= self.max_side and side % self.multiple == 0 for side in (width, height)
        ) and width * height <= self.max_pixels

    def describe(self) -> Text:
        return Text("size_rule", **self.__dict__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    default_size: str | None
    recommended_sizes: tuple[str, ...]
    size_rule: SizeRule | None
    qualities: tuple[str, ...]
    asynchronous: bool = False
    max_prompt_chars: int | None = None
    price_cny: float | None = None
    price_usd: float | None = None
    legacy: bool = False


# Each side 512–2048: the bigmodel.cn guide says 1024, but its own recommended list has 1728x960 and 960x1728
# and the z.ai guide says 512; a recommended size cannot be invalid (docs/bigmodel-api-notes.md).
_GLM_RULE = SizeRule(512, 2048, 32, 4_194_304)
_COGVIEW_RULE = SizeRule(512, 2048, 16, 2_097_152)
_GLM_SIZES = ("1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728")
_COGVIEW_SIZES = ("1024x1024", "768x1344", "864x1152", "1344x768", "1152x864", "1440x720", "720x1440")

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("glm-image", "1280x1280", _GLM_SIZES, _GLM_RULE, ("hd",), True, 1000, 0.10, 0.015),
        ModelSpec("cogview-4-250304", "1024x1024", _COGVIEW_SIZES, _COGVIEW_RULE, ("hd", "standard"),
                  price_cny=0.06, price_usd=0.01),
        ModelSpec("cogview-4", "1024x1024", _COGVIEW_SIZES, _COGVIEW_RULE, ("hd", "standard"),
                  price_cny=0.06, price_usd=0.01),
        ModelSpec("cogview-3-flash", "1024x1024", _COGVIEW_SIZES, _COGVIEW_RULE, ("hd", "standard"),
                  price_cny=0.0),
        ModelSpec("cogview-3", None, (), None, ("hd", "standard"), legacy=True),
        ModelSpec("cogview-3-plus", None, (), None, ("hd", "standard"), legacy=True),
    )
}


def find_model(name: str) -> ModelSpec | None:
    return MODELS.get(name.strip().lower())


def likely_typo(name: str) -> str | None:
    """The known model ``name`` was probably meant to be (``cogview4``, ``cogveiw-4``, ``glm_image``), or None.

    A typo keeps the name's numbers and differs from a known name by at most two letters once case and
    separators are ignored.  A name with other numbers (``cogview-5``, ``cogview-4-250305``) or more
    changes (``cogview-4-flash``) may be a model newer than this table: that is not a typo, and is sent.
    """
    wanted = name.strip().lower()
    if not wanted or wanted in MODELS:
        return None
    key, numbers = _letters_and_digits(wanted), re.findall(r"\d+", wanted)
    best: tuple[int, str] | None = None
    for known in MODELS:
        if re.findall(r"\d+", known) != numbers:
            continue
        distance = _edit_distance(key, _letters_and_digits(known))
        if distance <= (0 if len(key) < 5 else 2) and (best is None or distance < best[0]):
            best = (distance, known)
    return best[1] if best else None


def _letters_and_digits(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name)


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance with adjacent transpositions counted as one edit (``cogveiw`` → ``cogview``)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


def check_model_name(name: str) -> None:
    """Refuse a near miss of a known model (``cogview4``) before anything is sent, naming the model meant."""
    suggestion = likely_typo(name)
    if suggestion is not None:
        raise UsageError("model_typo", model=name.strip(), suggestion=suggestion)


_SIZE_PATTERN = re.compile(r"\s*(\d{2,5})\s*[xX×*]\s*(\d{2,5})\s*")


def parse_size(text: str) -> tuple[int, int]:
    """'1024x1024' (also X, ×, *) -> (1024, 1024); ValueError when it is not a size."""
    match = _SIZE_PATTERN.fullmatch(text)
    if not match:
        raise ValueError(text)
    return int(match.group(1)), int(match.group(2))


def nearest_valid_size(rule: SizeRule, width: int, height: int) -> tuple[int, int]:
    """The closest size ``rule`` accepts: the requested shape first (4096x4096 becomes a square, never
    1440x1456), then the size nearest the largest one the limits allow at that shape."""
    scale = 1.0
    if max(width, height) * scale > rule.max_side:
        scale = rule.max_side / max(width, height)
    if min(width, height) * scale < rule.min_side:
        scale = rule.min_side / min(width, height)
    if width * height * scale * scale > rule.max_pixels:
        scale = math.sqrt(rule.max_pixels / (width * height))
    ratio, area = math.log(width / height), math.log(width * height * scale * scale)
    low, high = -(-rule.min_side // rule.multiple) * rule.multiple, rule.max_side // rule.multiple * rule.multiple
    best: tuple[float, int, int] = (math.inf, low, low)
    for w in range(low, high + 1, rule.multiple):
        ideal = w * height / width / rule.multiple
        for h in {min(max(side * rule.multiple, low), high) for side in (math.floor(ideal), math.ceil(ideal))}:
            # A shape error counts twice a size error: a little smaller beats a little stretched.
            cost = 2 * abs(math.log(w / h) - ratio) + abs(math.log(w * h) - area)
            if cost < best[0] and rule.accepts(w, h):
                best = (cost, w, h)
    return best[1], best[2]


def closest_recommended(spec: ModelSpec, width: int, height: int) -> str:
    """The recommended size whose aspect ratio is nearest to width:height."""
    target = math.log(width / height)
    return min(spec.recommended_sizes, key=lambda s: abs(math.log(_ratio(s)) - target))


def _ratio(size: str) -> float:
    w, h = parse_size(size)
    return w / h


def resolve_size(spec: ModelSpec | None, size: str | None, model_name: str) -> str | None:
    """The size to send: validated against the model when its rules are known.

    None means "let the upstream pick its default" (only for models whose default we do not know).
    """
    if size is None:
        return spec.default_size if spec else None
    try:
        width, height = parse_size(size)
    except ValueError:
        raise UsageError("bad_size_format", size=size) from None
    normalized = f"{width}x{height}"
    if spec is None or spec.size_rule is None or spec.size_rule.accepts(width, height):
        return normalized
    near_w, near_h = nearest_valid_size(spec.size_rule, width, height)
    raise UsageError(
        "invalid_size",
        size=normalized,
        model=model_name,
        rule=spec.size_rule.describe(),
        nearest=f"{near_w}x{near_h}",
        recommended=closest_recommended(spec, width, height),
    )


def check_quality(spec: ModelSpec | None, quality: str | None, model_name: str) -> str | None:
    if quality is None or spec is None or quality in spec.qualities:
        return quality
    raise UsageError("quality_not_supported", model=model_name, quality=quality, choices=", ".join(spec.qualities))


def check_prompt_length(spec: ModelSpec | None, prompt: str, model_name: str) -> bool:
    """Raise when the model's documented limit is exceeded; return True when a warning is due."""
    length = len(prompt)
    if spec and spec.max_prompt_chars and length > spec.max_prompt_chars:
        raise UsageError("prompt_too_long", length=length, model=model_name, limit=spec.max_prompt_chars)
    return length > LONG_PROMPT


def check_samples(n: int) -> int:
    if not 1 <= n <= MAX_SAMPLES:
        raise UsageError("samples_range", n=n, max=MAX_SAMPLES)
    return n


def models_table() -> list[dict[str, Any]]:
    """The model facts as plain data (`glm-image models --json`, the MCP list_models tool)."""
    rows = []
    for spec in MODELS.values():
        rule = spec.size_rule
        rows.append({
            "model": spec.name,
            "default_size": spec.default_size,
            "recommended_sizes": list(spec.recommended_sizes),
            "size_rule": None if rule is None else {"min_side": rule.min_side, "max_side": rule.max_side,
                                                   "multiple": rule.multiple, "max_pixels": rule.max_pixels},
            "qualities": list(spec.qualities),
            "asynchronous": spec.asynchronous,
            "price_cny": spec.price_cny,
            "price_usd": spec.price_usd,
            "legacy": spec.legacy,
        })
    return rows
