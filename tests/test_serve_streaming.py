"""serve writes its images' base64 from their files as the answer goes out (never the whole JSON in memory): the
same JSON as before, a Content-Length that matches, keep-alive and HEAD intact, and a client that goes away
mid-answer costs no ledger record and leaves no half file."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glm_image_cli.backends.bigmodel import BigModelClient
from glm_image_cli.core.ledger import Ledger
from glm_image_cli.serve.server import GlmImageHTTPServer
from glm_image_cli.serve.service import ImageService, ServeOptions
from glm_image_cli.serve.streamjson import Base64Of, StreamedJson, encoded_length
from glm_image_cli.storage.pngmeta import read_recipe
from tests.conftest import AccessLog, Served, serve_studio
from tests.fake_bigmodel import DEFAULT_KEY, FILE_ROUTE, SYNC_ROUTE


def noise_png(width: int, height: int) -> bytes:
    """A valid PNG of random pixels, stored (not compressed): about width*height*3 bytes, never a multiple of 3."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")


def without_text_chunks(png: bytes) -> bytes:
    out, position = bytearray(png[:8]), 8
    while position < len(png):
        length = struct.unpack(">I", png[position:position + 4])[0]
        end = position + 12 + length
        if png[position + 4:position + 8] not in (b"tEXt", b"iTXt", b"zTXt"):
            out += png[position:end]
        position = end
    return bytes(out)


@pytest.fixture
def saving_serve(fake, tmp_path: Path) -> Iterator:
    """serve --save FOLDER, in process; the spool in tmp_path/spool."""
    started: list[tuple[GlmImageHTTPServer, BigModelClient]] = []

    def start(folder: Path) -> Served:
        options = ServeOptions(port=0, rate_per_minute=0, spool_dir=tmp_path / "spool")
        client = BigModelClient(DEFAULT_KEY, fake.base_url, timeout=30)
        studio = serve_studio(client)
        log = AccessLog()
        server = GlmImageHTTPServer(options, ImageService(studio, options, studio.saver(folder)), log.append)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append((server, client))
        return Served(server, log)

    yield start
    for server, client in started:
        server.shutdown()
        server.server_close()
        client.close()


