"""glm-image is made through an asynchronous task: its id is journaled the moment it is returned, before the
first poll, so a run killed while polling collects the image later instead of paying for it again."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

from tests.fake_bigmodel import ASYNC_ROUTE, POLL_ROUTE, Reply
from tests.test_batch_cmd import manifest_states
from tests.test_console_script import spawn_batch, wait_until_reached


def kill_9_while_polling(fake, process, polls: int = 1) -> None:
    """SIGKILL the child while the fake holds its first polls: the tasks are accepted (paid), no image made."""
    try:
        wait_until_reached(fake, process, POLL_ROUTE, polls)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL


def test_a_batch_killed_while_polling_collects_its_tasks_on_the_rerun(cli, fake) -> None:
    """Before: 2 billed, 0 saved, "uncertain".  Now: 1 billed per image, every image saved."""
    Path("p.txt").write_text("一只猫\n一条狗\n", encoding="utf-8")
    fake.script(POLL_ROUTE, Reply(delay=3600), Reply(delay=3600))  # both first polls are held
    kill_9_while_polling(fake, spawn_batch(fake, "p.txt", "-o", "out", "-m", "glm-image", "-j", "2"), polls=2)
    assert Counter(manifest_states().values()) == Counter({"submitted": 2})  # journaled before polling
    result = cli("batch", "p.txt", "-o", "out", "-m", "glm-image")
    assert result.exit_code == 0, result.stderr
    assert fake.count(ASYNC_ROUTE) == 2  # one paid task per image, across the run and the re-run
    assert Counter(manifest_states().values()) == Counter({"done": 2})
    assert len(list(Path("out").glob("*.png"))) == 2


def generate_child(fake, *args: str):
    import subprocess

    from tests.test_console_script import child_env, console_script

    return subprocess.Popen([*console_script(), "generate", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(fake))


def test_a_generate_killed_while_polling_leaves_a_pending_job_that_collect_saves(cli, fake) -> None:
    """Before: 1 billed, 0 saved, nothing to get it back with.  Now: collect polls the task (free) and saves it
    where, and as, the original run would have (folder, name template, recipe)."""
    pending = Path(os.environ["GLM_IMAGE_DATA_DIR"]) / "pending-jobs.json"
    fake.script(POLL_ROUTE, Reply(delay=3600))
    kill_9_while_polling(fake, generate_child(fake, "一只猫", "-m", "glm-image", "-o", "kept", "--name", "cat-{index}"))
    assert pending.stat().st_mode & 0o777 == 0o600  # it names prompts and folders
    listed = cli("collect", "--list")
    assert listed.exit_code == 0 and "task-1" in listed.stderr and "一只猫" in listed.stderr
    assert fake.count(ASYNC_ROUTE) == 1 and list(Path("kept").glob("*.png")) == []
    collected = cli("collect")
    assert collected.exit_code == 0, collected.stderr
    [saved] = collected.stdout.split()
    assert Path(saved).parent == Path("kept").resolve() and Path(saved).name == "cat-1.png"
    assert fake.count(ASYNC_ROUTE) == 1  # billed once for the one image
    assert not pending.exists()
    assert "No pending jobs." in cli("collect").stderr


def test_a_finished_generate_leaves_no_pending_job(cli, fake) -> None:
    assert cli("generate", "一只猫", "-m", "glm-image", "-o", "out").exit_code == 0
    assert not (Path(os.environ["GLM_IMAGE_DATA_DIR"]) / "pending-jobs.json").exists()
    assert cli("collect", "--list").exit_code == 0
