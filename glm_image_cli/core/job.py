"""A prepared run: what ``Studio.prepare`` hands back (consent given, budget held, prompts rewritten) and
``Job.run`` makes; its own module so the Studio stays one screenful of use case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.consent import Estimate
    from glm_image_cli.core.ledger import RunSpend
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.results import Cancel, Notice, Run
    from glm_image_cli.core.runner import Delivery, Event, Journal
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.saving import ImageSaver


def _ignore(_: Any) -> None:
    return None


@dataclass
class Job:
    """A prepared run: consent given, budget held, prompts rewritten; nothing paid for an image yet.
    ``run`` makes the images; leaving the ``with`` block releases the budget hold."""

    studio: Studio
    plans: list[GenerationPlan]
    estimate: Estimate
    spend: RunSpend
    delivery: Delivery
    saver: ImageSaver | None
    vision: VisionSetup | None = None  # --check, --caption, --best-of (core/bestof.py)

    @property
    def images(self) -> int:
        return sum(plan.samples for plan in self.plans)

    def run(self, *, on_event: Callable[[Event], None] = _ignore, on_notice: Callable[[Notice], None] = _ignore,
            cancel: Cancel | None = None, journal: Journal | None = None) -> Run:
        """``journal``: where paid asynchronous tasks are recorded until saved (core/pending.PendingJournal); by
        default, for images saved to files, the data folder's pending-jobs file, so a process that dies while the
        upstream works leaves them for `glm-image collect` instead of paying again."""
        from glm_image_cli.core.prompting import units_of

        if journal is None and self.saver is not None:
            from glm_image_cli.core.pending import PendingJournal
            from glm_image_cli.storage.history import data_dir
            from glm_image_cli.storage.pendingjobs import PendingJobs

            journal = PendingJournal(PendingJobs(data_dir()), self.saver, self.studio.command)
        units = units_of(self.plans)
        return self.studio._execute(units, self.plans, self.estimate, self.delivery, self.spend, on_event=on_event,
                                    on_notice=on_notice, cancel=cancel, saver=self.saver, journal=journal,
                                    vision=self.vision)

    def release(self) -> None:
        self.spend.release()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
