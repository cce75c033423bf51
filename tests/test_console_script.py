"""The installed console script and `python -m`, as real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glm_image_cli import __version__
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE


def console_script() -> list[str]:
    found = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or shutil.which("glm-image")
    if found is None:
        pytest.skip("the glm-image console script is not installed (pip install .)")
    return [found]


def child_env(fake) -> dict[str, str]:
    """The environment of a console-script child pointed at the fake upstream."""
    return {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY}


def spawn_batch(fake, *args: str) -> subprocess.Popen[str]:
    """`glm-image batch ARGS` as a child process against the fake (stdout and stderr captured)."""
    return subprocess.Popen([*console_script(), "batch", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env(fake))


def wait_until_reached(fake, process: subprocess.Popen, route: str, count: int = 1, timeout: float = 30.0) -> None:
    """Block on the fake's notification until ``count`` requests from the child reached ``route``; if the child
    ends first (or never gets there), fail at once with what it printed instead of waiting out the timeout."""
    deadline = time.monotonic() + timeout
    while not fake.wait_for(route, count, timeout=0.25):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate(timeout=30)
            pytest.fail(f"{count} request(s) to {route} never came; the child exited {process.returncode}\n"
                        f"stdout: {(out or '')[-2000:]}\nstderr: {(err or '')[-2000:]}")


def run(args: list[str], stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60,
                               env={**os.environ, **env}, stdin=None if stdin is not None else subprocess.DEVNULL)
    assert "Traceback" not in completed.stderr
    assert SECRET_PART not in completed.stdout + completed.stderr
    return completed


def test_version_and_module_help() -> None:
    assert run([*console_script(), "--version"]).stdout.strip() == f"glm-image {__version__}"
    help_text = run([sys.executable, "-m", "glm_image_cli", "--help"]).stdout
    assert "generate" in help_text and "config" in help_text


def test_generate_through_the_console_script(fake) -> None:
    completed = run([*console_script(), "generate", "-", "--json"], stdin="一只橘猫\n",
                    GLM_BASE_URL=fake.base_url, GLM_API_KEY=DEFAULT_KEY)
    assert completed.returncode == 0, completed.stderr
    [record] = json.loads(completed.stdout)
    assert Path(record["path"]).read_bytes().startswith(b"\x89PNG")
    assert fake.count(SYNC_ROUTE) == 1


def test_error_exit_code_and_one_line_in_a_subprocess(fake) -> None:
    completed = run([*console_script(), "generate", "x", "--size", "1x1"], GLM_BASE_URL=fake.base_url,
                    GLM_API_KEY=DEFAULT_KEY, LANG="zh_CN.UTF-8")
    assert completed.returncode == 2
    assert completed.stderr.startswith("错误：") and completed.stderr.count("\n") == 1


def test_help_does_not_import_the_http_stack() -> None:
    code = ("import sys; from glm_image_cli.cli.app import app; "
            "print(sorted(m for m in ('httpx', 'rich.progress', 'tomli_w') if m in sys.modules))")
    assert run([sys.executable, "-c", code]).stdout.strip() == "[]"


def test_ctrl_c_keeps_the_image_already_paid_for_and_sends_no_more(fake) -> None:
    import signal

    fake.latency = 60  # the first answer is held until the test releases it
    process = subprocess.Popen([*console_script(), "generate", "a cat", "-n", "3", "-j", "1"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY})
    try:
        wait_until_reached(fake, process, SYNC_ROUTE)
        process.send_signal(signal.SIGINT)
        # the CLI says it is waiting for the in-flight image before it is released
        waiting_line = process.stderr.readline()
        while "waiting for" not in waiting_line and waiting_line:
            waiting_line = process.stderr.readline()
        assert "waiting for 1 image" in waiting_line
        fake.released.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    [saved] = stdout.split()
    assert Path(saved).exists()
    assert "Interrupted." in stderr and "2 image(s) were not sent" in stderr
    assert fake.count(SYNC_ROUTE) == 1
