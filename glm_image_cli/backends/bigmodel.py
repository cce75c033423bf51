"""The BigModel / Z.ai images API: its client (on the shared transport), its error answers, and the
``bigmodel`` backend's rules (the reference table of backends/models.py: models, sizes, qualities, prices).

What may be retried (transport.py has the rules that never double-charge): 429 with 1302/1303/1305/1312,
503 and business code 500 say "not now"; 502/504 may have been processed and are retried only for GET or
with ``retry_unsafe``.  Asynchronous models are submitted once and then polled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from glm_image_cli import safejson
from glm_image_cli.backends import models
from glm_image_cli.backends.base import (
    GeneratedImage,
    ImageClient,
    ImageRequest,
    ImageResult,
    KeyProbe,
    ModelChoice,
    ProgressCallback,
    listed_price,
    no_progress,
)
from glm_image_cli.backends.models import MODELS
from glm_image_cli.backends.polling import Interval, TaskTimes, finished_between, next_wait
from glm_image_cli.backends.regions import HOME_URLS
from glm_image_cli.backends.transport import (
    HttpTransport,
    OverTransport,
    RetryPolicy,
    generated_from,
    parse_retry_after,
)
from glm_image_cli.errors import (
    AuthFailure,
    ConcurrencyRefused,
    ContentBlocked,
    NetworkFailure,
    QuotaFailure,
    RateLimited,
    RefusedFailure,
    UpstreamFailure,
    UsageError,
)
from glm_image_cli.messages import Text

# Re-exported: the clients' vocabulary is imported from here across the tree.
__all__ = ["BIGMODEL", "BigModelClient", "GeneratedImage", "ImageRequest", "ImageResult", "PollingPolicy",
           "ProgressCallback", "RetryPolicy", "parse_retry_after"]

RATE_LIMIT_CODES = frozenset({"1302", "1303", "1305", "1312"})
CONCURRENCY_CODE = "1302"  # without Retry-After: the account's concurrent calls for the model are all in use
AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
ACCOUNT_CODES = frozenset({"1110", "1111", "1112", "1121"})
QUOTA_CODES = {"1113": "balance_exhausted", "1304": "daily_quota"}
CONTENT_CODES = frozenset({"1300", "1301"})
PERMISSION_CODES = frozenset({"1220", "1221", "1222"})


@dataclass(frozen=True)
class PollingPolicy:
    """Asynchronous tasks: first look after ``first_delay``, then wait ``growth`` times longer each time up to
    ``interval`` (1, 1.5, 2.25, 3, 3 … s), giving up after ``max_wait``.  A task that is ready in 2 s is seen
    at 2.5 s, not at 5 s; a long one is still asked about only every ``interval`` seconds."""

    first_delay: float = 1.0
    interval: float = 3.0
    max_wait: float = 300.0
    growth: float = 1.5

    def delays(self) -> Iterator[float]:
        """The waits before each look, endless: the caller stops at ``max_wait``."""
        delay = self.first_delay
        while True:
            yield delay
            delay = min(self.interval, delay * self.growth)


DEFAULT_POLLING = PollingPolicy()


def generation_body(request: ImageRequest) -> dict[str, Any]:
    """The JSON of ``POST /images/generations``: only documented fields; unset ones are the upstream's defaults."""
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
    if request.size:
        body["size"] = request.size
    if request.quality:
        body["quality"] = request.quality
    if not request.watermark:
        body["watermark_enabled"] = False
    if request.user_id:
        body["user_id"] = request.user_id
    return body


