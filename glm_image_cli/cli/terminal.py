"""Where the front end runs, asked once at the CLI edge, and the one guarded way its words are written.

``Terminal`` holds the facts the front end decides by: which of stdin, stdout and stderr are terminals, the
width, whether colour is allowed (NO_COLOR, TERM=dumb; --no-color is the caller's), the encoding, and the few
environment values it reads (GLM_IMAGE_DEBUG, EDITOR/VISUAL, a desktop display, the variables that name the
terminal program for pictures).  ``Terminal.detect()`` builds it from sys and os; tests pass one instead of a
pseudo-terminal.  Settings (GLM_IMAGE_* overrides) are not terminal facts: storage.config reads those.

``Output`` writes every line.  A stream found closed (`| head`, `2>&-`) is the reader going away, never a
failure of the run: the line is dropped, nothing more is printed, the listeners are told (a run stops sending;
what is in flight finishes and is saved) and the CLI edge exits 141, as a process killed by SIGPIPE does.  A
character the console cannot encode is written as a backslash escape; a full non-blocking terminal buffer
loses the line and nothing else.  Imported on the fast path: the standard library only.

``visible`` is how text from elsewhere (a PNG's recipe, an upstream's message, a prompt, a history row) reaches
the terminal: control characters shown as ``\\x1b``, never obeyed (a title change, a cleared screen, a link).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# The variables that say which terminal program this is (what preview draws pictures with); never a key.
TERMINAL_VARIABLES = ("TERM", "TERM_PROGRAM", "TMUX", "KITTY_WINDOW_ID", "LC_TERMINAL", "KONSOLE_VERSION",
                      "WT_SESSION", "GLM_IMAGE_PREVIEW", "NO_COLOR")
TERMINAL_PREFIXES = ("WEZTERM_",)
STREAMS = ("stdin", "stdout", "stderr")
# C0 controls but newline and tab, DEL, C1 controls (0x9b is a one-byte CSI), and the bidirectional overrides
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every control character written out (``\\x1b``, ``\\u202e``) instead of sent to the terminal."""
    return CONTROL_CHARACTERS.sub(_escape, text) if CONTROL_CHARACTERS.search(text) else text


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass(frozen=True)
class Terminal:
    """The facts of one invocation's terminal.  The defaults are a pipe everywhere: no terminal, no colour."""

    stdin_tty: bool = False
    stdout_tty: bool = False
    stderr_tty: bool = False
    stdout_pipe: bool = False  # stdout is a pipe or socket: its reader may write to this terminal too (`| cat`)
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
            stdout_pipe=is_pipe(found.get("stdout")),
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

    def stdout_may_share_terminal(self) -> bool:
        """Whether what goes to stdout may appear on the terminal stderr draws on: stdout is that terminal, or a
        pipe whose reader may print it (`| cat`, `| tee`).  A display redrawn in place is then overwritten by
        those lines (and erases them), so progress is written as whole lines instead."""
        return self.stderr_tty and (self.stdout_tty or self.stdout_pipe)

    def color_on(self, stream: str, no_color: bool = False) -> bool:
        """Colour on ``stream``: only on a terminal, never with --no-color (``no_color``), NO_COLOR or TERM=dumb."""
        return self.color and not no_color and self.tty(stream)


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no stream (2>&-), a closed one, a stand-in without isatty
        return False


def is_pipe(stream: Any) -> bool:
    """Whether ``stream`` is a pipe or a socket (not a terminal, a file or /dev/null)."""
    import stat

    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, ValueError, OSError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


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