def test_both_apis_answer_the_same_json_with_each_image_whole(serve, fake, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    image = noise_png(300, 301)  # several chunks of base64, and a size that is not a multiple of 3
    assert len(image) % 3 and len(image) > 3 * 64 * 1024
    fake.image_bytes = image
    # One call at a time: sample 1 reaches the fake first, so its request id and URL are the first (two calls at
    # once may arrive in either order, and did: photo_id req-2 in 1 of ~10 shuffled runs)
    monkeypatch.setenv("GLM_IMAGE_CONCURRENCY", "1")
    served = serve(spool_dir=tmp_path / "spool")
    with httpx.Client(timeout=30) as http:
        original = http.post(served.url + "/txt2img", json={"prompt": "一只猫", "samples": 2})
        b64 = http.post(served.url + "/v1/images/generations",
                        json={"prompt": "a cat", "n": 2, "response_format": "b64_json"})
        fake.result_mode = "b64"  # inline upstream: the url form becomes a data URL
        inline = http.post(served.url + "/v1/images/generations", json={"prompt": "a cat", "response_format": "url"})
    for response in (original, b64, inline):
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
    answer = original.json()
    assert list(answer) == ["prompt", "images", "count", "photo_id"]
    assert answer["prompt"] == "一只猫" and answer["count"] == 2 and answer["photo_id"] == "req-1"
    assert [list(item) for item in answer["images"]] == [["base64", "url"]] * 2
    assert all(base64.b64decode(item["base64"], validate=True) == image for item in answer["images"])
    assert [item["url"] for item in answer["images"]] == [f"{fake.origin}/files/2025-cogview-{n}_0.png" for n in (1, 2)]
    data = b64.json()
    assert list(data) == ["created", "data"] and isinstance(data["created"], int)
    assert [list(item) for item in data["data"]] == [["b64_json", "revised_prompt"]] * 2
    assert all(base64.b64decode(item["b64_json"], validate=True) == image for item in data["data"])
    [item] = inline.json()["data"]
    prefix, _, encoded = item["url"].partition(",")
    assert prefix == "data:image/png;base64" and base64.b64decode(encoded, validate=True) == image
    assert fake.count(FILE_ROUTE) == 4
    assert list((tmp_path / "spool").iterdir()) == []  # each request's images went with its answer


def test_with_save_the_answer_is_the_saved_file_and_the_url_form_downloads_nothing_more(
        saving_serve, fake, tmp_path: Path) -> None:
    fake.image_bytes = noise_png(200, 150)
    served = saving_serve(tmp_path / "saved")
    made = served.post("/v1/images/generations", {"prompt": "a cat", "response_format": "b64_json"})
    [saved] = (tmp_path / "saved").iterdir()
    assert base64.b64decode(made.json()["data"][0]["b64_json"]) == saved.read_bytes()
    assert read_recipe(saved.read_bytes())["prompt"] == "a cat"
    by_url = served.post("/v1/images/generations", {"prompt": "a dog"})
    assert by_url.json()["data"][0]["url"].startswith(fake.origin + "/files/")
    assert len(list((tmp_path / "saved").iterdir())) == 2 and fake.count(FILE_ROUTE) == 2


def test_keep_alive_carries_several_answers_and_head_gets_headers_only(serve, fake, tmp_path: Path) -> None:
    fake.image_bytes = noise_png(120, 100)
    served = serve(spool_dir=tmp_path / "spool")
    host, port = served.server.server_address[:2]
    body = json.dumps({"prompt": "a cat", "response_format": "b64_json"}).encode()
    post = (f"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection((host, port), timeout=30) as sock, sock.makefile("rb") as stream:
        answers = []
        head, get = b"HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
        for request in (post, head, post, get):
            sock.sendall(request)
            status = stream.readline()
            headers = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.lower()] = value.strip()
            length = int(headers["content-length"])
            answers.append((status, headers, b"" if request.startswith(b"HEAD") else stream.read(length), length))
    (first, _, made, _), (head, head_headers, _, head_length), (second, _, again, _), (ping, _, pong, _) = answers
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    assert base64.b64decode(json.loads(made)["data"][0]["b64_json"]) == fake.image_bytes
    assert json.loads(again)["data"][0]["b64_json"] == json.loads(made)["data"][0]["b64_json"]
    assert head.startswith(b"HTTP/1.1 200") and "connection" not in head_headers
    assert head_length == len(pong) and json.loads(pong)["status"] == "ok"  # the next answer starts where it should
    assert ping.startswith(b"HTTP/1.1 200")


def test_head_on_a_post_route_is_a_405_without_a_body(serve) -> None:
    served = serve()
    response = httpx.head(served.url + "/txt2img", timeout=10)
    assert response.status_code == 405 and response.content == b""
    assert int(response.headers["content-length"]) > 0


def _post_and_hang_up(served: Served, body: dict) -> bytes:
    """Send the request, read the status line, then reset the connection with most of the answer unread."""
    host, port = served.server.server_address[:2]
    data = json.dumps(body).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server cannot run ahead
    try:
        sock.settimeout(30)
        sock.connect((host, port))
        sock.sendall((f"POST {'/txt2img' if 'samples' in body else '/v1/images/generations'} HTTP/1.1\r\n"
                      f"Host: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
                     + data)
        head = sock.recv(200)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
    finally:
        sock.close()
    return head


@pytest.mark.parametrize("save", [False, True], ids=["spooled", "saved"])
def test_a_client_that_hangs_up_mid_answer_loses_no_record_and_leaves_no_half_file(
        serve, saving_serve, fake, tmp_path: Path, save: bool) -> None:
    image = noise_png(1500, 1400)  # ~6 MB: 8 MB of base64, far more than the socket buffers hold
    fake.image_bytes = image
    saved = tmp_path / "saved"
    served = saving_serve(saved) if save else serve(spool_dir=tmp_path / "spool")
    head = _post_and_hang_up(served, {"prompt": "a cat", "response_format": "b64_json"})
    assert head.startswith(b"HTTP/1.1 200")
    [line] = served.log.wait_for(1)
    assert '"POST /v1/images/generations" 408' in line  # the answer could not be finished
    ledger = Ledger()
    try:
        assert [(row.command, row.outcome) for row in ledger.entries()] == [("serve", "saved")]
    finally:
        ledger.close()
    assert fake.count(SYNC_ROUTE) == 1
    assert list((tmp_path / "spool").iterdir()) == []
    if save:
        [kept] = saved.iterdir()
        assert kept.suffix == ".png" and without_text_chunks(kept.read_bytes()) == image
    again = served.post("/txt2img", {"prompt": "still here"})  # the server goes on
    assert again.status_code == 200 and base64.b64decode(again.json()["images"][0]["base64"]).startswith(b"\x89PNG")


def test_streamed_json_is_json_dumps_with_the_files_base64(tmp_path: Path) -> None:
    files = []
    for size in (0, 1, 2, 3, 4, 3 * 64 * 1024, 3 * 64 * 1024 + 1, 500_000):
        path = tmp_path / f"f{size}"
        path.write_bytes(os.urandom(size))
        files.append(path)
    payload = {"名前": "猫 \"quoted\" \n", "items": [{"b64": Base64Of(path), "url": Base64Of(path, "data:x;base64,")}
                                                   for path in files], "n": None}
    expected = json.dumps({**payload, "items": [
        {"b64": base64.b64encode(path.read_bytes()).decode(),
         "url": "data:x;base64," + base64.b64encode(path.read_bytes()).decode()} for path in files]},
        ensure_ascii=False).encode()
    pieces: list[bytes] = []
    with StreamedJson(payload) as body:
        assert body.length == len(expected)
        body.write(pieces.append)
    assert b"".join(pieces) == expected
    assert max(len(piece) for piece in pieces) <= encoded_length(3 * 64 * 1024)  # never a whole image at once


def test_a_file_that_shrinks_after_the_length_was_announced_breaks_the_connection(tmp_path: Path) -> None:
    path = tmp_path / "image"
    path.write_bytes(b"x" * 1000)
    with StreamedJson({"b64": Base64Of(path)}) as body:
        path.write_bytes(b"x" * 10)  # truncated in place: the open file shrinks too
        with pytest.raises(ConnectionError):
            body.write(lambda piece: None)


def test_serve_clears_request_folders_a_killed_serve_left_but_not_a_running_ones(tmp_path: Path) -> None:
    from glm_image_cli.serve.service import SPOOL_PREFIX, STALE_SPOOL_SECONDS, clear_stale_spool

    spool = tmp_path / "spool"
    old, young, other = spool / f"{SPOOL_PREFIX}old", spool / f"{SPOOL_PREFIX}young", spool / "mine"
    for folder in (old, young, other):
        folder.mkdir(parents=True)
        (folder / "image").write_bytes(b"x")
    long_ago = old.stat().st_mtime - STALE_SPOOL_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    clear_stale_spool(spool)
    assert sorted(path.name for path in spool.iterdir()) == sorted([young.name, other.name])


# --- the way in: an inline image is decoded from the answer's bytes, not from a parsed copy of them ----------

def read_in_pieces(body: bytes, size: int):
    from glm_image_cli.backends.inlinejson import InlineImageReader

    reader = InlineImageReader()
    for start in range(0, len(body), size):
        reader.feed(body[start:start + size])
    return reader.result()


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_an_inline_answer_is_read_with_its_image_decoded_as_it_arrives(size: int) -> None:
    image, other = os.urandom(30_001), os.urandom(2)
    answer = {"created": 1, "data": [{"b64_json": base64.b64encode(image).decode(), "note": '"b64_json": "x"'},
                                     {"b64_json": base64.b64encode(other).decode()}], "request_id": "猫"}
    parsed = read_in_pieces(json.dumps(answer, ensure_ascii=False).encode(), size)
    assert parsed["data"][0]["b64_json"] == image and parsed["data"][1]["b64_json"] == other
    assert parsed["data"][0]["note"] == '"b64_json": "x"' and parsed["request_id"] == "猫"
    escaped = json.dumps(answer).replace("/", "\\/").encode()  # some encoders write \/
    assert read_in_pieces(escaped, size)["data"][0]["b64_json"] == image


@pytest.mark.parametrize("body", [b'{"data": [{"b64_json": "AAA"}]}', b'{"data": [{"b64_json": "A\\u0041AA"}]}',
                                  b'{"data": [{"b64_json": "AAAA', b'{"data": [{"b64_json": "AAAA"}]'])
def test_an_inline_answer_that_is_not_valid_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        read_in_pieces(body, 3)


def test_an_inline_image_reaches_the_client_whole_through_the_streamed_read(serve, fake, tmp_path: Path) -> None:
    fake.result_mode, fake.image_bytes = "b64", noise_png(400, 300)
    served = serve(spool_dir=tmp_path / "spool")
    made = served.post("/v1/images/generations", {"prompt": "a cat", "n": 2, "response_format": "b64_json"})
    assert [base64.b64decode(item["b64_json"]) for item in made.json()["data"]] == [fake.image_bytes] * 2


# --- a serve killed while the upstream works: its paid task is collected later, never bought again ----------

def test_serve_with_save_killed_while_polling_leaves_its_task_for_collect(cli, fake, tmp_path: Path) -> None:
    import signal
    import subprocess

    from tests.fake_bigmodel import ASYNC_ROUTE, POLL_ROUTE, Reply
    from tests.test_console_script import child_env, console_script, wait_until_reached

    saved = tmp_path / "saved"
    fake.script(POLL_ROUTE, Reply(body={"task_status": "PROCESSING"}, delay=3600))
    process = subprocess.Popen([*console_script(), "serve", "--port", "0", "--save", str(saved), "--quiet"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=child_env(fake))
    try:
        url = process.stderr.readline().split("listening on ")[1].split()[0]

        def client() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(f"{url}/txt2img", json={"prompt": "一只猫", "model": "glm-image"}, timeout=60)

        threading.Thread(target=client, daemon=True).start()
        wait_until_reached(fake, process, POLL_ROUTE)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        process.kill()
    fake.released.set()
    collected = cli("collect")
    assert collected.exit_code == 0, collected.stderr
    [path] = collected.stdout.split()
    assert Path(path).parent == saved.resolve() and read_recipe(Path(path).read_bytes())["prompt"] == "一只猫"
    assert fake.count(ASYNC_ROUTE) == 1  # one paid task, collected


def test_a_failure_after_the_headers_went_out_ends_the_connection_without_a_second_answer(
        serve, fake, tmp_path: Path, monkeypatch) -> None:
    import glm_image_cli.serve.streamjson as streamjson

    fake.image_bytes = noise_png(100, 100)
    served = serve(spool_dir=tmp_path / "spool")

    def broken(self, send) -> None:
        send(b'{"created": ')
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(streamjson.StreamedJson, "write", broken)
    host, port = served.server.server_address[:2]
    body = json.dumps({"prompt": "a cat", "response_format": "b64_json"}).encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall((f"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1 and received.endswith(b'{"created": ')  # closed, nothing appended
    assert '"POST /v1/images/generations" 408' in served.log.wait_for(1)[0]
