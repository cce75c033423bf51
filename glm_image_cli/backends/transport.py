"""The HTTP transport every backend's client is built on: one httpx client, the retry rules that never
double-charge, and the download of an image.  What an error answer means is the backend's (``ErrorRules``).

Retry rules (see README "Retries and money"):
- nothing reached the upstream (connect failure, refused connection): retry with back-off;
- the upstream said "not now" (the backend's rules say which answers: 429, 503 ...): retry, honouring
  Retry-After;
- the request may have been processed (read timeout, connection dropped after sending, 502/504):
  never retried unless the caller opted in with ``retry_unsafe``; the error says which case it was.
  With ``retry_unsafe``, each such attempt is reported before the request goes again (the ``resending``
  progress event), so the caller records it as maybe billed and may refuse the resend (a budget);
  the final error counts the attempts;
- everything else (bad key, balance, content refusal, bad parameters) is final.
"""

from __future__ import annotations

import base64
import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

import httpx

from glm_image_cli import __version__
from glm_image_cli.backends.base import GeneratedImage, ImageResult, ProgressCallback, no_progress
from glm_image_cli.backends.imagebytes import sniff_image_format
from glm_image_cli.errors import (
    BudgetExceeded,
    ConcurrencyRefused,
    GlmImageError,
    NetworkFailure,
    RateLimited,
    UpstreamFailure,
)
from glm_image_cli.messages import Text

MAX_IMAGE_BYTES = 64 * 1024 * 1024
_SNIFF_BYTES = 16  # enough for every magic number we know (WebP needs 12)


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


DEFAULT_RETRY = RetryPolicy()


class ErrorRules(Protocol):
    """A backend's reading of error answers: what each means, and which may be sent again."""

    service: Text | None  # {service} in failure messages ("the image server"); None: the messages' default

    def failure_from(self, response: httpx.Response, model: str | None) -> UpstreamFailure:
        """Map an error answer to the exception that says what it means for the user."""
        ...

    def retry_kind(self, response: httpx.Response, failure: UpstreamFailure, idempotent: bool,
                   retry_unsafe: bool) -> str | None:
        """"rate" or "server" when the answer may be retried (nothing was made), None when it is final."""
        ...


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


