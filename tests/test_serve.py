"""`glm-image serve` over real sockets on 127.0.0.1, with the fake upstream behind it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from glm_image_cli.backends.bigmodel import BigModelClient
from glm_image_cli.cli.commands.common import RunState
from glm_image_cli.cli.commands.serve_cmd import _serve_until_stopped, _StopSignals
from glm_image_cli.serve.guards import TokenBucket, is_loopback
from glm_image_cli.serve.server import GlmImageHTTPServer
from glm_image_cli.serve.service import ImageService, ServeOptions
from tests.conftest import SECRET_PART, serve_studio
from tests.fake_bigmodel import DEFAULT_KEY, FILE_ROUTE, SYNC_ROUTE, Reply
from tests.test_console_script import console_script, wait_until_reached

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ORIGINAL_BODY = ('{"prompt": "一只可爱的卡通猫，白色背景", "negative_prompt": "模糊，低质量，丑陋", "width": 1024, '
                 '"height": 1024, "model": "cogview-3", "style": "卡通"}')


def test_the_original_curl_calls_work_unchanged(serve, fake) -> None:
    served = serve()
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    ping = subprocess.run([curl, "-s", f"{served.url}/ping"], capture_output=True, text=True, check=True)
    assert json.loads(ping.stdout) == {"status": "ok", "message": "GLM Image API 服务正常运行"}
    made = subprocess.run([curl, "-s", "-X", "POST", f"{served.url}/txt2img", "-H", "Content-Type: application/json",
                           "-d", ORIGINAL_BODY], capture_output=True, text=True, check=True)
    answer = json.loads(made.stdout)
    assert answer["prompt"] == "一只可爱的卡通猫，白色背景" and answer["count"] == 1
    assert base64.b64decode(answer["images"][0]["base64"]).startswith(PNG_MAGIC)
    [call] = fake.seen(SYNC_ROUTE)
    assert call.body["model"] == "cogview-3" and call.body["size"] == "1024x1024"
    assert call.body["prompt"].startswith("一只可爱的卡通猫，白色背景，卡通插画风格")
    assert call.body["prompt"].endswith("画面中不要出现：模糊，低质量，丑陋")


def test_openai_sdk_gets_images_back(serve, fake) -> None:
    openai = pytest.importorskip("openai")
    served = serve()
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=0)
    result = client.images.generate(model="cogview-4-250304", prompt="a lighthouse at dusk", n=2,
                                    size="1344x768", response_format="b64_json")
    assert len(result.data) == 2
    assert all(base64.b64decode(image.b64_json).startswith(PNG_MAGIC) for image in result.data)
    by_url = client.images.generate(model="dall-e-3", prompt="a cat", response_format="url")
    assert by_url.data[0].url.startswith(fake.origin + "/files/")
    assert fake.seen(SYNC_ROUTE)[-1].body["model"] == "cogview-4-250304"  # OpenAI names map to the default
    assert fake.count(FILE_ROUTE) == 2  # the url answer is not downloaded by the server
    assert {m.id for m in client.models.list()} == {"glm-image", "cogview-4-250304", "cogview-4", "cogview-3-flash"}


def test_openai_sdk_sees_refusals_as_errors_it_does_not_retry(serve, fake) -> None:
    openai = pytest.importorskip("openai")
    served = serve()
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe"))
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=2)
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(prompt="x")
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "CONTENT_BLOCKED"
    assert fake.count(SYNC_ROUTE) == 1  # x-should-retry: false stops the SDK's automatic retries


@pytest.mark.parametrize(("body", "fragment"), [
    (b"{not json", "not valid UTF-8 JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"prompt": 3}', "'prompt' must be a string"),
    (b'{"prompt": ""}', "'prompt' must not be empty"),
    (b'{"width": 1024, "height": 1024}', "'prompt' is required"),
    (b'{"prompt": "x", "width": 1e300, "height": 1024}', "between 1 and 8192"),
    (b'{"prompt": "x", "width": 1024.5, "height": 1024}', "'width' must be a whole number"),
    (b'{"prompt": "x", "width": Infinity, "height": NaN}', "'width' must be a whole number"),
    (b'{"prompt": "x", "width": "1024", "height": 1024}', "'width' must be a whole number"),
    (b'{"prompt": "x", "width": 100000000000000000000000, "height": 1024}', "between 1 and 8192"),
    (b'{"prompt": "x", "width": 1024}', "both 'width' and 'height'"),
    (b'{"prompt": "x", "samples": 50}', "'samples' must be between 1 and 4"),
    (b'{"prompt": "x", "style": "no-such-style"}', "Unknown style"),
    (b'{"prompt": "x", "width": 1000, "height": 1000, "model": "cogview-4"}', "Nearest valid size: 1008x1008"),
    ('{"prompt": "\udcff"}'.encode("utf-8", "surrogatepass"), "not valid UTF-8 JSON"),
])
def test_bad_input_is_a_400_with_a_message(serve, fake, body: bytes, fragment: str) -> None:
    served = serve()
    response = httpx.post(f"{served.url}/txt2img", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert response.json()["code"]
    assert fake.count(SYNC_ROUTE) == 0


@pytest.mark.parametrize(("body", "fragment"), [
    (b"{not json", "not valid UTF-8 JSON"),
    (b'{"prompt": 3}', "'prompt' must be a string"),
    (b'{"prompt": "x", "n": 0}', "'n' must be between 1 and 4"),
    (b'{"prompt": "x", "size": "huge"}', "is not a size"),
    (b'{"prompt": "x", "response_format": "xml"}', "'url' or 'b64_json'"),
])
def test_openai_endpoint_bad_input_is_a_400_in_openai_shape(serve, fake, body: bytes, fragment: str) -> None:
    served = serve()
    response = httpx.post(f"{served.url}/v1/images/generations", content=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    assert fake.count(SYNC_ROUTE) == 0


def test_unicode_prompts_are_fine(serve, fake) -> None:
    served = serve()
    response = served.post("/txt2img", {"prompt": "🐱 一只猫 «chat» ñ"})
    assert response.status_code == 200
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == "🐱 一只猫 «chat» ñ"


def test_unknown_path_and_wrong_method(serve) -> None:
    served = serve()
    missing = httpx.get(f"{served.url}/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = httpx.get(f"{served.url}/txt2img")
    assert wrong.status_code == 405 and wrong.json()["code"] == "METHOD_NOT_ALLOWED"


def test_token_is_required_when_set(serve) -> None:
    served = serve(token="s3cret-token")
    assert httpx.get(f"{served.url}/ping").status_code == 200  # health checks stay open
    assert served.post("/txt2img", {"prompt": "x"}).status_code == 401
    assert served.post("/txt2img", {"prompt": "x"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = served.post("/txt2img", {"prompt": "x"}, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    lines = served.log.wait_for(4)  # each line is written after its answer went out
    assert all("s3cret-token" not in line for line in lines)


def test_body_over_the_cap_is_413(serve, fake) -> None:
    served = serve(max_body=2048)
    response = served.post("/txt2img", {"prompt": "长" * 5000})
    assert response.status_code == 413 and response.json()["code"] == "TOO_LARGE"
    assert fake.count(SYNC_ROUTE) == 0


def test_per_client_rate_limit_is_429_with_retry_after(serve) -> None:
    served = serve(rate_per_minute=6, burst=1)
    assert httpx.get(f"{served.url}/v1/models").status_code == 200
    limited = httpx.get(f"{served.url}/v1/models")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_saturation_is_503_at_once(serve, fake) -> None:
    served = serve(max_concurrent=1)
    fake.hold_after = 0
    first = threading.Thread(target=served.post, args=("/txt2img", {"prompt": "slow"}))
    first.start()
    assert fake.wait_for(SYNC_ROUTE, 1)
    busy = served.post("/txt2img", {"prompt": "second"})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert busy.headers["x-should-retry"] == "true"
    fake.released.set()
    first.join(timeout=30)
    assert fake.count(SYNC_ROUTE) == 1


def test_upstream_statuses(serve, fake) -> None:
    served = serve(client_timeout=1.0)  # the held answer times out; the prompt 429 has a second on a busy machine
    fake.script(SYNC_ROUTE, Reply.error(429, "1113", "余额不足"))
    refused = served.post("/v1/images/generations", {"prompt": "x"})
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "BALANCE_EXHAUSTED"
    assert refused.headers["x-should-retry"] == "false"
    fake.script(SYNC_ROUTE, Reply(delay=30))
    timed_out = served.post("/v1/images/generations", {"prompt": "x"})
    assert timed_out.status_code == 504 and timed_out.headers["x-should-retry"] == "false"
    assert fake.count(SYNC_ROUTE) == 2
    for response in (refused, timed_out):
        assert SECRET_PART not in response.text


def test_slow_client_is_cut_off(serve) -> None:
    served = serve(read_timeout=0.5)
    host, port = served.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /txt2img HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\"")
        assert sock.recv(1024) == b""  # the server gave up on us and closed the connection
    assert httpx.get(f"{served.url}/ping").status_code == 200  # and still serves others


def test_access_log_has_no_secrets(serve) -> None:
    served = serve()
    served.post("/txt2img?key=abc", {"prompt": "x"}, headers={"Authorization": "Bearer leaked"})
    [line] = served.log.wait_for(1)  # written after the answer was sent: wait for it, do not race it
    assert '"POST /txt2img" 200' in line and "127.0.0.1" in line
    assert "leaked" not in line and "abc" not in line and SECRET_PART not in line


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("")


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(60, 2, clock=lambda: now[0])
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    assert bucket.take("a") == pytest.approx(1.0)
    assert bucket.take("b") == 0
    now[0] = 1.0
    assert bucket.take("a") == 0


# --- the command --------------------------------------------------------------------------------------

def test_non_loopback_without_token_is_refused(cli, fake) -> None:
    result = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "without a token" in result.stderr and "--insecure" in result.stderr


def test_port_in_use_is_one_clear_line(cli, fake) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.exit_code == 12
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr and "--port " in result.stderr
    assert result.stderr.count("\n") == 1


def test_serve_requires_a_key(cli, fake, monkeypatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")
    assert cli("serve", "--port", "0").exit_code == 3


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_finishes_requests_in_flight(fake, tmp_path: Path, stop_signal: int) -> None:
    fake.hold_after = 0
    process = subprocess.Popen([*console_script(), "serve", "--port", "0", "--save", str(tmp_path / "saved")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY})
    try:
        banner = process.stderr.readline()
        assert "listening on " in banner, banner + process.stderr.read()
        url = banner.split("listening on ")[1].split()[0]
        answers: list[httpx.Response] = []
        request = threading.Thread(target=lambda: answers.append(
            httpx.post(f"{url}/txt2img", json={"prompt": "in flight"}, timeout=30)))
        request.start()
        wait_until_reached(fake, process, SYNC_ROUTE)
        process.send_signal(stop_signal)
        line = process.stderr.readline()
        while line and "Stopping" not in line:
            line = process.stderr.readline()
        assert "waiting for 1 request" in line
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/ping", timeout=5)  # no new connections once stopping
        fake.released.set()
        request.join(timeout=30)
        _, rest = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert answers and answers[0].status_code == 200
    assert len(list((tmp_path / "saved").glob("*.png"))) == 1
    assert "Stopped." in rest and SECRET_PART not in rest


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_before_serving_starts_is_still_a_graceful_stop(fake, capsys, stop_signal: int) -> None:
    """The handlers are installed before the URL is announced; a signal between that and serve_forever is
    not lost (the loop returns at once) and the old handlers are back afterwards."""
    options = ServeOptions(port=0, rate_per_minute=0)
    client = BigModelClient(DEFAULT_KEY, fake.base_url)
    server = GlmImageHTTPServer(options, ImageService(serve_studio(client), options), lambda line: None)
    fired = threading.Event()
    watchdog = threading.Timer(20, lambda: (fired.set(), server.shutdown()))  # a lost signal fails, not hangs
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _StopSignals(server) as stop:
            os.kill(os.getpid(), stop_signal)
            assert stop.requested.wait(10)  # the handler ran, and serve_forever has not started yet
            watchdog.start()
            _serve_until_stopped(RunState(), server, options)
    finally:
        watchdog.cancel()
        server.server_close()
        client.close()
    assert not fired.is_set(), "the signal was lost: serving stopped only when the watchdog stopped it"
    assert {signum: signal.getsignal(signum) for signum in previous} == previous
    assert "Stopped." in capsys.readouterr().err
