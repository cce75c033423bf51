"""Every test runs isolated: its own config file, no key variables, no colour, English messages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from glm_image_cli.backends import bigmodel as client_module
from glm_image_cli.backends import transport
from glm_image_cli.backends.bigmodel import BigModelClient
from glm_image_cli.cli.app import app
from glm_image_cli.cli.commands.common import RunState
from glm_image_cli.cli.terminal import Terminal
from glm_image_cli.core.studio import Studio
from glm_image_cli.serve.server import GlmImageHTTPServer, ImageService, ServeOptions
from tests.fake_bigmodel import DEFAULT_KEY, FakeBigModel

SECRET_PART = DEFAULT_KEY.split(".")[1]  # the part of the key that must never be shown
KEY_VARIABLES = ("GLM_API_KEY", "ZAI_API_KEY", "ZHIPUAI_API_KEY", "GLM_BASE_URL", "ZAI_BASE_URL")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config in tmp_path, working folder tmp_path/work, and nothing from the developer's environment."""
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("GLM_IMAGE_LANG", "GLM_IMAGE_MODEL", "GLM_IMAGE_SIZE", "GLM_IMAGE_STYLE", "GLM_IMAGE_QUALITY",
                 "GLM_IMAGE_OUTPUT_DIR", "GLM_IMAGE_REGION", "GLM_IMAGE_TIMEOUT", "GLM_IMAGE_CONCURRENCY",
                 "GLM_IMAGE_DEBUG", "GLM_IMAGE_HISTORY", "GLM_IMAGE_METADATA", "LC_ALL", "LC_MESSAGES", "LANGUAGE",
                 "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    config = tmp_path / "config" / "config.toml"
    monkeypatch.setenv("GLM_IMAGE_CONFIG", str(config))
    monkeypatch.setenv("GLM_IMAGE_DATA_DIR", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return config


@pytest.fixture(autouse=True)
def fast_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls and back-offs without Retry-After wait milliseconds in tests (the real ones wait seconds)."""
    monkeypatch.setattr(client_module, "DEFAULT_POLLING", client_module.PollingPolicy(0.0, 0.0, 30.0))
    monkeypatch.setattr(transport, "DEFAULT_RETRY", transport.RetryPolicy(base_delay=0.01, max_delay=0.05))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBigModel]:
    """A running fake upstream, with GLM_BASE_URL and GLM_API_KEY pointing the CLI at it."""
    with FakeBigModel() as server:
        monkeypatch.setenv("GLM_BASE_URL", server.base_url)
        monkeypatch.setenv("GLM_API_KEY", DEFAULT_KEY)
        yield server


class Cli:
    """Runs the Typer app in-process the way a user would type it; ``terminal`` stands for the terminal it runs
    on (what a pseudo-terminal would otherwise be needed for: a question on stdin, a picture on stdout)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                 terminal: Terminal | None = None):
        obj = RunState(terminal=terminal) if terminal is not None else None
        result = self.runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False, obj=obj)
        assert_clean(result, SECRET_PART)
        return result


@pytest.fixture
def cli() -> Cli:
    return Cli()


def assert_clean(result, *secrets: str) -> None:
    """No traceback and no secret in anything the user sees."""
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown
    for secret in secrets:
        assert secret not in shown


def serve_studio(client: BigModelClient, **settings: object) -> Studio:
    """serve's Studio over a client of the test's own: the isolated settings, the model serve tests use, and
    ``settings`` (keyed by setting name) over them."""
    from glm_image_cli.core.limits import Limiter

    overrides = {"model": "cogview-4-250304", **{name.replace("_", "-"): value for name, value in settings.items()}}
    # As `glm-image serve` caps the account's limit at --max-concurrent (default 8).
    return Studio.from_config(overrides=overrides, command="serve", client=client,
                              limiter=Limiter(ServeOptions().max_concurrent))


class AccessLog(list):
    """The server's access log lines.  The server writes a line after the answer is sent, so a test that
    has its response may not have the line yet: ``wait_for`` blocks on a notification until it is there."""

    def __init__(self) -> None:
        super().__init__()
        self._arrived = threading.Condition()

    def append(self, line: str) -> None:
        with self._arrived:
            super().append(line)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[str]:
        """The lines once at least ``count`` were written; fails the test if they do not come in time."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self) >= count, timeout):
                pytest.fail(f"expected {count} access log line(s) within {timeout}s, got {list(self)}")
            return list(self)


class Served:
    def __init__(self, server: GlmImageHTTPServer, log: AccessLog) -> None:
        self.server = server
        self.log = log
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def post(self, path: str, body: object, **kwargs) -> httpx.Response:
        return httpx.post(self.url + path, json=body, timeout=30, **kwargs)


@pytest.fixture
def serve(fake) -> Iterator:
    """Start an in-process server with the given options; stopped at teardown."""
    started: list[tuple[GlmImageHTTPServer, BigModelClient]] = []

    def start(client_timeout: float = 30.0, **overrides) -> Served:
        options = ServeOptions(port=0, **{"rate_per_minute": 0, **overrides})
        client = BigModelClient(DEFAULT_KEY, fake.base_url, timeout=client_timeout)
        log = AccessLog()
        server = GlmImageHTTPServer(options, ImageService(serve_studio(client), options), log.append)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append((server, client))
        return Served(server, log)

    yield start
    fake.released.set()
    for server, client in started:
        server.shutdown()
        server.server_close()
        client.close()
