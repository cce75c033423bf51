"""The one engine that makes images: every command (generate, again, batch, serve, mcp) runs its images here.

A run takes units of work (one paid call each), sends at most ``concurrency`` calls at once under an
adaptive limit, writes the journal record of each unit before its request leaves (when there is a
journal), hands each answer to a delivery step (fetch and save, or keep for an HTTP answer), and reports
typed events.  What a failure means for the rest of the run is read from the failure itself:
an account-wide failure (bad key, no balance, unreachable host, unwritable output) stops new requests at
once; a refusal of a request skips that request's other samples.  Calls already in flight finish and are
recorded.  Outcomes keep what they report (path, ids, timings), never the image's bytes.

Reporting never decides an image's fate: a unit's journal and ledger records are written before an event about
it is sent, and whatever the event sink raises (a closed pipe, a console that cannot encode a character, a bug)
is caught around the call and kept in ``output_failed`` for the front end; only the journal's and the delivery's
own writes can fail an image as unwritable output.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from glm_image_cli.core.evidence import Slot
from glm_image_cli.core.limits import Limiter
from glm_image_cli.errors import ConcurrencyRefused, GlmImageError, OutputError

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient, GeneratedImage
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.messages import Text
    from glm_image_cli.storage.saving import ImageSaver


_T = TypeVar("_T")


class Unit(Protocol):
    """One image to make: one paid call.  ``key`` names it in the journal and in events."""

    @property
    def key(self) -> str: ...

    @property
    def plan(self) -> GenerationPlan: ...

    @property
    def sample(self) -> int: ...

    @property
    def index(self) -> int: ...  # the number used when naming the file

    @property
    def fixed_stem(self) -> str | None: ...  # a file name chosen by the user (batch's "name"), else None


@dataclass(frozen=True)
class SampleUnit:
    """A sample of one plan: the units of `generate`, `again`, `serve` and `mcp`."""

    plan: GenerationPlan
    sample: int

    @property
    def key(self) -> str:
        return str(self.sample)

    @property
    def index(self) -> int:
        return self.sample

    @property
    def fixed_stem(self) -> str | None:
        return None


def model_of(unit: Any) -> str:
    """The model a unit's call is made to: the limiter's and the ledger's key (a rewrite names its chat model)."""
    return getattr(unit, "model", None) or unit.plan.model


def samples_of(plan: GenerationPlan) -> list[SampleUnit]:
    return [SampleUnit(plan, sample) for sample in range(1, plan.samples + 1)]


class Journal(Protocol):
    """Durable memory of a run (batch's manifest).  ``dispatched`` is written before the request leaves."""

    def dispatched(self, unit: Any) -> None: ...

    def refused(self, unit: Any) -> None: ...  # refused for concurrency: not billed, to be sent again

    def answered(self, unit: Any, generated: GeneratedImage) -> None: ...

    # Optional (looked up with getattr): an asynchronous task was accepted and is paid for; written before the
    # first poll, so a run that dies while polling collects the image later instead of paying again.
    # def submitted(self, unit: Any, task_id: str) -> None: ...

    def done(self, unit: Any, outcome: ImageOutcome) -> None: ...

    def failed(self, unit: Any, outcome: ImageOutcome) -> None: ...


class SpendLedger(Protocol):
    """The spend ledger (``ledger.RunSpend``): ``reserve`` writes a unit's row before its request leaves (raising
    refuses it: nothing is sent), ``settle`` records what became of it (saved, unsaved, uncertain, refused,
    failed).  A concurrency refusal settles as refused (not billed); the image is reserved again when resent."""

    def reserve(self, unit: Any) -> int | None: ...  # None: nothing to record (a free chat call)

    def settle(self, entry: int, outcome: str) -> None: ...


