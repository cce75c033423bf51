"""`--open`: the saved images in the system's image viewer, as a desktop user double-clicking them would.

Best effort by design: the viewer is started and left running (never waited for, so a viewer that stays open
never holds the run), and a machine without one (a server, SSH without a display, a container) opens nothing.
Neither can change the run's exit code: the images are saved and paid for by then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from glm_image_cli.cli.terminal import Terminal


def viewer_command(path: Path, *, platform: str, display: bool,
                   which: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The command that shows ``path`` on ``platform`` (sys.platform), or None: no viewer (no opener program, or
    on Linux and the BSDs no desktop: xdg-open would start a text-mode browser in place of the run's output).
    Windows opens through os.startfile instead (None here)."""
    if platform.startswith("win"):
        return None
    if platform == "darwin":
        opener = which("open")
        return [opener, str(path)] if opener else None
    if not display:
        return None
    opener = which("xdg-open")
    return [opener, str(path)] if opener else None


def open_in_viewer(paths: Sequence[Path], terminal: Terminal) -> list[Path]:
    """Start the viewer for each of ``paths``; the ones it was started for (empty: no viewer here)."""
    opened = []
    for path in paths:
        if _start(path.resolve(), terminal):
            opened.append(path)
    return opened


def _start(path: Path, terminal: Terminal) -> bool:
    if sys.platform.startswith("win"):
        startfile = getattr(os, "startfile", None)
        if startfile is None:
            return False
        try:
            startfile(str(path))  # returns at once: the shell's association opens it
        except OSError:
            return False
        return True
    command = viewer_command(path, platform=sys.platform, display=terminal.display)
    if command is None:
        return False
    try:
        # Its own session, no terminal: it cannot read our keys, print over our output or die with our Ctrl-C.
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        return False
    return True


def open_saved(state: object, paths: Sequence[Path]) -> None:
    """The CLI's --open: quiet when there is nothing to open with (a note with -v)."""
    from glm_image_cli.messages import render

    if not paths:
        return
    with contextlib.suppress(Exception):  # a viewer is a convenience: nothing about it fails a paid run
        opened = open_in_viewer(paths, state.terminal)  # type: ignore[attr-defined]
        if not opened and getattr(state, "verbose", False):
            state.ui().note(render("open_no_viewer"))  # type: ignore[attr-defined]
