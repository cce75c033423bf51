"""Terminal facts are gathered once at the CLI edge (a Terminal tests can pass instead of a pseudo-terminal), and
every line goes through one output guard: printing never raises, never fails an image, never hides a closed pipe."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from glm_image_cli.cli.terminal import Output, Terminal
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE
from tests.test_console_script import child_env, console_script

ESC = "\x1b"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Raising:
    """A stream whose writes fail as a closed pipe, a full non-blocking buffer, ... do."""

    encoding = "utf-8"

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        pass


# --- the facts ------------------------------------------------------------------------------------------------

def test_terminal_facts_come_from_the_process_once() -> None:
    environ = {"COLUMNS": "123", "EDITOR": "vim", "VISUAL": "code", "DISPLAY": ":0", "GLM_IMAGE_DEBUG": "1",
               "TERM": "xterm-kitty", "WEZTERM_PANE": "0", "GLM_API_KEY": "secret.key", "HOME": "/home/x"}
    terminal = Terminal.detect(environ, {"stdin": Tty(), "stdout": io.StringIO(), "stderr": None})
    assert (terminal.stdin_tty, terminal.stdout_tty, terminal.stderr_tty) == (True, False, False)
    assert terminal.width == 123 and terminal.editor == "vim" and terminal.display and terminal.debug
    assert dict(terminal.environ) == {"TERM": "xterm-kitty", "WEZTERM_PANE": "0"}  # what names the terminal only
    assert "secret" not in repr(terminal)
    assert Terminal.detect({"VISUAL": "code"}, {}).editor == "code"


@pytest.mark.parametrize(("environ", "no_color", "expected"), [
    ({}, False, True),
    ({"NO_COLOR": "1"}, False, False),
    ({"TERM": "dumb"}, False, False),
    ({}, True, False),  # --no-color
])
def test_colour_needs_a_terminal_and_nothing_against_it(environ: dict[str, str], no_color: bool,
                                                        expected: bool) -> None:
    terminal = Terminal.detect(environ, {"stdout": Tty(), "stderr": io.StringIO()})
    assert terminal.color_on("stdout", no_color) is expected
    assert terminal.color_on("stderr", no_color) is False  # a pipe


# --- the output guard -----------------------------------------------------------------------------------------

def test_a_closed_stream_is_said_once_and_then_nothing_more_is_written() -> None:
    output, stopped, healthy = Output(), [], io.StringIO()
    with output.calling_on_close(lambda: stopped.append("stop")):
        assert output.write("stdout", "a\n", Raising(BrokenPipeError(32, "Broken pipe"))) is False
        assert output.write("stdout", "b\n", Raising(BrokenPipeError(32, "Broken pipe"))) is False
        assert output.write("stderr", "c\n", healthy) is False  # the reader went away: quiet on both streams
    assert output.closed == "stdout" and stopped == ["stop"] and healthy.getvalue() == ""
    late: list[str] = []
    with output.calling_on_close(lambda: late.append("stop")):  # a run started after the closure sends nothing
        pass
    assert late == ["stop"]


def test_stderr_closed_from_the_start_is_a_closed_stream(monkeypatch) -> None:
    monkeypatch.setattr("sys.stderr", None)  # what Python makes of `2>&-`
    output = Output()
    assert output.line("stderr", "progress") is False and output.closed == "stderr"


def test_a_character_the_console_cannot_encode_is_escaped_never_an_error() -> None:
    raw = io.BytesIO()
    gbk = io.TextIOWrapper(raw, encoding="gbk")  # strict, like a GBK console's stdout
    output = Output()
    assert output.line("stdout", "✓ 一只猫 🐱", gbk) is True
    assert raw.getvalue().decode("gbk") == "\\u2713 一只猫 \\U0001f431\n" and output.closed is None


def test_a_full_terminal_buffer_loses_the_line_not_the_run() -> None:
    output = Output()
    assert output.line("stderr", "progress", Raising(BlockingIOError(11, "Resource temporarily unavailable"))) \
        is False
    assert output.closed is None
    assert output.line("stderr", "next", io.StringIO()) is True


def test_a_failure_the_runner_kept_is_a_closed_stream_or_raised_again() -> None:
    output = Output()
    output.absorb(None)
    with pytest.raises(KeyError):
        output.absorb(KeyError("a bug in the display"))
    assert output.closed is None
    output.absorb(BrokenPipeError(32, "Broken pipe"))
    assert output.closed is not None


# --- a Terminal instead of a pseudo-terminal ------------------------------------------------------------------

def test_the_spend_question_is_asked_on_a_terminal_passed_in(cli, fake) -> None:
    args = ("generate", "x", "-n", "10", "-o", "out", "-m", "cogview-4", "--size", "1024x1024")
    env = {"GLM_IMAGE_CONFIRM_ABOVE": "0.1"}
    declined = cli(*args, env=env, input="n\n", terminal=Terminal(stdin_tty=True))
    assert declined.exit_code == 130 and "Continue? [y/N]" in declined.stderr and fake.count(SYNC_ROUTE) == 0
    accepted = cli(*args, env=env, input="y\n", terminal=Terminal(stdin_tty=True))
    assert accepted.exit_code == 0 and fake.count(SYNC_ROUTE) == 10
    assert cli(*args, env=env).exit_code == 2  # no terminal: refused, naming --yes


def test_review_asks_on_a_terminal_passed_in(cli, fake) -> None:
    fake.chat_reply = "a grey cat on a red sofa"
    result = cli("generate", "a cat", "--review", "-o", "out", input="a\n", terminal=Terminal(stdin_tty=True))
    assert result.exit_code == 0, result.stderr
    assert fake.count(CHAT_ROUTE) == 1 and fake.seen(SYNC_ROUTE)[0].body["prompt"] == "a grey cat on a red sofa"


def test_a_picture_is_drawn_on_a_terminal_passed_in(cli, fake) -> None:
    pytest.importorskip("PIL.Image")
    kitty = Terminal(stdout_tty=True, stderr_tty=False, environ={"TERM": "xterm-kitty"}, width=40)
    result = cli("generate", "a cat", "--yes", "-o", "out", terminal=kitty)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.index(ESC + "_Ga=T") > result.stdout.index(".png")  # the picture after the path
    assert ESC not in cli("generate", "a cat", "--yes", "-o", "out", terminal=Terminal()).stdout


# --- a console that cannot encode everything ------------------------------------------------------------------

def test_a_gbk_console_never_fails_a_run_and_json_stays_json(fake) -> None:
    """Before: `UnicodeEncodeError: 'gbk' codec can't encode character` as an internal error, after the image
    was paid for.  Now the character is escaped on the line, and JSON uses its own escapes."""
    fake.chat_reply = "一只橘猫 🐱 趴在窗台上"
    env = {**child_env(fake), "PYTHONIOENCODING": "gbk"}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*console_script(), *args], stdin=subprocess.DEVNULL, capture_output=True, env=env,
                              timeout=60)

    enhanced = run("enhance", "一只猫")
    assert enhanced.returncode == 0, enhanced.stderr.decode("gbk", "replace")
    assert enhanced.stdout.decode("gbk") == "一只橘猫 \\U0001f431 趴在窗台上\n"
    made = run("generate", "一只猫", "--enhance", "--json", "-o", "out", "-y")
    assert made.returncode == 0, made.stderr.decode("gbk", "replace")
    [record] = json.loads(made.stdout.decode("gbk"))
    assert "一只橘猫 🐱 趴在窗台上" in json.dumps(record, ensure_ascii=False) and Path(record["path"]).exists()
    assert fake.count(SYNC_ROUTE) == 1
    assert "Traceback" not in made.stderr.decode("gbk", "replace")


def test_the_console_script_runs_with_its_standard_descriptors_closed(fake) -> None:
    """`glm-image -v … <&- 2>&-`: stderr is found closed at the first call's trace line (nothing more is sent,
    nothing more is printed, exit 141); the call in flight is saved, and no file the process opens takes
    descriptor 2, so nothing else lands in the journal."""
    Path("p.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    process = subprocess.run([*console_script(), "-v", "batch", "p.txt", "-o", "out", "-y", "-j", "1"],
                             stdout=subprocess.PIPE, env=child_env(fake), timeout=60,
                             preexec_fn=lambda: (os.close(0), os.close(2)))
    assert process.returncode == 141 and process.stdout == b""
    assert fake.count(SYNC_ROUTE) == 1 and Path("out/0001-one.png").exists()
    states = [json.loads(record)["state"] for record in Path("out/manifest.jsonl").read_text().splitlines()]
    assert states == ["dispatched", "answered", "done"]
