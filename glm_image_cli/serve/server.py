"""`glm-image serve`: a small, hardened HTTP service on the standard library's http.server.

Endpoints: GET /ping and POST /txt2img (compatible with the original skill's Flask server),
POST /v1/images/generations, POST /v1/images/edits (multipart; the ``openai`` backend only) and GET /v1/models
(compatible with OpenAI clients).

Hardening: optional bearer token (constant-time compare) with a per-client lockout after repeated wrong
tokens (429), a body cap (413), one deadline for reading a whole request (a slow client cannot hold a
thread by trickling bytes), a cap on open connections (excess gets 503 at once from the accepting thread,
with a small reserve kept for /ping), a cap on concurrent upstream calls (excess gets 503 + Retry-After at
once), a per-client token bucket (429), JSON answers even to malformed request lines, an access log with
control characters escaped, honest status codes, and `x-should-retry: false` where a client-side retry
could pay twice.  The upstream key never appears in a response or a log line.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import io
import ipaddress
import json
import math
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli import __version__
from glm_image_cli.backends import models
from glm_image_cli.errors import (
    AuthFailure,
    BudgetExceeded,
    ContentBlocked,
    GlmImageError,
    NetworkFailure,
    QuotaFailure,
    RateLimited,
    RefusedFailure,
    UpstreamFailure,
    UsageError,
)
from glm_image_cli.messages import render, using_language

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient, GeneratedImage, ImageResult
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.saving import ImageSaver

PING_BODY = {"status": "ok", "message": "GLM Image API 服务正常运行"}
OPENAI_MODEL_ALIASES = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini"})
MAX_SIDE = 8192  # anything larger is rejected before it reaches the size rules


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 5001
    token: str | None = None
    max_body: int = 64 * 1024
    max_edit_body: int = 32 * 1024 * 1024  # POST /v1/images/edits: multipart with the images (never below max_body)
    max_concurrent: int = 8
    rate_per_minute: float = 60.0
    burst: int = 10
    read_timeout: float = 10.0  # seconds to send a whole request (line, headers and body), not per read
    max_samples: int = 4
    max_connections: int = 256  # open client connections; more are answered 503 at once, without a thread
    ping_reserve: int = 4  # extra connections beyond max_connections, served for GET /ping only
    auth_failures: int = 5  # wrong tokens per client within auth_window before it gets 429 ...
    auth_window: float = 60.0  # ... until its oldest failure is this many seconds old
    shutdown_grace: float = 60.0
    quiet: bool = False


class ApiError(Exception):
    """An HTTP error answer: status, stable code, message, and whether a client may retry."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.retryable = retryable


def api_error_from(error: GlmImageError) -> ApiError:
    """Map a library failure to an honest status (README, "serve")."""
    message = str(error)
    if isinstance(error, BudgetExceeded):  # refused before sending: over the daily or monthly budget
        return ApiError(402, error.code, message)
    if isinstance(error, UsageError):
        return ApiError(400, error.code, message)
    if isinstance(error, RateLimited):
        return ApiError(429, error.code, message, retry_after=30, retryable=True)
    if isinstance(error, NetworkFailure):
        if not error.sent:
            return ApiError(502, error.code, message, retryable=True)  # nothing was sent
        return ApiError(504, error.code, message)  # the answer was lost: a retry could pay twice
    if isinstance(error, (AuthFailure, RefusedFailure, ContentBlocked, QuotaFailure, UpstreamFailure)):
        return ApiError(502, error.code, message)
    return ApiError(500, error.code, message)


