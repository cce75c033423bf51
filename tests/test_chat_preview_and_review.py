"""Issue 26, item 8: chat's picture after each turn is smaller by default (setting `chat-preview-width`) and can be
turned off (`--no-preview`); --review's inline edit starts with the rewrite on the line, to be edited, not typed
again (readline's hook on a terminal; elsewhere the text is shown and Enter keeps it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glm_image_cli.cli.terminal import Terminal as Facts
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE
from tests.terminal import Terminal
from tests.test_console_script import console_script


def terminal_env(fake, **extra: str) -> dict[str, str]:
    env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": fake.api_key, "TERM": "xterm",
           "COLUMNS": "80", **extra}
    env.pop("NO_COLOR", None)
    env.pop("EDITOR", None)
    env.pop("VISUAL", None)
    return env


def chat_once(fake, tmp_path: Path, *flags: str, **env: str) -> str:
    """One turn of `glm-image chat FLAGS` on a pseudo-terminal, then /quit; everything it printed."""
    terminal = Terminal([*console_script(), "chat", "--no-enhance", "-o", str(tmp_path / "o"), *flags],
                        terminal_env(fake, GLM_IMAGE_PREVIEW="blocks", **env))
    lines = [b"a cat", b"/quit"]

    def answer(terminal: Terminal) -> None:
        if lines and terminal.output.count(b"glm-image> ") > 2 - len(lines):
            terminal.type(lines.pop(0))

    text, code = terminal.run(answer)
    assert code == 0, text
    return text


def picture_width(text: str) -> int:
    """The widest row of half blocks drawn (the picture's width in cells)."""
    return max((line.count("▀") for line in text.splitlines()), default=0)


def test_chat_draws_a_quarter_width_picture_by_default_and_the_setting_changes_it(fake, tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image")
    assert picture_width(chat_once(fake, tmp_path)) == 20  # a quarter of 80 columns: 10 rows, not 20
    assert picture_width(chat_once(fake, tmp_path, GLM_IMAGE_CHAT_PREVIEW_WIDTH="0.5")) == 40
    assert fake.count(SYNC_ROUTE) == 2


def test_chat_no_preview_draws_nothing(fake, tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image")
    text = chat_once(fake, tmp_path, "--no-preview")
    assert "▀" not in text and fake.count(SYNC_ROUTE) == 1
    assert len(list((tmp_path / "o").glob("*.png"))) == 1  # the image is made and saved; only not drawn


def test_review_inline_edit_starts_with_the_rewrite_on_the_line(fake) -> None:
    """Before: the rewrite was shown as a [default] and had to be typed again to change a word.  Now it is on the
    line: typing ' in the rain' and Enter sends the rewrite with those words added."""
    fake.chat_reply = "一只橘猫趴在窗台上"
    terminal = Terminal([*console_script(), "generate", "a cat", "--review", "-o", "out", "--no-preview",
                         "--lang", "zh"], terminal_env(fake))
    typed: list[bytes] = []

    def answer(terminal: Terminal) -> None:
        if not typed and b"[e]" in terminal.output:
            typed.append(b"e")
            terminal.type(b"e")
        elif len(typed) == 1 and "要发送的提示词：一只橘猫趴在窗台上".encode() in terminal.output:
            typed.append(b"edit")
            terminal.type(",下着雨".encode())

    text, code = terminal.run(answer)
    assert code == 0, text
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == ["一只橘猫趴在窗台上,下着雨"]
    assert fake.count(CHAT_ROUTE) == 1


@pytest.mark.parametrize(("typed", "sent"), [("", "a grey cat"), ("a black cat", "a black cat")])
def test_review_without_line_editing_shows_the_rewrite_and_enter_keeps_it(cli, fake, typed: str,
                                                                          sent: str) -> None:
    """stdout not the terminal (or no readline, as on Windows): the rewrite on a line of its own, Enter keeps it."""
    fake.chat_reply = "a grey cat"
    result = cli("generate", "a cat", "--review", "-o", "out", input=f"e\n{typed}\n",
                 terminal=Facts(stdin_tty=True))
    assert result.exit_code == 0, result.stderr
    assert "a grey cat\nPrompt to send (Enter keeps the text above): " in result.stderr
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == sent
