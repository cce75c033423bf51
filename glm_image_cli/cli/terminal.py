"""Where the front end runs, asked once at the CLI edge.

``Terminal`` holds the facts the front end decides by: which of stdin, stdout and stderr are terminals, the
width, whether colour is allowed (NO_COLOR, TERM=dumb; --no-color is the caller's), the encoding, and the few
environment values it reads (GLM_IMAGE_DEBUG, EDITOR/VISUAL, a desktop display, the variables that name the
terminal program for pictures).  ``Terminal.detect()`` builds it from sys and os; tests pass one instead of a
pseudo-terminal.  Settings (GLM_IMAGE_* overrides) are not terminal facts: storage.config reads those.
Imported on the fast path: the standard library only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# The variables that say which terminal program this is (what preview draws pictures with); never a key.
TERMINAL_VARIABLES = ("TERM", "TERM_PROGRAM", "TMUX", "KITTY_WINDOW_ID", "LC_TERMINAL", "KONSOLE_VERSION",
                      "WT_SESSION", "GLM_IMAGE_PREVIEW", "NO_COLOR")
TERMINAL_PREFIXES = ("WEZTERM_",)
STREAMS = ("stdin", "stdout", "stderr")


@dataclass(frozen=True)
class Terminal:
    """The facts of one invocation's terminal.  The defaults are a pipe everywhere: no terminal, no colour."""

    stdin_tty: bool = False
    stdout_tty: bool = False
    stderr_tty: bool = False
    width: int = 80  # COLUMNS, else the terminal's width, else 80
    color: bool = True  # the environment allows colour (NO_COLOR unset, TERM not dumb); a terminal is also needed
    encoding: str = "utf-8"  # stdout's
    debug: bool = False  # GLM_IMAGE_DEBUG: full tracebacks for unexpected errors
    editor: str | None = None  # EDITOR, else VISUAL: where --review edits a rewrite
    display: bool = False  # DISPLAY or WAYLAND_DISPLAY: a desktop to open an image on
    environ: Mapping[str, str] = field(default_factory=dict)  # TERMINAL_VARIABLES as they were

    @classmethod
    def detect(cls, environ: Mapping[str, str] | None = None, streams: Mapping[str, Any] | None = None) -> Terminal:
        """From the process: ``environ`` (os.environ) and the standard ``streams`` (sys's)."""
        env = os.environ if environ is None else environ
        found = {name: getattr(sys, name, None) for name in STREAMS} if streams is None else dict(streams)
        return cls(
            stdin_tty=is_tty(found.get("stdin")),
            stdout_tty=is_tty(found.get("stdout")),
            stderr_tty=is_tty(found.get("stderr")),
            width=_width(env, [found.get(name) for name in ("stdout", "stderr", "stdin")]),
            color=not env.get("NO_COLOR") and env.get("TERM", "").lower() != "dumb",
            encoding=getattr(found.get("stdout"), "encoding", None) or "utf-8",
            debug=bool(env.get("GLM_IMAGE_DEBUG")),
            editor=env.get("EDITOR") or env.get("VISUAL") or None,
            display=bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")),
            environ=MappingProxyType({name: value for name, value in env.items()
                                      if name in TERMINAL_VARIABLES or name.startswith(TERMINAL_PREFIXES)}),
        )

    def tty(self, stream: str) -> bool:
        """Whether ``stream`` ("stdin", "stdout", "stderr") is a terminal."""
        return bool(getattr(self, f"{stream}_tty"))

    def color_on(self, stream: str, no_color: bool = False) -> bool:
        """Colour on ``stream``: only on a terminal, never with --no-color (``no_color``), NO_COLOR or TERM=dumb."""
        return self.color and not no_color and self.tty(stream)


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no stream (2>&-), a closed one, a stand-in without isatty
        return False


def _width(environ: Mapping[str, str], streams: list[Any]) -> int:
    value = environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    for stream in streams:
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            continue
    return 80
