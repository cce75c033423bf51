"""What a Studio run gives back, as plain data: a Result per image (where it was saved or why not, what it may
have cost), the Run that holds them and how it ended, a Notice for the user, an ErrorInfo for a failure, and the
two ways a run stops early (Cancel from another thread, Abandoned after a second Ctrl-C)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import GlmImageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.core.consent import Estimate
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.runner import ImageOutcome, Runner
    from glm_image_cli.storage.saving import ImageSaver


@dataclass(frozen=True)
class Notice:
    """Something the user should read, from the core: ``level`` is "warning" or "note"; ``text`` renders in the
    caller's language (``str(notice)``)."""

    level: str
    text: Text

    def __str__(self) -> str:
        return str(self.text)


@dataclass(frozen=True)
class ErrorInfo:
    """A failure as plain data: the stable ``code``, the process exit code, the one-line message."""

    code: str
    exit_code: int
    message: str
    upstream_code: str | None = None

    @classmethod
    def of(cls, error: GlmImageError) -> ErrorInfo:
        return cls(error.code, int(error.exit_code), str(error), getattr(error, "upstream_code", None))


@dataclass(frozen=True)
class Result:
    """One image: where it was saved (or why not), how it was made, what it may have cost.  Never its bytes."""

    index: int
    path: Path | None
    prompt: str
    prompt_sent: str
    enhanced_prompt: str | None
    model: str
    size: str | None
    request_id: str | None
    seconds: float
    cost: float | None  # the estimate for this image when it may have been billed; 0 when not sent or refused
    currency: str
    error: ErrorInfo | None
    record: Mapping[str, Any]  # the documented `generate --json` object

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return dict(self.record)


@dataclass
class Run:
    """What a ``generate`` made: one Result per image that was sent (in order; ``run[0]``, ``len(run)``), how many
    were not (``not_sent``: stopped or cancelled before sending), and how the run ended."""

    results: list[Result]
    plans: list[GenerationPlan]  # as sent (with the rewrite, when enhanced)
    estimate: Estimate
    halted_by: GlmImageError | None = None  # the account-wide failure that stopped sending
    not_sent: int = 0
    interrupted: bool = False
    abandoned: int = 0  # calls left in flight by a second Ctrl-C (they may be billed)
    output_failed: Exception | None = None  # what the event sink raised first (it never decided an image's fate)
    outcomes: list[ImageOutcome] = field(default_factory=list, repr=False)  # the runner's, for custom deliveries
    saver: ImageSaver | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __getitem__(self, index: int) -> Result:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[Result]:
        return [result for result in self.results if result.error is not None]

    @property
    def first_error(self) -> GlmImageError | None:
        return next((o.error for o in self.outcomes if o.error is not None), None)


class Abandoned(KeyboardInterrupt):
    """A second Ctrl-C while calls that may be billed were still in flight: the caller leaves without them.
    ``run`` holds what was made so far and ``in_flight`` how many calls were left behind."""

    def __init__(self, run: Run, in_flight: int) -> None:
        super().__init__()
        self.run = run
        self.in_flight = in_flight


class Cancel:
    """Stop a run from another thread or a signal handler: nothing new is sent; calls in flight finish and are
    kept.  Once cancelled it stays cancelled: a run given it later stops at once (use a new token per run,
    unless every run of a batch of them should stop together)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: list[Runner] = []
        self.cancelled = False

    def cancel(self) -> int:
        """Stop sending; returns how many calls are still in flight (they finish and are kept)."""
        with self._lock:
            self.cancelled = True
            runners = list(self._runners)
        return sum(runner.stop() for runner in runners)

    def _attach(self, runner: Runner) -> None:
        with self._lock:
            self._runners.append(runner)
            cancelled = self.cancelled
        if cancelled:
            runner.stop()
