"""The console script on a pseudo-terminal, for tests of what only happens on a terminal (questions, prompts,
line editing): what it printed, what the test typed, and how it ended."""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Callable


class Terminal:
    """Starts ``args`` with a pseudo-terminal as stdin, stdout and stderr."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self._master = master
        self.output = b""  # everything printed so far; ``on_output`` may mark what it has answered

    def type(self, text: bytes) -> None:
        """Type a line, as a user would (Enter is a carriage return on a terminal)."""
        os.write(self._master, text + b"\r")

    def run(self, on_output: Callable[[Terminal], None]) -> tuple[str, int]:
        """Read until the program closes the terminal, calling ``on_output`` after each piece of output;
        (everything printed, exit code).  Output stopping for 60 s fails the test instead of hanging it."""
        try:
            while True:
                ready, _, _ = select.select([self._master], [], [], 60)
                if not ready:
                    raise AssertionError(f"no output for 60 s: {self.output!r}")
                try:
                    chunk = os.read(self._master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                self.output += chunk
                on_output(self)
        finally:
            os.close(self._master)
            self.process.wait(timeout=60)
        return self.output.decode("utf-8", "replace"), self.process.returncode
