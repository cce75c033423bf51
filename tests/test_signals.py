"""SIGHUP and SIGTERM drain a run as the first Ctrl-C does (nothing new sent, calls in flight saved, the journal
right; exit 129 / 143), and Ctrl-C or Ctrl-D at the spend question is a "no": nothing sent, one line, exit 130
(chat: back to the prompt).  Real child processes, real signals, a pseudo-terminal for the question."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE
from tests.terminal import Terminal
from tests.test_batch_cmd import manifest_states, prompts_sent
from tests.test_console_script import child_env, console_script, spawn_batch, wait_until_reached

EXIT_AFTER = {signal.SIGHUP: 129, signal.SIGTERM: 143}


def read_until(stream, words: str) -> str:
    line = stream.readline()
    while line and words not in line:
        line = stream.readline()
    return line


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_generate_keeps_the_image_in_flight_and_sends_no_more(fake, signum: int) -> None:
    fake.hold_after = 0  # every image call is held until the test releases it
    process = subprocess.Popen([*console_script(), "generate", "a cat", "-n", "3", "-j", "1", "-o", "out"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=child_env(fake))
    try:
        wait_until_reached(fake, process, SYNC_ROUTE)
        process.send_signal(signum)
        assert "waiting for 1 image" in read_until(process.stderr, "waiting for")  # drained as after Ctrl-C
        fake.released.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == EXIT_AFTER[signum], stderr
    [saved] = stdout.split()
    assert Path(saved).exists() and "2 image(s) were not sent" in stderr and "Traceback" not in stderr
    assert fake.count(SYNC_ROUTE) == 1  # billed once, saved once


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_batch_drains_and_a_rerun_buys_nothing_twice(cli, fake, signum: int) -> None:
    Path("p.txt").write_text("\n".join(f"prompt {i}" for i in range(1, 9)))
    fake.hold_after = 0
    process = spawn_batch(fake, "p.txt", "-o", "out", "-j", "2")
    try:
        wait_until_reached(fake, process, SYNC_ROUTE, 2)
        process.send_signal(signum)
        assert "waiting for 2 in flight" in read_until(process.stderr, "waiting for")
        fake.released.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == EXIT_AFTER[signum], stderr
    assert "Traceback" not in stderr and len(stdout.splitlines()) == 2  # the two paths
    assert fake.count(SYNC_ROUTE) == 2 and Counter(manifest_states().values()) == Counter({"done": 2})
    assert len(list(Path("out").glob("*.png"))) == 2  # both paid images saved
    assert cli("batch", "p.txt", "-o", "out").exit_code == 0
    assert set(prompts_sent(fake).values()) == {1} and len(prompts_sent(fake)) == 8  # 8 billed for 8 images
    assert len(list(Path("out").glob("*.png"))) == 8


def test_signal_handlers_are_the_callers_again_after_a_run(cli, fake) -> None:
    before = {signum: signal.getsignal(signum) for signum in EXIT_AFTER}
    assert cli("generate", "a cat", "-o", "out").exit_code == 0
    assert {signum: signal.getsignal(signum) for signum in EXIT_AFTER} == before


# --- Ctrl-C or Ctrl-D at the spend question ------------------------------------------------------------------

def _env(fake) -> dict[str, str]:
    return {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
            "TERM": "xterm", "GLM_IMAGE_CONFIRM_ABOVE": "0.1"}


READ_SYSCALLS = {"x86_64": "0", "aarch64": "63"}


def wait_until_reading_stdin(pid: int) -> None:
    """Until the child is blocked reading its terminal: a SIGINT that lands between input() printing its prompt
    and its read() is only seen after the next keypress (CPython), which no user is fast enough to hit."""
    number = READ_SYSCALLS.get(os.uname().machine)
    if number is None or not Path(f"/proc/{pid}/syscall").exists():
        pytest.skip("needs Linux /proc/PID/syscall to know the child is waiting for an answer")
    waiting = threading.Event()
    for _ in range(3000):  # bounded: ~30 s
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            return
        if fields[:2] == [number, "0x0"]:
            return
        waiting.wait(0.01)
    raise AssertionError("the child never waited for the answer")


def _interrupt_the_question(how: str):
    """Ctrl-D (end of input on the terminal) or Ctrl-C (SIGINT, as the terminal sends it) at the first question."""
    done: list[bool] = []

    def answer(terminal: Terminal) -> None:
        if not done and terminal.output.endswith(b"[y/N]: "):  # input() has printed its prompt
            done.append(True)
            if how == "ctrl-d":
                os.write(terminal._master, b"\x04")
            else:
                wait_until_reading_stdin(terminal.process.pid)
                terminal.process.send_signal(signal.SIGINT)
    return answer


@pytest.mark.parametrize("how", ["ctrl-c", "ctrl-d"])
@pytest.mark.parametrize("command", ["generate", "batch"])
def test_ctrl_c_or_ctrl_d_at_the_spend_question_sends_nothing_and_exits_130(fake, tmp_path: Path, how: str,
                                                                           command: str) -> None:
    (tmp_path / "p.txt").write_text("\n".join(f"p{i}" for i in range(10)))
    args = ["generate", "x", "-n", "10"] if command == "generate" else ["batch", str(tmp_path / "p.txt")]
    text, code = Terminal([*console_script(), *args, "-o", str(tmp_path / "o"), "-m", "cogview-4", "--size",
                           "1024x1024"], _env(fake)).run(_interrupt_the_question(how))
    assert code == 130, text
    assert "Aborted!" not in text and "Traceback" not in text
    assert text.rstrip().splitlines()[-1].strip() == "Nothing was sent."  # one line, in the user's language
    assert fake.requests == []


def test_ctrl_d_at_the_spend_question_in_chat_goes_back_to_the_prompt(fake, tmp_path: Path) -> None:
    terminal = Terminal([*console_script(), "chat", "-o", str(tmp_path / "o"), "-m", "cogview-4", "--size",
                         "1024x1024", "--lang", "zh"], {**_env(fake), "GLM_IMAGE_CONFIRM_ABOVE": "0.01"})
    steps: list[str] = []

    def answer(terminal: Terminal) -> None:
        if not steps and terminal.output.count(b"glm-image> ") == 1:
            steps.append("asked")
            terminal.type("一只猫".encode())
        elif steps == ["asked"] and terminal.output.endswith(b"[y/N]: "):  # readline is reading: Ctrl-D is EOF
            steps.append("ctrl-d")
            os.write(terminal._master, b"\x04")
        elif steps == ["asked", "ctrl-d"] and terminal.output.count(b"glm-image> ") == 2:
            steps.append("quit")
            terminal.type(b"/quit")

    text, code = terminal.run(answer)
    assert steps == ["asked", "ctrl-d", "quit"], text
    assert code == 0, text
    assert "未发送任何请求。" in text and "Aborted!" not in text
    assert fake.count(SYNC_ROUTE) == 0
