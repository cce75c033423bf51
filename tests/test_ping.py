"""`glm-image ping`: checks that cost nothing, against the fake upstream and a running serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess

from tests.fake_bigmodel import ASYNC_ROUTE, DEFAULT_KEY, POLL_ROUTE, SYNC_ROUTE
from tests.test_console_script import console_script


def _refusing_port(sock: socket.socket) -> int:
    """A port on 127.0.0.1 that refuses connections for as long as ``sock`` is open: bound, never listening,
    so no other process (or test) can start listening on it in the meantime."""
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


def test_everything_fine_and_nothing_generated(cli, fake) -> None:
    result = cli("ping", "--json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == ["config", "api_key", "base_url", "dns", "reach", "key_accepted"]
    assert "HTTP 404 / 1222" in report["checks"][-1]["detail"]
    assert fake.count(SYNC_ROUTE) == 0 and fake.count(ASYNC_ROUTE) == 0  # nothing billable was sent
    [probe] = fake.seen(POLL_ROUTE)
    assert probe.headers["authorization"] == f"Bearer {DEFAULT_KEY}"
    table = cli("ping").stdout
    assert "key accepted" in table and "✓" in table


def test_rejected_key(cli, fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_API_KEY", "wrong-key-00000000000")
    result = cli("ping", "--json")
    assert result.exit_code == 4
    assert "rejected (HTTP 401 / 1001" in json.loads(result.stdout)["checks"][-1]["detail"]


def test_missing_key_still_checks_the_network(cli, fake, monkeypatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")
    result = cli("ping", "--json")
    assert result.exit_code == 3
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["api_key"]["ok"] is False and "config set api-key" in checks["api_key"]["detail"]
    assert checks["reach"]["ok"] is True and checks["key_accepted"]["ok"] is None


def test_unreachable(cli, monkeypatch) -> None:
    with socket.socket() as closed:
        port = _refusing_port(closed)
        monkeypatch.setenv("GLM_BASE_URL", f"http://127.0.0.1:{port}/api/paas/v4")
        monkeypatch.setenv("GLM_API_KEY", DEFAULT_KEY)
        result = cli("ping", "--lang", "zh")
    assert result.exit_code == 9
    assert "失败" in result.stdout and "部分检查未通过" in result.stderr


def test_ping_a_running_serve(cli, serve) -> None:
    served = serve()
    result = cli("ping", "--server", served.url, "--json")
    assert result.exit_code == 0
    assert "GLM Image API 服务正常运行" in json.loads(result.stdout)["checks"][0]["detail"]


def test_ping_server_alone_uses_the_configured_address(serve) -> None:
    served = serve()
    port = served.url.rsplit(":", 1)[1]
    env = {**os.environ, "GLM_IMAGE_SERVER_PORT": port}
    completed = subprocess.run([*console_script(), "ping", "--server", "--json"], capture_output=True, text=True,
                               env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["ok"] is True
    with socket.socket() as closed:
        env["GLM_IMAGE_SERVER_PORT"] = str(_refusing_port(closed))
        down = subprocess.run([*console_script(), "ping", "--server"], capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=60)
    assert down.returncode == 9 and "glm-image serve" in down.stdout
