"""A line the user edits instead of typing again: --review's inline edit starts with the rewrite already on the
line, cursor at its end, with the terminal's line editing (readline: arrows, Ctrl-A/E/W/U, ...).

Where readline cannot do it (Windows, a stdout that is not the terminal, a Python built without it) the text
is shown on a line of its own, and an empty answer keeps it: a long rewrite is never to be retyped.
"""

from __future__ import annotations

import sys
from typing import Any


def edit_line(prompt: str, text: str, terminal: Any, *, fallback_prompt: str | None = None) -> str:
    """The user's version of ``text`` (``prompt`` before it; without readline ``fallback_prompt`` under the text
    shown); EOFError / KeyboardInterrupt as input() raises."""
    readline = _readline() if terminal.stdin_tty and terminal.stdout_tty else None
    if readline is not None:
        return _prefilled(readline, prompt, text)
    from glm_image_cli.cli.terminal import visible

    sys.stderr.write(visible(text) + "\n")
    sys.stderr.write(prompt if fallback_prompt is None else fallback_prompt)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:
        raise EOFError
    return answer.rstrip("\r\n") or text


def _readline() -> Any:
    try:
        import readline
    except ImportError:  # Windows without pyreadline3; a Python built without it
        return None
    return readline if hasattr(readline, "insert_text") else None


def _prefilled(readline: Any, prompt: str, text: str) -> str:
    """input() with ``text`` inserted before the user types (after the prompt is drawn, where the hook exists:
    libedit and GNU readline both have it; the startup hook otherwise)."""

    def insert() -> None:
        readline.insert_text(text)
        if hasattr(readline, "redisplay"):
            readline.redisplay()

    pre_input = getattr(readline, "set_pre_input_hook", None)
    hook = pre_input or readline.set_startup_hook
    hook(insert)
    try:
        return input(prompt)
    finally:
        hook(None)
        _forget_last(readline)


def _forget_last(readline: Any) -> None:
    """The edited rewrite is not a line for the history of chat's prompt (up-arrow there recalls what was typed)."""
    try:
        length = readline.get_current_history_length()
        if length:
            readline.remove_history_item(length - 1)
    except (AttributeError, ValueError, OSError):
        pass
