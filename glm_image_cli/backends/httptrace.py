"""`-v/--verbose`: a trace of every HTTP exchange on stderr, like `httpie -v` or `gh --verbose`.

The client installs ``HttpTrace``'s httpx event hooks when verbose is on (``VERBOSE``, set by the CLI for one
invocation), so generate, batch, ping and serve all get it.  One line per request and per answer, numbered so
concurrent calls pair up, plus the client's retry decisions.  What is never shown: the key (the Authorization
header is printed masked), query-string values (signed download URLs carry credentials there), user info in
URLs, and bodies.

A trace line is written from inside the paid call (httpx's hooks), so writing it can never fail the call: a
closed or unencodable stderr loses the line, never the image.  The CLI passes its own writer (``TRACE_WRITER``),
which notices a closed stream and stops the run.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import httpx

from glm_image_cli import safejson

# Whether clients made now trace their exchanges.  The CLI sets it for one invocation and resets it after.
VERBOSE: ContextVar[bool] = ContextVar("glm_image_verbose", default=False)
# Where the lines of clients made now go (None: stderr); the CLI sets it with VERBOSE.
TRACE_WRITER: ContextVar[Callable[[str], None] | None] = ContextVar("glm_image_trace_writer", default=None)

MASK = "****"
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-log-id")
_MAX_BODY_PEEK = 64 * 1024  # an API answer's JSON is read for its request id only when this small


def safe_url(url: httpx.URL | str) -> str:
    """The URL without user info and with every query value masked (names kept: they say what it is)."""
    parsed = httpx.URL(str(url))
    shown = parsed.copy_with(username=None, password=None, query=None, fragment=None)
    text = str(shown)
    if parsed.query:
        names = [name for name, _ in parsed.params.multi_items()]
        text += "?" + "&".join(f"{name}={MASK}" for name in names)
    return text


class HttpTrace:
    """The hooks and the lines.  Thread-safe: a batch's calls run at once."""

    def __init__(self, api_base: str, write: Callable[[str], None] | None = None) -> None:
        self._api_base = api_base.rstrip("/")
        self._write = write if write is not None else TRACE_WRITER.get()
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._pending: weakref.WeakKeyDictionary[httpx.Request, tuple[int, float]] = weakref.WeakKeyDictionary()

    def hooks(self) -> dict[str, list[Callable[..., None]]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    def line(self, text: str) -> None:
        """One line; never raises (it runs inside the paid call): a lost line is the whole damage."""
        with contextlib.suppress(Exception):
            if self._write is not None:
                self._write(text)
                return
            stream = sys.stderr  # looked up each time: a live display replaces it while it runs
            with self._lock:
                stream.write(text + "\n")
                stream.flush()

    def on_request(self, request: httpx.Request) -> None:
        number = next(self._numbers)
        with self._lock:
            self._pending[request] = (number, time.monotonic())
        auth = " Authorization: Bearer " + MASK if "authorization" in request.headers else ""
        self.line(f"[http {number}] > {request.method} {safe_url(request.url)}{auth}")

    def on_response(self, response: httpx.Response) -> None:
        request = response.request
        with self._lock:
            number, started = self._pending.pop(request, (0, time.monotonic()))
        parts = [f"{response.status_code} {response.reason_phrase}".strip(), f"{time.monotonic() - started:.2f} s"]
        request_id, code = self._ids(response)
        if code:
            parts.append(f"code {code}")
        if request_id:
            parts.append(f"request id {request_id}")
        if not str(request.url).startswith(self._api_base):
            parts.append(response.headers.get("content-type", "?"))
        self.line(f"[http {number}] < " + ", ".join(parts))

    def _ids(self, response: httpx.Response) -> tuple[str | None, str | None]:
        """(upstream request id, business error code): from the headers, else from a small JSON answer of the
        API itself (never a download: its bytes are streamed, not read here)."""
        request_id = next((response.headers[name] for name in _REQUEST_ID_HEADERS if name in response.headers), None)
        is_api = str(response.request.url).startswith(self._api_base)
        is_json = "json" in response.headers.get("content-type", "")
        length = response.headers.get("content-length", "")
        if not (is_api and is_json and length.isdigit() and int(length) <= _MAX_BODY_PEEK):
            return _printable(request_id), None
        try:
            response.read()
            body = safejson.loads(response.content)
        except (httpx.HTTPError, ValueError):
            return _printable(request_id), None
        code = None
        if isinstance(body, dict):
            request_id = request_id or body.get("request_id") or body.get("id")
            error = body.get("error")
            code = error.get("code") if isinstance(error, dict) else None
        return _printable(request_id), _printable(code)

    def progress(self, progress: Callable[[str, Mapping[str, Any]], None]) -> Callable[[str, Mapping[str, Any]], None]:
        """The client's progress callback, with its retry decisions also traced."""

        def traced(event: str, info: Mapping[str, Any]) -> None:
            if event == "retrying":
                from glm_image_cli.messages import render

                self.line("[retry] " + render("retrying", reason=info.get("reason") or "",
                                              seconds=float(info.get("seconds") or 0.0),
                                              attempt=info.get("attempt", 0), max_attempts=info.get("max_attempts", 0)))
            progress(event, info)

        return traced


def _printable(value: Any) -> str | None:
    """A short id fit for one line (an upstream could send anything)."""
    if value in (None, ""):
        return None
    text = "".join(ch for ch in str(value) if ch.isprintable())[:80]
    return text or None
