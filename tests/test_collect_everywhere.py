"""Every way of making images to files records its paid asynchronous tasks until they are saved: a Python program
using the library (as chat does) killed while the upstream works leaves them for `glm-image collect`."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from glm_image_cli.storage.pngmeta import read_recipe
from tests.fake_bigmodel import ASYNC_ROUTE, POLL_ROUTE, Reply
from tests.test_console_script import child_env, wait_until_reached

PROGRAM = """
from glm_image_cli import Studio
with Studio.from_config(overrides={"model": "glm-image"}) as studio:
    studio.generate(studio.plan("一只猫"), output_dir="kept")
"""


def test_a_library_program_killed_while_polling_leaves_its_task_for_collect(cli, fake) -> None:
    fake.script(POLL_ROUTE, Reply(body={"task_status": "PROCESSING"}, delay=3600))
    process = subprocess.Popen([sys.executable, "-c", PROGRAM], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=child_env(fake))
    try:
        wait_until_reached(fake, process, POLL_ROUTE)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert list(Path("kept").glob("*.png")) == []
    collected = cli("collect")
    assert collected.exit_code == 0, collected.stderr
    [path] = collected.stdout.split()
    assert Path(path).parent == Path("kept").resolve() and read_recipe(Path(path).read_bytes())["prompt"] == "一只猫"
    assert fake.count(ASYNC_ROUTE) == 1  # bought once, collected
