"""Asking a vision model about an image: the request, how the image reaches the model, and the verdict.

A check asks the model (setting ``check-model``, default the free ``glm-4.6v-flash``), in the prompt's own
language, to judge the image against the prompt the user typed and to answer in JSON: a score out of 10, the
items it checked, any text it can read and a one-sentence caption.  Models wrap JSON in code fences or prose, so
the answer is read defensively; an answer that cannot be read is a verdict of "unchecked" with its reason, never
an error: the image is already saved, and a check never decides its fate.  A caption-only request (``caption``,
``--caption``) asks for the sentence alone, in the language asked for.

Images reach the model as the upstream's URL while it is fresh (nothing uploaded), else as the bare base64 of
the saved file: the platform answers a ``data:`` URI with 400/1210.  Over 5 MB or 6000 px, Pillow (the
``preview`` extra) scales it down; without Pillow the check is skipped and says which extra it needs.
"""

from __future__ import annotations

import base64
import io
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.core.textmatch import compare, requested_texts
from glm_image_cli.messages import Text

DEFAULT_CHECK_MODEL = "glm-4.6v-flash"
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the platform's limits for an image part
MAX_IMAGE_SIDE = 6000
MAX_FILE_READ = 256 << 20  # a file read to be checked (a bigger one is no image the upstream made)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def prompt_language(text: str) -> str:
    """"zh" when the prompt has Chinese characters, else "en": the check is asked in the prompt's language."""
    return "zh" if _CJK.search(text) else "en"


_CHECK_INSTRUCTIONS = {
    "en": ("You are checking a generated image against the prompt it was made from.\nPrompt: {prompt}\n"
           "Judge how well the image matches the prompt. Answer with one JSON object only, no other text:\n"
           '{{"score": <0-10, 10 = matches perfectly>, "checks": [{{"item": "<one thing the prompt asks for>", '
           '"ok": true|false}}], "text": "<all text visible in the image, verbatim, empty if none>", '
           '"caption": "<one sentence describing the image, in English>"}}'),
    "zh": ("你在检查一张生成的图片是否符合它的提示词。\n提示词：{prompt}\n"
           "评估图片与提示词的符合程度。只回答一个 JSON 对象，不要任何其他文字：\n"
           '{{"score": <0-10，10 为完全符合>, "checks": [{{"item": "<提示词要求的一项>", "ok": true|false}}], '
           '"text": "<图中可见的全部文字，逐字照录，没有则为空>", "caption": "<用一句中文描述这张图片>"}}'),
}
_CAPTION_INSTRUCTIONS = {
    "en": ('Describe this image in one sentence, as alt text for someone who cannot see it. Answer with one JSON '
           'object only: {"caption": "<the sentence, in English>"}'),
    "zh": ('用一句中文描述这张图片，作为给看不见图片的人的替代文字。只回答一个 JSON 对象：{"caption": "<这句话>"}'),
}


def takes_json_mode(model: str) -> bool:
    """GLM-4-family chat models take ``response_format: json_object``; the older glm-4v ones are not known to."""
    name = model.strip().lower()
    return name.startswith("glm-4") and not name.startswith("glm-4v")


def request_body(model: str, image: str, *, prompt: str | None, lang: str) -> dict[str, Any]:
    """The chat body: the image part (URL or bare base64), then the instruction.  ``prompt`` None asks for a
    caption only, in ``lang``; otherwise the check, in the prompt's language."""
    if prompt is None:
        instruction = _CAPTION_INSTRUCTIONS[lang if lang in _CAPTION_INSTRUCTIONS else "en"]
    else:
        instruction = _CHECK_INSTRUCTIONS[prompt_language(prompt)].format(prompt=prompt)
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}},
                                                  {"type": "text", "text": instruction}]}],
        "temperature": 0.1,
    }
    if takes_json_mode(model):
        body["response_format"] = {"type": "json_object"}
    if model.strip().lower().startswith(("glm-4.6v", "glm-4.5v")):
        body["thinking"] = {"type": "disabled"}  # a verdict, not a reasoning trace: faster, and the same answer
    return body


