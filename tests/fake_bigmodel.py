"""A fake BigModel images API on 127.0.0.1 that speaks the real wire format.

Used by the tests and the benchmarks: the real client code path runs against it by pointing the
base URL (GLM_BASE_URL) at ``fake.base_url``.  It serves the image bytes behind the URLs it returns,
records every request, and can be scripted per route with error bodies, 429 + Retry-After, slow
answers and dropped connections.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import socket
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_PREFIX = "/api/paas/v4"
SYNC_ROUTE = "POST /images/generations"
ASYNC_ROUTE = "POST /async/images/generations"
POLL_ROUTE = "GET /async-result"
FILE_ROUTE = "GET /files"
CHAT_ROUTE = "POST /chat/completions"
DEFAULT_KEY = "fake-key-0123456789abcdef.SECRETPART"

# Real 8x8 JPEG and WebP images, for "the upstream sent other bytes behind a .png URL".
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8t"
    "MC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAAR"
    "CAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEG"
    "E1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWG"
    "h4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEB"
    "AQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYk"
    "NOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0"
    "tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCzRRRXwR9sf//Z"
)
TINY_WEBP = base64.b64decode("UklGRjoAAABXRUJQVlA4IC4AAADQAQCdASoIAAgAAUAmJaACdLoB+AADsAD+pNf/TSPGkeNI+Yt/84ljqd3aAAAA")


def make_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (240, 140, 40)) -> bytes:
    """A real, valid PNG (signature, IHDR, IDAT, IEND with CRCs) built with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


