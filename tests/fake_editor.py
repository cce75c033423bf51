"""A stand-in for the user's editor in `config edit` tests: ``python fake_editor.py FILE`` replaces FILE with
the next text queued in the JSON list at $FAKE_EDITOR_QUEUE (none left: leaves it as it is), records what it
was given in $FAKE_EDITOR_SEEN (one JSON line per run), and exits with $FAKE_EDITOR_STATUS (default 0)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    target = Path(sys.argv[-1])
    seen = os.environ.get("FAKE_EDITOR_SEEN")
    if seen:
        with open(seen, "a", encoding="utf-8") as log:
            log.write(json.dumps({"args": sys.argv[1:], "text": target.read_text(encoding="utf-8")}) + "\n")
    queue_path = os.environ.get("FAKE_EDITOR_QUEUE")
    if queue_path:
        queue = json.loads(Path(queue_path).read_text(encoding="utf-8"))
        if queue:
            target.write_text(queue.pop(0), encoding="utf-8")
            Path(queue_path).write_text(json.dumps(queue), encoding="utf-8")
    return int(os.environ.get("FAKE_EDITOR_STATUS", "0"))


if __name__ == "__main__":
    sys.exit(main())
