"""Vision checks and captions as calls through the one runner, beside the images and never in their way.

Each check is a unit of the runner (like a --enhance rewrite): it waits for a slot of the check model in the
shared limiter, is written to the ledger before it leaves (command "check"; the free vision models at 0, a
priced one at its price, within the budgets), and is never sent twice when its answer was lost.  The check
model has its own pool in the limiter (``Limiter.own_pool``), so checks run while images are being made without
holding an image slot.

The money rule: an image is saved and recorded before its check is asked for, and nothing a check does can fail
it.  A refusal (1301 on the image), a timeout, a rate limit after the client's retries, an answer that is not
JSON: the verdict is "unchecked" with its reason, and it costs nothing more.  After a failure every check would
meet (a bad key, no balance), the remaining checks are not sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from glm_image_cli.core.vision import CannotSend, Verdict, image_part, read_verdict, request_body, unchecked
from glm_image_cli.errors import GlmImageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient, ProgressCallback
    from glm_image_cli.core.ledger import Spending
    from glm_image_cli.core.limits import Limiter
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.runner import ImageOutcome
    from glm_image_cli.storage.verdicts import CheckRecords


@dataclass(frozen=True, eq=False)
class CheckUnit:
    """One vision call about one image.  ``model`` is the check model: the limiter's and the ledger's key."""

    plan: Any  # the image's plan (or a stand-in for a file on disk): what the runner keys refusals by
    body: dict[str, Any]
    model: str
    key: str
    prompt: str | None  # the prompt judged against; None: a caption request
    kind: ClassVar[str] = "check"
    sample: ClassVar[int] = 1
    index: ClassVar[int] = 1
    fixed_stem: ClassVar[None] = None

    def send(self, client: BigModelClient, progress: ProgressCallback) -> dict[str, Any]:
        return client.chat_completion(self.body, progress)


class KeepVerdict:
    """The runner's delivery for checks: the answer read into a Verdict (an unreadable one is "unchecked")."""

    def __call__(self, unit: CheckUnit, payload: Any, client: Any, downloading: Callable[[], None]) -> ImageOutcome:
        from glm_image_cli.core.enhance import answer_text, request_id_of
        from glm_image_cli.core.runner import ImageOutcome

        request_id = request_id_of(payload) if isinstance(payload, dict) else None
        try:
            answer = answer_text(payload) if isinstance(payload, dict) else ""
        except GlmImageError:
            answer = ""
        verdict = read_verdict(answer, model=unit.model, prompt=unit.prompt, seconds=0.0, request_id=request_id)
        return ImageOutcome(unit, request_id=request_id, payload=verdict)

    def failed(self, unit: Any, error: GlmImageError) -> None:
        """Nothing to undo: the image is saved, and its verdict says why it is unchecked."""


@dataclass
class CheckSpend:
    """The ledger for checks: a row before each call (command "check"), at the model's price (0 when free),
    outside the images' hold; a priced one must fit the budgets (else BudgetExceeded: nothing is sent)."""

    spending: Spending

    def reserve(self, unit: Any) -> int | None:
        from glm_image_cli.core.pricing import chat_price

        spending = self.spending
        price = chat_price(unit.model, spending.region, spending.prices, spending.backend)
        return spending.ledger.reserve(hold=None, command="check", model=unit.model, cost=price or 0.0,
                                       priced=price is not None, currency=spending.currency,
                                       budgets=spending.budgets)

    def settle(self, entry: int, outcome: str) -> None:
        with contextlib.suppress(GlmImageError, sqlite3.Error, OSError):  # else "pending" stands: counted
            self.spending.ledger.settle(entry, outcome)


@dataclass
class CheckOptions:
    """What to ask after each image: ``check`` (a verdict against the typed prompt), ``caption`` (write the
    description into the PNG: the check's own caption, or a caption request when not checking)."""

    check: bool = False
    caption: bool = False
    caption_lang: str | None = None  # None: the prompt's language
    metadata: bool = True  # write the verdict and caption into the PNG (--no-metadata: history and JSON only)
    history: bool = True  # record it in the history's database too (--no-history: not)

    @property
    def any(self) -> bool:
        return self.check or self.caption


