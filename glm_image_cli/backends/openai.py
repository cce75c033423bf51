"""The ``openai`` backend: any server speaking the OpenAI images API (SGLang, CogKit, LiteLLM, one-api, our serve).

Its client is built on the same transport as BigModel's — ``request_image``, ``stream_image``, ``fetch``, and the
retry rules of transport.py (a POST that may have been processed is never sent again blindly) — with the OpenAI
request and error shapes:

- ``POST {base}/images/generations`` (JSON: model, prompt, n=1, size, response_format=b64_json);
- ``POST {base}/images/edits`` (multipart: image — or several ``image[]`` —, mask, prompt, model, n, size,
  response_format) when the request carries images;
- errors ``{"error": {"message", "type", "code"}}``: 401 → auth, 403 → permission, 429 → rate limit,
  400 ``content_policy_violation`` → content, other 4xx → refused, 502/504 → maybe charged, 5xx → server.

Its rules: the server decides (any model name; sizes and qualities passed through unchecked), it has edits, and
its images are free unless the config file's ``[prices]`` names the model (the server is the user's own).
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from glm_image_cli import safejson
from glm_image_cli.backends import models
from glm_image_cli.backends.base import (
    GeneratedImage,
    ImageClient,
    ImageRequest,
    KeyProbe,
    ModelChoice,
    ProgressCallback,
    listed_price,
    no_progress,
)
from glm_image_cli.backends.transport import HttpTransport, OverTransport, RetryPolicy, generated_from
from glm_image_cli.errors import (
    AuthFailure,
    ContentBlocked,
    NetworkFailure,
    RateLimited,
    RefusedFailure,
    UpstreamFailure,
    UsageError,
)
from glm_image_cli.messages import Text
from glm_image_cli.safefile import read_regular

MAX_SOURCE_BYTES = 64 * 1024 * 1024  # an image to edit
IMAGE_SERVER = Text("service_image_server")  # {service} in failure messages: rendered in the language shown
CONTENT_POLICY_CODES = frozenset({"content_policy_violation", "moderation_blocked", "content_filter"})


class OpenAIImagesClient(OverTransport):
    """A client for the OpenAI images API: generations, edits, chat completions and the model list."""

    def __init__(self, api_key: str, base_url: str, *, timeout: float = 120.0, lang: str = "en",
                 region: str = "cn", retry_unsafe: bool = False, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_connections: int = 16,
                 verbose: bool | None = None) -> None:
        # ``region`` is accepted like every client's, and unused: the server is not BigModel's.
        self._transport = HttpTransport(api_key, base_url, OPENAI_ERRORS, timeout=timeout, lang=lang,
                                        retry_unsafe=retry_unsafe, retry=retry, sleep=sleep,
                                        max_connections=max_connections, verbose=verbose)

    def request_image(self, request: ImageRequest, progress: ProgressCallback = no_progress) -> GeneratedImage:
        """One image: a generation, or an edit when the request names source images."""
        progress = self._transport.traced(progress)
        progress("requesting", {})
        if request.images:
            payload = self._transport.send("POST", "/images/edits", progress, model=request.model,
                                           data=_edit_fields(request), files=_edit_files(request))
        else:
            payload = self._transport.send("POST", "/images/generations", progress, json=generation_body(request),
                                           model=request.model)
        return generated_from(payload, payload.get("data"), None)

    def probe_key(self) -> tuple[int, str | None, str | None, float]:
        """``GET {base}/models``: a 401 means the key was refused; anything else that it was accepted."""
        started = time.monotonic()
        response = self._transport.get_once("/models")
        _, message = _openai_error(response) if not response.is_success else (None, None)
        return response.status_code, None, message, time.monotonic() - started

    def list_models(self) -> list[dict[str, Any]] | None:
        """What ``GET {base}/models`` lists (``{"data": [{"id", ...}]}``), or None when the server offers no such
        list (404, another shape).  A refused key is the usual auth failure."""
        response = self._transport.get_once("/models")
        if response.status_code == 401:
            raise OPENAI_ERRORS.failure_from(response, None)
        if not response.is_success:
            return None
        try:
            body = safejson.loads(response.content)
        except ValueError:
            return None
        data = body.get("data") if isinstance(body, dict) else body
        if not isinstance(data, list):
            return None
        found = []
        for item in data:
            name = item.get("id") if isinstance(item, dict) else item
            if isinstance(name, str) and name:
                owner = item.get("owned_by") if isinstance(item, dict) else None
                found.append({"model": name, "owned_by": owner if isinstance(owner, str) else None})
        return found


@dataclass(frozen=True)
class OpenAIErrors:
    """What the OpenAI error shape means; every failure names "the image server", not BigModel."""

    service: Text | None = IMAGE_SERVER

    def failure_from(self, response: httpx.Response, model: str | None) -> UpstreamFailure:
        status = response.status_code
        code, message = _openai_error(response)
        common: dict[str, Any] = {"status": status, "upstream_code": code, "upstream_message": message,
                                  "request_id": response.headers.get("x-request-id"), "service": IMAGE_SERVER}
        if status == 401:
            return AuthFailure("auth_failed", **common)
        if status == 403:
            return RefusedFailure("no_permission", model=model, **common)
        if status == 429:
            return RateLimited("rate_limited", attempts=1, **common)
        if code in CONTENT_POLICY_CODES:
            return ContentBlocked("content_blocked", **common)
        if status in (502, 504):
            return NetworkFailure("gateway_maybe_charged", **common)
        if status >= 500:
            return UpstreamFailure("upstream_error", **common)
        return RefusedFailure("upstream_refused", **common)

    def retry_kind(self, response: httpx.Response, failure: UpstreamFailure, idempotent: bool,
                   retry_unsafe: bool) -> str | None:
        """429 and 503 say "not now" (nothing was made); a 500 is an error answer, so nothing was made either.
        502/504 came from a gateway after the request was sent: retried only for GET or with --retry-unsafe."""
        status = response.status_code
        if isinstance(failure, RateLimited):
            return "rate"
        if status in (500, 503):
            return "server"
        if status in (502, 504) and (idempotent or retry_unsafe):
            return "server"
        return None


OPENAI_ERRORS = OpenAIErrors()


@dataclass(frozen=True)
class OpenAIBackend:
    """A self-hosted (or gateway) OpenAI-compatible image server: the server decides, edits exist, images are free
    unless ``[prices]`` names the model."""

    name: str = "openai"
    edits: bool = True
    server_models: bool = True

    def resolve(self, model: str, size: str | None, quality: str | None) -> ModelChoice:
        """The server's own model names, sizes and qualities: passed through (a size must still read WxH)."""
        return ModelChoice(model, models.resolve_size(None, size, model), quality)

    def check_edit(self, images: tuple[str, ...], mask: str | None) -> None:
        for path in (*images, *([mask] if mask else [])):
            _check_source(path)

    def unit_price(self, model: str, region: str, prices: Mapping[str, float]) -> float | None:
        """Free (0.0) unless the config file's ``[prices]`` names the model: the server is the user's own."""
        listed = listed_price(model, prices)
        return 0.0 if listed is None else listed

    def list_models(self, connect: Callable[[], ImageClient]) -> list[dict[str, Any]] | None:
        """``GET {base}/models``; None when the server offers no list."""
        with connect() as client:
            return client.list_models()  # type: ignore[no-any-return]

    def make_client(self, api_key: str, base_url: str, *, timeout: float = 120.0, lang: str = "en",
                    region: str = "cn", retry_unsafe: bool = False, max_connections: int = 16) -> OpenAIImagesClient:
        return OpenAIImagesClient(api_key, base_url, timeout=timeout, lang=lang, region=region,
                                  retry_unsafe=retry_unsafe, max_connections=max_connections)

    def probe(self, client: ImageClient) -> KeyProbe:
        """``GET {base}/models``: a 401 is a refused key; any other answer came after the key was accepted."""
        status, code, message, seconds = client.probe_key()
        return KeyProbe(status, code, message, seconds, rejected=status == 401)


