"""A scripted vision model for the fake upstream: answers chat calls whose message holds an image part.

``FakeBigModel.vision = FakeVision(...)`` turns it on; chat calls without an image still get the rewrite
answer.  Per image (keyed by the number in the fake's image URL, or "b64" for base64 parts) it gives a score and
the text it "reads"; scripted behaviours (``script``) are used first, in arrival order: "prose" (an answer that is
not JSON), "fenced" (JSON inside a ```json fence and prose), a ``Reply`` (1301 on the image, a timeout via
``delay``, a dropped connection).  A ``data:`` URI is answered 400/1210, as the platform does.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

_NUMBER = re.compile(r"cogview-(\d+)_")


def image_parts(body: Any) -> list[str]:
    """The image part URLs (or base64 strings) of a chat body."""
    found = []
    for message in (body or {}).get("messages") or [] if isinstance(body, dict) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                found.append(str((part.get("image_url") or {}).get("url") or ""))
    return found


def image_key(part: str) -> str:
    """"7" for the fake's 7th image URL, "b64" for a base64 part."""
    found = _NUMBER.search(part)
    return found.group(1) if found and part.startswith("http") else "b64"


class FakeVision:
    def __init__(self, *, score: float | Callable[[str], float] = 7, text: str | Callable[[str], str] = "",
                 caption: str = "An orange square on a plain background.", latency: float = 0.0) -> None:
        self.score = score
        self.text = text
        self.caption = caption
        self.latency = latency
        self.script: deque[Any] = deque()
        self.seen: list[dict[str, Any]] = []  # every vision body received
        self._lock = threading.Lock()

    def wants(self, body: Any) -> bool:
        return bool(image_parts(body))

    def answer(self, body: dict[str, Any], reply_class: Any, number: int) -> Any:
        parts = image_parts(body)
        with self._lock:
            self.seen.append(body)
            scripted = self.script.popleft() if self.script else None
        if any(part.startswith("data:") for part in parts):
            return reply_class.error(400, "1210", "图片输入格式/解析错误")
        if isinstance(scripted, reply_class):
            return scripted
        key = image_key(parts[0]) if parts else "none"
        instruction = json.dumps(body["messages"][-1]["content"][-1].get("text", ""), ensure_ascii=False)
        if '"caption"' in instruction and '"score"' not in instruction:
            content = json.dumps({"caption": self.caption}, ensure_ascii=False)
        else:
            score = self.score(key) if callable(self.score) else self.score
            text = self.text(key) if callable(self.text) else self.text
            content = json.dumps({"score": score, "checks": [{"item": "subject", "ok": True},
                                                             {"item": "colour", "ok": score >= 5}],
                                  "text": text, "caption": self.caption}, ensure_ascii=False)
        if scripted == "prose":
            content = "I'm sorry, I can only describe this image in words: it shows an orange square."
        elif scripted == "fenced":
            content = f"Here is my verdict:\n```json\n{content}\n```\nHope this helps."
        return reply_class(body={"id": f"chat-{number}", "request_id": f"req-vision-{number}", "created": 1760000000,
                                 "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}],
                                 "usage": {"prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960}},
                           delay=self.latency)
