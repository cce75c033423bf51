"""The spend ledger and budgets: what every paid request may have cost, kept with the history.

Every request that may be billed gets a row in the history's SQLite database, written *before* it is sent
(a crash cannot hide spend), with its estimated cost from the reference price table (``pricing``), the
model, the time, the command and, once known, the outcome.  Rows whose outcome is still open (``pending``),
or that were or may have been billed (``saved``, ``unsaved``, ``uncertain``), count as spent; refused and
failed requests were not billed and count nothing.

Budgets (settings ``budget-daily`` and ``budget-monthly``, in the region's currency) are checked in the
same transaction that writes a row (``BEGIN IMMEDIATE``: one writer at a time, across processes), so two
runs spending at once cannot together cross a budget.  A run first *holds* its whole estimated cost (a
``hold`` row that counts as spent while its process lives), then each request moves its share of the hold
into its own row: a run that does not fit is refused before anything is sent, and a second run cannot take
what the first one was promised.  A hold left by a process that died is dropped the next time anyone looks.

Times are instants (``storage.instants``): rows are written in UTC and compared with ``julianday()``, and the
budget's day and month are those of the ``budget-timezone`` setting (``Budgets.zone``), whatever ``TZ`` a
process runs under.  Old rows, in local time with an offset, are read as the same instants.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import BudgetExceeded, GlmImageError
from glm_image_cli.messages import Text
from glm_image_cli.storage.history import DatabaseFile, database_error
from glm_image_cli.storage.instants import (
    DEFAULT_BUDGET_TIMEZONE,
    budget_periods,
    day_of,
    now_utc,
    parse_instant,
    utc_text,
    zone_named,
)

if TYPE_CHECKING:
    from glm_image_cli.backends.base import Backend
    from glm_image_cli.storage.config import ResolvedConfig

DEFAULT_ZONE = zone_named(DEFAULT_BUDGET_TIMEZONE)
# Outcomes that count as spent: not yet answered, made, made but not saved, answer lost (may be billed).
COUNTED = ("hold", "pending", "saved", "unsaved", "uncertain")
OUTCOMES = ("pending", "saved", "unsaved", "uncertain", "refused", "failed")
EPSILON = 1e-9  # costs are sums of small decimal prices: never refuse a run for a rounding error

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    day TEXT NOT NULL,
    command TEXT NOT NULL,
    model TEXT,
    images INTEGER NOT NULL,
    cost REAL NOT NULL,
    currency TEXT NOT NULL,
    priced INTEGER NOT NULL DEFAULT 1,
    outcome TEXT NOT NULL,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS spend_day ON spend (day);
"""


@dataclass(frozen=True)
class Budgets:
    """Spending limits in the region's currency; None: no limit.  ``zone``: whose day and month they are."""

    daily: float | None = None
    monthly: float | None = None
    zone: tzinfo = DEFAULT_ZONE

    @property
    def any(self) -> bool:
        return self.daily is not None or self.monthly is not None


@dataclass(frozen=True)
class SpendEntry:
    id: int
    created: str  # UTC, ISO 8601 (an old row's local time with an offset, read as the same instant)
    day: str  # the budget day it counts on (``budget-timezone``)
    command: str
    model: str | None
    images: int
    cost: float
    currency: str
    priced: bool
    outcome: str
    pid: int | None = None

    @property
    def counted(self) -> bool:
        return self.outcome in COUNTED

    @property
    def stopped(self) -> bool:
        """Still ``pending`` although the process that wrote it is gone: it was killed (or crashed) between
        writing the row and recording the answer, so the request may or may not have been sent and billed.
        It stays counted; ``usage`` says so."""
        return self.outcome == "pending" and (self.pid is None or not _alive(int(self.pid)))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "command": self.command, "model": self.model,
                "images": self.images, "estimated_cost": round(self.cost, 4), "currency": self.currency,
                "priced": self.priced, "outcome": self.outcome, "counted": self.counted}


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) there is CTRL_C_EVENT sent to a process group, not a probe
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _alive_on_windows(pid: int) -> bool:
    """OpenProcess + GetExitCodeProcess; when unsure, alive (its rows and holds stay counted)."""
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() != 87  # type: ignore[attr-defined]  # ERROR_INVALID_PARAMETER: none
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except Exception:
        return True