# --- how the image reaches the model ---------------------------------------------------------------------

class CannotSend(Exception):
    """The image cannot be sent as it is (too large without Pillow, not an image): the check is skipped."""

    def __init__(self, reason: Text) -> None:
        super().__init__(str(reason))
        self.reason = reason


def image_part(path: Path | None, url: str | None, data: bytes | None = None) -> str:
    """What goes in the image part: the upstream's fresh ``url`` when there is one, else the bare base64 of the
    file at ``path`` or of ``data`` (serve's image in memory), scaled down first when over the platform's limits."""
    if url:
        return url
    if data is not None:
        return base64.b64encode(_within_limits(data)).decode("ascii")
    if path is None:
        raise CannotSend(Text("check_reason_no_image"))
    from glm_image_cli.safefile import read_regular

    try:
        data = read_regular(path, MAX_FILE_READ)
    except OSError as error:
        raise CannotSend(Text("check_reason_unreadable", path=str(path), detail=str(error))) from None
    return base64.b64encode(_within_limits(data)).decode("ascii")


def _dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG from its header, without Pillow; None for other formats."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None


def _within_limits(data: bytes) -> bytes:
    from glm_image_cli.backends.imagebytes import sniff_image_format

    kind = sniff_image_format(data)
    if kind is None:
        raise CannotSend(Text("check_reason_not_image"))
    size = _dimensions(data)
    fits = len(data) <= MAX_IMAGE_BYTES and (size is None or max(size) <= MAX_IMAGE_SIDE)
    if fits and kind[0] in ("png", "jpeg"):
        return data
    from glm_image_cli.storage.convert import converter_available

    if not converter_available():
        return _needs_preview(kind[0], fits)
    return _scaled(data)


def _needs_preview(kind: str, fits: bool) -> bytes:
    raise CannotSend(Text("check_reason_needs_preview") if fits is False else
                     Text("check_reason_format_needs_preview", format=kind.upper()))


def _scaled(data: bytes) -> bytes:
    """A JPEG within 6000 px and 5 MB (Pillow): the model judges content, not the last pixel."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
    side = MAX_IMAGE_SIDE
    quality = 90
    while True:
        copy = image.copy()
        copy.thumbnail((side, side))
        out = io.BytesIO()
        copy.save(out, format="JPEG", quality=quality)
        if out.tell() <= MAX_IMAGE_BYTES or side < 256:
            return out.getvalue()
        side, quality = int(side * 0.75), max(60, quality - 10)


# --- the answer --------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    """What a check found, as recorded in the recipe, the history and ``--json``.  ``status`` is "checked" or
    "unchecked" (then ``reason`` says why, and nothing else is known)."""

    status: str
    model: str
    seconds: float = 0.0
    score: float | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    text: str | None = None
    texts: list[dict[str, Any]] = field(default_factory=list)  # each requested string: wanted, ned, ok
    ned: float | None = None
    word_accuracy: float | None = None
    caption: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    request_id: str | None = None
    exit_code: int | None = None  # a failed check: the failure's exit code (the `check` command exits with it)

    @property
    def checked(self) -> bool:
        return self.status == "checked"

    @property
    def text_ok(self) -> bool | None:
        """None when the prompt asked for no text; else whether every requested string was read exactly."""
        return all(item["ok"] for item in self.texts) if self.texts else None

    @property
    def failing(self) -> list[str]:
        items = [str(check["item"]) for check in self.checks if check.get("ok") is False]
        return items + [f"“{item['wanted']}”" for item in self.texts if not item["ok"]]

    def to_json(self) -> dict[str, Any]:
        record = {"status": self.status, "model": self.model, "seconds": round(self.seconds, 3)}
        if self.checked:
            record.update(score=self.score, checks=self.checks, text=self.text, texts=self.texts, ned=self.ned,
                          word_accuracy=self.word_accuracy, text_ok=self.text_ok, caption=self.caption)
        else:
            record.update(reason_code=self.reason_code, reason=self.reason)
            if self.exit_code is not None:
                record["exit_code"] = self.exit_code
        if self.request_id:
            record["request_id"] = self.request_id
        return record

    @classmethod
    def from_json(cls, record: Any) -> Verdict | None:
        """A recorded verdict read back (a recipe, the history); None when it is not one."""
        if not isinstance(record, dict) or record.get("status") not in ("checked", "unchecked"):
            return None
        known = {name: record.get(name) for name in ("score", "text", "ned", "word_accuracy", "caption", "reason",
                                                     "reason_code", "request_id", "exit_code")}
        return cls(status=record["status"], model=str(record.get("model") or ""),
                   seconds=float(record.get("seconds") or 0.0),
                   checks=[c for c in record.get("checks") or [] if isinstance(c, dict)],
                   texts=[t for t in record.get("texts") or [] if isinstance(t, dict) and "ok" in t], **known)


def unchecked(model: str, reason: Text, code: str, seconds: float = 0.0, request_id: str | None = None) -> Verdict:
    return Verdict("unchecked", model, seconds, reason=str(reason), reason_code=code, request_id=request_id)


def answer_object(answer: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer: as it is, inside ```json fences, or amid prose; None if there is
    none."""
    text = answer.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL | re.IGNORECASE)
    candidates = [text] + ([fenced.group(1)] if fenced else [])
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            value = safejson.loads(candidate.strip(), max_bytes=1 << 20)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        found = re.match(r"\s*(\d+(?:\.\d+)?)", value)
        value = float(found.group(1)) if found else None
    if isinstance(value, int | float) and 0 <= value <= 10:
        return round(float(value), 2)
    return None


