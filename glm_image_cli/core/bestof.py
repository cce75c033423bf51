"""--check, --caption and --best-of N over a run of images: the Studio's one hook for vision.

``VisionSetup`` is what the caller asked for; ``start`` gives the run's ``VisionSession``, which wraps the run's
delivery (each saved image is checked at once, beside the next images) and, when the images are all made,
waits for the verdicts, puts them on the outcomes and, with --best-of, keeps the best of each group of N
candidates: checked before unchecked, a text match before a mismatch, the higher score, the earlier one.  The
others move to a ``candidates/`` folder beside the kept image (or are deleted with --discard-candidates), and
the kept image's recipe lists every candidate with its verdict.  Every candidate was paid for and is in the
ledger: best-of picks among images, it never hides what they cost.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.checks import Checker, CheckingDelivery, CheckOptions, wants
from glm_image_cli.core.results import Notice
from glm_image_cli.core.vision import Verdict, rank_key, unchecked
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.core.studio import Studio

BEST_OF_RANGE = (2, 8)
CANDIDATES_FOLDER = "candidates"


def check_best_of(best_of: int | None) -> int | None:
    """--best-of N: 2 to 8 (None, or 1: one image as usual, nothing to choose from)."""
    if best_of is None or (best_of == 1 and not isinstance(best_of, bool)):
        return None
    if isinstance(best_of, bool) or not isinstance(best_of, int) or not BEST_OF_RANGE[0] <= best_of <= \
            BEST_OF_RANGE[1]:
        raise UsageError("best_of_range", low=BEST_OF_RANGE[0], high=BEST_OF_RANGE[1], value=best_of)
    return best_of


@dataclass
class VisionSetup:
    """What a run asks of the vision model: ``options`` (check, caption), ``best_of`` (N candidates per image,
    each checked; None: no choosing), ``discard`` (delete the candidates that lost instead of keeping them)."""

    options: CheckOptions = field(default_factory=CheckOptions)
    best_of: int | None = None
    discard: bool = False
    # A batch: its manifest remembers each verdict and choice (``checked``, ``chosen``), so a re-run neither
    # re-checks nor re-chooses; ``earlier`` are the images it made before (their recorded verdicts on them),
    # and a group of candidates is chosen from only once all of them are made.
    journal: Any = None
    earlier: list[ImageOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.best_of = check_best_of(self.best_of)
        if self.best_of:
            self.options.check = True  # choosing needs a verdict for every candidate

    @classmethod
    def of(cls, *, check: bool = False, caption: bool = False, best_of: int | None = None,
           discard_candidates: bool = False, metadata: bool = True, history: bool = True) -> VisionSetup:
        """The library's spelling of the flags: ``studio.generate(plan, vision=VisionSetup.of(check=True))``."""
        return cls(CheckOptions(check=check, caption=caption, metadata=metadata, history=history), best_of=best_of,
                   discard=discard_candidates)

    @property
    def any(self) -> bool:
        return self.options.any or self.best_of is not None

    def start(self, studio: Studio, on_notice: Callable[[Notice], None]) -> VisionSession:
        from glm_image_cli.storage.verdicts import CheckRecords

        settings = studio.settings
        records = CheckRecords() if settings.history and self.options.history else None

        def said(path: Path | None, verdict: Verdict) -> None:
            on_notice(Notice("note", verdict_line(path, verdict)))

        checker = Checker(studio.client, studio.limiter, studio.spending, settings.check_model, self.options,
                          concurrency=settings.concurrency, records=records, on_verdict=said)
        return VisionSession(self, checker)


def verdict_line(path: Path | None, verdict: Verdict) -> Text:
    """The one line a front end shows for a verdict: score, text, failing items; or why it is unchecked."""
    name = path.name if path is not None else "?"
    if not verdict.checked:
        return Text("check_unchecked_line", name=name, reason=verdict.reason or "")
    if verdict.score is None:
        return Text("caption_line", name=name, caption=verdict.caption or "")
    return Text("check_line", name=name, score=verdict.score, text=_text_part(verdict), failing=_failing_part(verdict))