class HttpTransport:
    """One httpx client per run; thread-safe, so n images can be requested at once."""

    def __init__(self, api_key: str, base_url: str, rules: ErrorRules, *, timeout: float = 120.0,
                 lang: str = "en", retry_unsafe: bool = False, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_connections: int = 16,
                 verbose: bool | None = None) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.rules = rules
        self.timeout = timeout
        self.retry_unsafe = retry_unsafe
        self.retry = retry or DEFAULT_RETRY
        self.sleep = sleep
        # -v/--verbose (None: as the CLI invocation says): every exchange traced on stderr, the key masked.
        from glm_image_cli.backends.httptrace import VERBOSE, HttpTrace

        self._trace = HttpTrace(self.base_url) if (VERBOSE.get() if verbose is None else verbose) else None
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

    def traced(self, progress: ProgressCallback) -> ProgressCallback:
        """``progress`` with the retry decisions joining the -v trace, when there is one."""
        return self._trace.progress(progress) if self._trace is not None else progress

    def host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    # -- API calls with the retry rules ---------------------------------------------------------------------

    def send(self, method: str, path: str, progress: ProgressCallback, *, model: str | None = None,
             **kwargs: Any) -> dict[str, Any]:
        """One API call, retried only where the rules allow; the answer's JSON object."""
        try:
            return self._send(method, path, progress, model, **kwargs)
        except UpstreamFailure as failure:
            if self.rules.service is not None:
                failure.params["service"] = self.rules.service
            raise

    def send_until_admitted(self, method: str, path: str, progress: ProgressCallback, *, model: str | None = None,
                            **kwargs: Any) -> dict[str, Any]:
        """``send``, sent again after a pause while the account's concurrency is full (not processed, not billed)."""
        attempt = 0
        while True:
            try:
                return self.send(method, path, progress, model=model, **kwargs)
            except ConcurrencyRefused:
                attempt += 1
                if attempt >= self.retry.rate_limit_attempts:
                    raise
                self.sleep(self.retry.backoff(attempt))

    def get_once(self, path: str, timeout: float = 15.0) -> httpx.Response:
        """One GET with the key and no retries (a diagnosis, a listing); unreachable is a NetworkFailure."""
        try:
            return self._http.get(f"{self.base_url}{path}", headers=self._auth(), timeout=timeout)
        except httpx.TransportError as exc:
            raise NetworkFailure("network_unreachable", host=self.host(), attempts=1,
                                 detail=exception_text(exc)) from None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def _send(self, method: str, path: str, progress: ProgressCallback, model: str | None,
              **kwargs: Any) -> dict[str, Any]:
        idempotent = method == "GET"
        counts = {"connect": 0, "rate": 0, "server": 0}
        while True:
            try:
                response, payload = self._exchange(method, path, kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this machine: safe to repeat.
                self._wait_or_raise(counts, "connect", self.retry.connect_attempts, None, exc, progress)
                continue
            except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
                if idempotent or self.retry_unsafe:
                    self._wait_or_raise(counts, "server", self.retry.server_error_attempts, None, exc, progress,
                                        maybe_billed=not idempotent)
                    continue
                raise NetworkFailure("response_timeout_maybe_charged", timeout=f"{self.timeout:g}") from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if idempotent or self.retry_unsafe:
                    self._wait_or_raise(counts, "server", self.retry.server_error_attempts, None, exc, progress,
                                        maybe_billed=not idempotent)
                    continue
                raise NetworkFailure("response_lost_maybe_charged", detail=exception_text(exc)) from None
            except httpx.TransportError as exc:
                raise NetworkFailure("network_unreachable", host=self.host(), attempts=1,
                                     detail=exception_text(exc)) from None
            if response.is_success:
                if not isinstance(payload, dict):
                    raise UpstreamFailure("bad_response", detail=f"HTTP {response.status_code}, not a JSON object")
                return payload
            failure = self.rules.failure_from(response, model)
            if isinstance(failure, ConcurrencyRefused) and not idempotent:
                raise failure  # not billed: the runner lowers its ceiling and sends the image again
            kind = self.rules.retry_kind(response, failure, idempotent, self.retry_unsafe)
            if kind is None or response.headers.get("x-should-retry", "").lower() == "false":
                raise failure
            limit = self.retry.rate_limit_attempts if kind == "rate" else self.retry.server_error_attempts
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self._wait_or_raise(counts, kind, limit, retry_after, failure, progress,
                                maybe_billed=not idempotent and failure.maybe_billed)

    def _exchange(self, method: str, path: str, kwargs: Mapping[str, Any]) -> tuple[httpx.Response, Any]:
        """One request and its whole answer: a success's JSON read as it arrives, an inline image decoded on the
        way (inlinejson.py: never the whole base64 and its copies in memory); (response, None) for an error
        answer (its body read for the error rules) or a success that is not JSON."""
        from glm_image_cli.backends.inlinejson import InlineImageReader

        request = self._http.build_request(method, self.base_url + path, headers=self._auth(), **kwargs)
        response = self._http.send(request, stream=True)
        try:
            if not response.is_success:
                response.read()
                return response, None
            reader = InlineImageReader()
            for piece in response.iter_bytes(256 * 1024):
                reader.feed(piece)
            return response, reader.result()
        except ValueError:  # not JSON, invalid base64, too large: the answer is unusable (see _send)
            return response, None
        finally:
            response.close()

    def _wait_or_raise(self, counts: dict[str, int], kind: str, limit: int, retry_after: float | None,
                       cause: Exception, progress: ProgressCallback, *, maybe_billed: bool = False) -> None:
        """Wait before the next attempt, or raise the final failure.  An attempt that may have been billed
        (--retry-unsafe) is reported first (``resending``), so the caller records it before the request goes
        again; a caller that refuses (a GlmImageError: over budget) stops the resends there."""
        counts[kind] += 1
        attempt = counts[kind]
        if maybe_billed:
            if attempt >= limit:
                raise self._lost_failure(cause, attempt)
            try:
                progress("resending", {"attempt": attempt + 1, "max_attempts": limit})
            except GlmImageError as refusal:
                raise self._lost_failure(cause, attempt, refusal) from None
        elif attempt >= limit:
            raise self._final_failure(kind, attempt, cause)
        delay = retry_after if retry_after is not None else self.retry.backoff(attempt)
        delay = min(delay, self.retry.max_retry_after)
        reason_id = {"connect": "reason_connect", "rate": "reason_rate_limited"}.get(kind, "reason_server_error")
        detail = cause.params.get("detail") if isinstance(cause, UpstreamFailure) else exception_text(cause)
        reason = Text(reason_id, detail=detail)
        progress("retrying", {"seconds": delay, "attempt": attempt + 1, "max_attempts": limit, "reason": reason,
                              "kind": kind})
        self.sleep(delay)

    def _lost_failure(self, cause: Exception, attempts: int, refusal: GlmImageError | None = None) -> UpstreamFailure:
        """The last of ``attempts`` sent with --retry-unsafe whose answers were lost (each may have been billed):
        why no more were sent (all attempts made, or ``refusal``: the caller would not pay for another)."""
        stopped: Text | str = ""
        if isinstance(refusal, BudgetExceeded):
            stopped = Text("retry_stopped_budget", key=refusal.params.get("key", "budget-daily"))
        elif refusal is not None:
            stopped = Text("retry_stopped", reason=Text(refusal.message_id, **refusal.params))
        if isinstance(cause, UpstreamFailure):  # a gateway's 502/504
            return NetworkFailure("gateway_maybe_charged_retried", status=cause.status,
                                  upstream_code=cause.upstream_code, upstream_message=cause.upstream_message,
                                  request_id=cause.request_id, attempts=attempts, stopped=stopped)
        if isinstance(cause, httpx.TimeoutException):
            return NetworkFailure("response_timeout_retried", timeout=f"{self.timeout:g}", attempts=attempts,
                                  stopped=stopped)
        return NetworkFailure("response_lost_retried", detail=exception_text(cause), attempts=attempts,
                              stopped=stopped)

    def _final_failure(self, kind: str, attempts: int, cause: Exception) -> Exception:
        if kind == "connect":
            return NetworkFailure("network_unreachable", host=self.host(), attempts=attempts,
                                  detail=exception_text(cause))
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
        return NetworkFailure("response_lost_maybe_charged", detail=exception_text(cause))

    # -- the image's bytes ------------------------------------------------------------------------------------

    def fetch(self, generated: GeneratedImage, progress: ProgressCallback = no_progress) -> ImageResult:
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
                     progress: ProgressCallback = no_progress) -> tuple[str, str]:
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
                if attempt >= self.retry.server_error_attempts or permanent:
                    raise UpstreamFailure("download_failed", request_id=generated.request_id, url=url,
                                          detail=exception_text(exc)) from None
                restart()
                self.sleep(self.retry.backoff(attempt))

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