class Checker:
    """Checks images as they are saved, on its own threads, through the runner; ``wait`` collects verdicts.
    One per run; ``cancel`` (Ctrl-C) sends nothing more and marks what was not asked "unchecked"."""

    def __init__(self, client: BigModelClient, limiter: Limiter, spending: Spending, model: str,
                 options: CheckOptions, *, concurrency: int, records: CheckRecords | None,
                 on_verdict: Callable[[Path | None, Verdict], None] = lambda path, verdict: None) -> None:
        self.client, self.limiter, self.spend = client, limiter, CheckSpend(spending)
        self.model, self.options, self.records = model, options, records
        self.on_verdict = on_verdict
        self.concurrency = max(1, concurrency)
        limiter.own_pool(model)  # a check never waits for, nor holds, an image slot
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="glm-image-check")
        self._lock = threading.Lock()
        self._runners: list[Any] = []
        self._halted: GlmImageError | None = None
        self._cancelled = False
        self._futures: list[Future[Verdict]] = []
        self.record_problem: Exception | None = None  # the history could not take a verdict (said once)

    def submit(self, path: Path | None, plan: Any, prompt: str, url: str | None = None,
               lang: str | None = None, data: bytes | None = None) -> Future[Verdict]:
        """Check the image at ``path`` (``url``: the upstream's fresh URL for it; ``data``: its bytes, when it was
        never saved) against ``prompt``, later.  ``lang``: a caption's language (default: the options', else the
        prompt's)."""
        context = contextvars.copy_context()  # the message language follows the check into its thread
        future = self._pool.submit(context.run, self.check, path, plan, prompt, url, lang, data)
        with self._lock:
            self._futures.append(future)
        return future

    def check(self, path: Path | None, plan: Any, prompt: str, url: str | None = None,
              lang: str | None = None, data: bytes | None = None) -> Verdict:
        """One image, now, in this thread: the verdict (recorded in the file and the history)."""
        started = time.monotonic()
        verdict = self._ask(path, plan, prompt, url, lang, data)
        verdict.seconds = time.monotonic() - started
        self._record(path, verdict)
        with contextlib.suppress(Exception):  # a front end's callback never loses a verdict
            self.on_verdict(path, verdict)
        return verdict

    def _ask(self, path: Path | None, plan: Any, prompt: str, url: str | None, lang: str | None,
             data: bytes | None = None) -> Verdict:
        from glm_image_cli.core.runner import Runner

        with self._lock:
            halted, cancelled = self._halted, self._cancelled
        if cancelled:
            return unchecked(self.model, Text("check_reason_interrupted"), "interrupted")
        if halted is not None:
            return unchecked(self.model, Text("check_reason_failed", detail=str(halted)), "failed")
        asking = prompt if self.options.check else None
        lang = lang or self.options.caption_lang or _language(prompt)
        try:
            body = request_body(self.model, image_part(path, url, data), prompt=asking, lang=lang)
        except CannotSend as skipped:
            return unchecked(self.model, skipped.reason, "skipped")
        unit = CheckUnit(plan, body, self.model, str(path or url), asking)
        runner = Runner([unit], self.client, KeepVerdict(), concurrency=self.concurrency, limiter=self.limiter,
                        spend=self.spend)
        with self._lock:
            self._runners.append(runner)
            if self._cancelled:
                runner.stop()
        try:
            runner.run()
        finally:
            runner.shutdown()
        outcome = next(iter(runner.sorted_outcomes()), None)
        if outcome is None:
            return unchecked(self.model, Text("check_reason_interrupted"), "interrupted")
        if outcome.error is not None:
            error = outcome.error
            if error.account_wide:
                with self._lock:
                    self._halted = self._halted or error
            verdict = unchecked(self.model, Text("check_reason_failed", detail=str(error)), "failed",
                                request_id=getattr(error, "request_id", None))
            verdict.exit_code = int(error.exit_code)
            return verdict
        verdict: Verdict = outcome.payload
        return verdict

    def _record(self, path: Path | None, verdict: Verdict) -> None:
        """Into the PNG (the verdict, and the caption as ``Description``) and the history; neither can fail the
        image nor lose the verdict (it is still returned and shown)."""
        from glm_image_cli.storage.verdicts import CHECK_KEY, DESCRIPTION_KEY, write_into_png

        record = verdict.to_json()
        if path is not None and self.options.metadata:
            fields: dict[str, Any] = {CHECK_KEY: record if self.options.check else None}
            if self.options.caption and verdict.caption:
                fields[DESCRIPTION_KEY] = verdict.caption
            try:
                write_into_png(path, fields)
            except OSError as problem:
                self.record_problem = self.record_problem or problem
        if self.records is not None:
            try:
                self.records.add(path, record, verdict.request_id)
            except (GlmImageError, sqlite3.Error) as problem:
                self.record_problem, self.records = self.record_problem or problem, None

    def cancel(self) -> None:
        """Ctrl-C: nothing more is sent; checks in flight finish (free or not, their answer is kept)."""
        with self._lock:
            self._cancelled = True
            runners = list(self._runners)
        for runner in runners:
            runner.stop()

    def wait(self) -> None:
        """Every submitted check finished (interruptible by Ctrl-C)."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.records is not None:
            self.records.close()


def _language(prompt: str) -> str:
    from glm_image_cli.core.vision import prompt_language

    return prompt_language(prompt)


@dataclass
class CheckingDelivery:
    """Wraps a run's delivery: each saved image is handed to the Checker as soon as it is saved (with the
    upstream's URL while it is fresh), so checks run while the next images are made."""

    inner: Any
    checker: Checker
    futures: dict[int, Future[Verdict]]  # id() of the unit -> its check
    journal: Any = None  # a batch's manifest: ``checked(outcome, verdict)`` once a verdict is in

    def __call__(self, unit: Any, generated: Any, client: Any, downloading: Callable[[], None]) -> ImageOutcome:
        outcome: ImageOutcome = self.inner(unit, generated, client, downloading)
        url = getattr(generated, "url", None)
        data = getattr(outcome.payload, "data", None)  # an image in memory, never saved
        # serve: the image the answer carries waits in its file (--save's, or the request's spool) until answered
        path = outcome.path or getattr(outcome.payload, "path", None)
        if outcome.error is None and (path or url or data) is not None and wants(unit, self.checker.options):
            plan: GenerationPlan = unit.plan
            future = self.checker.submit(path, plan, plan.prompt, url, None,
                                         data if isinstance(data, bytes) else None)
            self.futures[id(unit)] = future
            checked = getattr(self.journal, "checked", None)
            if checked is not None:
                future.add_done_callback(lambda done: _journal(checked, outcome, done))
        return outcome

    def failed(self, unit: Any, error: GlmImageError) -> None:
        self.inner.failed(unit, error)


def _journal(checked: Callable[[Any, dict[str, Any]], None], outcome: ImageOutcome, done: Future[Verdict]) -> None:
    """The verdict into the batch's manifest (a re-run does not ask again); a failure here loses nothing."""
    with contextlib.suppress(Exception):
        checked(outcome, done.result().to_json())


def wants(unit: Any, options: CheckOptions) -> bool:
    """Whether the vision model is asked about this unit's image: a batch line may ask for a check on its own
    ("check"); --caption asks about every image."""
    return bool(getattr(unit, "wants_check", True) or options.caption)