class BigModelClient(OverTransport):
    """The BigModel / Z.ai client: one per run; thread-safe, so n images can be requested at once."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float = 120.0,
        lang: str = "en",
        region: str = "cn",
        retry_unsafe: bool = False,
        retry: RetryPolicy | None = None,
        polling: PollingPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = 16,
        verbose: bool | None = None,
        task_times: TaskTimes | None = None,
    ) -> None:
        self._region = region
        self._polling = polling or DEFAULT_POLLING
        # How long each model's tasks take, to look when they finish (see polling.py); ``remember_task_times``
        # keeps them beside the learned limits.
        self.task_times = task_times or TaskTimes()
        self._transport = HttpTransport(api_key, base_url, BigModelErrors(region), timeout=timeout, lang=lang,
                                        retry_unsafe=retry_unsafe, retry=retry, sleep=sleep,
                                        max_connections=max_connections, verbose=verbose)

    def request_image(self, request: ImageRequest, progress: ProgressCallback = no_progress) -> GeneratedImage:
        """The billable part: ask the upstream for one image (submitting and polling async models)."""
        if request.images:  # the hosted API has no edits: never sent (the edit command refuses this earlier)
            raise UsageError("edit_unsupported")
        spec = MODELS.get(request.model)
        progress = self._transport.traced(progress)  # retry decisions join the -v trace
        progress("requesting", {})
        if spec is not None and spec.asynchronous:
            submitted = self._post_once("/async/images/generations", request, progress)
            task_id = submitted.get("id")
            if not isinstance(task_id, str) or not task_id:
                raise UpstreamFailure("bad_response", detail="no task id", request_id=submitted.get("request_id"))
            # Paid from here on: the caller journals the task id before the first poll, so a run that dies
            # while polling can collect the image later (``collect``) instead of paying for it again.
            progress("submitted", {"task_id": task_id, "request_id": submitted.get("request_id")})
            payload = self._poll(task_id, submitted, progress, model=request.model)
            return generated_from(payload, payload.get("image_result"), task_id)
        payload = self._post_once("/images/generations", request, progress)
        return generated_from(payload, payload.get("data"), None)

    def collect(self, task_id: str, progress: ProgressCallback = no_progress) -> GeneratedImage:
        """The image of an asynchronous task submitted (and paid for) earlier: polled, never submitted again.
        A GET, so free and retried when transient; a task the upstream no longer knows is an error."""
        progress = self._transport.traced(progress)
        payload = self._poll(task_id, {"task_status": "PROCESSING"}, progress)
        return generated_from(payload, payload.get("image_result"), task_id)

    def probe_key(self) -> tuple[int, str | None, str | None, float]:
        """Check the key without making an image: ask for the result of a task that does not exist.

        The upstream authenticates first (a bad key gets 401 / 1000-1004) and only then looks the task
        up, so any other answer means the key was accepted.  Returns (HTTP status, business code,
        message, seconds).  One attempt, no retries: this is a diagnosis.
        """
        import uuid

        started = time.monotonic()
        response = self._transport.get_once(f"/async-result/glm-image-ping-{uuid.uuid4().hex}")
        code, message, _ = _error_fields(response) if not response.is_success else (None, None, None)
        return response.status_code, code, message, time.monotonic() - started

    @staticmethod
    def is_auth_rejection(status: int, code: str | None) -> bool:
        return code in AUTH_CODES or (status == 401 and not code)

    def _post_once(self, path: str, request: ImageRequest, progress: ProgressCallback) -> dict[str, Any]:
        """POST a billable request: retried only when the upstream cannot have processed it."""
        try:
            return self._transport.send("POST", path, progress, json=generation_body(request), model=request.model)
        except RefusedFailure as failure:
            if not request.watermark and _about_watermark(failure):
                raise RefusedFailure("watermark_refused", status=failure.status, upstream_code=failure.upstream_code,
                                     upstream_message=failure.upstream_message, request_id=failure.request_id,
                                     console_url=HOME_URLS.get(self._region, HOME_URLS["cn"])) from None
            raise

    def remember_task_times(self, recall: Callable[[str], list[Interval]],
                            keep: Callable[[str, list[Interval]], None]) -> None:
        """Start from the task durations an earlier run learned, and keep the new ones (the core's store)."""
        self.task_times = TaskTimes(recall, keep)

    def _poll(self, task_id: str, submitted: Mapping[str, Any], progress: ProgressCallback,
              model: str | None = None) -> dict[str, Any]:
        """Look until the task is done: when a model's durations are known, densely around its usual finish
        (polling.py), else on the fixed schedule.  A task collected later (no model, unknown start) uses the
        fixed schedule and teaches nothing."""
        policy = self._polling
        started = time.monotonic()
        deadline = started + policy.max_wait
        status = str(submitted.get("task_status") or "PROCESSING")
        delays = policy.delays()
        planned = iter(self.task_times.plan(model) if model is not None else ())
        looks: list[float] = []
        while True:
            progress("processing", {"task_status": status, "task_id": task_id})
            wait = next_wait(planned, time.monotonic() - started)
            delay = wait if wait is not None else next(delays)
            if time.monotonic() + delay > deadline:
                raise UpstreamFailure("async_timeout", task_id=task_id, seconds=int(policy.max_wait))
            self._transport.sleep(delay)
            sent = time.monotonic()
            payload = self._transport.send("GET", f"/async-result/{task_id}", progress)  # GET: retried when transient
            looks.append((sent + time.monotonic()) / 2 - started)  # when the upstream looked, about
            status = str(payload.get("task_status") or "")
            if status == "SUCCESS":
                if model is not None:
                    self.task_times.finished(model, finished_between(looks))
                return payload
            if status == "FAIL":
                raise UpstreamFailure(
                    "async_task_failed",
                    task_id=task_id,
                    detail=str(payload.get("error") or payload.get("message") or "FAIL"),
                    request_id=payload.get("request_id"),
                )
            status = status or "PROCESSING"  # unknown status: keep polling


@dataclass(frozen=True)
class BigModelErrors:
    """What BigModel's error answers (``{"error": {"code", "message"}}`` with business codes) mean."""

    region: str
    service: Text | None = None  # the messages name BigModel by default

    def failure_from(self, response: httpx.Response, model: str | None) -> UpstreamFailure:
        """Map an error answer to the exception that says what it means for the user."""
        status = response.status_code
        code, message, request_id = _error_fields(response)
        common: dict[str, Any] = {
            "status": status,
            "upstream_code": code,
            "upstream_message": message,
            "request_id": request_id,
        }
        console = HOME_URLS.get(self.region, HOME_URLS["cn"])
        if code in AUTH_CODES or (status == 401 and not code):
            return AuthFailure("auth_failed", **common)
        if code in ACCOUNT_CODES:
            return AuthFailure("account_problem", console_url=console, **common)
        if code in QUOTA_CODES:
            return QuotaFailure(QUOTA_CODES[code], console_url=console, **common)
        if code in CONTENT_CODES:
            return ContentBlocked("content_blocked", **common)
        if code == CONCURRENCY_CODE and status == 429 and not response.headers.get("Retry-After"):
            return ConcurrencyRefused("concurrency_refused", **common)
        if code in RATE_LIMIT_CODES or (status == 429 and not code):
            return RateLimited("rate_limited", attempts=1, **common)
        if code == "1211":
            return RefusedFailure("unknown_model_upstream", model=model, models=", ".join(MODELS), **common)
        if code in PERMISSION_CODES or status == 403:
            return RefusedFailure("no_permission", model=model, **common)
        if code == "1261":
            return RefusedFailure("prompt_too_long_upstream", **common)
        if code and code.startswith("121"):
            return RefusedFailure("bad_parameters", **common)
        if status in (502, 504):
            return NetworkFailure("gateway_maybe_charged", **common)
        if status >= 500 or code == "500":
            return UpstreamFailure("upstream_error", **common)
        return RefusedFailure("upstream_refused", **common)

    def retry_kind(self, response: httpx.Response, failure: UpstreamFailure, idempotent: bool,
                   retry_unsafe: bool) -> str | None:
        status, code = response.status_code, failure.upstream_code
        if isinstance(failure, RateLimited):
            return "rate"
        if status == 503 or code == "500" or (status == 500 and code in (None, "")):
            return "server"
        if status in (502, 504) and (idempotent or retry_unsafe):
            return "server"
        return None


@dataclass(frozen=True)
class BigModelBackend:
    """The hosted BigModel / Z.ai API: the reference table's models, sizes, qualities and prices; no edits."""

    name: str = "bigmodel"
    edits: bool = False
    server_models: bool = False

    def resolve(self, model: str, size: str | None, quality: str | None) -> ModelChoice:
        """Known models get their canonical name and their size and quality rules; a near miss of a known name is
        refused (a typo); a new name is sent with a warning (it may be newer than the table)."""
        spec = models.find_model(model)
        warnings: list[Text] = []
        if spec is None:
            models.check_model_name(model)
            warnings.append(Text("unknown_model_warning", model=model))
        else:
            model = spec.name
            if spec.legacy:
                warnings.append(Text("legacy_model_warning", model=model))
        return ModelChoice(model, models.resolve_size(spec, size, model), models.check_quality(spec, quality, model),
                           tuple(warnings), spec)

    def check_edit(self, images: tuple[str, ...], mask: str | None) -> None:
        raise UsageError("edit_unsupported")

    def unit_price(self, model: str, region: str, prices: Mapping[str, float]) -> float | None:
        """The ``[prices]`` override when it names the model, else the reference table, else None (unknown)."""
        listed = listed_price(model, prices)
        if listed is not None:
            return listed
        spec = models.find_model(model)
        if spec is None:
            return None
        return spec.price_usd if region == "intl" else spec.price_cny

    def list_models(self, connect: Callable[[], ImageClient]) -> list[dict[str, Any]] | None:
        """The reference table; nothing is asked (no key needed)."""
        return models.models_table()

    def make_client(self, api_key: str, base_url: str, *, timeout: float = 120.0, lang: str = "en",
                    region: str = "cn", retry_unsafe: bool = False, max_connections: int = 16) -> BigModelClient:
        return BigModelClient(api_key, base_url, timeout=timeout, lang=lang, region=region,
                              retry_unsafe=retry_unsafe, max_connections=max_connections)

    def probe(self, client: ImageClient) -> KeyProbe:
        """Asks for a task that does not exist: "no such task" is an answer given only to an accepted key."""
        status, code, message, seconds = client.probe_key()
        return KeyProbe(status, code, message, seconds, rejected=BigModelClient.is_auth_rejection(status, code),
                        accepted_text="ping_accepted_not_found" if status == 404 else "ping_accepted")


BIGMODEL = BigModelBackend()


_WATERMARK_WORDS = ("watermark", "水印", "免责", "disclaimer")


def _about_watermark(failure: RefusedFailure) -> bool:
    """A refusal of a no-watermark request that names the watermark or the disclaimer."""
    message = (failure.upstream_message or "").lower()
    return any(word in message for word in _WATERMARK_WORDS)


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """(business code, message, request id) from an error body; tolerant of odd shapes."""
    try:
        body = safejson.loads(response.content)
    except ValueError:
        text = response.text.strip()[:200] or None
        return None, text, None
    if not isinstance(body, dict):
        return None, None, None
    error = body.get("error")
    code = message = None
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
    elif isinstance(error, str):
        message = error
    code = str(code) if code not in (None, "") else None
    message = str(message)[:300] if message else None
    request_id = body.get("request_id") or body.get("id")
    return code, message, str(request_id) if request_id else None
