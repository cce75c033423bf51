"""Terminal facts are gathered once at the CLI edge: a Terminal tests can pass instead of a pseudo-terminal."""

from __future__ import annotations

import io

import pytest

from glm_image_cli.cli.terminal import Terminal
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE

ESC = "\x1b"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


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
