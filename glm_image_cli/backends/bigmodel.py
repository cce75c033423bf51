"""The BigModel / Z.ai images API over httpx: requests, retries that never double-charge, polling, download.

Retry rules (see README "Retries and money"):
- nothing reached the upstream (connect failure, refused connection): retry with back-off;
- the upstream said "not now" (429 with 1302/1303/1305/1312, 503, business code 500): retry,
  honouring Retry-After;
- the request may have been processed (read timeout, connection dropped after sending, 502/504):
  never retried unless the caller opted in with ``retry_unsafe``; the error says which case it was;
- everything else (bad key, balance, content refusal, bad parameters) is final.
"""

from __future__ import annotations

import base64
import email.utils
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from glm_image_cli import __version__
from glm_image_cli.backends.imagebytes import sniff_image_format
from glm_image_cli.backends.models import MODELS
from glm_image_cli.backends.regions import HOME_URLS
from glm_image_cli.errors import (
    AuthFailure,
    ConcurrencyRefused,
    ContentBlocked,
    NetworkFailure,
    QuotaFailure,
    RateLimited,
    RefusedFailure,
    UpstreamFailure,
)
from glm_image_cli.messages import Text

ProgressCallback = Callable[[str, Mapping[str, Any]], None]
MAX_IMAGE_BYTES = 64 * 1024 * 1024
RATE_LIMIT_CODES = frozenset({"1302", "1303", "1305", "1312"})
CONCURRENCY_CODE = "1302"  # without Retry-After: the account's concurrent calls for the model are all in use
AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
ACCOUNT_CODES = frozenset({"1110", "1111", "1112", "1121"})
QUOTA_CODES = {"1113": "balance_exhausted", "1304": "daily_quota"}
CONTENT_CODES = frozenset({"1300", "1301"})
PERMISSION_CODES = frozenset({"1220", "1221", "1222"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.  Waits grow exponentially with jitter and are capped."""

    connect_attempts: int = 3
    rate_limit_attempts: int = 6
    server_error_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter exponential back-off for the given 1-based attempt."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + rng() * ceiling / 2


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


DEFAULT_RETRY = RetryPolicy()
DEFAULT_POLLING = PollingPolicy()


@dataclass(frozen=True)
class ImageRequest:
    model: str
    prompt: str
    size: str | None = None
    quality: str | None = None
    watermark: bool = True
    user_id: str | None = None
    images: tuple[str, ...] = ()  # an edit (openai backend): the source images' paths, sent as multipart
    mask: str | None = None

    def body(self) -> dict[str, Any]:
        """Only documented fields are sent; unset ones are left to the upstream's defaults."""
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt}
        if self.size:
            body["size"] = self.size
        if self.quality:
            body["quality"] = self.quality
        if not self.watermark:
            body["watermark_enabled"] = False
        if self.user_id:
            body["user_id"] = self.user_id
        return body


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


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _no_progress(event: str, info: Mapping[str, Any]) -> None:
    """Default progress callback: ignore."""


class BigModelClient:
    """One httpx client per run; thread-safe, so n images can be requested at once."""

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
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._region = region
        self._retry_unsafe = retry_unsafe
        self._retry = retry or DEFAULT_RETRY
        self._polling = polling or DEFAULT_POLLING
        self._sleep = sleep
        # -v/--verbose (None: as the CLI invocation says): every exchange traced on stderr, the key masked.
        from glm_image_cli.backends.httptrace import VERBOSE, HttpTrace

        self._trace = HttpTrace(self._base_url) if (VERBOSE.get() if verbose is None else verbose) else None
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0, write=30.0, pool=None),
            headers={
                "User-Agent": f"glm-image/{__version__}",
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5" if lang == "zh" else "en-US,en;q=0.9",
            },
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
            trust_env=True,
            event_hooks=self._trace.hooks() if self._trace is not None else None,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BigModelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public ---------------------------------------------------------------------------------

    def generate(self, request: ImageRequest, progress: ProgressCallback = _no_progress) -> ImageResult:
        """Make one image and return its bytes (downloaded at once: upstream URLs are temporary)."""
        return self.fetch(self.request_image(request, progress), progress)

    def request_image(self, request: ImageRequest, progress: ProgressCallback = _no_progress) -> GeneratedImage:
        """The billable part: ask the upstream for one image (submitting and polling async models)."""
        if request.images:  # the hosted API has no edits: never sent (the edit command refuses this earlier)
            from glm_image_cli.errors import UsageError

            raise UsageError("edit_unsupported")
        spec = MODELS.get(request.model)
        if self._trace is not None:
            progress = self._trace.progress(progress)  # retry decisions join the -v trace
        progress("requesting", {})
        if spec is not None and spec.asynchronous:
            submitted = self._post_once("/async/images/generations", request, progress)
            task_id = submitted.get("id")
            if not isinstance(task_id, str) or not task_id:
                raise UpstreamFailure("bad_response", detail="no task id", request_id=submitted.get("request_id"))
            payload = self._poll(task_id, submitted, progress)
            return _generated_from(payload, payload.get("image_result"), task_id)
        payload = self._post_once("/images/generations", request, progress)
        return _generated_from(payload, payload.get("data"), None)

    def chat_completion(self, body: dict[str, Any], progress: ProgressCallback = _no_progress) -> dict[str, Any]:
        """One chat call (``/chat/completions``, OpenAI-compatible) under the same rules as an image: a call that
        may have been processed is never sent again blindly; rate limits are honoured."""
        if self._trace is not None:
            progress = self._trace.progress(progress)
        attempt = 0
        while True:
            try:
                return self._send("POST", "/chat/completions", progress, json=body, model=body.get("model"))
            except ConcurrencyRefused:  # not processed: safe to send again after a pause
                attempt += 1
                if attempt >= self._retry.rate_limit_attempts:
                    raise
                self._sleep(self._retry.backoff(attempt))

    def fetch(self, generated: GeneratedImage, progress: ProgressCallback = _no_progress) -> ImageResult:
        """Get the image's bytes in memory (decode base64 or download the URL) and check they are an image."""
        parts: list[bytes] = []
        self.stream_image(generated, parts.append, parts.clear, progress)
        data = b"".join(parts)
        parts.clear()
        sniffed = sniff_image_format(data)
        assert sniffed is not None  # stream_image checked the magic number
        return ImageResult(data=data, format=sniffed[0], extension=sniffed[1], url=generated.url,
                           request_id=generated.request_id, task_id=generated.task_id, created=generated.created,
                           content_filter=generated.content_filter)

    def stream_image(self, generated: GeneratedImage, write: Callable[[bytes], None], restart: Callable[[], None],
                     progress: ProgressCallback = _no_progress) -> tuple[str, str]:
        """Pass the image's bytes to ``write`` as they arrive, never holding the whole image; returns its
        (format, extension).  The magic number is checked from the first bytes and the size cap as it
        streams; a download retried after a broken connection calls ``restart`` first."""
        if generated.inline_data is not None:
            sniffed = _sniffed_or_fail(generated.inline_data, generated.request_id)
            write(generated.inline_data)
            return sniffed
        progress("downloading", {})
        url = str(generated.url)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._stream(url, generated.request_id, write)
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
                permanent = status is not None and status < 500 and status != 429
                if attempt >= self._retry.server_error_attempts or permanent:
                    raise UpstreamFailure("download_failed", request_id=generated.request_id, url=url,
                                          detail=_exception_text(exc)) from None
                restart()
                self._sleep(self._retry.backoff(attempt))

    def _stream(self, url: str, request_id: str | None, write: Callable[[bytes], None]) -> tuple[str, str]:
        """One download of the temporary image URL, without our Authorization header (it is another host)."""
        with self._http.stream("GET", url, follow_redirects=True) as response:
            response.raise_for_status()
            head, sniffed, total = b"", None, 0
            for chunk in response.iter_bytes(64 * 1024):
                total += len(chunk)
                if total > MAX_IMAGE_BYTES:
                    raise UpstreamFailure("download_failed", request_id=request_id, url=url,
                                          detail="larger than 64 MiB")
                if sniffed is None:
                    head += chunk
                    if len(head) < _SNIFF_BYTES:
                        continue
                    sniffed, chunk, head = _sniffed_or_fail(head, request_id), head, b""
                write(chunk)
            if sniffed is None:  # the whole answer is shorter than the sniffing window
                sniffed = _sniffed_or_fail(head, request_id)
                write(head)
            return sniffed

    def _poll(self, task_id: str, submitted: Mapping[str, Any], progress: ProgressCallback) -> dict[str, Any]:
        policy = self._polling
        deadline = time.monotonic() + policy.max_wait
        status = str(submitted.get("task_status") or "PROCESSING")
        delays = policy.delays()
        while True:
            progress("processing", {"task_status": status, "task_id": task_id})
            delay = next(delays)
            if time.monotonic() + delay > deadline:
                raise UpstreamFailure("async_timeout", task_id=task_id, seconds=int(policy.max_wait))
            self._sleep(delay)
            payload = self._get_json(f"/async-result/{task_id}", progress)
            status = str(payload.get("task_status") or "")
            if status == "SUCCESS":
                return payload
            if status == "FAIL":
                raise UpstreamFailure(
                    "async_task_failed",
                    task_id=task_id,
                    detail=str(payload.get("error") or payload.get("message") or "FAIL"),
                    request_id=payload.get("request_id"),
                )
            status = status or "PROCESSING"  # unknown status: keep polling

    def probe_key(self) -> tuple[int, str | None, str | None, float]:
        """Check the key without making an image: ask for the result of a task that does not exist.

        The upstream authenticates first (a bad key gets 401 / 1000-1004) and only then looks the task
        up, so any other answer means the key was accepted.  Returns (HTTP status, business code,
        message, seconds).  One attempt, no retries: this is a diagnosis.
        """
        import uuid

        started = time.monotonic()
        try:
            response = self._http.get(f"{self._base_url}/async-result/glm-image-ping-{uuid.uuid4().hex}",
                                      headers=self._auth(), timeout=15.0)
        except httpx.TransportError as exc:
            raise NetworkFailure("network_unreachable", host=self._host(), attempts=1,
                                 detail=_exception_text(exc)) from None
        code, message, _ = _error_fields(response) if not response.is_success else (None, None, None)
        return response.status_code, code, message, time.monotonic() - started

    @staticmethod
    def is_auth_rejection(status: int, code: str | None) -> bool:
        return code in AUTH_CODES or (status == 401 and not code)

    # -- HTTP with the retry rules ----------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def _post_once(self, path: str, request: ImageRequest, progress: ProgressCallback) -> dict[str, Any]:
        """POST a billable request: retried only when the upstream cannot have processed it."""
        try:
            return self._send("POST", path, progress, json=request.body(), model=request.model)
        except RefusedFailure as failure:
            if not request.watermark and _about_watermark(failure):
                raise RefusedFailure("watermark_refused", status=failure.status, upstream_code=failure.upstream_code,
                                     upstream_message=failure.upstream_message, request_id=failure.request_id,
                                     console_url=HOME_URLS.get(self._region, HOME_URLS["cn"])) from None
            raise

    def _get_json(self, path: str, progress: ProgressCallback) -> dict[str, Any]:
        """GET is idempotent: any transient failure is retried."""
        return self._send("GET", path, progress)

    def _send(self, method: str, path: str, progress: ProgressCallback, **kwargs: Any) -> dict[str, Any]:
        model = kwargs.pop("model", None)
        idempotent = method == "GET"
        counts = {"connect": 0, "rate": 0, "server": 0}
        while True:
            try:
                response = self._http.request(method, self._base_url + path, headers=self._auth(), **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this machine: safe to repeat.
                self._wait_or_raise(counts, "connect", self._retry.connect_attempts, None, exc, progress)
                continue
            except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
                if idempotent or self._retry_unsafe:
                    self._wait_or_raise(counts, "server", self._retry.server_error_attempts, None, exc, progress)
                    continue
                raise NetworkFailure("response_timeout_maybe_charged", timeout=f"{self._timeout:g}") from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if idempotent or self._retry_unsafe:
                    self._wait_or_raise(counts, "server", self._retry.server_error_attempts, None, exc, progress)
                    continue
                raise NetworkFailure("response_lost_maybe_charged", detail=_exception_text(exc)) from None
            except httpx.TransportError as exc:
                raise NetworkFailure("network_unreachable", host=self._host(), attempts=1,
                                     detail=_exception_text(exc)) from None
            if response.is_success:
                return self._json(response)
            failure = self._failure_from(response, model)
            if isinstance(failure, ConcurrencyRefused) and not idempotent:
                raise failure  # not billed: the runner lowers its ceiling and sends the image again
            kind = self._retry_kind(response, failure, idempotent)
            if kind is None or response.headers.get("x-should-retry", "").lower() == "false":
                raise failure
            limit = self._retry.rate_limit_attempts if kind == "rate" else self._retry.server_error_attempts
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self._wait_or_raise(counts, kind, limit, retry_after, failure, progress)

    def _retry_kind(self, response: httpx.Response, failure: UpstreamFailure, idempotent: bool) -> str | None:
        status, code = response.status_code, failure.upstream_code
        if isinstance(failure, RateLimited):
            return "rate"
        if status == 503 or code == "500" or (status == 500 and code in (None, "")):
            return "server"
        if status in (502, 504) and (idempotent or self._retry_unsafe):
            return "server"
        return None

    def _wait_or_raise(
        self,
        counts: dict[str, int],
        kind: str,
        limit: int,
        retry_after: float | None,
        cause: Exception,
        progress: ProgressCallback,
    ) -> None:
        counts[kind] += 1
        attempt = counts[kind]
        if attempt >= limit:
            raise self._final_failure(kind, attempt, cause)
        delay = retry_after if retry_after is not None else self._retry.backoff(attempt)
        delay = min(delay, self._retry.max_retry_after)
        reason_id = {"connect": "reason_connect", "rate": "reason_rate_limited"}.get(kind, "reason_server_error")
        detail = cause.params.get("detail") if isinstance(cause, UpstreamFailure) else _exception_text(cause)
        reason = Text(reason_id, detail=detail)
        progress("retrying", {"seconds": delay, "attempt": attempt + 1, "max_attempts": limit, "reason": reason,
                              "kind": kind})
        self._sleep(delay)

    def _final_failure(self, kind: str, attempts: int, cause: Exception) -> Exception:
        if kind == "connect":
            return NetworkFailure("network_unreachable", host=self._host(), attempts=attempts,
                                  detail=_exception_text(cause))
        if isinstance(cause, RateLimited):
            return RateLimited(
                "rate_limited",
                attempts=attempts,
                status=cause.status,
                upstream_code=cause.upstream_code,
                upstream_message=cause.upstream_message,
                request_id=cause.request_id,
            )
        if isinstance(cause, UpstreamFailure):
            return cause
        return NetworkFailure("response_lost_maybe_charged", detail=_exception_text(cause))

    def _failure_from(self, response: httpx.Response, model: str | None) -> UpstreamFailure:
        """Map an error answer to the exception that says what it means for the user."""
        status = response.status_code
        code, message, request_id = _error_fields(response)
        common: dict[str, Any] = {
            "status": status,
            "upstream_code": code,
            "upstream_message": message,
            "request_id": request_id,
        }
        console = HOME_URLS.get(self._region, HOME_URLS["cn"])
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

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise UpstreamFailure("bad_response", detail=f"HTTP {response.status_code}, not a JSON object")
        return payload

    def _host(self) -> str:
        return urlsplit(self._base_url).netloc or self._base_url


_SNIFF_BYTES = 16  # enough for every magic number we know (WebP needs 12)


def _sniffed_or_fail(head: bytes, request_id: str | None) -> tuple[str, str]:
    sniffed = sniff_image_format(head)
    if sniffed is None:
        raise UpstreamFailure("bad_response", detail="the bytes are not an image", request_id=request_id)
    return sniffed


def _generated_from(payload: Mapping[str, Any], items: Any, task_id: str | None) -> GeneratedImage:
    """Read the first image of a (sync or async) answer; anything unexpected is a clear error."""
    request_id = payload.get("request_id") or payload.get("id")
    request_id = request_id if isinstance(request_id, str) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise UpstreamFailure("bad_response", detail="no image in the answer", request_id=request_id)
    item = items[0]
    url = item.get("url") if isinstance(item.get("url"), str) and item.get("url") else None
    inline = None
    if item.get("b64_json"):
        try:
            inline = base64.b64decode(item["b64_json"], validate=True)
        except (ValueError, TypeError):
            raise UpstreamFailure("bad_response", detail="invalid base64", request_id=request_id) from None
    elif url is None:
        raise UpstreamFailure("bad_response", detail="no url or b64_json", request_id=request_id)
    content_filter = payload.get("content_filter")
    created = payload.get("created")
    return GeneratedImage(url=url, inline_data=inline, request_id=request_id, task_id=task_id,
                          created=created if isinstance(created, int) else None,
                          content_filter=content_filter if isinstance(content_filter, list) else [])


_WATERMARK_WORDS = ("watermark", "水印", "免责", "disclaimer")


def _about_watermark(failure: RefusedFailure) -> bool:
    """A refusal of a no-watermark request that names the watermark or the disclaimer."""
    message = (failure.upstream_message or "").lower()
    return any(word in message for word in _WATERMARK_WORDS)


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """(business code, message, request id) from an error body; tolerant of odd shapes."""
    try:
        body = response.json()
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


def _exception_text(exc: BaseException) -> str:
    """A short description of a transport error (never includes headers, so never the key)."""
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
