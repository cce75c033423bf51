"""A reader that goes away (`| head -1`, `2>&1 | head -1`, `2>&-`) is never a failed image: the run stops sending,
keeps every image already paid for (journal and ledger say saved), exits 141 without a word, and the same command
again buys nothing twice.  Real pipes the test closes; the fake holds the second image until the pipe is closed.
Every test counts what the fake upstream was asked to make (what was paid)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from glm_image_cli.core.ledger import Ledger
from glm_image_cli.errors import ExitCode
from tests.fake_bigmodel import SYNC_ROUTE
from tests.test_console_script import child_env, console_script, wait_until_reached

PIPE, STDOUT = subprocess.PIPE, subprocess.STDOUT
NOISE = ("Traceback", "Exception ignored", "Broken pipe", "BrokenPipeError", "Cannot write", "Internal error")


def six_prompts() -> None:
    Path("p.txt").write_text("".join(f"prompt {i}\n" for i in range(1, 7)), encoding="utf-8")


def start(fake, args: list[str], *, stderr: int | None = PIPE, close_stderr: bool = False) -> subprocess.Popen:
    """The console script with stdout on a pipe; stderr on its own pipe, on stdout (2>&1) or closed (2>&-)."""
    return subprocess.Popen([*console_script(), *args], stdin=subprocess.DEVNULL, stdout=PIPE, stderr=stderr,
                            env=child_env(fake), preexec_fn=(lambda: os.close(2)) if close_stderr else None)


def close_mid_run(fake, process: subprocess.Popen, stream) -> None:
    """Read one line, as `head -1` does, then close the pipe while the second image is held at the fake (the
    first is made): the closure lands mid-run.  Then the fake answers."""
    assert stream.readline()
    wait_until_reached(fake, process, SYNC_ROUTE, 2)
    stream.close()
    fake.released.set()


def billed(fake) -> int:
    return fake.count(SYNC_ROUTE)


def manifest_states() -> dict[str, str]:
    states: dict[str, str] = {}
    for line in Path("out/manifest.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        states[record["key"]] = record["state"]
    return states


def assert_every_paid_image_kept_and_nothing_bought_twice(fake, first_run: int) -> None:
    """The same command again (output read to the end this time): it makes only what was never sent."""
    again = subprocess.run([*console_script(), "batch", "p.txt", "-o", "out", "-y"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=child_env(fake), timeout=60)
    assert again.returncode == 0, again.stderr
    assert "may have been billed" not in again.stderr
    assert billed(fake) == 6, f"first run bought {first_run}, the re-run {billed(fake) - first_run}"
    assert len(list(Path("out").glob("*.png"))) == 6
    assert set(manifest_states().values()) == {"done"}
    assert [entry.outcome for entry in Ledger().entries()] == ["saved"] * 6


def assert_quiet(text: bytes) -> None:
    shown = text.decode("utf-8", "replace")
    assert not any(word in shown for word in NOISE), shown


def test_batch_with_stdout_closed_like_head_1(fake) -> None:
    six_prompts()
    fake.hold_after = 1
    process = start(fake, ["batch", "p.txt", "-o", "out", "-y", "-j", "1"])
    close_mid_run(fake, process, process.stdout)
    errors = process.stderr.read()
    assert process.wait(timeout=60) == ExitCode.OUTPUT_CLOSED == 141
    assert_quiet(errors)
    first_run = billed(fake)
    assert first_run >= 2 and all(state == "done" for state in manifest_states().values())
    assert_every_paid_image_kept_and_nothing_bought_twice(fake, first_run)


@pytest.mark.parametrize("verbose", [True, False], ids=["-v", "plain"])
def test_batch_with_both_streams_into_a_closed_pipe_like_2_to_1_head_1(fake, verbose: bool) -> None:
    six_prompts()
    fake.hold_after = 1
    process = start(fake, ["-v"] * verbose + ["batch", "p.txt", "-o", "out", "-y", "-j", "1"], stderr=STDOUT)
    close_mid_run(fake, process, process.stdout)
    assert process.wait(timeout=60) == 141
    first_run = billed(fake)
    if verbose:  # the answer's trace line finds the pipe closed while the call still holds its slot: none follows
        assert first_run == 2
    assert all(state == "done" for state in manifest_states().values())
    assert_every_paid_image_kept_and_nothing_bought_twice(fake, first_run)


def test_batch_with_stderr_closed_mid_run(fake) -> None:
    six_prompts()
    fake.hold_after = 1
    process = start(fake, ["-v", "batch", "p.txt", "-o", "out", "-y", "-j", "1"])
    close_mid_run(fake, process, process.stderr)
    paths = process.stdout.read()
    assert process.wait(timeout=60) == 141
    assert_quiet(paths)
    assert billed(fake) == 2
    assert all(state == "done" for state in manifest_states().values())
    assert_every_paid_image_kept_and_nothing_bought_twice(fake, 2)


def test_batch_with_stderr_closed_from_the_start(fake) -> None:
    six_prompts()
    process = start(fake, ["-v", "batch", "p.txt", "-o", "out", "-y", "-j", "1"], stderr=None, close_stderr=True)
    paths = process.stdout.read()
    assert process.wait(timeout=60) == 141
    assert_quiet(paths)
    assert billed(fake) == 1  # the first call's trace line found stderr closed: nothing more was sent
    assert_every_paid_image_kept_and_nothing_bought_twice(fake, 1)


def test_generate_with_stdout_closed_stops_sending_and_keeps_what_was_paid(fake) -> None:
    """generate prints its paths only at the end, yet a reader that leaves is noticed when it leaves (the pipe
    is watched): the image in flight is made and saved, the other two are never sent."""
    fake.hold_after = 0
    process = start(fake, ["generate", "a cat", "-n", "3", "-j", "1", "-o", "out", "-y"])
    wait_until_reached(fake, process, SYNC_ROUTE, 1)
    process.stdout.close()
    fake.released.set()
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert_quiet(errors)
    assert billed(fake) == 1 and len(list(Path("out").glob("*.png"))) == 1
    assert [entry.outcome for entry in Ledger().entries()] == ["saved"]


def test_generate_with_both_streams_into_a_closed_pipe_sends_no_more(fake) -> None:
    fake.hold_after = 1
    process = start(fake, ["-v", "generate", "a cat", "-n", "3", "-j", "1", "-o", "out", "-y"], stderr=STDOUT)
    close_mid_run(fake, process, process.stdout)
    assert process.wait(timeout=60) == 141
    assert billed(fake) == 2 and len(list(Path("out").glob("*.png"))) == 2  # the third was never sent
    assert [entry.outcome for entry in Ledger().entries()] == ["saved"] * 2


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["generate", "--help"], ["styles"], ["models"]],
                         ids=" ".join)
def test_any_command_into_a_pipe_closed_before_it_writes(args: list[str]) -> None:
    """The fast path (--version, --help) and the full CLI alike: 141 and not a word on stderr."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader went away before the first byte
    try:
        done = subprocess.run([*console_script(), *args], stdin=subprocess.DEVNULL, stdout=writer, stderr=PIPE,
                              timeout=60)
    finally:
        os.close(writer)
    assert done.returncode == 141 and done.stderr == b""


def test_piped_chat_with_stdout_closed_takes_no_more_turns(fake) -> None:
    fake.hold_after = 1
    process = subprocess.Popen([*console_script(), "chat", "-o", "out", "-y"], stdin=PIPE, stdout=PIPE, stderr=PIPE,
                               env=child_env(fake))
    process.stdin.write(b"a cat\na dog\na bird\n")
    process.stdin.close()
    close_mid_run(fake, process, process.stdout)
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert_quiet(errors)
    assert billed(fake) == 2 and len(list(Path("out").glob("*.png"))) == 2  # the third line was never sent
    assert [entry.outcome for entry in Ledger().entries()] == ["saved"] * 2