class TokenBucket:
    """Per-client rate limit: ``rate`` requests per minute with bursts of ``burst``."""

    def __init__(self, rate_per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(max(1, burst))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds until the client may try again."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > 10_000:  # forget idle clients; memory stays bounded
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate


class AuthFailures:
    """Per-client count of wrong tokens: after ``limit`` within ``window`` seconds, the client is locked
    out (429) until the oldest of them is ``window`` seconds old.  Memory stays bounded."""

    MAX_CLIENTS = 10_000

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is not None:
            while times and now - times[0] >= self.window:
                times.popleft()
            if not times:
                del self._failures[client]
                return None
        return times

    def wait(self, client: str) -> float:
        """0 when the client may try a token, else the seconds until it may."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None or len(times) < self.limit:
                return 0.0
            return max(0.001, self.window - (now - times[0]))

    def failed(self, client: str) -> None:
        if self.limit <= 0:
            return
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None:
                if len(self._failures) >= self.MAX_CLIENTS:  # forget clients whose failures have aged out
                    for other in list(self._failures):
                        self._recent(other, now)
                    if len(self._failures) >= self.MAX_CLIENTS:
                        self._failures.pop(next(iter(self._failures)))
                times = self._failures[client] = deque(maxlen=self.limit)
            times.append(now)


class Slots:
    """A non-blocking counter of upstream calls in flight: when full, say so at once (503)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._lock = threading.Lock()

    def try_acquire(self, count: int) -> bool:
        with self._lock:
            if self.used + count > self.capacity:
                return False
            self.used += count
            return True

    def release(self, count: int) -> None:
        with self._lock:
            self.used -= count


@dataclass
class ImageJob:
    prompt: str
    negative: str | None
    size: str | None
    model: str | None
    style: str | None
    quality: str | None
    samples: int
    want_bytes: bool
    enhance: bool | None = None  # "enhance": true|false (None: the `enhance` setting)
    images: tuple[str, ...] = ()  # an edit: the uploaded source images (temporary files)
    mask: str | None = None


class ImageService:
    """The HTTP adapter's side of the library API: a validated job becomes a plan, the Studio makes it (budget,
    --enhance, runner, ledger), and the images made are answered.  One Studio for every request: one HTTP
    client, one limiter per model, one ledger.  ``slots`` caps the images in progress across requests."""

    def __init__(self, studio: Studio, options: ServeOptions, saver: ImageSaver | None = None) -> None:
        self.studio = studio
        self.options = options
        self.saver = saver
        self.slots = Slots(options.max_concurrent)

    def run(self, job: ImageJob) -> tuple[GenerationPlan, list[ImageOutcome]]:
        """Make the job's samples in parallel (within the cap); the images made, or the first failure."""
        from glm_image_cli.core.consent import always

        plan = self.studio.plan(job.prompt, model=job.model, size=job.size, quality=job.quality, style=job.style,
                                negative=job.negative, samples=job.samples, images=job.images, mask=job.mask)
        if not self.slots.try_acquire(plan.samples):
            raise ApiError(503, "SATURATED", render("api_saturated"),
                           retry_after=2, retryable=True)
        try:
            # The operator who started serve agreed to its costs; budgets still hold (402).
            run = self.studio.generate(plan, enhance=job.enhance, consent=always,
                                       delivery=AnswerImages(job.want_bytes, self.saver))
        except GlmImageError as error:
            if getattr(error, "during", None) != "enhance":
                raise
            # A failed rewrite is answered like an image failure (429, 502, 504…), saying no image was requested.
            answer = api_error_from(error)
            answer.message = f"{render('enhance_failed', model=self.studio.settings.enhance_model)} {answer.message}"
            raise answer from None
        finally:
            self.slots.release(plan.samples)
        made = [outcome for outcome in run.outcomes if outcome.error is None]
        if not made:  # paid images are always answered; a failure only when nothing was made
            failure = run.first_error or run.halted_by
            raise failure or ApiError(500, "INTERNAL", render("api_internal", detail="no outcome"))
        return run.plans[0], made


@dataclass
class AnswerImages:
    """serve's delivery: keep what the HTTP answer needs (the bytes, or just the upstream URL), and save
    a copy with --save.  The bytes live until the answer is written, then go with the request."""

    want_bytes: bool
    saver: ImageSaver | None = None

    def __call__(self, unit: Any, generated: GeneratedImage, client: BigModelClient,
                 downloading: Callable[[], None]) -> ImageOutcome:
        from glm_image_cli.core.runner import ImageOutcome

        if not (self.want_bytes or self.saver is not None or generated.url is None):
            return ImageOutcome(unit, request_id=generated.request_id, content_filter=generated.content_filter,
                                url=generated.url)
        result = client.fetch(generated)
        path = self.saver.save(unit.plan, result, index=unit.index, sample=unit.sample) if self.saver else None
        return ImageOutcome(unit, path=path, request_id=result.request_id, content_filter=result.content_filter,
                            url=generated.url, payload=result)

    def failed(self, unit: Any, error: GlmImageError) -> None:
        if self.saver is not None:
            self.saver.failed(unit.plan, error)


# --- request parsing -----------------------------------------------------------------------------

def _text(body: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (value == "" and not required):
        if required:
            raise ApiError(400, "MISSING_FIELD", render("api_field_required", field=name))
        return None
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_FIELD", render("api_field_string", field=name))
    try:
        value.encode("utf-8")  # JSON's "\ud800" escape decodes to a lone surrogate, which no later step can encode
    except UnicodeEncodeError:
        raise ApiError(400, "INVALID_FIELD", render("api_field_surrogate", field=name)) from None
    if required and not value.strip():
        raise ApiError(400, "MISSING_FIELD", render("api_field_empty", field=name))
    return value


def _integer(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise ApiError(400, "INVALID_FIELD", render("api_field_integer", field=name))
    if not low <= value <= high:
        raise ApiError(400, "INVALID_FIELD", render("api_field_range", field=name, low=low, high=high))
    return int(value)


def _flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ApiError(400, "INVALID_FIELD", render("api_field_boolean", field=name))
    return value


def parse_txt2img(body: Mapping[str, Any], max_samples: int) -> ImageJob:
    """The original skill's body: prompt, negative_prompt, width, height, model, style, samples."""
    width = _integer(body, "width", 1, MAX_SIDE)
    height = _integer(body, "height", 1, MAX_SIDE)
    if (width is None) != (height is None):
        raise ApiError(400, "INVALID_FIELD", render("api_width_height"))
    return ImageJob(
        prompt=str(_text(body, "prompt", required=True)),
        negative=_text(body, "negative_prompt"),
        size=f"{width}x{height}" if width and height else None,
        model=_text(body, "model"),
        style=_text(body, "style"),
        quality=_text(body, "quality"),
        samples=_integer(body, "samples", 1, max_samples) or 1,
        want_bytes=True,
        enhance=_flag(body, "enhance"),
    )


def parse_openai(body: Mapping[str, Any], max_samples: int) -> ImageJob:
    """OpenAI's images API body; OpenAI model names map to the configured model."""
    response_format = _text(body, "response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise ApiError(400, "INVALID_FIELD", render("api_response_format"))
    size = _text(body, "size")
    model = _text(body, "model")
    style = _text(body, "style")
    quality = _text(body, "quality")
    return ImageJob(
        prompt=str(_text(body, "prompt", required=True)),
        negative=_text(body, "negative_prompt"),
        size=None if size in (None, "auto") else size,
        model=None if model in OPENAI_MODEL_ALIASES else model,
        style=None if style in ("vivid", "natural") else style,  # OpenAI's own style values
        quality={"hd": "hd", "high": "hd", "standard": "standard"}.get(quality or ""),
        samples=_integer(body, "n", 1, max_samples) or 1,
        want_bytes=response_format == "b64_json",
        enhance=_flag(body, "enhance"),
    )


# --- the HTTP server ------------------------------------------------------------------------------

RESERVE_DEADLINE = 2.0  # seconds a connection in the /ping reserve gets to send its request
REFUSED_RETRY_AFTER = 2


def printable(text: str) -> str:
    """``text`` safe for a log line: control and other non-printable characters, backslashes and double
    quotes escaped the way ``repr`` does (\\x1b, \\u2028), so a request cannot drive the terminal."""
    if text.isprintable() and "\\" not in text and '"' not in text:
        return text
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


class GlmImageHTTPServer(ThreadingHTTPServer):
    """Counts requests in flight so a shutdown can wait for them (bounded), and open connections so a flood
    of (slow) clients cannot make a thread each: past ``max_connections`` (plus a small /ping reserve) a new
    connection is answered 503 from the accepting thread and closed, without a thread of its own."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default listen backlog of 5 resets bursts of connecting clients

    def __init__(self, options: ServeOptions, service: ImageService, log: Callable[[str], None],
                 lang: str = "en") -> None:
        self.options = options
        self.lang = lang  # the serve command's language, for the request threads (they do not inherit it)
        self.service = service
        self.log = log
        self.limiter = TokenBucket(options.rate_per_minute, options.burst)
        self.auth_failures = AuthFailures(options.auth_failures, options.auth_window)
        self.in_flight = 0
        self._idle = threading.Condition()
        self.open_connections = 0
        self._connections = threading.Condition()
        self._reserved: set[int] = set()  # ids of accepted sockets in the /ping reserve
        self._lane = threading.local()
        self._full_logged = False
        if ":" in options.host:
            self.address_family = socket.AF_INET6
        super().__init__((options.host, options.port), _handler_class(options))

    # -- the connection cap ------------------------------------------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        """Runs on the accepting thread: admit the connection (a thread), or refuse it at once."""
        cap = max(1, self.options.max_connections)
        log_full = False
        with self._connections:
            admitted = self.open_connections < cap + max(0, self.options.ping_reserve)
            if admitted:
                self.open_connections += 1
                if self.open_connections > cap:
                    self._reserved.add(id(request))
                self._connections.notify_all()
            elif not self._full_logged:  # log the first refusal of a burst, not each one
                log_full = self._full_logged = True
        if not admitted:
            if log_full:
                self._log_line(render("serve_connections_full", lang=self.lang, limit=cap))
            self._refuse(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections:
            self._lane.reserved = id(request) in self._reserved
            self._reserved.discard(id(request))
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections:
                self.open_connections -= 1
                if self.open_connections < self.options.max_connections:
                    self._full_logged = False
                self._connections.notify_all()

    def in_reserve(self) -> bool:
        """True on a request thread whose connection is in the /ping reserve."""
        return bool(getattr(self._lane, "reserved", False))

    def wait_for_connections(self, predicate: Callable[[int], bool], timeout: float) -> bool:
        """Block until ``predicate(open_connections)`` holds (True) or ``timeout`` passes (False)."""
        with self._connections:
            return self._connections.wait_for(lambda: predicate(self.open_connections), timeout)

    def _refuse(self, request: socket.socket) -> None:
        """503 and close, never blocking the accepting thread: the answer fits an empty send buffer."""
        with using_language(self.lang):
            data = json.dumps({"error": {"code": "TOO_MANY_CONNECTIONS", "message": render("api_connections_full"),
                                         "type": "glm_image_error"}}, ensure_ascii=False).encode("utf-8")
        head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
                f"Content-Length: {len(data)}\r\nCache-Control: no-store\r\nRetry-After: {REFUSED_RETRY_AFTER}\r\n"
                "x-should-retry: true\r\nConnection: close\r\n\r\n").encode("ascii")
        with contextlib.suppress(OSError):  # BlockingIOError: nothing (more) has arrived
            request.setblocking(False)
            for _ in range(4):  # read what already arrived: unread data at close would make it a reset
                if not request.recv(65536):
                    break
        with contextlib.suppress(OSError):
            request.send(head + data)
        self.shutdown_request(request)

    def _log_line(self, line: str) -> None:
        if not self.options.quiet:
            self.log(line)

    def request_started(self) -> None:
        with self._idle:
            self.in_flight += 1

    def request_finished(self) -> None:
        with self._idle:
            self.in_flight -= 1
            self._idle.notify_all()

    def close_gracefully(self, grace: float) -> bool:
        """Stop accepting, then wait up to ``grace`` seconds for requests in flight; True if all finished."""
        self.socket.close()
        with self._idle:
            return self._idle.wait_for(lambda: self.in_flight == 0, timeout=grace)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _handler_class(options: ServeOptions) -> type[BaseHTTPRequestHandler]:
    class Handler(ApiHandler):
        timeout = options.read_timeout

    return Handler


class _DeadlineReader(io.RawIOBase):
    """The socket as the handler reads it: every read waits only for the time left until the request's
    deadline, so trickling one byte at a time does not restart a per-read timeout."""

    def __init__(self, handler: ApiHandler) -> None:
        super().__init__()
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._handler.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not sent in time")
        self._handler.connection.settimeout(remaining)
        return self._handler.connection.recv_into(buffer)


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"glm-image/{__version__}"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version  # no Python version, and no trailing space
    server: GlmImageHTTPServer
    deadline: float = math.inf
    _started: float = 0.0

    # -- plumbing -------------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # nothing read yet; reads go through the deadline instead
        self.rfile = io.BufferedReader(_DeadlineReader(self), 65536)

    def handle(self) -> None:
        if self.server.in_reserve():  # one quick request, then the reserve slot is free again
            self.close_connection = True
            self.handle_one_request()
        else:
            super().handle()

    def handle_one_request(self) -> None:
        """One request; from now the client has ``read_timeout`` seconds (the reserve: less) to send all of
        it: request line, headers and body."""
        budget = self.server.options.read_timeout
        if self.server.in_reserve():
            budget = min(budget, RESERVE_DEADLINE)
        self._started = time.monotonic()
        self.deadline = self._started + budget
        self._status = 500
        super().handle_one_request()

    def parse_request(self) -> bool:
        words = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n").split()
        if words and len(words) != 3:  # garbage, or HTTP/0.9 ("GET /"): answer at once, in HTTP/1.x and JSON
            self.requestline = " ".join(words)
            self.request_version = "HTTP/1.0"
            self.close_connection = True
            self.send_error(400)
            return False
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # "GET / HTTP/0.9" spelled out: no status line would go back
            self.send_error(400)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, headers, version, method) as JSON, never HTML or an
        HTTP/0.9 answer without a status line."""
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        with using_language(self.server.lang):
            if code == 501:
                error = ApiError(501, "NOT_IMPLEMENTED",
                                 render("api_method_unsupported", method=printable(str(self.command))[:50]))
            elif code == 505:
                error = ApiError(505, "HTTP_VERSION_NOT_SUPPORTED", render("api_version_unsupported"))
            elif code in (414, 431):
                error = ApiError(code, "HEADERS_TOO_LARGE", render("api_headers_too_large"))
            else:
                error = ApiError(code if 400 <= code < 600 else 400, "BAD_REQUEST", render("api_bad_request_line"))
            self._send_error(error, "")
        words = (getattr(self, "requestline", "") or "-").split()
        method, path = [*words, "", ""][:2]
        self._access_log(method, path.split("?", 1)[0], self._started)

    def handle_expect_100(self) -> bool:
        self.connection.settimeout(self.server.options.read_timeout)
        return super().handle_expect_100()

    def log_message(self, format: str, *args: Any) -> None:  # the access log below replaces this
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        with using_language(self.server.lang):  # a new thread per request starts from the default language
            started = time.monotonic()
            self.server.request_started()
            self._status = 500
            path = self.path.split("?", 1)[0]
            try:
                if self.server.in_reserve() and (method, path.rstrip("/")) != ("GET", "/ping"):
                    self.close_connection = True
                    raise ApiError(503, "TOO_MANY_CONNECTIONS", render("api_connections_full"),
                                   retry_after=REFUSED_RETRY_AFTER, retryable=True)
                self._route(method, path)
            except ApiError as error:
                self._send_error(error, path)
            except GlmImageError as error:
                self._send_error(api_error_from(error), path)
            except (TimeoutError, ConnectionError):
                self.close_connection = True
                self._status = 408
            except Exception as error:  # a bug must not kill the server or leak details
                self._send_error(ApiError(500, "INTERNAL", render("api_internal", detail=type(error).__name__)),
                                 path)
            finally:
                self.server.request_finished()
                self._access_log(method, path, started)

    def _access_log(self, method: str, path: str, started: float) -> None:
        if not self.server.options.quiet:
            client = self.client_address[0] if self.client_address else "-"
            request = printable(f"{method[:20]} {path[:200]}".strip())
            self.server.log(f'{client} "{request}" {self._status} {max(0.0, time.monotonic() - started):.3f}s')

    # -- routing ----------------------------------------------------------------------------------------
    ROUTES: Mapping[str, tuple[str, str]] = {
        "/ping": ("GET", "_ping"),
        "/txt2img": ("POST", "_txt2img"),
        "/v1/images/generations": ("POST", "_openai_generations"),
        "/v1/images/edits": ("POST", "_openai_edits"),
        "/v1/models": ("GET", "_models"),
    }

    def _route(self, method: str, path: str) -> None:
        route = self.ROUTES.get(path.rstrip("/") or "/")
        if route is None:
            self._discard_body()
            raise ApiError(404, "NOT_FOUND", render("api_not_found", path=_readable(path),
                                                    endpoints=", ".join(self.ROUTES)))
        allowed, handler_name = route
        if method != allowed:
            self._discard_body()
            raise ApiError(405, "METHOD_NOT_ALLOWED", render("api_method", path=path, method=allowed))
        if handler_name != "_ping":
            self._check_token()
            wait = self.server.limiter.take(self.client_address[0])
            if wait > 0:
                self._discard_body()
                raise ApiError(429, "RATE_LIMITED", render("api_rate_limited"),
                               retry_after=wait, retryable=True)
        getattr(self, handler_name)()

    def _check_token(self) -> None:
        expected = self.server.options.token
        if not expected:
            return
        client = self.client_address[0]
        locked = self.server.auth_failures.wait(client)
        if locked > 0:  # too many wrong tokens lately: no more guesses until they age out
            self._discard_body()
            raise ApiError(429, "TOO_MANY_AUTH_FAILURES", render("api_auth_locked"), retry_after=locked)
        header = self.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            self.server.auth_failures.failed(client)
            self._discard_body()
            raise ApiError(401, "UNAUTHORIZED", render("api_unauthorized"))

    # -- endpoints ---------------------------------------------------------------------------------------
    def _ping(self) -> None:
        self._send_json(200, PING_BODY)

    def _models(self) -> None:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "zhipu"}
                for name, spec in models.MODELS.items() if not spec.legacy]
        self._send_json(200, {"object": "list", "data": data})

    def _txt2img(self) -> None:
        job = parse_txt2img(self._read_json(), self.server.options.max_samples)
        plan, images = self.server.service.run(job)
        self._send_json(200, {
            "prompt": job.prompt,
            **({"enhanced_prompt": plan.enhanced_prompt, "prompt_sent": plan.prompt_sent} if plan.enhanced_prompt
               else {}),
            "images": [{"base64": base64.b64encode(image.payload.data).decode() if image.payload else None,
                        "url": image.url} for image in images],
            "count": len(images),
            "photo_id": images[0].request_id if images else None,
        })

    def _openai_generations(self) -> None:
        job = parse_openai(self._read_json(), self.server.options.max_samples)
        plan, images = self.server.service.run(job)
        self._send_openai_images(job, plan, images)

    def _openai_edits(self) -> None:
        """Multipart image(s) (``image`` or ``image[]``), optional mask, prompt, model, n, size, response_format:
        written to a temporary folder (removed after) for an edit plan, run like a generation."""
        if not self.server.service.studio.backend.edits:
            self._discard_body()
            raise UsageError("edit_unsupported")  # the hosted BigModel API has no edits: 400, nothing sent
        fields, uploads = parse_multipart(self.headers.get("Content-Type", ""), self._read_body(self._edit_limit()))
        sources = [data for name, data in uploads if name in ("image", "image[]")]
        masks = [data for name, data in uploads if name == "mask"]
        if not sources:
            raise ApiError(400, "MISSING_FIELD", render("api_field_required", field="image"))
        if fields.get("n") is not None:
            try:
                fields["n"] = int(fields["n"])
            except ValueError:
                raise ApiError(400, "INVALID_FIELD", render("api_field_integer", field="n")) from None
        job = parse_openai(fields, self.server.options.max_samples)
        with tempfile.TemporaryDirectory(prefix="glm-image-edit-") as folder:
            paths = [_write_upload(Path(folder), f"image-{index}", data) for index, data in enumerate(sources, 1)]
            mask = _write_upload(Path(folder), "mask", masks[0]) if masks else None
            job = replace(job, images=tuple(paths), mask=mask, enhance=False)
            plan, images = self.server.service.run(job)
        self._send_openai_images(job, plan, images)

    def _edit_limit(self) -> int:
        return max(self.server.options.max_body, self.server.options.max_edit_body)

    def _send_openai_images(self, job: ImageJob, plan: GenerationPlan, images: list[ImageOutcome]) -> None:
        data = []
        for image in images:
            if job.want_bytes and image.payload is not None:
                data.append({"b64_json": base64.b64encode(image.payload.data).decode(),
                             "revised_prompt": plan.prompt_sent})
            else:
                data.append({"url": image.url or _data_url(image.payload), "revised_prompt": plan.prompt_sent})
        self._send_json(200, {"created": int(time.time()), "data": data})

    # -- bodies ----------------------------------------------------------------------------------------
    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(411, "LENGTH_REQUIRED", render("api_length_required"))
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1 or (lengths and self.headers.get("Transfer-Encoding")):
            # Two framings of one body: a proxy and this server could disagree where the next request starts.
            self.close_connection = True
            raise ApiError(400, "BAD_REQUEST", render("api_bad_length"))
        raw = lengths[0] if lengths else None
        try:
            length = int(raw) if raw is not None else 0
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "BAD_REQUEST", render("api_bad_length")) from None
        if length < 0:
            self.close_connection = True
            raise ApiError(400, "BAD_REQUEST", render("api_bad_length"))
        return length

    def _read_body(self, limit: int) -> bytes:
        length = self._content_length()
        if length > limit:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise ApiError(413, "TOO_LARGE", render("api_too_large", limit=limit))
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            raise ConnectionError("client sent less than Content-Length")
        return raw

    def _read_json(self) -> Mapping[str, Any]:
        raw = self._read_body(self.server.options.max_body)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "INVALID_JSON", render("api_invalid_json", detail=exc)) from None
        except RecursionError:  # "[[[[..." thousands deep
            raise ApiError(400, "INVALID_JSON", render("api_json_too_deep")) from None
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", render("api_not_object"))
        return body

    def _discard_body(self) -> None:
        """Read a small unread body so the connection stays usable; close it for large ones."""
        try:
            length = self._content_length()
        except ApiError:
            return
        if 0 < length <= self.server.options.max_body:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    # -- answers --------------------------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._status = status
        self.connection.settimeout(self.server.options.read_timeout)  # reads used the request's deadline
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ApiError, path: str) -> None:
        payload: dict[str, Any] = {"error": {"code": error.code, "message": error.message,
                                             "type": "glm_image_error"}}
        if path.rstrip("/") == "/txt2img":  # the original Flask server's shape: "error" is the message
            payload = {"error": error.message, "code": error.code, "message": error.message}
        headers = {"x-should-retry": "true" if error.retryable else "false"}
        if error.retry_after is not None:
            headers["Retry-After"] = str(max(1, int(error.retry_after + 0.999)))
        try:
            self._send_json(error.status, payload, headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True


def parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A multipart/form-data body: (text fields, [(name, bytes) of the file parts]), with the standard library."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type.lower():
        raise ApiError(400, "INVALID_BODY", render("api_not_multipart"))
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1") + raw)
        parts = list(message.iter_parts()) if message.is_multipart() else []
    except (UnicodeError, ValueError, TypeError, IndexError):
        raise ApiError(400, "INVALID_BODY", render("api_not_multipart")) from None
    if not parts:
        raise ApiError(400, "INVALID_BODY", render("api_not_multipart"))
    fields: dict[str, Any] = {}
    files: list[tuple[str, bytes]] = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None or name in ("image", "image[]", "mask"):
            files.append((name, data))
        else:
            try:
                fields[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "INVALID_FIELD", render("api_field_string", field=printable(name)[:50])) from None
    return fields, files


def _write_upload(folder: Path, stem: str, data: bytes) -> str:
    """An uploaded image as a file for the edit plan; only PNG, JPEG or WebP (400 otherwise)."""
    from glm_image_cli.backends.imagebytes import sniff_image_format

    sniffed = sniff_image_format(data[:64])
    if sniffed is None:
        raise ApiError(400, "INVALID_FIELD", render("edit_image_unreadable", path=stem,
                                                    detail="not a PNG, JPEG or WebP image"))
    path = folder / f"{stem}.{sniffed[1]}"
    path.write_bytes(data)
    return str(path)


def _data_url(result: ImageResult | None) -> str | None:
    if result is None:
        return None
    return f"data:image/{result.format};base64,{base64.b64encode(result.data).decode()}"


# --- starting --------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port_near(host: str, port: int, tries: int = 20) -> int | None:
    """A port that is free right now, for the "port in use" hint."""
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def _readable(path: str) -> str:
    """http.server decodes the request line as Latin-1: give UTF-8 paths (/猫) back their characters."""
    from urllib.parse import unquote

    try:
        return unquote(path.encode("latin-1").decode("utf-8"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path
