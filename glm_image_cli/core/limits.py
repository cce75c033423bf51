"""How many calls may be in flight: the account's real concurrency limit, found fast and remembered.

BigModel limits each account's concurrent calls per model and does not say the number; over it, a call
is refused at once (429, code 1302, no Retry-After) and not billed.  The controller here starts small
and grows by one per success (doubling per round, like TCP's slow start) until the user's ``-j`` or the
first refusal; a refusal at n calls in flight makes n-1 the ceiling, and the ceiling is probed (+1) only
after many successes.  The learned ceiling is stored per (account, base URL, model), as a hash of the key,
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
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.safefile import read_regular
from glm_image_cli.storage.atomic import write_atomic

SLOW_START = 8  # calls in flight at first, when nothing is known about the account
PROBE_AFTER_ROUNDS = 10  # successes at the ceiling, in multiples of it, before one more call is tried
REFUSAL_PAUSE = (0.05, 0.25)  # a refusal means "too many now": wait briefly (jittered), not for seconds
STORE_NAME = "limits.json"


@dataclass
class ModelLimit:
    """The calls in flight allowed for one model, and what has been learned about them."""

    cap: int  # the user's upper bound (-j)
    limit: int = 0
    learned: int | None = None  # the account's ceiling, once a refusal showed it (or remembered)
    in_flight: int = 0
    paused_until: float = 0.0
    successes: int = 0
    refusals: int = 0

    def __post_init__(self) -> None:
        start = self.learned if self.learned is not None else SLOW_START
        self.limit = max(1, min(self.cap, start))

    def succeeded(self) -> None:
        if self.learned is None:
            self.limit = min(self.cap, self.limit + 1)  # nothing refused yet: grow
            return
        self.successes += 1
        if self.limit < self.cap and self.successes >= PROBE_AFTER_ROUNDS * self.limit:
            self.limit += 1  # a rare probe: the account's limit may have been raised
            self.successes = 0

    def refused(self) -> None:
        """A concurrency refusal with ``in_flight`` calls out, the refused one among them."""
        self.refusals += 1
        self.limit = max(1, min(self.limit, self.in_flight - 1))
        self.learned = self.limit
        self.successes = 0


class Limiter:
    """Slots for calls, per model and in all (the user's -j), shared by every run in a process (serve)."""

    def __init__(self, cap: int, *, remembered: Callable[[str], int | None] | None = None,
                 on_learned: Callable[[str, int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        self.cap = max(1, cap)
        self._remembered = remembered or (lambda model: None)
        self._on_learned = on_learned
        self._clock = clock
        self._rng = rng
        self._models: dict[str, ModelLimit] = {}
        self._in_flight = 0
        self._own: set[str] = set()  # models with their own pool: not counted against -j (vision checks)
        self._cond = threading.Condition()
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
            self._models[name] = ModelLimit(self.cap, learned=self._remembered(name))
        return self._models[name]

    def acquire(self, name: str, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a slot for a call to ``name``; False once stopped or ``cancelled()`` (checked whenever
        ``wake`` is called).  Interruptible by Ctrl-C."""
        with self._cond:
            limit = self._model(name)
            while not self.stopped and not cancelled():
                now = self._clock()
                shared = name not in self._own
                if (not shared or self._in_flight < self.cap) and limit.in_flight < limit.limit \
                        and now >= limit.paused_until:
                    limit.in_flight += 1
                    self._in_flight += 1 if shared else 0
                    return True
                wait = limit.paused_until - now if now < limit.paused_until else None
                self._cond.wait(timeout=wait if wait is None else max(wait, 0.001))
            return False

    def release(self, name: str, succeeded: bool) -> None:
        with self._cond:
            limit = self._model(name)
            limit.in_flight -= 1
            self._in_flight -= 0 if name in self._own else 1
            if succeeded:
                limit.succeeded()
            self._cond.notify_all()

    def refused(self, name: str) -> None:
        """A concurrency refusal of a call that still holds its slot: lower the ceiling, pause briefly."""
        with self._cond:
            limit = self._model(name)
            before = limit.learned
            limit.refused()
            low, high = REFUSAL_PAUSE
            limit.paused_until = max(limit.paused_until, self._clock() + low + (high - low) * self._rng())
            learned = limit.learned
            self._cond.notify_all()
        if self._on_learned is not None and learned is not None and learned != before:
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
    """Learned ceilings on disk: {account|base URL|model: {"limit", "updated"}}.  The account is a hash."""

    path: Path
    account: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_account(cls, folder: Path, api_key: str, base_url: str) -> LimitStore:
        digest = hashlib.sha256(f"glm-image|{api_key}".encode()).hexdigest()[:16]
        return cls(folder / STORE_NAME, f"{digest}|{base_url.rstrip('/')}")

    def get(self, model: str) -> int | None:
        entry = self._read().get(f"{self.account}|{model}")
        limit = entry.get("limit") if isinstance(entry, dict) else None
        return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1 else None

    def put(self, model: str, limit: int) -> None:
        """Best effort: a store that cannot be written only means the next run learns again."""
        with self._lock:
            data = self._read()
            data[f"{self.account}|{model}"] = {"limit": limit,
                                               "updated": datetime.now().astimezone().isoformat(timespec="seconds")}
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), durable=True, mode=0o600)

    def _read(self) -> dict[str, Any]:
        try:
            data = safejson.loads(read_regular(self.path, 1 << 20))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
