"""The chat's prompt line, apart from the session: readline history kept between sessions, TAB completion of
slash commands, styles and models, lines piped in from a script, and opening an image in the system's viewer."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glm_image_cli.storage.config import ResolvedConfig

SLASH_COMMANDS = ("/n", "/style", "/size", "/model", "/negative", "/enhance", "/check", "/again", "/undo", "/prompt",
                  "/history", "/open", "/help", "/quit")
HISTORY_FILE = "chat-history"  # readline's history, in the data folder


def open_in_viewer(path: Path, *, display: bool) -> bool:
    """Open an image in the system's viewer; False when there is none (no ``display`` to show it on, as the
    front end's terminal facts say, or no opener)."""
    if sys.platform.startswith("win"):
        import os

        try:
            os.startfile(str(path))  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    opener = "open" if sys.platform == "darwin" else shutil.which("xdg-open")
    if opener is None or (sys.platform != "darwin" and not display):
        return False
    try:
        subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True


def completions(buffer: str, text: str, styles: Sequence[str], models: Sequence[str]) -> list[str]:
    """What TAB offers: slash commands at the start of the line, then style or model names after /style and
    /model, on/off after /enhance."""
    words = buffer.lstrip().split(" ")
    if len(words) <= 1:
        return [name for name in SLASH_COMMANDS if name.startswith(text)] if buffer.lstrip().startswith("/") else []
    choices: Sequence[str] = {"/style": styles, "/model": models, "/enhance": ("on", "off"),
                              "/check": ("on", "off")}.get(words[0].lower(), ())
    return [choice for choice in choices if choice.startswith(text)]


def style_names(cfg: ResolvedConfig | None = None) -> list[str]:
    from glm_image_cli.core.styles import all_styles

    with contextlib.suppress(Exception):
        names = [name for style in all_styles(getattr(cfg, "user_styles", None))
                 for name in (style.name, style.english)]
        return list(dict.fromkeys(names))
    return []


def model_names() -> list[str]:
    from glm_image_cli.backends import models

    return sorted(models.MODELS)


def install_readline(history: Path, styles: Sequence[str], models: Sequence[str]) -> Callable[[], None]:
    """Line editing, history kept between sessions (in the data folder) and TAB completion, where the standard
    library's readline exists; returns what saves the history at the end."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return lambda: None
    with contextlib.suppress(OSError):
        readline.read_history_file(str(history))
    readline.set_history_length(1000)
    readline.set_completer_delims(" \t")
    matches: list[str] = []

    def complete(text: str, index: int) -> str | None:
        if index == 0:
            matches[:] = completions(readline.get_line_buffer(), text, styles, models)
        return matches[index] if index < len(matches) else None

    readline.set_completer(complete)
    readline.parse_and_bind("bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete")

    def save() -> None:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(str(history))

    return save


def read_lines(prompt: Callable[[], str], new_line: Callable[[], None]) -> Iterator[str]:
    """Lines typed at the prompt until Ctrl-D; Ctrl-C at the prompt drops the line and asks again.  Either key
    leaves the cursor after the prompt: ``new_line`` ends that line (on the front end's stderr)."""
    while True:
        try:
            yield input(prompt())
        except EOFError:
            new_line()
            return
        except KeyboardInterrupt:
            new_line()


def piped_lines(stream: Any) -> Iterator[str]:
    """Lines from a script on stdin: blank lines and lines starting with # are skipped."""
    for raw in stream:
        line = raw.rstrip("\r\n")
        if line.strip() and not line.lstrip().startswith("#"):
            yield line