@dataclass
class ImageOutcome:
    """What happened to one unit: saved (path and ids) or failed (error).  Holds no image bytes."""

    unit: Any
    path: Path | None = None
    error: GlmImageError | None = None
    seconds: float = 0.0
    request_id: str | None = None
    content_filter: list[dict[str, Any]] = field(default_factory=list)
    url: str | None = None  # the upstream's temporary URL, when the delivery step passed it on
    payload: Any = None  # what a delivery step keeps for its caller (serve's answer); None for saved files
    paid: bool = False  # the upstream made the image, and the failure came after (download, saving)
    check: dict[str, Any] | None = None  # --check: the vision model's verdict (core/checks.py), once recorded
    candidate: bool = False  # --best-of: a candidate that lost (moved to candidates/ or deleted)
    kept: bool = False  # --best-of: the candidate kept

    @property
    def index(self) -> int:
        return int(self.unit.index)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def maybe_billed(self) -> bool:
        """Failed, but the upstream may have charged for it: never sent again without the user's say-so."""
        return self.error is not None and (self.paid or self.error.maybe_billed)


class Stage(Enum):
    """Where a unit is on its way.  Events carry one of these, never a free-form string."""

    QUEUED = "queued"
    REQUESTING = "requesting"
    PROCESSING = "processing"
    RETRYING = "retrying"
    DOWNLOADING = "downloading"
    SAVED = "saved"
    FAILED = "failed"


@dataclass(frozen=True)
class Event:
    """A unit moved along.  ``outcome`` is set for SAVED and FAILED; the retry fields for RETRYING."""

    unit: Any
    stage: Stage
    outcome: ImageOutcome | None = None
    task_status: str | None = None
    seconds: float = 0.0
    attempt: int = 0
    max_attempts: int = 0
    reason: Text | str | None = None
    rate_limited: bool = False


def _ignore(event: Event) -> None:
    """Default event sink."""


# --- delivery: what happens to an answer ---------------------------------------------------------------

class Delivery(Protocol):
    """What happens to an answer (fetch and save, or keep it for an HTTP reply), and to a failure."""

    def __call__(self, unit: Any, generated: GeneratedImage, client: BigModelClient,
                 downloading: Callable[[], None]) -> ImageOutcome: ...

    def failed(self, unit: Any, error: GlmImageError) -> None: ...


@dataclass
class SaveImages:
    """Stream each image into its file (never whole in memory); the outcome keeps the path and ids only."""

    saver: ImageSaver

    def __call__(self, unit: Any, generated: GeneratedImage, client: BigModelClient,
                 downloading: Callable[[], None]) -> ImageOutcome:
        path = self.saver.save_streamed(unit.plan, generated, client, index=unit.index, sample=unit.sample,
                                        fixed_stem=unit.fixed_stem, key=unit.key,
                                        progress=lambda event, info: downloading() if event == "downloading" else None)
        return ImageOutcome(unit, path=path, request_id=generated.request_id, content_filter=generated.content_filter)

    def failed(self, unit: Any, error: GlmImageError) -> None:
        self.saver.failed(unit.plan, error)  # the history remembers failures too


# --- the runner -----------------------------------------------------------------------------------------

MAX_REFUSALS_PER_IMAGE = 50  # concurrency refusals are free and expected, but not without end