def _sniffed_or_fail(head: bytes, request_id: str | None) -> tuple[str, str]:
    sniffed = sniff_image_format(head)
    if sniffed is None:
        raise UpstreamFailure("bad_response", detail="the bytes are not an image", request_id=request_id)
    return sniffed


def generated_from(payload: Mapping[str, Any], items: Any, task_id: str | None) -> GeneratedImage:
    """Read the first image of a (sync or async) answer; anything unexpected is a clear error."""
    request_id = payload.get("request_id") or payload.get("id")
    request_id = request_id if isinstance(request_id, str) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise UpstreamFailure("bad_response", detail="no image in the answer", request_id=request_id)
    item = items[0]
    url = item.get("url") if isinstance(item.get("url"), str) and item.get("url") else None
    inline = None
    if isinstance(item.get("b64_json"), (bytes, bytearray)) and item["b64_json"]:  # decoded as it was read
        inline = item["b64_json"]
    elif item.get("b64_json"):
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


def exception_text(exc: BaseException) -> str:
    """A short description of a transport error (never includes headers, so never the key)."""
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class OverTransport:
    """What every client built on an HttpTransport shares: its lifetime (``close``, ``with``), the chat call
    (--enhance, OpenAI-compatible on both backends) and getting an image's bytes."""

    _transport: HttpTransport

    def chat_completion(self, body: dict[str, Any], progress: ProgressCallback = no_progress) -> dict[str, Any]:
        """One ``POST {base}/chat/completions`` under the same money rules as an image: a call that may have been
        processed is never sent again blindly; rate limits are honoured."""
        return self._transport.send_until_admitted("POST", "/chat/completions", self._transport.traced(progress),
                                                   json=body, model=body.get("model"))

    def fetch(self, generated: GeneratedImage, progress: ProgressCallback = no_progress) -> ImageResult:
        """The image's bytes in memory (base64 decoded, or the URL downloaded), checked to be an image."""
        return self._transport.fetch(generated, progress)

    def stream_image(self, generated: GeneratedImage, write: Callable[[bytes], None], restart: Callable[[], None],
                     progress: ProgressCallback = no_progress) -> tuple[str, str]:
        """Pass the image's bytes to ``write`` as they arrive (HttpTransport.stream_image)."""
        return self._transport.stream_image(generated, write, restart, progress)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