class Output:
    """Every line the run prints, to stdout or stderr, and whether they can still be written.  Thread-safe:
    workers print as their images finish.  ``closed`` names the stream found closed first ("stdout", "stderr")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the state only, never held while writing (Rich has its own locks)
        self.closed: str | None = None
        self._listeners: list[Callable[[], None]] = []

    def write(self, name: str, text: str, stream: Any = None) -> bool:
        """``text`` to ``stream`` (else sys.stdout or sys.stderr as they are now: a live display replaces them),
        flushed.  False when it was not written; never raises."""
        if self.closed is not None:
            return False  # the reader went away: nothing more is said, on either stream
        target = getattr(sys, name, None) if stream is None else stream
        try:
            if target is None:  # started with the stream closed (2>&-): Python has none
                raise BrokenPipeError(32, "closed")
            try:
                target.write(text)
            except UnicodeEncodeError:  # a console that cannot show a character (GBK, ASCII): escaped, not lost
                encoding = getattr(target, "encoding", None) or "ascii"
                target.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))
            target.flush()
            return True
        except BlockingIOError:  # a full non-blocking terminal buffer: this line is lost, the run goes on
            return False
        except (OSError, ValueError):  # EPIPE, EBADF, a closed file: the reader went away
            self.lost(name)
            return False

    def line(self, name: str, text: str, stream: Any = None) -> bool:
        return self.write(name, text + "\n", stream)

    def lost(self, name: str) -> None:
        """``name`` cannot be written any more: say nothing more and tell the listeners (once)."""
        with self._lock:
            if self.closed is not None:
                return
            self.closed = name
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    @contextlib.contextmanager
    def calling_on_close(self, listener: Callable[[], None]) -> Iterator[None]:
        """Within the block, a closed stream calls ``listener`` (e.g. a runner's stop); at once if already closed.
        A pipe whose reader leaves (`| head`) is noticed when it leaves, not at the next line printed: by then
        more images could have been sent for a reader that is gone."""
        with self._lock:
            self._listeners.append(listener)
            closed = self.closed is not None
        if closed:
            listener()
        done = threading.Event()
        watcher = self._watch_pipes(done)
        try:
            yield
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
            with self._lock:
                self._listeners.remove(listener)

    def _watch_pipes(self, done: threading.Event) -> threading.Thread | None:
        """A thread that waits for the reader of a piped stdout or stderr to go away (POLLERR/POLLHUP on the
        write end); None where there is nothing to watch (no pipes, or no poll(): Windows)."""
        import select
        import stat

        if not hasattr(select, "poll"):
            return None
        pipes: dict[int, str] = {}
        for name, fd in (("stdout", 1), ("stderr", 2)):
            with contextlib.suppress(OSError):
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    pipes[fd] = name
        if not pipes:
            return None
        poller = select.poll()
        for fd in pipes:
            poller.register(fd, select.POLLERR | select.POLLHUP)

        def watch() -> None:
            while not done.is_set():
                for fd, _ in poller.poll(100):  # waits for the event; the timeout only lets it see `done`
                    self.lost(pipes[fd])
                    return

        thread = threading.Thread(target=watch, name="glm-image-pipe-watch", daemon=True)
        thread.start()
        return thread

    def stream(self, name: str, stream: Any = None) -> GuardedStream:
        """A file for Rich consoles (and anything that wants one) writing through this guard."""
        return GuardedStream(self, name, getattr(sys, name, None) if stream is None else stream)

    def absorb(self, error: BaseException | None) -> None:
        """A failure to print caught elsewhere (a runner's event sink): a closed stream becomes ``closed``; any
        other exception is a bug and is raised again."""
        if error is None:
            return
        if isinstance(error, (OSError, ValueError)) and not isinstance(error, UnicodeError):
            self.lost(self.closed or "stdout")
            return
        raise error


class GuardedStream:
    """One stream bound at creation, written through ``Output`` (Rich reads the rest: isatty, fileno, encoding)."""

    def __init__(self, output: Output, name: str, stream: Any) -> None:
        self._output = output
        self._name = name
        self._stream = stream

    def write(self, text: str) -> int:
        self._output.write(self._name, text, self._stream)
        return len(text)

    def flush(self) -> None:
        """Each write is flushed already."""

    def isatty(self) -> bool:
        return is_tty(self._stream)

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError(9, "closed")
        return int(self._stream.fileno())

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def prepare_standard_streams() -> None:
    """At the console script's start: text that cannot be encoded is escaped instead of raising (a GBK or ASCII
    console), and a standard descriptor that is closed (`2>&-`) is held by /dev/null, so no file this process
    opens takes its number (and no child writes into it).  sys.stderr stays None: Output sees it closed."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            _hold_with_devnull(fd)


def _hold_with_devnull(fd: int) -> None:
    with contextlib.suppress(OSError):
        opened = os.open(os.devnull, os.O_RDWR)
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)


def quiet_closed_streams(output: Output) -> None:
    """Before the interpreter exits after a closed pipe: stdout and stderr go to /dev/null, so flushing what is
    left in their buffers cannot print "Exception ignored ... BrokenPipeError" (the Python docs' SIGPIPE advice)."""
    if output.closed is None:
        return
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        with contextlib.suppress(AttributeError, ValueError, OSError):
            _hold_with_devnull_over(stream.fileno())


def _hold_with_devnull_over(fd: int) -> None:
    opened = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(opened, fd)
    finally:
        os.close(opened)