OPENAI = OpenAIBackend()


def generation_body(request: ImageRequest) -> dict[str, Any]:
    """The JSON of ``POST /images/generations``: one image per call (the runner makes n calls)."""
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt, "n": 1,
                            "response_format": "b64_json"}
    if request.size:
        body["size"] = request.size
    if request.quality:
        body["quality"] = request.quality
    if request.user_id:
        body["user"] = request.user_id
    return body


def _edit_fields(request: ImageRequest) -> dict[str, str]:
    fields = {"model": request.model, "prompt": request.prompt, "n": "1", "response_format": "b64_json"}
    if request.size:
        fields["size"] = request.size
    if request.user_id:
        fields["user"] = request.user_id
    return fields


def _edit_files(request: ImageRequest) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The image part(s) and the mask, read now (the files were checked before anything was sent); bytes, so a
    retry that is allowed (nothing reached the server) sends the same body again."""
    name = "image" if len(request.images) == 1 else "image[]"
    files = [(name, _file_part(path)) for path in request.images]
    if request.mask:
        files.append(("mask", _file_part(request.mask)))
    return files


def _file_part(path: str) -> tuple[str, bytes, str]:
    file = Path(path)
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return file.name, read_regular(file, MAX_SOURCE_BYTES), kind


def _openai_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """(code or type, message) from ``{"error": {"message", "type", "code"}}``; tolerant of other shapes."""
    try:
        body = safejson.loads(response.content)
    except ValueError:
        return None, response.text.strip()[:200] or None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return None, error[:300]
    if not isinstance(error, dict):
        detail = body.get("detail") or body.get("message") if isinstance(body, dict) else None
        return None, str(detail)[:300] if detail else None
    code = error.get("code") or error.get("type")
    message = error.get("message")
    return (str(code) if code not in (None, "") else None), (str(message)[:300] if message else None)


def _check_source(path: str) -> None:
    from glm_image_cli.backends.imagebytes import EDIT_FORMATS, sniff_image_format

    file = Path(path)
    try:
        if not file.is_file():
            raise UsageError("edit_image_unreadable", path=path, detail="not a file")
        if file.stat().st_size > MAX_SOURCE_BYTES:
            raise UsageError("edit_image_unreadable", path=path, detail="larger than 64 MiB")
        with file.open("rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise UsageError("edit_image_unreadable", path=path, detail=exc.strerror or str(exc)) from None
    sniffed = sniff_image_format(head)
    if sniffed is None or sniffed[0] not in EDIT_FORMATS:
        raise UsageError("edit_image_unreadable", path=path, detail="not a PNG, JPEG or WebP image")
