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

This module owns the listening socket (the connection cap, requests in flight, a graceful stop); framing.py
reads and answers one request, routes.py holds the endpoints, guards.py the limits and the token check, and
service.py parses a job and hands it to the Studio.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from glm_image_cli.messages import render, using_language
from glm_image_cli.serve.framing import REFUSED_RETRY_AFTER
from glm_image_cli.serve.guards import AuthFailures, TokenBucket
from glm_image_cli.serve.routes import ApiHandler
from glm_image_cli.serve.service import ImageService, ServeOptions


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
