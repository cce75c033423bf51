"""SIGHUP (the SSH session closed) and SIGTERM (a service manager, `kill`) during a run drain it as the first
Ctrl-C does: nothing new is sent, the calls in flight finish and are saved, the journal stays right.

Installed at the CLI edge only, around one run, in the main thread: the handler records the signal (the command
then exits 128 + its number: 129, 143) and calls the run's Cancel from a helper thread, since a handler runs
between two bytecodes of the main thread and must not wait on a lock that thread may hold.  Printing is safe
without a terminal (terminal.Output), so nothing blocks on a hung-up session.  A repeated signal changes nothing;
Ctrl-C twice (or SIGKILL) still abandons the calls in flight.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glm_image_cli.cli.commands.common import RunState
    from glm_image_cli.core.results import Cancel

DRAINING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM") if hasattr(signal, name))


@contextlib.contextmanager
def draining_on_signals(state: RunState, cancel: Cancel,
                        on_drain: Callable[[int], None] | None = None) -> Iterator[None]:
    """While the block runs, SIGHUP and SIGTERM cancel the run; ``on_drain(count)`` says how many calls are
    still in flight (when there are some).  Elsewhere (another thread, no such signals) nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def drain() -> None:
        count = cancel.cancel()
        if count and on_drain is not None:
            on_drain(count)

    def handle(signum: int, frame: Any) -> None:
        if state.signalled is not None:
            return
        state.signalled = signum
        threading.Thread(target=drain, name="glm-image-drain", daemon=True).start()

    previous = {signum: signal.signal(signum, handle) for signum in DRAINING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def exit_code_after(signum: int) -> int:
    """The shell's convention for a process a signal ended: 128 + its number (SIGHUP 129, SIGTERM 143)."""
    return 128 + int(signum)
