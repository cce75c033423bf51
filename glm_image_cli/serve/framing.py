"""The hardened HTTP/1.1 framing under every serve route: one deadline for a whole request (a slow client
cannot hold a thread by trickling bytes), a reserve lane that serves /ping only, smuggling-safe body framing
(no chunked bodies, one Content-Length), body caps (413), JSON answers even to http.server's own errors and
malformed request lines, and an access log with control characters escaped.  Routing is left to a subclass."""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from glm_image_cli import __version__, safejson
from glm_image_cli.errors import GlmImageError
from glm_image_cli.messages import render, using_language
from glm_image_cli.serve.guards import printable
from glm_image_cli.serve.service import ApiError, api_error_from

if TYPE_CHECKING:
    from glm_image_cli.serve.server import GlmImageHTTPServer

RESERVE_DEADLINE = 2.0  # seconds a connection in the /ping reserve gets to send its request
REFUSED_RETRY_AFTER = 2


class _DeadlineReader(io.RawIOBase):
    """The socket as the handler reads it: every read waits only for the time left until the request's
    deadline, so trickling one byte at a time does not restart a per-read timeout."""

    def __init__(self, handler: FramedHandler) -> None:
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


class FramedHandler(BaseHTTPRequestHandler):
    """One request at a time within its deadline, answered in JSON; ``_route`` answers a well-framed one."""

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

    def do_HEAD(self) -> None:  # a GET route's headers, without the body (_send_body)
        self._dispatch("HEAD")

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

    def _route(self, method: str, path: str) -> None:
        """Answer one request whose framing has been checked (the subclass's routes)."""
        raise NotImplementedError

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
        raw = lengths[0] if lengths else "0"
        if not (raw.isascii() and raw.isdigit()):  # int() would also take "1_0", "+0", " 0" and "٣"
            self.close_connection = True
            raise ApiError(400, "BAD_REQUEST", render("api_bad_length"))
        return int(raw)

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
            body = safejson.loads(raw) if raw else None
        except safejson.UnsafeJson:  # "[[[[..." too deep
            raise ApiError(400, "INVALID_JSON", render("api_json_too_deep")) from None
        except ValueError as exc:  # UnicodeDecodeError too
            raise ApiError(400, "INVALID_JSON", render("api_invalid_json", detail=exc)) from None
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
        self._send_body(status, len(data), lambda send: send(data), headers)

    def _send_body(self, status: int, length: int, write: Callable[[Callable[[bytes], Any]], None],
                   headers: Mapping[str, str] | None = None) -> None:
        """A JSON answer of ``length`` bytes that ``write`` passes to the socket (in pieces, if it likes).  If
        the body cannot be sent whole after the headers went out, the connection is closed: a keep-alive client
        must never read the rest of one answer as the start of the next."""
        self._status = status
        self.connection.settimeout(self.server.options.read_timeout)  # reads used the request's deadline
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) == "HEAD":  # the headers a GET would get, never a body
            return
        try:
            write(self.wfile.write)
        except Exception as exc:
            self.close_connection = True
            if isinstance(exc, (ConnectionError, TimeoutError)):
                raise
            # The status line is out: no error answer can follow, only the end of the connection.
            raise ConnectionError(f"the answer could not be finished ({type(exc).__name__})") from exc

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
