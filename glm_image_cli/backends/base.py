"""What every backend is: the ``Backend`` protocol (its rules) and the ``ImageClient`` protocol (its wire calls).

A backend is one frozen object (``BIGMODEL`` in bigmodel.py, ``OPENAI`` in openai.py) that the rest of the tool
asks instead of comparing names: which models, sizes and qualities a plan may use, whether it can edit, what an
image costs, how its models are listed, how to make its client and how to check a key.  A new backend is a new
module with such an object and one line in registry.py.

Also the vocabulary shared by the clients (ImageRequest, GeneratedImage, ImageResult, ProgressCallback).  Kept
free of httpx: the registry and the settings load this module for ``--help``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.backends.models import ModelSpec

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


@dataclass(frozen=True)
class ModelChoice:
    """A plan's model, size and quality as the backend accepts them, and what to warn about."""

    model: str
    size: str | None
    quality: str | None
    warnings: tuple[Text, ...] = ()
    spec: ModelSpec | None = None  # the reference table's entry (its prompt-length rule); None: no rules known


@dataclass(frozen=True)
class KeyProbe:
    """What ``glm-image ping`` learned from the backend's free key check."""

    status: int
    code: str | None
    message: str | None
    seconds: float
    rejected: bool  # the key was refused
    accepted_text: str = "ping_accepted"  # the catalogue id that explains an acceptance ({detail}: the answer)


class Backend(Protocol):
    """One kind of upstream and its rules.  Implementations are frozen dataclass instances (see registry.py)."""

    name: str  # the ``backend`` setting's value
    edits: bool  # whether it has ``/images/edits`` (`glm-image edit`, serve's ``/v1/images/edits``)
    server_models: bool  # True: `glm-image models` shows the server's own list; False: the reference table

    def resolve(self, model: str, size: str | None, quality: str | None) -> ModelChoice:
        """Check a plan's model, size and quality before anything is spent (UsageError when refused)."""
        ...

    def check_edit(self, images: tuple[str, ...], mask: str | None) -> None:
        """Before anything is sent: the backend can edit, and every source (and the mask) is a readable image."""
        ...

    def unit_price(self, model: str, region: str, prices: Mapping[str, float]) -> float | None:
        """One image's (or chat call's) estimated price in the region's currency, None when unknown.
        ``prices``: the config file's ``[prices]`` (model, lower case -> price).  The one price rule used by
        spend consent, the ledger and the budgets alike."""
        ...

    def list_models(self, connect: Callable[[], ImageClient]) -> list[dict[str, Any]] | None:
        """The rows `glm-image models` shows; ``connect`` opens a client when the list must be asked for.
        None: the server offers no list."""
        ...

    def make_client(self, api_key: str, base_url: str, *, timeout: float = 120.0, lang: str = "en",
                    region: str = "cn", retry_unsafe: bool = False, max_connections: int = 16) -> ImageClient:
        """The backend's HTTP client (its error mapping and retry rules inside)."""
        ...

    def probe(self, client: ImageClient) -> KeyProbe:
        """``glm-image ping``: check the key without making (paying for) an image."""
        ...


def listed_price(model: str, prices: Mapping[str, float]) -> float | None:
    """The config file's ``[prices]`` entry for ``model`` (names are matched in lower case), or None."""
    name = model.strip().lower()
    return float(prices[name]) if name in prices else None