def verdict_summary(record: Any) -> str:
    """A recorded verdict in one line without the file's name (`info`, `show`, `history`, the gallery)."""
    verdict = Verdict.from_json(record)
    if verdict is None:
        return str(record)
    if not verdict.checked:
        return str(Text("check_unchecked_short", reason=verdict.reason or ""))
    if verdict.score is None:
        return verdict.caption or ""
    return str(Text("check_short", score=verdict.score, text=_text_part(verdict), failing=_failing_part(verdict),
                    model=verdict.model))


def _text_part(verdict: Verdict) -> str:
    if not verdict.texts:
        return ""
    if not verdict.text:  # asked for text, and the model read none at all
        return str(Text("check_text_none"))
    return str(Text("check_text_ok" if verdict.text_ok else "check_text_mismatch", read=verdict.text or "",
                    ned=verdict.ned, accuracy=verdict.word_accuracy))


def _failing_part(verdict: Verdict) -> str:
    return str(Text("check_failing", items="; ".join(verdict.failing))) if verdict.failing else ""


def candidates_summary(listing: Any) -> str:
    """The --best-of candidates in a recipe: each one's path and score, the kept one marked."""
    if not isinstance(listing, list):
        return str(listing)
    parts = []
    for item in listing:
        if not isinstance(item, dict):
            continue
        verdict = Verdict.from_json(item.get("check"))
        score = f"{verdict.score}/10" if verdict is not None and verdict.score is not None else "-"
        parts.append(f"{'★ ' if item.get('kept') else ''}{item.get('path') or '(deleted)'} {score}")
    return "; ".join(parts)