class Ledger(DatabaseFile):
    """The ``spend`` table in the history database.  Transactions are explicit (``BEGIN IMMEDIATE`` where a
    budget is checked), so the connection is in autocommit mode and its lock is re-entrant."""

    SCHEMA = _SCHEMA
    UNUSABLE = "ledger_unusable"
    AUTOCOMMIT = True

    def __init__(self, path: Path | None = None, clock: Any = now_utc) -> None:
        super().__init__(path)
        self.clock = clock
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One writer at a time across processes: the budget check and the insert are one step."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise database_error("ledger_unusable", self.path, exc) from None
            try:
                yield connection
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):  # a write that failed (a full disk): one clear error
                    raise database_error("ledger_unusable", self.path, exc) from None
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise database_error("ledger_unusable", self.path, exc) from None

    # -- inside a transaction ---------------------------------------------------------------------------

    def _drop_dead_holds(self, connection: sqlite3.Connection) -> None:
        for entry_id, pid in connection.execute("SELECT id, pid FROM spend WHERE outcome = 'hold'").fetchall():
            if pid is None or not _alive(int(pid)):
                connection.execute("DELETE FROM spend WHERE id = ?", (entry_id,))

    def _spent(self, connection: sqlite3.Connection, currency: str, now: datetime,
               zone: tzinfo) -> tuple[float, float]:
        """What counts as spent today and this month (``zone``'s), in ``currency``: instants compared, never text.
        A row whose time cannot be read counts as today's (it may have been billed)."""
        marks = ",".join("?" * len(COUNTED))
        day, month = (utc_text(start) for start in budget_periods(now, zone))
        daily, monthly = connection.execute(
            "SELECT COALESCE(SUM(CASE WHEN julianday(created) IS NULL OR julianday(created) >= julianday(?) "
            "THEN cost END), 0), COALESCE(SUM(cost), 0) FROM spend WHERE currency = ? AND "
            f"(julianday(created) IS NULL OR julianday(created) >= julianday(?)) AND outcome IN ({marks})",
            (day, currency, month, *COUNTED)).fetchone()
        return float(daily), float(monthly)

    def _room(self, connection: sqlite3.Connection, currency: str, budgets: Budgets,
              now: datetime) -> tuple[float | None, dict[str, Any]]:
        """How much more may be spent (None: no limit), and the tightest budget's figures."""
        daily, monthly = self._spent(connection, currency, now, budgets.zone)
        room: float | None = None
        figures: dict[str, Any] = {}
        for period, budget, spent in (("daily", budgets.daily, daily), ("monthly", budgets.monthly, monthly)):
            if budget is None:
                continue
            left = budget - spent
            if room is None or left < room:
                room = left
                figures = {"period": period, "budget": budget, "spent": spent}
        return room, figures

    @staticmethod
    def _refuse(figures: Mapping[str, Any], cost: float, currency: str) -> BudgetExceeded:
        return BudgetExceeded("budget_exceeded", period=Text(f"budget_period_{figures['period']}"),
                              budget=figures["budget"], spent=figures["spent"], cost=cost, currency=currency,
                              key=f"budget-{figures['period']}")

    def _insert(self, connection: sqlite3.Connection, *, command: str, model: str | None, images: int,
                cost: float, currency: str, priced: bool, outcome: str, now: datetime, zone: tzinfo) -> int:
        cursor = connection.execute(
            "INSERT INTO spend (created, day, command, model, images, cost, currency, priced, outcome, pid) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (utc_text(now), day_of(now, zone), command, model, images, cost, currency, int(priced), outcome,
             os.getpid()))
        return int(cursor.lastrowid or 0)

    # -- the operations ---------------------------------------------------------------------------------

    def hold(self, *, command: str, costs: Sequence[float], currency: str, budgets: Budgets,
             partial: bool = False) -> tuple[int | None, int]:
        """Hold the cost of the first images that fit (all of them unless ``partial``): (hold id, how many).
        Raises BudgetExceeded when not all fit (or, with ``partial``, not even one)."""
        if not budgets.any or not costs:
            return None, len(costs)
        now = self.clock()
        with self._transaction() as connection:
            self._drop_dead_holds(connection)
            room, figures = self._room(connection, currency, budgets, now)
            assert room is not None
            count, total = 0, 0.0
            for cost in costs:
                if total + cost > room + EPSILON:
                    break
                count, total = count + 1, total + cost
            if count < len(costs) and (not partial or count == 0):
                raise self._refuse(figures, sum(costs) if not partial else costs[count], currency)
            entry = self._insert(connection, command=command, model=None, images=count, cost=total,
                                 currency=currency, priced=True, outcome="hold", now=now, zone=budgets.zone)
        return entry, count

    def reserve(self, *, hold: int | None, command: str, model: str, cost: float, priced: bool, currency: str,
                budgets: Budgets) -> int:
        """The row of one request, written before it is sent: taken from the run's hold when there is one,
        else checked against the budgets.  Raises BudgetExceeded (nothing is sent)."""
        now = self.clock()
        with self._transaction() as connection:
            held = None
            if hold is not None:
                row = connection.execute("SELECT cost FROM spend WHERE id = ? AND outcome = 'hold'",
                                         (hold,)).fetchone()
                held = None if row is None else float(row[0])
            if held is not None and held + EPSILON >= cost:
                connection.execute("UPDATE spend SET cost = max(0, cost - ?), images = max(0, images - 1) "
                                   "WHERE id = ?", (cost, hold))
            elif budgets.any and cost > 0:
                self._drop_dead_holds(connection)
                room, figures = self._room(connection, currency, budgets, now)
                if room is not None and cost > room + EPSILON:
                    raise self._refuse(figures, cost, currency)
            return self._insert(connection, command=command, model=model, images=1, cost=cost, currency=currency,
                                priced=priced, outcome="pending", now=now, zone=budgets.zone)

    def settle(self, entry: int, outcome: str) -> None:
        with self._lock:
            self._connect().execute("UPDATE spend SET outcome = ? WHERE id = ? AND outcome != 'hold'",
                                    (outcome, entry))

    def release(self, hold: int) -> None:
        """The run is over: what it held and did not use is free again."""
        with self._lock:
            self._connect().execute("DELETE FROM spend WHERE id = ? AND outcome = 'hold'", (hold,))

    def entries(self, since: datetime | None = None, zone: tzinfo = DEFAULT_ZONE) -> list[SpendEntry]:
        """Every request recorded (holds left out) from the instant ``since`` on, oldest first; ``day`` is the
        budget day in ``zone``.  The same rows whatever time zone this process runs in."""
        if not self.path.exists():
            return []
        clause, values = "", []
        if since is not None:
            clause = "AND julianday(created) >= julianday(?)"
            values.append(utc_text(since))
        with self._lock:
            rows = self._connect().execute(
                "SELECT id, created, day, command, model, images, cost, currency, priced, outcome, pid FROM spend "
                f"WHERE outcome != 'hold' {clause} ORDER BY id", values).fetchall()
        return [_entry(row, zone) for row in rows]

    def spent(self, currency: str, zone: tzinfo = DEFAULT_ZONE) -> tuple[float, float]:
        """(today, this month) in ``currency``, the day and month of ``zone``, counting live holds."""
        with self._transaction() as connection:
            self._drop_dead_holds(connection)
            return self._spent(connection, currency, self.clock(), zone)