@dataclass
class Runner:
    """Makes the units' images, at most ``concurrency`` calls at once (and never more than the account
    takes: see ``limits``).

    Contract: ``run()`` dispatches and waits (Ctrl-C propagates out of it); after an interrupt call
    ``stop()`` (returns the calls in flight, which may be billed) and then ``wait()`` to keep them.
    ``halted_by`` is the account-wide failure that stopped dispatching, if any; ``not_sent`` the units
    that never left; ``output_failed`` the first exception the event sink raised (the run went on without
    it: a front end whose output is gone calls ``stop()``).  ``shutdown()`` always, at the end.  A call the
    upstream refuses for concurrency is not billed and not a failure: the image goes back to the front of the
    queue.
    """

    units: Sequence[Any]
    client: BigModelClient
    deliver: Delivery
    concurrency: int = 2
    journal: Journal | None = None
    on_event: Callable[[Event], None] = _ignore
    recovered: Mapping[str, GeneratedImage] = field(default_factory=dict)  # paid before: fetch, never request
    limiter: Limiter | None = None  # shared by every run of a process (serve); else one for this run
    spend: SpendLedger | None = None  # the spend ledger: a row before each paid request, settled after

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = Limiter(self.concurrency)
        self.outcomes: list[ImageOutcome] = []
        self.halted_by: GlmImageError | None = None
        self.output_failed: Exception | None = None
        self._streak = 0  # failures in a row that signal a slow or failing upstream
        self._lock = threading.Condition()
        self._refused_plans: set[int] = set()  # id() of plans whose requests were refused
        self._pending: deque[Any] = deque(self.units)
        self._requesting = 0  # units holding a slot: only these can still be refused and come back
        self._refusals: dict[int, int] = {}
        self._spend_entries: dict[int, int] = {}  # id() of unit -> its open ledger row
        self._slots: dict[int, Slot] = {}  # id() of unit -> its slot while it holds one (what the limiter learns from)
        self._working: set[int] = set()  # id() of units sent and not finished (a second Ctrl-C abandons them)
        self._futures: list[Future[None]] = []
        self._stopped = False
        # Twice the call limit: images being downloaded and saved do not hold up the next calls.
        workers = max(1, min(2 * max(1, self.concurrency), len(self.units)))
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glm-image")
        self._interrupted = False

    # -- control -----------------------------------------------------------------------------------

    def run(self) -> list[ImageOutcome]:
        """Dispatch every unit the rules allow, then wait for all of them; returns the outcomes in unit order."""
        for unit in self.units:
            self._report(Event(unit, Stage.QUEUED))
        while True:
            unit = self._next_unit()
            if unit is None:
                break
            slot = self.limiter.acquire(model_of(unit), lambda: self._stopped)
            if slot is None:
                with self._lock:
                    self._pending.appendleft(unit)
                break
            if id(unit.plan) in self._refused_plans:  # refused while we waited for the slot
                self.limiter.release(model_of(unit), False, slot, sent=False)
                continue
            context = contextvars.copy_context()  # the message language follows the work into the thread
            with self._lock:
                self._slots[id(unit)] = slot
                self._requesting += 1
                self._working.add(id(unit))
                self._futures.append(self._executor.submit(context.run, self._work, unit))
        self.wait()
        return self.sorted_outcomes()

    def _next_unit(self) -> Any | None:
        """The next unit to send, waiting while refused calls may still come back; None when done."""
        with self._lock:
            while True:
                if self._stopped:
                    return None
                while self._pending:
                    unit = self._pending.popleft()
                    if id(unit.plan) not in self._refused_plans:
                        return unit
                if self._requesting == 0:
                    return None
                self._lock.wait()

    def _stop_sending(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self.limiter.wake()

    def stop(self) -> int:
        """Send nothing more; returns how many calls are still in flight (they may be billed)."""
        self._interrupted = True
        self._stop_sending()
        with self._lock:
            return sum(1 for future in self._futures if not future.done())

    def wait(self) -> None:
        """Wait for every dispatched call.  Interruptible by Ctrl-C."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def sorted_outcomes(self) -> list[ImageOutcome]:
        order = {id(unit): position for position, unit in enumerate(self.units)}
        with self._lock:
            return sorted(self.outcomes, key=lambda outcome: order.get(id(outcome.unit), 0))

    @property
    def not_sent(self) -> list[Any]:
        """Units that never left, or left and were refused for concurrency (not billed): never reached
        (stopped, interrupted), skipped after a refusal of their request, or not sent again."""
        with self._lock:
            finished = {id(outcome.unit) for outcome in self.outcomes} | self._working
        return [unit for unit in self.units if id(unit) not in finished]

    @property
    def in_flight(self) -> list[Any]:
        """Units sent and not finished: after a second Ctrl-C abandons them, they may have been billed."""
        with self._lock:
            working = set(self._working)
        return [unit for unit in self.units if id(unit) in working]

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    # -- one unit ------------------------------------------------------------------------------------

    def _work(self, unit: Any) -> None:
        started = time.monotonic()
        holding_slot = True
        answered_url: str | None = None
        outcome: ImageOutcome
        try:
            generated = self.recovered.get(unit.key)
            if generated is None:
                generated = self._request(unit)
                answered_url = getattr(generated, "url", None)
            elif generated.url is None and generated.inline_data is None and generated.task_id:
                generated = self._collect(unit, generated.task_id)  # paid before: poll it, never submit again
                answered_url = generated.url
            # The download is not a call against the account's limit: free the slot for the next image.
            self._leave_request_phase(unit, succeeded=True)
            holding_slot = False
            outcome = self._deliver(unit, generated)
            del generated
            outcome.seconds = time.monotonic() - started
            with self._lock:
                self._streak = 0
            journal = self.journal
            if journal is not None:
                _written(lambda: journal.done(unit, outcome))
        except ConcurrencyRefused as refusal:
            self._settle(unit, "refused")  # not billed
            if self._send_again(unit, refusal):
                holding_slot = False
                return
            outcome = ImageOutcome(unit, error=refusal, seconds=time.monotonic() - started)
            self._failed(outcome)
        except GlmImageError as error:
            paid = not holding_slot or unit.key in self.recovered  # a recovered image was paid for before
            outcome = ImageOutcome(unit, error=error, seconds=time.monotonic() - started, url=answered_url,
                                   request_id=getattr(error, "request_id", None), paid=paid)
            self._failed(outcome)
        finally:
            if holding_slot:
                self._leave_request_phase(unit, succeeded=False)
        self._settle(unit, outcome)
        with self._lock:
            self.outcomes.append(outcome)
            self._working.discard(id(unit))
        self._report(Event(unit, Stage.SAVED if outcome.error is None else Stage.FAILED, outcome=outcome))

    def _deliver(self, unit: Any, generated: GeneratedImage) -> ImageOutcome:
        try:
            return self.deliver(unit, generated, self.client, lambda: self._report(Event(unit, Stage.DOWNLOADING)))
        except OSError as error:
            raise _unwritable(error) from None

    def _report(self, event: Event) -> None:
        """Tell the event sink, after the unit's records are written.  Nothing it raises reaches the unit: the
        first failure is kept in ``output_failed`` and the run goes on (the front end decides to stop)."""
        try:
            self.on_event(event)
        except Exception as error:  # a closed pipe, an unencodable character, a bug: never the image's fate
            with self._lock:
                if self.output_failed is None:
                    self.output_failed = error

    def _slot(self, unit: Any) -> Slot | None:
        with self._lock:
            return self._slots.pop(id(unit), None)

    def _leave_request_phase(self, unit: Any, *, succeeded: bool) -> None:
        self.limiter.release(model_of(unit), succeeded, self._slot(unit))
        with self._lock:
            self._requesting -= 1
            self._lock.notify_all()

    def _send_again(self, unit: Any, refusal: GlmImageError) -> bool:
        """A concurrency refusal (not billed): lower the ceiling and put the image back at the front of the
        queue.  False when this image was refused too often: then it fails as rate limited."""
        with self._lock:
            slot = self._slots.get(id(unit))
        self.limiter.refused(model_of(unit), slot)
        with self._lock:
            count = self._refusals[id(unit)] = self._refusals.get(id(unit), 0) + 1
        if count > MAX_REFUSALS_PER_IMAGE:
            return False
        if self.journal is not None:
            with contextlib.suppress(OSError, GlmImageError):  # "dispatched" may stand: then it is uncertain
                self.journal.refused(unit)
        self.limiter.release(model_of(unit), False, self._slot(unit))
        with self._lock:
            self._pending.appendleft(unit)
            self._requesting -= 1
            self._working.discard(id(unit))
            self._lock.notify_all()
        self._report(Event(unit, Stage.QUEUED))  # waiting again: routine, not worth a line of its own
        return True

    def _request(self, unit: Any) -> GeneratedImage:
        """The paid call, with its journal records: "dispatched" before it leaves (or nothing is sent), then
        the answer's URL, so a run that cannot finish the download can fetch it later instead of paying."""
        journal = self.journal
        if journal is not None:
            _written(lambda: journal.dispatched(unit))
        self._reserve(unit)  # the ledger's row: if it cannot be written (or is over budget), nothing is sent
        self._report(Event(unit, Stage.REQUESTING))
        progress = lambda event, info: self._client_event(unit, event, info)  # noqa: E731
        send = getattr(unit, "send", None)  # a unit that is not an image (a rewrite's chat call) says how it is sent
        generated = send(self.client, progress) if send is not None else \
            self.client.request_image(unit.plan.image_request(), progress)
        if self.journal is not None and getattr(generated, "url", None):
            with contextlib.suppress(OSError, GlmImageError):  # without it, the unit stays "maybe billed"
                self.journal.answered(unit, generated)
        return generated

    def _collect(self, unit: Any, task_id: str) -> GeneratedImage:
        """A task submitted by an earlier run: poll it (free) and record its answer like a fresh one's."""
        self._report(Event(unit, Stage.REQUESTING))
        generated = self.client.collect(task_id, lambda event, info: self._client_event(unit, event, info))
        if self.journal is not None and generated.url:
            with contextlib.suppress(OSError, GlmImageError):
                self.journal.answered(unit, generated)
        return generated

    def _reserve(self, unit: Any, *, resend: bool = False) -> None:
        """The ledger row of the unit's next attempt, written before it leaves.  ``resend``: --retry-unsafe sends
        it again after an attempt that may have been billed, whose row stays counted (uncertain); if the next
        does not fit the budgets, this raises and the client sends nothing more."""
        spend = self.spend
        if spend is None:
            return
        if resend:
            self._settle(unit, "uncertain")
        entry = _written(lambda: spend.reserve(unit))  # and the journal records the failure over "dispatched"
        if entry is not None:
            with self._lock:
                self._spend_entries[id(unit)] = entry

    def _settle(self, unit: Any, outcome: ImageOutcome | str) -> None:
        """Close the unit's ledger row, if it has one (a recovered image, fetched not bought, has none)."""
        if self.spend is None:
            return
        with self._lock:
            entry = self._spend_entries.pop(id(unit), None)
        if entry is not None:
            from glm_image_cli.core.ledger import outcome_kind

            self.spend.settle(entry, outcome if isinstance(outcome, str) else outcome_kind(outcome))

    def _failed(self, outcome: ImageOutcome) -> None:
        unit, error = outcome.unit, outcome.error
        assert error is not None
        if self.journal is not None:
            # If this cannot be written, the "dispatched" record stands: a re-run treats the unit as maybe billed.
            with contextlib.suppress(OSError, GlmImageError):
                self.journal.failed(unit, outcome)
        self.deliver.failed(unit, error)
        with self._lock:
            self._streak = self._streak + 1 if error.meaning.repeats else 0
            # Two lost answers in a row (each may be billed) or three failures: the next would go the same way.
            streak_ended = error.meaning.repeats and self._streak >= (2 if error.maybe_billed else 3)
        if error.account_wide or streak_ended:
            with self._lock:
                if self.halted_by is None:
                    self.halted_by = error
            self._stop_sending()  # every remaining image would fail the same way
        elif error.same_request:
            with self._lock:
                self._refused_plans.add(id(unit.plan))

    def _client_event(self, unit: Any, event: str, info: Mapping[str, Any]) -> None:
        if event == "retrying":
            rate = info.get("kind") == "rate"
            if rate:
                self.limiter.rate_limited(model_of(unit), float(info.get("seconds", 0.0)))
            self._report(Event(unit, Stage.RETRYING, seconds=float(info.get("seconds", 0.0)),
                               attempt=int(info.get("attempt", 0)), max_attempts=int(info.get("max_attempts", 0)),
                               reason=info.get("reason"), rate_limited=rate))
        elif event == "submitted":
            submitted = getattr(self.journal, "submitted", None)
            task_id = info.get("task_id")
            if submitted is not None and isinstance(task_id, str):
                # Durable before the first poll.  If it cannot be written, the unit stays "dispatched" (maybe
                # billed, never resent blindly); the paid call itself goes on.
                with contextlib.suppress(OSError, GlmImageError):
                    submitted(unit, task_id)
        elif event == "resending":
            self._reserve(unit, resend=True)
        elif event == "processing":
            self._report(Event(unit, Stage.PROCESSING, task_status=str(info.get("task_status") or "")))
        elif event == "downloading":
            self._report(Event(unit, Stage.DOWNLOADING))


def _written(write: Callable[[], _T]) -> _T:
    """A journal or ledger write: an OSError from it is output that cannot be written (stop, say so in one
    line).  Only these writes and the delivery are wrapped so, never the paid call nor the event sink."""
    try:
        return write()
    except OSError as error:
        raise _unwritable(error) from None


def _unwritable(error: OSError) -> OutputError:
    return OutputError("output_not_writable", path=str(getattr(error, "filename", None) or "?"),
                       detail=error.strerror or str(error))