@dataclass
class Reply:
    """One scripted answer.  ``drop`` closes the connection after reading the request, answering nothing."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    admitted: bool = False  # a generation call the account counts against its concurrency limit

    @classmethod
    def error(cls, status: int, code: str, message: str = "error", retry_after: str | None = None,
              request_id: str = "req-error") -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"error": {"code": code, "message": message}, "request_id": request_id}
        return cls(status=status, body=body, headers=headers)


@dataclass
class Seen:
    route: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeBigModel:
    """Start with ``with FakeBigModel() as fake:``; configure ``result_mode``, ``image_bytes``, ``script``."""

    def __init__(self, api_key: str = DEFAULT_KEY, latency: float = 0.0) -> None:
        self.api_key = api_key
        self.latency = latency
        self.result_mode = "url"  # or "b64"
        self.image_bytes = make_png()
        self.polls_before_success = 1
        self.hold_after: int | None = None  # generations past this many are held until ``released`` is set
        self._generations = 0
        self.async_outcome = "SUCCESS"
        # Tasks that take a time instead of a number of polls: each is done this many seconds (uniform in the
        # range, from ``task_rng``) after it was submitted; ``task_seen`` records (done, first seen done) times.
        self.task_seconds: tuple[float, float] | None = None
        self.task_rng = random.Random(1)
        self._task_done_at: dict[str, float] = {}
        self._task_durations: dict[str, float] = {}
        self.task_seen: dict[str, tuple[float, float]] = {}
        self.task_looks: dict[str, list[float]] = {}  # seconds after submission of each poll of such a task
        self.requests: list[Seen] = []
        # /chat/completions answers with this text (a function of the request body, or fixed text)
        self.chat_reply: Any = lambda body: "ENHANCED: " + str((body.get("messages") or [{}])[-1].get("content"))
        self.vision: Any = None  # a tests/fake_vision.FakeVision answers chat calls that carry an image part
        self.in_flight = 0
        self.max_in_flight = 0  # most generation calls seen at once
        self.concurrency_limit: int | None = None  # like an account's limit: beyond it, 429/1302 at once
        self.refused = 0  # generation calls refused for concurrency (not billed)
        # Like a platform whose counter lags: an answered call still counts against the limit this many seconds.
        self.count_lag = 0.0
        self._admitted = 0  # generation calls accepted and not yet answered (refused ones never count)
        self._lingering: deque[float] = deque()  # when answered calls stop counting (with count_lag)
        self._scripts: dict[str, deque[Reply]] = {}
        # more routes (tests/fake_batchapi.py): each is asked first, after the scripts; None passes the request on
        self.extensions: list[Any] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._polls: dict[str, int] = {}
        self.released = threading.Event()  # set at shutdown so slow replies end at once
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-bigmodel",
                                        daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> FakeBigModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + API_PREFIX

    # -- scripting and inspection ---------------------------------------------------------------
    def script(self, route: str, *replies: Reply) -> None:
        """Queue answers for a route such as ``SYNC_ROUTE``; once used up, the route behaves normally."""
        with self._lock:
            self._scripts.setdefault(route, deque()).extend(replies)

    def seen(self, route: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def wait_for(self, route: str, count: int = 1, timeout: float = 30.0) -> bool:
        """Block until ``count`` requests reached ``route`` (a notification, not a sleep)."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: sum(1 for r in self.requests if r.route == route) >= count, timeout)

    def count(self, route: str) -> int:
        return len(self.seen(route))

    # -- behaviour --------------------------------------------------------------------------------
    def _track(self, change: int) -> None:
        with self._lock:
            self.in_flight += change
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _next_scripted(self, route: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(route)
            return queue.popleft() if queue else None

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        route = _route_of(method, path)
        with self._arrived:
            self.requests.append(Seen(route, method, path, headers, body))
            self._arrived.notify_all()
        scripted = self._next_scripted(route)
        if scripted is not None:
            return scripted
        for extension in list(self.extensions):
            extended = extension(method, path, headers, body)
            if extended is not None:
                return extended
        if route == FILE_ROUTE:
            return Reply(body=self.image_bytes, headers={"Content-Type": "image/png"})
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.error(401, "1001", "Authorization Token非法，请确认Authorization Token正确传递。")
        if route == SYNC_ROUTE:
            return self._generated(body)
        if route == ASYNC_ROUTE:
            task_id = f"task-{next(self._ids)}"
            self._polls[task_id] = 0
            if self.task_seconds is not None:
                with self._lock:
                    self._task_durations[task_id] = self.task_rng.uniform(*self.task_seconds)
                    self._task_done_at[task_id] = time.monotonic() + self._task_durations[task_id]
            return Reply(body={"model": body.get("model"), "id": task_id, "request_id": f"req-{task_id}",
                               "task_status": "PROCESSING"})
        if route == POLL_ROUTE:
            return self._poll(path.rsplit("/", 1)[-1])
        if route == CHAT_ROUTE:
            return self._chat(body)
        return Reply.error(404, "1222", "not found")

    def _generated(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("prompt") or not body.get("model"):
            return Reply.error(400, "1213", "缺少必要参数 prompt/model")
        with self._lock:
            over = self.concurrency_limit is not None and self._counted() >= self.concurrency_limit
            self.refused += 1 if over else 0
            self._admitted += 0 if over else 1
        if over:
            return Reply.error(429, "1302", "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。")
        number = next(self._ids)
        with self._lock:
            self._generations += 1
            held = self.hold_after is not None and self._generations > self.hold_after
        return Reply(body={"created": 1760000000 + number, "data": [self._image_item(number)],
                           "content_filter": [{"role": "assistant", "level": 3}],
                           "request_id": f"req-{number}"}, delay=3600 if held else self.latency, admitted=True)

    def _counted(self) -> int:
        """The calls the account counts now: those accepted and not answered, and answered ones still lingering."""
        now = time.monotonic()
        while self._lingering and self._lingering[0] <= now:
            self._lingering.popleft()
        return self._admitted + len(self._lingering)

    def _answered(self) -> None:
        with self._lock:
            self._admitted -= 1
            if self.count_lag > 0:
                self._lingering.append(time.monotonic() + self.count_lag)

    def _chat(self, body: Any) -> Reply:
        """The OpenAI-compatible chat answer: {"choices": [{"message": {"role", "content"}}], "usage"}."""
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return Reply.error(400, "1214", "messages 参数非法")
        number = next(self._ids)
        if self.vision is not None and self.vision.wants(body):
            return self.vision.answer(body, Reply, number)
        content = self.chat_reply(body) if callable(self.chat_reply) else str(self.chat_reply)
        return Reply(body={"id": f"chat-{number}", "request_id": f"req-chat-{number}", "created": 1760000000,
                           "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": content}}],
                           "usage": {"prompt_tokens": 50, "completion_tokens": 80, "total_tokens": 130}})

    def _image_item(self, number: int) -> dict[str, str]:
        if self.result_mode == "b64":
            return {"b64_json": base64.b64encode(self.image_bytes).decode()}
        return {"url": f"{self.origin}/files/2025-cogview-{number}_0.png"}

    def _poll(self, task_id: str) -> Reply:
        with self._lock:
            if task_id not in self._polls:
                return Reply.error(404, "1222", f"task {task_id} not found")
            self._polls[task_id] += 1
            done = self._polls[task_id] > self.polls_before_success
            done_at = self._task_done_at.get(task_id)
            if done_at is not None:
                done = time.monotonic() >= done_at
                submitted = done_at - self._task_durations[task_id]
                self.task_looks.setdefault(task_id, []).append(time.monotonic() - submitted)
                if done and task_id not in self.task_seen:
                    self.task_seen[task_id] = (done_at, time.monotonic())
        base = {"model": "glm-image", "id": task_id, "request_id": f"req-{task_id}"}
        if not done:
            return Reply(body={**base, "task_status": "PROCESSING"})
        if self.async_outcome == "FAIL":
            return Reply(body={**base, "task_status": "FAIL"})
        return Reply(body={**base, "task_status": "SUCCESS", "image_result": [self._image_item(0)],
                           "content_filter": [{"role": "assistant", "level": 3}]})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                headers = {k.lower(): v for k, v in self.headers.items()}
                generation = method == "POST"
                fake._track(+1 if generation else 0)
                try:
                    reply = fake._answer(method, self.path, headers, body)
                    if reply.delay:
                        fake.released.wait(reply.delay)
                    if reply.admitted:
                        fake._answered()
                finally:
                    fake._track(-1 if generation else 0)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(
                    reply.body if reply.body is not None else {}, ensure_ascii=False).encode()
                self.send_response(reply.status)
                content_type = "application/json; charset=utf-8"
                for name, value in reply.headers.items():
                    if name.lower() == "content-type":
                        content_type = value
                    else:
                        self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


class _QuietServer(ThreadingHTTPServer):
    """Clients that vanish mid-answer (a killed batch, a timed-out client) are expected here."""

    request_queue_size = 256  # like a real API front end: bursts of new connections are queued, not reset

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _route_of(method: str, path: str) -> str:
    path = path.split("?", 1)[0]
    if path.startswith("/files/"):
        return FILE_ROUTE
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX):]
    if path.startswith("/async-result/"):
        return POLL_ROUTE
    return f"{method} {path}"