def _entry(row: Sequence[Any], zone: tzinfo) -> SpendEntry:
    """A row as an entry: its time in UTC and its budget day in ``zone`` (an old row's local text, read)."""
    moment = parse_instant(row[1])
    created, day = (utc_text(moment), day_of(moment, zone)) if moment is not None else (row[1], row[2])
    return SpendEntry(row[0], created, day, *row[3:8], bool(row[8]), row[9], row[10])


# --- one run's view: what the Runner calls ----------------------------------------------------------------

def outcome_kind(outcome: Any) -> str:
    """How a finished unit settles in the ledger (an ``ImageOutcome``)."""
    error = outcome.error
    if error is None:
        return "saved"
    if outcome.paid:
        return "unsaved"
    if error.maybe_billed:
        return "uncertain"
    return "refused" if error.sent and error.same_request else "failed"


@dataclass
class Spending:
    """The ledger as one command uses it: its name (generate, again, batch, serve, mcp), its currency and
    budgets.  Shared by the requests of a process (serve); each run holds its own cost (``hold``)."""

    ledger: Ledger
    command: str
    region: str
    budgets: Budgets
    prices: Mapping[str, float] = field(default_factory=dict)  # the config's [prices] overrides
    backend: Backend = field(kw_only=True)  # whose price rule: the one spend consent showed
    config_file: Path | None = field(default=None, kw_only=True)  # where [prices] goes, named when one is missing

    @property
    def currency(self) -> str:
        from glm_image_cli.core.pricing import currency_of

        return currency_of(self.region)

    def unit_cost(self, model: str) -> tuple[float, bool]:
        """(estimated cost of one image, whether the model's price is known): the backend's price, as consent."""
        from glm_image_cli.core.pricing import estimate

        cost, _, unknown = estimate({model: 1}, self.region, self.prices, backend=self.backend)
        return cost, not unknown

    def require_prices(self, models: Iterable[str]) -> None:
        """With a budget set, an image whose price is unknown cannot be counted against it (it would pass as
        free, however many are made): refused before anything is sent, with the fix ([prices])."""
        if not self.budgets.any:
            return
        for model in dict.fromkeys(models):
            if not self.unit_cost(model)[1]:
                keys = [key for key, value in (("budget-daily", self.budgets.daily),
                                               ("budget-monthly", self.budgets.monthly)) if value is not None]
                raise BudgetExceeded("budget_unknown_price", model=model, key=", ".join(keys),
                                     path=str(self.config_file or "config.toml"), currency=self.currency)

    @contextlib.contextmanager
    def call(self, model: str) -> Iterator[None]:
        """One paid request that is not an image (the --enhance chat call), around the block that sends it.
        Recorded only when the model has a price above zero (chat models are free or unpriced unless the
        config's [prices] names them): the row is written before the block (budgets apply: BudgetExceeded,
        nothing sent) and settled after it."""
        from glm_image_cli.errors import GlmImageError

        cost, priced = self.unit_cost(model)
        if cost <= 0:
            yield
            return
        entry = self.ledger.reserve(hold=None, command=self.command, model=model, cost=cost, priced=priced,
                                    currency=self.currency, budgets=self.budgets)
        outcome = "uncertain"  # interrupted in flight: may have been billed
        try:
            yield
            outcome = "saved"
        except GlmImageError as error:
            outcome = "uncertain" if error.maybe_billed else (
                "refused" if error.sent and error.same_request else "failed")
            raise
        finally:
            with contextlib.suppress(GlmImageError, sqlite3.Error, OSError):  # else "pending" stands: counted
                self.ledger.settle(entry, outcome)

    def hold(self, models: Sequence[str], *, partial: bool = False) -> RunSpend:
        """Hold the cost of images of these models (one entry per image), or refuse with BudgetExceeded (also
        when a budget is set and a model's price is unknown)."""
        self.require_prices(models)
        costs = [self.unit_cost(model)[0] for model in models]
        entry, count = self.ledger.hold(command=self.command, costs=costs, currency=self.currency,
                                        budgets=self.budgets, partial=partial)
        return RunSpend(self, entry, count)


