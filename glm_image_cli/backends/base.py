"""What every backend's client is: the ``ImageClient`` protocol (its wire calls) and the vocabulary the clients
share (ImageRequest, GeneratedImage, ImageResult, ProgressCallback).  Kept free of httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ProgressCallback = Callable[[str, Mapping[str, Any]], None]


def no_progress(event: str, info: Mapping[str, Any]) -> None:
    """Default progress callback: ignore."""


@dataclass(frozen=True)
class ImageRequest:
    """One image call as the runner asks for it; each client turns it into its own wire shape."""

    model: str
    prompt: str
    size: str | None = None
    quality: str | None = None
    watermark: bool = True
    user_id: str | None = None
    images: tuple[str, ...] = ()  # an edit: the source images' paths, sent as multipart (backends with edits)
    mask: str | None = None


@dataclass
class GeneratedImage:
    """What the upstream answered for one image: where it is (URL or inline bytes) and its ids."""

    url: str | None
    inline_data: bytes | None
    request_id: str | None
    task_id: str | None
    created: int | None
    content_filter: list[dict[str, Any]]


@dataclass
class ImageResult:
    data: bytes
    format: str
    extension: str
    url: str | None = None
    request_id: str | None = None
    task_id: str | None = None
    created: int | None = None
    content_filter: list[dict[str, Any]] = field(default_factory=list)


class ImageClient(Protocol):
    """The calls the runner, the savers and the front ends make on a backend's client (one per run; thread-safe).
    Error answers are mapped to the errors module's exceptions inside the client."""

    def request_image(self, request: ImageRequest, progress: ProgressCallback = no_progress) -> GeneratedImage:
        """The billable part: ask for one image (never sent twice blindly)."""
        ...

    def stream_image(self, generated: GeneratedImage, write: Callable[[bytes], None], restart: Callable[[], None],
                     progress: ProgressCallback = no_progress) -> tuple[str, str]:
        """Pass the image's bytes to ``write`` as they arrive; returns its (format, extension)."""
        ...

    def fetch(self, generated: GeneratedImage, progress: ProgressCallback = no_progress) -> ImageResult:
        """The image's bytes in memory."""
        ...

    def chat_completion(self, body: dict[str, Any], progress: ProgressCallback = no_progress) -> dict[str, Any]:
        """One ``/chat/completions`` call (--enhance), under the same money rules as an image."""
        ...

    def probe_key(self) -> tuple[int, str | None, str | None, float]:
        """A free request that says whether the key is accepted: (HTTP status, code, message, seconds)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc_info: object) -> None: ...
