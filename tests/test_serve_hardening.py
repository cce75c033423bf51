"""`glm-image serve` against hostile or broken clients: raw sockets on 127.0.0.1, every wait bounded."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from glm_image_cli.serve.guards import AuthFailures, printable
from tests.fake_bigmodel import SYNC_ROUTE


def _connect(served, timeout: float = 10.0) -> socket.socket:
    host, port = served.server.server_address[:2]
    return socket.create_connection((host, port), timeout=timeout)


def _read_all(sock: socket.socket, deadline_seconds: float = 10.0) -> bytes:
    """Everything until the server closes (it does after every error answer), within a deadline."""
    deadline = time.monotonic() + deadline_seconds
    chunks = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _exchange(served, data: bytes, deadline_seconds: float = 10.0) -> bytes:
    with _connect(served) as sock:
        sock.sendall(data)
        return _read_all(sock, deadline_seconds)


def _parse(response: bytes) -> tuple[str, dict[str, str], object]:
    head, _, body = response.partition(b"\r\n\r\n")
    status, *lines = head.decode("iso-8859-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, json.loads(body) if body else None


# --- the connection cap -------------------------------------------------------------------------------

def test_connections_over_the_cap_get_503_at_once_and_threads_stay_bounded(serve) -> None:
    served = serve(max_connections=50, ping_reserve=2, read_timeout=30)
    server = served.server
    assert server.wait_for_connections(lambda n: n == 0, 10)
    baseline = threading.active_count()
    idle: list[socket.socket] = []
    try:
        for _ in range(50):
            idle.append(_connect(served))
        assert server.wait_for_connections(lambda n: n == 50, 10), server.open_connections
        # The normal connections are all held by idle clients; /ping still answers from the reserve.
        ping = httpx.get(f"{served.url}/ping", timeout=10)
        assert ping.status_code == 200
        assert server.wait_for_connections(lambda n: n == 50, 10)
        # The reserve is for /ping only: anything else there is a 503 at once.
        busy = _exchange(served, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = _parse(busy)
        assert status.startswith("HTTP/1.1 503") and body["error"]["code"] == "TOO_MANY_CONNECTIONS"
        assert server.wait_for_connections(lambda n: n == 50, 10)

        extra = [_connect(served) for _ in range(10)]
        idle.extend(extra)
        started = time.monotonic()
        for sock in extra[2:]:  # accepted after the two reserve slots filled: refused by the accepting thread
            status, headers, body = _parse(_read_all(sock, 10))
            assert status == "HTTP/1.1 503 Service Unavailable"
            assert headers["retry-after"] == "2" and headers["connection"] == "close"
            assert body["error"]["code"] == "TOO_MANY_CONNECTIONS"
        assert time.monotonic() - started < 5  # at once, not after the 30 s read timeout
        assert server.open_connections <= 52
        assert threading.active_count() <= baseline + 52  # one thread per admitted connection, no more
        for sock in extra[:2]:  # the idle reserve connections are cut off by its short deadline
            assert _read_all(sock, 10) == b""
        assert server.wait_for_connections(lambda n: n == 50, 10)
        lines = served.log.wait_for(3)
        assert any("connection limit of 50 reached" in line for line in lines)
    finally:
        for sock in idle:
            sock.close()
    assert server.wait_for_connections(lambda n: n == 0, 10)  # closed clients free their slots


@pytest.mark.parametrize(("start", "trickle"), [
    (b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a"),  # one header byte at a time
    (b"POST /txt2img HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", b" "),  # one body byte at a time
])
def test_a_slow_loris_is_cut_off_by_the_whole_request_deadline(serve, start: bytes, trickle: bytes) -> None:
    served = serve(read_timeout=1.0)
    with _connect(served) as sock:
        sock.sendall(start)
        started = time.monotonic()
        cut_off = False
        while not cut_off and time.monotonic() - started < 15:  # a per-read timeout would never fire
            try:
                sock.sendall(trickle)
                sock.settimeout(0.1)  # the pace of the trickle, and the wait for the server to hang up
                cut_off = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                cut_off = True
        elapsed = time.monotonic() - started
    assert cut_off, "the server kept reading a request trickled one byte at a time"
    assert 0.5 < elapsed < 10
    assert served.server.wait_for_connections(lambda n: n == 0, 10)
    assert httpx.get(f"{served.url}/ping", timeout=10).status_code == 200


# --- malformed requests and the access log ------------------------------------------------------------

@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GARBAGE\r\n\r\n", 400, "BAD_REQUEST"),
    (b"GET /ping\r\n", 400, "BAD_REQUEST"),  # HTTP/0.9: answered at once, without waiting for headers
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400, "BAD_REQUEST"),
    (b"GET / FOO/1.1\r\n\r\n", 400, "BAD_REQUEST"),
    (b"GET /ping HTTP/0.9\r\n\r\n", 400, "BAD_REQUEST"),
    (b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED"),
    (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501, "NOT_IMPLEMENTED"),
])
def test_malformed_requests_get_an_http_1_json_answer(serve, request_bytes: bytes, status: int, code: str) -> None:
    served = serve(read_timeout=30)
    started = time.monotonic()
    response = _exchange(served, request_bytes)
    assert time.monotonic() - started < 10
    line, headers, body = _parse(response)
    assert line.startswith(f"HTTP/1.1 {status} ")
    assert headers["content-type"].startswith("application/json")
    assert int(headers["content-length"]) == len(response.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == code and body["error"]["message"]
    assert b"<html" not in response.lower() and b"<!doctype" not in response.lower()


def test_the_access_log_escapes_control_characters(serve) -> None:
    served = serve()
    answers = [
        _exchange(served, b"GET /a\x1b[2Jb?t=\x1b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        _exchange(served, b"G\x1bT / HTTP/1.1\r\nHost: x\r\n\r\n"),
        _exchange(served, b"\x1b]0;owned\x07\r\n\r\n"),
        _exchange(served, b"GET /\x9b31m\"x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    ]
    assert [_parse(answer)[0].split()[1] for answer in answers] == ["404", "501", "400", "404"]
    lines = served.log.wait_for(4)
    assert all("\x1b" not in line and "\x07" not in line and "\x9b" not in line for line in lines)
    text = "\n".join(lines)
    assert '"GET /a\\x1b[2Jb" 404' in text  # the query string stays out, as before
    assert '"G\\x1bT /" 501' in text
    assert '"\\x1b]0;owned\\x07" 400' in text
    assert '"GET /\\x9b31m\\"x" 404' in text


def test_printable_escapes_like_repr() -> None:
    assert printable("GET /ok") == "GET /ok"
    assert printable("a\x1bb\x00\x7f\x9b\u2028\"\\é猫") == 'a\\x1bb\\x00\\x7f\\x9b\\u2028\\"\\\\é猫'


# --- wrong tokens ---------------------------------------------------------------------------------------

def test_repeated_wrong_tokens_are_locked_out(serve, fake) -> None:
    served = serve(token="right-token")
    wrong = {"Authorization": "Bearer guess"}
    for _ in range(5):
        assert served.post("/txt2img", {"prompt": "x"}, headers=wrong).status_code == 401
    locked = served.post("/v1/images/generations", {"prompt": "x"}, headers=wrong)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "TOO_MANY_AUTH_FAILURES"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    right = served.post("/txt2img", {"prompt": "x"}, headers={"Authorization": "Bearer right-token"})
    assert right.status_code == 429  # no more guesses, right or wrong, until the failures age out
    assert httpx.get(f"{served.url}/ping").status_code == 200  # health checks stay open
    assert fake.count(SYNC_ROUTE) == 0


def test_auth_failures_cool_down() -> None:
    now = [0.0]
    failures = AuthFailures(2, 60, clock=lambda: now[0])
    failures.failed("a")
    assert failures.wait("a") == 0
    now[0] = 10.0
    failures.failed("a")
    assert failures.wait("a") == pytest.approx(50.0)
    assert failures.wait("b") == 0
    now[0] = 59.0
    assert failures.wait("a") == pytest.approx(1.0)
    now[0] = 60.0
    assert failures.wait("a") == 0  # the first failure aged out
    assert AuthFailures(0, 60).wait("a") == 0


# --- bodies that used to be a 500 ---------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "body"), [
    ("/txt2img", b'{"prompt": "\\ud800"}'),
    ("/txt2img", b'{"prompt": "cat \\udfff", "negative_prompt": "x"}'),
    ("/txt2img", b'{"prompt": "cat", "negative_prompt": "\\ud800x"}'),
    ("/v1/images/generations", b'{"prompt": "\\ud83d"}'),
    ("/v1/images/generations", b'{"prompt": "cat", "size": "\\udc00"}'),
])
def test_a_lone_surrogate_is_a_400(serve, fake, path: str, body: bytes) -> None:
    served = serve()
    response = httpx.post(f"{served.url}{path}", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    answer = response.json()
    error = answer if path == "/txt2img" else answer["error"]
    assert error["code"] == "INVALID_FIELD" and "unpaired UTF-16 surrogate" in error["message"]
    assert fake.count(SYNC_ROUTE) == 0


def test_a_paired_surrogate_escape_is_fine(serve, fake) -> None:
    served = serve()
    response = httpx.post(f"{served.url}/txt2img", content=b'{"prompt": "cat \\ud83d\\udc31"}')
    assert response.status_code == 200
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == "cat 🐱"


@pytest.mark.parametrize("body", [
    b"[" * 30000 + b"]" * 30000,
    b'{"prompt": "x", "extra": ' + b"[" * 30000 + b"]" * 30000 + b"}",
    b'{"a":' * 10000 + b"1" + b"}" * 10000,
])
def test_deeply_nested_json_is_a_400(serve, fake, body: bytes) -> None:
    served = serve(max_body=256 * 1024)
    response = httpx.post(f"{served.url}/v1/images/generations", content=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_JSON"
    assert "nested too deeply" in response.json()["error"]["message"]
    assert fake.count(SYNC_ROUTE) == 0


# --- the command ----------------------------------------------------------------------------------------

def test_max_connections_must_be_positive(cli, fake) -> None:
    result = cli("serve", "--port", "0", "--max-connections", "0")
    assert result.exit_code == 2
    assert "--max-connections must be at least 1" in result.stderr


def test_two_content_lengths_are_refused_and_the_connection_closed(serve) -> None:
    import socket

    served = serve()
    host, port = served.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(b"POST /txt2img HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 5\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1") == 1  # no smuggled second request
    assert b"Connection: close" in answer
    assert not any('"1}"' in line for line in served.log)


@pytest.mark.parametrize("length", [b"1_0", b"+0", b"0 ", b"-0", b"0x0", b"\xb2"])  # \xb2 is "²": isdigit() says yes
def test_content_length_is_plain_ascii_digits_or_400(serve, fake, length: bytes) -> None:
    served = serve()
    host, port = served.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(b"POST /txt2img HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: " + length + b"\r\n\r\n{\"prompt\": \"a cat\"}")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert answer.count(b"HTTP/1.1") == 1 and b"Connection: close" in answer
    assert fake.count(SYNC_ROUTE) == 0
