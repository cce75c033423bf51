"""A fake OpenAI-compatible images server on 127.0.0.1 (what SGLang, CogKit or a gateway would answer).

``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart), ``b64_json`` or ``url`` results
(the URL served by the fake itself), ``GET /v1/models``, the OpenAI error shape, and scripted replies per route:
errors, 429 with or without Retry-After, 5xx, dropped connections.  Every request is recorded.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_bigmodel import make_png

PREFIX = "/v1"
GENERATIONS = "POST /images/generations"
EDITS = "POST /images/edits"
MODELS = "GET /models"
FILES = "GET /files"
KEY = "sk-local-0123456789.OPENAISECRET"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    @classmethod
    def error(cls, status: int, message: str = "error", type_: str = "invalid_request_error",
              code: str | None = None, retry_after: str | None = None) -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls(status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, headers)


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Seen:
    route: str
    headers: dict[str, str]
    body: Any  # JSON object for generations, a list of Part for edits


class FakeOpenAI:
    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.result_mode = "b64"  # or "url"
        self.image_bytes = make_png(16, 16, (20, 120, 220))
        self.requests: list[Seen] = []
        self.scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.root = f"http://{host}:{port}"
        self.base_url = self.root + PREFIX

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, route: str, *replies: Reply) -> None:
        self.scripts.setdefault(route, deque()).extend(replies)

    def seen(self, route: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.route == route]

    def count(self, route: str) -> int:
        return len(self.seen(route))

    # -- serving -----------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path.split("?")[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if method == "GET" and path.startswith("/files/"):
            self._record(FILES, handler, None)
            self._send(handler, 200, self.image_bytes, "image/png")
            return
        sub = path[len(PREFIX):] if path.startswith(PREFIX) else path
        route = f"{method} {sub}"
        body: Any = None
        if route == GENERATIONS:
            body = json.loads(raw or b"{}")
        elif route == EDITS:
            body = _multipart(handler.headers.get("Content-Type", ""), raw)
        self._record(route, handler, body)
        with self._lock:
            queue = self.scripts.get(route)
            reply = queue.popleft() if queue else None
        if reply is not None and reply.drop:
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.close()
            return
        if reply is not None:
            self._send(handler, reply.status, json.dumps(reply.body).encode(), "application/json", reply.headers)
            return
        if handler.headers.get("Authorization") != f"Bearer {self.key}":
            error = Reply.error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
            self._send(handler, 401, json.dumps(error.body).encode(), "application/json")
            return
        if route == MODELS:
            payload = {"object": "list", "data": [{"id": "zai-org/GLM-Image", "object": "model"}]}
        elif route in (GENERATIONS, EDITS):
            if self.result_mode == "url":
                item = {"url": f"{self.root}/files/image-{len(self.requests)}.png"}
            else:
                item = {"b64_json": base64.b64encode(self.image_bytes).decode()}
            payload = {"created": 1_700_000_000, "data": [item]}
        else:
            error = Reply.error(404, f"no route {route}", "not_found", None)
            self._send(handler, 404, json.dumps(error.body).encode(), "application/json")
            return
        self._send(handler, 200, json.dumps(payload).encode(), "application/json")

    def _record(self, route: str, handler: BaseHTTPRequestHandler, body: Any) -> None:
        with self._lock:
            self.requests.append(Seen(route, {k.lower(): v for k, v in handler.headers.items()}, body))

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


def _multipart(content_type: str, raw: bytes) -> list[Part]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    parts = []
    for part in message.iter_parts():
        parts.append(Part(name=part.get_param("name", header="content-disposition"), filename=part.get_filename(),
                          content_type=part.get_content_type(), data=part.get_payload(decode=True) or b""))
    return parts


def fields_of(parts: list[Part]) -> dict[str, str]:
    """The text fields of a multipart body."""
    return {part.name: part.data.decode() for part in parts if part.filename is None}
