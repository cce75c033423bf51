"""`generate … -o -`: the image's bytes on stdout, for a pipe (`> cat.png`, `| convert - …`).

The image is paid for, so it is also saved as usual, in the default output folder, and recorded in history and
the ledger before a byte is written: a reader that goes away early (`| head -c 10`) loses the bytes it did not
read, never the image nor its money records.  stderr says where the copy is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from glm_image_cli.errors import UsageError
from glm_image_cli.messages import render

STDOUT = "-"


def wants_stdout(output_dir: Path | str | None) -> bool:
    return output_dir is not None and str(output_dir) == STDOUT


def check_stdout_target(state: Any, samples: int) -> None:
    """Before anything is planned or sent: one image, no --json (both would go to stdout), no terminal."""
    if samples != 1:
        raise UsageError("stdout_one_image", samples=samples)
    if state.json_mode:
        raise UsageError("stdout_not_json")
    if state.terminal.stdout_tty:
        raise UsageError("stdout_is_terminal")


def write_image(state: Any, path: Path) -> None:
    """``path``'s bytes to stdout (binary, also on Windows), then where the copy is kept, on stderr.  A closed
    pipe is the reader going away: the output guard is told (exit 141), nothing is raised."""
    data = path.read_bytes()
    stream = getattr(sys.stdout, "buffer", None)
    try:
        if stream is None:
            raise BrokenPipeError(32, "stdout closed")
        sys.stdout.flush()  # nothing of ours is waiting in the text layer, but keep the order if it were
        stream.write(data)
        stream.flush()
    except (OSError, ValueError):
        state.output.lost("stdout")
        return
    from glm_image_cli.storage.files import display_path

    state.ui().note(render("stdout_kept", bytes=len(data), path=display_path(path)))