@dataclass
class VisionSession:
    setup: VisionSetup
    checker: Checker
    futures: dict[int, Future[Verdict]] = field(default_factory=dict)

    def wrap(self, delivery: Any) -> CheckingDelivery:
        return CheckingDelivery(delivery, self.checker, self.futures, self.setup.journal)

    def cancel(self) -> None:
        self.checker.cancel()

    def finish(self, outcomes: list[ImageOutcome], on_notice: Callable[[Notice], None]) -> bool:
        """Wait for the verdicts, put them on the outcomes, then choose among --best-of candidates.  Ctrl-C while
        waiting: nothing more is asked, what is not in is "unchecked", nothing is chosen; True is returned (the
        images are all saved and kept)."""
        try:
            try:
                earlier = self._check_earlier()
                for outcome in outcomes:
                    future = self.futures.get(id(outcome.unit))
                    if future is not None:
                        verdict = _result_of(future, self.checker.model)
                        outcome.check = verdict.to_json()
            except KeyboardInterrupt:
                self.checker.cancel()
                for outcome in outcomes:
                    if id(outcome.unit) in self.futures and outcome.check is None:
                        outcome.check = unchecked(self.checker.model, Text("check_reason_interrupted"),
                                                  "interrupted").to_json()
                return True
            if self.setup.best_of:
                batch = self.setup.journal is not None
                for group in _groups([*earlier, *outcomes], self.setup.best_of):
                    saved = [o for o in group if o.path is not None and o.error is None]
                    if batch and (len(saved) < self.setup.best_of or all(o.candidate or o.kept for o in saved)):
                        continue  # a batch chooses once, when every candidate of the item is made
                    self._choose(group, on_notice)
        finally:
            self.checker.close()
        if self.checker.record_problem is not None:
            on_notice(Notice("warning", Text("check_not_recorded", detail=str(self.checker.record_problem))))
        return False

    def _check_earlier(self) -> list[ImageOutcome]:
        """A batch's images made before: those still without the verdict they need are checked now (no image
        call); those with one recorded are not asked again."""
        wanted = [o for o in self.setup.earlier if o.check is None and o.path is not None and o.path.exists()
                  and wants(o.unit, self.setup.options) and self.setup.options.any]
        futures = {id(o): self.checker.submit(o.path, o.unit.plan, o.unit.plan.prompt) for o in wanted}
        journal = getattr(self.setup.journal, "checked", None)
        for outcome in wanted:
            outcome.check = _result_of(futures[id(outcome)], self.checker.model).to_json()
            if journal is not None:
                with contextlib.suppress(Exception):
                    journal(outcome, outcome.check)
        return self.setup.earlier

    def _choose(self, group: list[ImageOutcome], on_notice: Callable[[Notice], None]) -> None:
        saved = [outcome for outcome in group if outcome.error is None]  # serve: made, answered, never saved
        if len(saved) < 1:
            return
        ranked = sorted(saved, key=lambda o: rank_key(Verdict.from_json(o.check), group.index(o)))
        kept, losers = ranked[0], ranked[1:]
        kept.kept = True
        listing: list[dict[str, Any]] = []
        for outcome in group:
            if outcome.error is not None:
                continue
            if any(loser is outcome for loser in losers):
                outcome.candidate = True
                if outcome.path is not None:
                    outcome.path = self._put_aside(outcome.path, kept.path)
            listing.append({"path": _relative(outcome.path, kept.path) if outcome.path else None,
                            "request_id": outcome.request_id, "kept": outcome is kept, "check": outcome.check})
            chosen = getattr(self.setup.journal, "chosen", None)
            if chosen is not None:
                with contextlib.suppress(Exception):  # unrecorded, a re-run chooses again among the same images
                    chosen(outcome, outcome is kept)
        from glm_image_cli.storage.verdicts import CANDIDATES_KEY, write_into_png

        if self.checker.options.metadata and kept.path is not None:
            try:
                write_into_png(kept.path, {CANDIDATES_KEY: listing})
            except OSError as problem:
                self.checker.record_problem = self.checker.record_problem or problem
        folder = kept.path.parent / CANDIDATES_FOLDER if kept.path else None
        on_notice(Notice("note", Text("best_of_kept" if not self.setup.discard else "best_of_kept_discarded",
                                      name=kept.path.name if kept.path else "?", count=len(losers),
                                      total=len(group), folder=str(folder))))

    def _put_aside(self, path: Path, kept: Path | None) -> Path | None:
        """A candidate that lost: into candidates/ beside the kept image (never over another file), or gone."""
        records = self.checker.records
        if self.setup.discard:
            with contextlib.suppress(OSError):
                path.unlink()
            if records is not None:
                with contextlib.suppress(Exception):
                    records.moved(path, None)
            return None
        folder = (kept or path).parent / CANDIDATES_FOLDER
        try:
            folder.mkdir(exist_ok=True)
            target = _free_name(folder, path.name)
            os.link(path, target)  # never replaces a file of the same name
            path.unlink()
        except OSError as problem:
            self.checker.record_problem = self.checker.record_problem or problem
            return path  # left where it was: a paid image is never lost over a move
        if records is not None:
            with contextlib.suppress(Exception):
                records.moved(path, target)
        return target


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem, suffix = os.path.splitext(name)
    number = 1
    while target.exists():
        target = folder / f"{stem}-{number}{suffix}"
        number += 1
    return target


def _relative(path: Path, base: Path | None) -> str:
    try:
        return path.relative_to(base.parent).as_posix() if base else str(path)
    except ValueError:
        return str(path)


def _groups(outcomes: list[ImageOutcome], size: int) -> list[list[ImageOutcome]]:
    """The candidates of each wanted image: samples 1..N, N+1..2N, ... of each plan; a batch item's own."""
    grouped: dict[tuple[int, int], list[ImageOutcome]] = {}
    for outcome in outcomes:
        unit = outcome.unit
        key = getattr(unit, "group", None)
        group = key if key is not None else (id(unit.plan), (unit.sample - 1) // size)
        grouped.setdefault(group, []).append(outcome)
    return list(grouped.values())


def _result_of(future: Future[Verdict], model: str) -> Verdict:
    try:
        return future.result()
    except KeyboardInterrupt:
        raise
    except Exception as problem:  # a bug in a check never fails the image: it is unchecked, and says why
        return unchecked(model, Text("check_reason_failed", detail=str(problem)), "failed")