@dataclass
class RunSpend:
    """One run's hold: the Runner's ``spend`` hook (``reserve`` before each paid request, ``settle`` after).
    ``fits``: how many of the held images fit the budgets (all, unless held with ``partial``)."""

    spending: Spending
    hold_id: int | None
    fits: int

    def reserve(self, unit: Any) -> int | None:
        """The unit's row, written before its request leaves.  A rewrite's chat call is recorded only when its
        model has a price above zero (as ``Spending.call``), outside the images' hold; budgets apply to both."""
        model = getattr(unit, "model", None) or unit.plan.model  # as runner.model_of (which imports this module)
        if getattr(unit, "kind", "image") == "rewrite":
            from glm_image_cli.core.pricing import chat_price

            price = chat_price(model, self.spending.region, self.spending.prices, self.spending.backend)
            if not price or price <= 0:
                return None
            return self.spending.ledger.reserve(hold=None, command="enhance", model=model, cost=price,
                                                priced=True, currency=self.spending.currency,
                                                budgets=self.spending.budgets)
        self.spending.require_prices((model,))  # the hold checked it; a unit that came another way is checked here
        cost, priced = self.spending.unit_cost(model)
        return self.spending.ledger.reserve(hold=self.hold_id, command=self.spending.command, model=model, cost=cost,
                                            priced=priced, currency=self.spending.currency,
                                            budgets=self.spending.budgets)

    def settle(self, entry: int, outcome: str) -> None:
        with contextlib.suppress(GlmImageError, sqlite3.Error, OSError):  # if it cannot, "pending" stands: counted
            self.spending.ledger.settle(entry, outcome)

    def release(self) -> None:
        if self.hold_id is not None:
            with contextlib.suppress(GlmImageError, sqlite3.Error, OSError):  # a dead process's hold is dropped later
                self.spending.ledger.release(self.hold_id)
            self.hold_id = None

    def __enter__(self) -> RunSpend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def budgets_of(cfg: ResolvedConfig) -> Budgets:
    return Budgets(daily=cfg.budget_daily, monthly=cfg.budget_monthly, zone=zone_named(cfg.budget_timezone))


def make_spending(cfg: ResolvedConfig, command: str, ledger: Ledger | None = None) -> Spending:
    from glm_image_cli.backends.registry import backend_named

    return Spending(ledger or Ledger(), command, cfg.region, budgets_of(cfg), cfg.prices,
                    backend=backend_named(cfg.backend), config_file=cfg.path)


def hold_for_run(cfg: ResolvedConfig, command: str, models: Sequence[str], *, partial: bool = False) -> RunSpend:
    """Before a run sends anything: hold its estimated cost within the budgets (BudgetExceeded if it does not
    fit; with ``partial``, the first images that fit: ``fits``).  Release it when the run ends (``with``)."""
    return make_spending(cfg, command).hold(models, partial=partial)