def _clean(value: Any, limit: int) -> str | None:
    """Text from the model, kept as text: control characters dropped (it is shown on terminals), length capped."""
    if not isinstance(value, str):
        return None
    kept = "".join(ch for ch in value if ch in "\n\t" or not (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F))
    return kept.strip()[:limit]


def read_verdict(answer: str, *, model: str, prompt: str | None, seconds: float,
                 request_id: str | None = None) -> Verdict:
    """The verdict in ``answer``; "unchecked" (with the reason) when it holds no usable JSON.  ``prompt`` None:
    a caption request, which needs only the caption."""
    found = answer_object(answer)
    if found is None:
        return unchecked(model, Text("check_reason_unparseable", answer=_clean(answer, 80) or ""), "unparseable",
                         seconds, request_id)
    caption = _clean(found.get("caption"), 500)
    if prompt is None:
        if not caption:
            return unchecked(model, Text("check_reason_no_caption"), "unparseable", seconds, request_id)
        return Verdict("checked", model, seconds, caption=caption, request_id=request_id)
    score = _score(found.get("score"))
    if score is None:
        return unchecked(model, Text("check_reason_no_score"), "unparseable", seconds, request_id)
    checks = []
    for item in found.get("checks") or []:
        if isinstance(item, dict) and isinstance(item.get("item"), str) and isinstance(item.get("ok"), bool):
            checks.append({"item": _clean(item["item"], 200), "ok": item["ok"]})
    read = _clean(found.get("text"), 2000) or ""
    matches, ned, accuracy = compare(requested_texts(prompt), read)
    return Verdict("checked", model, seconds, score=score, checks=checks[:20], text=read,
                   texts=[match.to_json() for match in matches], ned=ned, word_accuracy=accuracy, caption=caption,
                   request_id=request_id)


def rank_key(verdict: Verdict | None, position: int) -> tuple[int, int, float, int]:
    """Sorts candidates best first: checked before unchecked, a text match before a mismatch, the higher
    score, then the earlier one."""
    if verdict is None or not verdict.checked:
        return (1, 1, 0.0, position)
    return (0, 1 if verdict.text_ok is False else 0, -(verdict.score or 0.0), position)
