"""The Studio's vision methods: ``check`` and ``caption`` of images already on disk, and the planning side of
--check/--best-of (more candidates per plan, the checks in the estimate).  A mixin, so the Studio stays one
object (``studio.check(...)``) while its module stays small; the work itself is in checks.py and bestof.py."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import BudgetExceeded, UsageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.consent import Consent, Estimate
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.vision import Verdict

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class FileVerdict:
    """One image on disk and what the vision model said of it (``prompt``: what it was judged against)."""

    path: Path
    verdict: Verdict
    prompt: str | None

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "prompt": self.prompt, "check": self.verdict.to_json()}


@dataclass(frozen=True)
class _FilePlan:
    """A stand-in plan for an image on disk (the runner keys refusals by plan)."""

    prompt: str
    model: str = "-"


def image_files(targets: Sequence[str | Path], history_path: Callable[[int], str | None]) -> list[Path]:
    """FILE, history ID or DIR (its images, sub-folders too, but not candidates/ nor hidden ones), in order,
    each once.  A name that is none of these is a usage error before anything is sent."""
    from glm_image_cli.core.bestof import CANDIDATES_FOLDER

    found: list[Path] = []
    for target in targets:
        path = Path(os.path.expanduser(str(target)))
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != CANDIDATES_FOLDER)
                grids = "compare.json" in files  # a compare's folder: its grid pictures are no image to judge
                found += [Path(root) / name for name in sorted(files)
                          if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
                          and not (grids and name.startswith("grid"))]
        elif path.is_file():
            found.append(path)
        elif str(target).isdigit():
            recorded = history_path(int(str(target)))
            if not recorded:
                raise UsageError("check_no_file", target=str(target))
            found.append(Path(recorded))
        else:
            raise UsageError("check_no_file", target=str(target))
    return list(dict.fromkeys(found))


class VisionMethods:
    """Mixed into Studio (which provides settings, client, limiter, spending, command)."""

    settings: Any
    client: Any
    limiter: Any
    spending: Any
    _refusal: str

    def check(self, targets: Sequence[str | Path], *, prompt: str | None = None, caption: bool = False,
              consent: Consent | None = None, on_verdict: Callable[[Path | None, Verdict], None] | None = None,
              ) -> list[FileVerdict]:
        """Judge images already on disk (files, history ids, folders) against ``prompt``, by default the prompt
        typed for each (its recipe's); the verdict goes into each PNG and the history.  ``caption``: the
        caption is written as the PNG's Description too.  An image with no recipe and no ``prompt`` is
        "unchecked" and says so."""
        from glm_image_cli.core.checks import CheckOptions

        return self._look(targets, CheckOptions(check=True, caption=caption), prompt, consent, on_verdict)

    def caption(self, targets: Sequence[str | Path], *, lang: str | None = None, consent: Consent | None = None,
                on_verdict: Callable[[Path | None, Verdict], None] | None = None) -> list[FileVerdict]:
        """A one-sentence description of each image (``lang`` "zh" or "en"; default: the language of its
        recipe's prompt, else English), written into the PNG as its standard ``Description`` and the history."""
        from glm_image_cli.core.checks import CheckOptions

        if lang is not None and lang not in ("zh", "en"):
            raise UsageError("caption_bad_lang", value=lang)
        return self._look(targets, CheckOptions(caption=True, caption_lang=lang), None, consent, on_verdict)

    def _look(self, targets: Sequence[str | Path], options: Any, prompt: str | None, consent: Consent | None,
              on_verdict: Callable[[Path | None, Verdict], None] | None) -> list[FileVerdict]:
        from glm_image_cli.core.checks import Checker
        from glm_image_cli.core.consent import check_consent, estimate_run
        from glm_image_cli.core.vision import prompt_language, unchecked
        from glm_image_cli.storage.history import History
        from glm_image_cli.storage.pngmeta import recipe_in_file
        from glm_image_cli.storage.verdicts import CheckRecords

        history = History()
        try:
            files = image_files(targets, lambda number: history.get(number).path)
        finally:
            history.close()
        if not files:
            raise UsageError("check_nothing", targets=", ".join(str(t) for t in targets))
        self.require_key()  # type: ignore[attr-defined]
        model = self.settings.check_model
        self._require_check_price(model)
        estimate = estimate_run(self.settings, {}, {model: len(files)})
        check_consent(estimate, consent, refusal=self._refusal)
        records = CheckRecords() if self.settings.history else None
        checker = Checker(self.client, self.limiter, self.spending, model, options,
                          concurrency=self.settings.concurrency, records=records,
                          on_verdict=on_verdict or (lambda path, verdict: None))
        try:
            pending: list[tuple[Path, str | None, Any]] = []
            for path in files:
                recorded = str((recipe_in_file(path) or {}).get("prompt") or "") or None
                judged = (prompt or recorded) if options.check else None
                if options.check and judged is None:
                    verdict = unchecked(model, Text("check_reason_no_prompt"), "no_prompt")
                    if on_verdict is not None:
                        on_verdict(path, verdict)
                    pending.append((path, None, verdict))
                    continue
                lang = None if options.check or options.caption_lang else \
                    (prompt_language(recorded) if recorded else "en")
                pending.append((path, judged, checker.submit(path, _FilePlan(judged or ""), judged or "", None, lang)))
            try:
                checker.wait()
            except KeyboardInterrupt:
                checker.cancel()
                raise
            return [FileVerdict(path, item if not hasattr(item, "result") else item.result(), judged)
                    for path, judged, item in pending]
        finally:
            checker.close()

    def _require_check_price(self, model: str) -> None:
        """With a budget set, a check model of unknown price cannot be counted against it: refused first."""
        from glm_image_cli.core.pricing import chat_price

        spending = self.spending
        if spending.budgets.any and chat_price(model, spending.region, spending.prices, spending.backend) is None:
            raise BudgetExceeded("budget_unknown_price", model=model, key="budget-daily/budget-monthly",
                                 path=str(spending.config_file or "config.toml"), currency=spending.currency)

    def check_calls(self, count: int) -> dict[str, int]:
        """A batch's checks for its estimate and consent: ``{check model: count}``, or nothing when the model is
        free; a model of unknown price under a budget is refused here, before anything is sent."""
        from glm_image_cli.core.pricing import chat_price

        model, spending = self.settings.check_model, self.spending
        self._require_check_price(model)
        if not count or chat_price(model, spending.region, spending.prices, spending.backend) == 0:
            return {}
        return {model: count}

    def _vision_plans(self, plans: list[GenerationPlan], vision: VisionSetup | None) -> list[GenerationPlan]:
        """--best-of N: N candidates for each image asked for (each paid for, each in the estimate)."""
        if vision is None or not vision.any:
            return plans
        self._require_check_price(self.settings.check_model)
        if not vision.best_of:
            return plans
        return [replace(plan, samples=plan.samples * vision.best_of) for plan in plans]

    def _with_checks(self, estimate: Estimate, vision: VisionSetup | None) -> Estimate:
        """The checks in the estimate when the check model is not free (a free one changes nothing to ask)."""
        from glm_image_cli.core.consent import estimate_run
        from glm_image_cli.core.pricing import chat_price

        if vision is None or not vision.any:
            return estimate
        model, spending = self.settings.check_model, self.spending
        if chat_price(model, spending.region, spending.prices, spending.backend) == 0:
            return estimate
        chats = dict(estimate.chats)
        chats[model] = chats.get(model, 0) + estimate.image_count
        return estimate_run(self.settings, estimate.images, chats)

