"""How many calls may be in flight: the account's real concurrency limit, found fast and remembered.

BigModel limits each account's concurrent calls per model and does not say the number; over it, a call
is refused at once (429, code 1302, no Retry-After) and not billed.  The controller here starts small
and grows by one per success (doubling per round, like TCP's slow start) until the user's ``-j`` or the
first refusal.  The ceiling is lowered on evidence (evidence.py): a refusal bounds it by the calls that may
have been counted then, and a refusal at fewer calls than have been answering together is the platform's
lagging count, not a lower limit: the slot then rests a little after each answer (``gap``, learned too).
A ceiling is probed (+1) after many successes, soon when it was only remembered, so one that proves too low
recovers within a run.  What is learned is stored per (account, base URL, model), as a hash of the key,
never the key, so the next run starts there.  Rate refusals with Retry-After are honoured as a pause.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from glm_image_cli import safejson
from glm_image_cli.core.evidence import MAX_REST, CallLog, Rest, Slot
from glm_image_cli.safefile import read_regular
from glm_image_cli.storage.atomic import write_atomic

SLOW_START = 8  # calls in flight at first, when nothing is known about the account
PROBE_AFTER_ROUNDS = 10  # successes at the ceiling, in multiples of it, before one more call is tried
REMEMBERED_PROBE_ROUNDS = 2  # the same for a ceiling only remembered from an earlier run: it may be too low
REFUSAL_PAUSE = (0.05, 0.25)  # a refusal means "too many now": wait briefly (jittered), not for seconds
MAX_LAG = 2.0  # an answer longer ago than this cannot be what the platform still counts
STORE_NAME = "limits.json"


@dataclass
class ModelLimit:
    """The calls in flight allowed for one model, and what has been learned about them."""

    cap: int  # the user's upper bound (-j)
    limit: int = 0
    learned: int | None = None  # the account's ceiling, once a refusal showed it (or remembered)
    in_flight: int = 0
    refused_holding: int = 0  # calls in flight already known to be refused (the account no longer counts them)
    paused_until: float = 0.0
    successes: int = 0
    refusals: int = 0
    confirmed: bool = False  # a refusal in this process showed the ceiling (else it is only remembered)
    proven: int = 0  # the most calls seen answering together: the account allows at least this many
    slack: float = 0.0  # how late this client sees answers (the longest recent refusal's round trip)
    rest: Rest = field(default_factory=Rest)  # how long a slot rests after an answer (a lagging count)
    calls: CallLog = field(default_factory=CallLog, repr=False)
    holding: set[Slot] = field(default_factory=set, repr=False)  # the slots taken and not given back

    def __post_init__(self) -> None:
        start = self.learned if self.learned is not None else SLOW_START
        self.limit = max(1, min(self.cap, start))

    def succeeded(self, together: int = 1) -> bool:
        """One more answer (``together``: answered alongside how many); True when the ceiling went up."""
        self.proven = max(self.proven, together)
        if self.learned is None:
            self.limit = min(self.cap, self.limit + 1)  # nothing refused yet: grow
            return False
        raised = False
        if self.proven > self.learned:  # more answered together than the ceiling allows: it was too low
            self.learned, raised = self.proven, True
            self.limit = max(self.limit, min(self.cap, self.proven))
        self.successes += 1
        rounds = PROBE_AFTER_ROUNDS if self.confirmed else REMEMBERED_PROBE_ROUNDS
        if self.limit < self.cap and self.successes >= rounds * self.limit:
            if self.limit > self.learned:  # the last probe held for whole rounds: the ceiling is higher
                self.learned, raised = self.limit, True
            self.limit += 1  # a probe: the account's limit may have been raised
            self.successes = 0
        return raised

    def refused(self, ceiling: int | None = None) -> None:
        """A concurrency refusal that shows at most ``ceiling`` calls are allowed (default: ``in_flight`` - 1,
        the refused call among them)."""
        self.refusals += 1
        bound = self.in_flight - 1 if ceiling is None else ceiling
        self.limit = max(1, min(self.limit, bound))
        self.learned = self.limit
        self.proven = min(self.proven, self.limit)
        self.confirmed = True
        self.successes = 0


class LimitMemory(Protocol):
    """Where learned ceilings and rests are kept between runs (``LimitStore``)."""

    def get(self, model: str) -> int | None: ...

    def put(self, model: str, limit: int) -> None: ...

    def gap(self, model: str) -> float | None: ...

    def put_gap(self, model: str, gap: float) -> None: ...


class Limiter:
    """Slots for calls, per model and in all (the user's -j), shared by every run in a process (serve).

    ``acquire`` hands out a ``Slot``; giving it back to ``release`` and ``refused`` lets the limiter tell a lower
    limit from a lagging count (without it, each refusal counts the calls in flight, as before)."""

    def __init__(self, cap: int, *, remembered: Callable[[str], int | None] | None = None,
                 on_learned: Callable[[str, int], None] | None = None, memory: LimitMemory | None = None,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        self.cap = max(1, cap)
        self._memory = memory
        self._remembered = remembered or (memory.get if memory is not None else (lambda model: None))
        self._on_learned = on_learned or (memory.put if memory is not None else None)
        self._clock = clock
        self._rng = rng
        self._models: dict[str, ModelLimit] = {}
        self._in_flight = 0
        self._own: set[str] = set()  # models with their own pool: not counted against -j (vision checks)
        self._cond = threading.Condition()
        self._telling = threading.Lock()
        self.stopped = False

    def own_pool(self, name: str) -> None:
        """Calls to ``name`` (the check model) have their own -j slots: they neither wait for nor hold the slots
        of images, so checks run beside the images they check."""
        with self._cond:
            self._own.add(name)

    def model(self, name: str) -> ModelLimit:
        with self._cond:
            return self._model(name)

    def _model(self, name: str) -> ModelLimit:
        if name not in self._models:
            limit = ModelLimit(self.cap, learned=self._remembered(name))
            gap = self._memory.gap(name) if self._memory is not None else None
            limit.rest.gap = min(MAX_REST, gap) if gap else 0.0
            self._models[name] = limit
        return self._models[name]

    def acquire(self, name: str, cancelled: Callable[[], bool] = lambda: False) -> Slot | None:
        """Wait for a slot for a call to ``name``; None once stopped or ``cancelled()`` (checked whenever
        ``wake`` is called).  A slot resting after an answer counts as taken.  Interruptible by Ctrl-C."""
        with self._cond:
            while not self.stopped and not cancelled():
                slot, wake = self._take(name)
                if slot is not None:
                    return slot
                self._cond.wait(timeout=None if wake is None else max(wake - self._clock(), 0.001))
            return None

    def try_acquire(self, name: str) -> tuple[Slot | None, float | None]:
        """A slot now, without waiting: (slot, None), or (None, when to try again; None: when one is given back).
        For callers with their own clock (simulations of an account, tests)."""
        with self._cond:
            return self._take(name)

    def _take(self, name: str) -> tuple[Slot | None, float | None]:
        limit = self._model(name)
        now = self._clock()
        resting = limit.calls.cooling_until(now, limit.rest.gap) if limit.rest.gap else []
        shared = name not in self._own  # a check model's calls have their own pool (own_pool)
        if (not shared or self._in_flight < self.cap) and limit.in_flight + len(resting) < limit.limit \
                and now >= limit.paused_until and limit.rest.may_send(limit.in_flight, len(resting), limit.limit):
            limit.rest.sent()
            limit.in_flight += 1
            self._in_flight += 1 if shared else 0
            slot = Slot(name, now)
            limit.holding.add(slot)
            counted = limit.in_flight - limit.refused_holding + len(resting)
            for held in limit.holding:  # the most calls each one may have been counted with
                held.peak = max(held.peak, counted)
            return slot, None
        wakes = [t for t in [*resting, limit.paused_until] if t > now]
        return None, min(wakes) if wakes else None

    def release(self, name: str, succeeded: bool, slot: Slot | None = None, *, sent: bool = True) -> None:
        """Give a slot back.  ``sent``: the call left (the account counted it, unless it was refused)."""
        learned = None
        with self._cond:
            limit = self._model(name)
            limit.in_flight -= 1
            self._in_flight -= 0 if name in self._own else 1
            gap = limit.rest.gap
            if slot is not None:
                limit.holding.discard(slot)
                if slot.outcome == "refused":
                    limit.refused_holding -= 1
            counted = sent and (slot is None or slot.outcome != "refused")
            together = 1
            if counted:
                call = slot or Slot(name, self._clock())
                call.released, call.outcome = self._clock(), "answered" if succeeded else "failed"
                limit.calls.add(call)
                together = limit.calls.together(call, limit.slack) if succeeded and slot is not None else 1
            elif slot is not None and not slot.outcome:
                slot.outcome = "unsent"
            if succeeded and slot is not None:
                limit.rest.answered(self._clock(), slot.acquired, limit.limit)
            elif slot is not None and slot.outcome != "refused":
                limit.rest.not_answered(slot.acquired, left=sent)
            if succeeded and limit.succeeded(together):
                learned = limit.learned
            gap_changed = limit.rest.gap if limit.rest.gap != gap and limit.rest.settled else None
            self._cond.notify_all()
        self._tell(name, learned)
        if gap_changed is not None and self._memory is not None:
            self._memory.put_gap(name, gap_changed)

    def refused(self, name: str, slot: Slot | None = None) -> None:
        """A concurrency refusal of a call that still holds its slot.

        The ceiling goes down to the most calls the account may have been counting when it refused (the calls
        in flight then, not known to be refused, and those resting after an answer), then a brief pause.  If
        that is fewer than have been answering together, and only an answer the platform may still count
        would make up the difference, its count lags: each slot rests longer after an answer instead."""
        with self._cond:
            limit = self._model(name)
            now = self._clock()
            before, gap = limit.learned, limit.rest.gap
            sent = slot.acquired if slot is not None else now
            if slot is not None:
                limit.slack = max(limit.slack * 0.9, now - sent)  # decays: one slow moment is not the rule
            counting = limit.in_flight - limit.refused_holding  # this call among them
            # What the account may have counted (this call less): every call in flight or answered since
            # this one left (or resting then); at no moment more than this one saw in flight with it.
            at_most = min(counting + limit.calls.released_since(sent - limit.rest.gap) - 1,
                          (slot.peak if slot is not None else counting) - 1)
            # The same if the platform still counted answers up to MAX_LAG old: above the ceiling, lag may explain it.
            with_lag = counting + limit.calls.released_since(sent - MAX_LAG) - 1
            if slot is not None and slot.outcome != "refused":
                slot.outcome = "refused"
                limit.refused_holding += 1
            if at_most < limit.limit and at_most < limit.proven and with_lag >= limit.limit \
                    and limit.rest.may_be_lag(sent):
                limit.refusals += 1
                limit.rest.lagged(now, sent)
            else:
                if at_most < limit.proven:  # no lag explains it (or no rest helped): the account's limit went down
                    limit.proven = max(1, at_most)
                limit.refused(at_most)
                low, high = REFUSAL_PAUSE
                limit.paused_until = max(limit.paused_until, now + low + (high - low) * self._rng())
            learned = limit.learned if limit.learned != before else None
            gap_changed = limit.rest.gap if limit.rest.gap != gap and limit.rest.settled else None
            self._cond.notify_all()
        self._tell(name, learned)
        if gap_changed is not None and self._memory is not None:
            self._memory.put_gap(name, gap_changed)

    def _tell(self, name: str, learned: int | None) -> None:
        """Store what was learned: the model's ceiling as it is when written (threads that learned in turn must
        not store in another order), written outside the slots' lock."""
        if self._on_learned is None or learned is None:
            return
        with self._telling:
            with self._cond:
                learned = self._model(name).learned
            if learned is not None:
                self._on_learned(name, learned)

    def rate_limited(self, name: str, retry_after: float) -> None:
        """A rate refusal the client is retrying: honour its wait, and send fewer meanwhile."""
        with self._cond:
            limit = self._model(name)
            limit.limit = max(1, limit.limit // 2)
            limit.paused_until = max(limit.paused_until, self._clock() + retry_after)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    def wake(self) -> None:
        """Let waiting ``acquire`` calls look at their ``cancelled`` again (a run was stopped)."""
        with self._cond:
            self._cond.notify_all()

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per model: the calls in flight allowed now (never above -j), the account's limit as learned or
        remembered (None while unknown), and the refusals seen (for the batch summary and --json)."""
        with self._cond:
            return {name: {"limit": m.limit, "account_limit": m.learned, "refused": m.refusals}
                    for name, m in self._models.items()}


@dataclass
class LimitStore:
    """What was learned, on disk: {account|base URL|model: {"limit", "gap", "durations", "updated"}}: the
    ceiling, the rest a slot needs after an answer, and when recent asynchronous tasks finished ([last look
    not done, first look done] in seconds, oldest first).  The account is a hash of the key."""

    path: Path
    account: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_account(cls, folder: Path, api_key: str, base_url: str) -> LimitStore:
        digest = hashlib.sha256(f"glm-image|{api_key}".encode()).hexdigest()[:16]
        return cls(folder / STORE_NAME, f"{digest}|{base_url.rstrip('/')}")

    def get(self, model: str) -> int | None:
        limit = self._entry(model).get("limit")
        return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1 else None

    def put(self, model: str, limit: int) -> None:
        """Best effort: a store that cannot be written only means the next run learns again."""
        self._update(model, limit=limit)

    def gap(self, model: str) -> float | None:
        gap = self._entry(model).get("gap")
        return float(gap) if _seconds(gap) else None

    def put_gap(self, model: str, gap: float) -> None:
        self._update(model, gap=round(gap, 3))

    def durations(self, model: str) -> list[tuple[float, float]]:
        """The model's recent asynchronous tasks: when each was last seen not done and first seen done (seconds
        after submission); anything else is skipped."""
        kept = self._entry(model).get("durations")
        return [(float(pair[0]), float(pair[1])) for pair in kept if isinstance(pair, list) and len(pair) == 2
                and all(_seconds(value) for value in pair) and pair[0] <= pair[1]] if isinstance(kept, list) else []

    def put_durations(self, model: str, intervals: list[tuple[float, float]]) -> None:
        self._update(model, durations=[[round(low, 2), round(high, 2)] for low, high in intervals])

    def _entry(self, model: str) -> dict[str, Any]:
        entry = self._read().get(f"{self.account}|{model}")
        return entry if isinstance(entry, dict) else {}

    def _update(self, model: str, **fields: Any) -> None:
        """Merge ``fields`` into the model's entry, keeping what else was learned.  Best effort, like ``put``."""
        with self._lock:
            data = self._read()
            key = f"{self.account}|{model}"
            entry = data.get(key) if isinstance(data.get(key), dict) else {}
            data[key] = {**entry, **fields, "updated": datetime.now().astimezone().isoformat(timespec="seconds")}
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), durable=True, mode=0o600)

    def _read(self) -> dict[str, Any]:
        try:
            data = safejson.loads(read_regular(self.path, 1 << 20))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def _seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 86400
