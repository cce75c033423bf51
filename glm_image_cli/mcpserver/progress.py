"""MCP progress notifications for a generation: the runner's events (from its worker threads) become
``notifications/progress`` on the client's request, sent through the server's event loop.

Progress counts images: each finished one (saved or failed) is 1, one on its way a fraction by its stage, and an
upstream task being polled creeps on with each look, so the number only grows (as the protocol asks) and a long
glm-image task still shows signs of life.  Nothing is sent when the client did not ask for progress, and a
notification that cannot be sent never touches the images.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from glm_image_cli.core.runner import Event, Stage
from glm_image_cli.messages import render, using_language

_STAGE_SHARE = {Stage.QUEUED: 0.0, Stage.REQUESTING: 0.1, Stage.RETRYING: 0.1, Stage.PROCESSING: 0.3,
                Stage.DOWNLOADING: 0.8, Stage.SAVED: 1.0, Stage.FAILED: 1.0}
POLL_CEILING = 0.75  # what looks at a running upstream task approach, never reach


class ProgressRelay:
    """``event`` is the runner's event sink; each step forward is reported with ``ctx.report_progress``."""

    def __init__(self, ctx: Any, total: int, lang: str) -> None:
        import anyio.lowlevel

        self._ctx = ctx
        self._token = anyio.lowlevel.current_token()  # made on the event loop: the worker threads send through it
        self.total = total
        self._lang = lang
        self._shares: dict[str, float] = {}
        self._stages: dict[str, Stage] = {}
        self._sent = 0.0
        self._lock = threading.Lock()

    def seed(self, stages: Mapping[str, Stage]) -> None:
        """Start from where a running job already is (nothing is sent until it moves on, or ``finish``)."""
        with self._lock:
            for key, stage in stages.items():
                self._shares[key] = max(self._shares.get(key, 0.0), _STAGE_SHARE.get(stage, 0.0))
                self._stages[key] = stage

    def finish(self, stages: Mapping[str, Stage]) -> None:
        """The last word after waiting: where the job is now, if that is further than what was sent."""
        self.seed(stages)
        with self._lock:
            progress = round(sum(self._shares.values()), 3)
            if progress > self._sent:
                self._sent = progress
                self._send(progress, self._message())

    def event(self, event: Event) -> None:
        key = str(event.unit.key)
        with self._lock:
            share = self._shares.get(key, 0.0)
            if event.stage is Stage.PROCESSING and share >= _STAGE_SHARE[Stage.PROCESSING]:
                share += (POLL_CEILING - share) * 0.2  # another look at the upstream task
            share = max(share, _STAGE_SHARE.get(event.stage, 0.0))
            self._shares[key] = share
            self._stages[key] = event.stage
            progress = round(sum(self._shares.values()), 3)
            if progress <= self._sent:
                return
            self._sent = progress
            self._send(progress, self._message())  # under the lock: notifications leave in order

    def _message(self) -> str:
        done = sum(1 for stage in self._stages.values() if stage in (Stage.SAVED, Stage.FAILED))
        upstream = sum(1 for stage in self._stages.values() if stage is Stage.PROCESSING)
        working = sum(1 for stage in self._stages.values() if stage not in (Stage.SAVED, Stage.FAILED, Stage.QUEUED))
        with using_language(self._lang):
            if upstream:
                return render("mcp_progress_upstream", done=done, total=self.total, working=upstream)
            return render("mcp_progress", done=done, total=self.total, working=working)

    def _send(self, progress: float, message: str) -> None:
        import anyio.from_thread

        try:
            anyio.from_thread.run(self._ctx.report_progress, progress, float(self.total), message, token=self._token)
        except Exception:  # the client went away, the loop is closing: the images go on without it
            return
