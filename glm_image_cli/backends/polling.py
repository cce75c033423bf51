"""When to look at an asynchronous task: densely around when this model's tasks usually finish.

Each finished task leaves an interval: it was not done at one look and done at the next.  From the recent
intervals of a model (kept per account beside the learned limits) a smoothed distribution of its durations
is estimated, and the looks are planned to minimize the expected delay between "done" and "seen" plus
``LOOK_COST`` seconds per look (dynamic programming over a grid: a few milliseconds, once per finished task).
Before ``MIN_TASKS`` are known, and after the plan's last look, the fixed schedule's waits apply.

Everything here is a pure function of the intervals and the elapsed time, so the plan can be evaluated on a
virtual clock (benchmarks/polling.py); ``TaskTimes`` only keeps the intervals, thread-safe.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

MIN_TASKS = 3  # intervals needed before a plan replaces the fixed schedule
KEEP_TASKS = 50  # the most recent intervals kept per model: the plan follows a model that gets faster or slower
LOOK_COST = 0.075  # one look is worth this much delay (s): the plan trades looks for promptness at this rate
SURPRISE = 0.005  # share of the mass spread evenly from 0: a task far off the usual is still looked at now and then
MIN_BANDWIDTH = 0.1  # s: the smoothing never gets narrower than a poll's round trip
GRID_POINTS = 400  # the planner's resolution over the plan's horizon
WIDEST = 3.0  # s: a wider interval (done at a first look far out) counts as done in its last WIDEST seconds

Interval = tuple[float, float]  # (last look at which it was not done, the look at which it was), seconds


def plan_looks(intervals: Sequence[Interval], cost: float = LOOK_COST) -> tuple[float, ...]:
    """The elapsed times (seconds after submission) at which to look, best first to last; () when too little
    is known.  Minimizes E[seen - done] + ``cost`` × E[looks] for the smoothed distribution of the intervals."""
    if len(intervals) < MIN_TASKS:
        return ()
    # A task done at its first look says "done by then", spread over everything before it: counted as done
    # shortly before, it moves the next plans earlier round by round instead of scattering looks from 0.
    intervals = [(max(low, high - WIDEST), high) for low, high in intervals]
    middles = [(low + high) / 2 for low, high in intervals]
    spread = statistics.pstdev(middles)
    bandwidth = max(MIN_BANDWIDTH, 0.9 * spread * len(middles) ** -0.2)
    horizon = max(high for _, high in intervals) + 3 * bandwidth
    step = horizon / GRID_POINTS
    grid = [step * (index + 1) for index in range(GRID_POINTS)]
    cdf = [_cdf(point, intervals, bandwidth) * (1 - SURPRISE) + SURPRISE * min(1.0, point / horizon)
           for point in grid]
    mass = [cdf[0]] + [cdf[index] - cdf[index - 1] for index in range(1, GRID_POINTS)]
    # best[i]: the expected cost of everything after a look at grid[i] that found the task not done (weighted by
    # the chance of getting there); the plan's last look is at the horizon.
    moment = list(_accumulate(mass[k] * grid[k] for k in range(GRID_POINTS)))
    best = [0.0] * GRID_POINTS
    after = [GRID_POINTS - 1] * GRID_POINTS
    for i in range(GRID_POINTS - 2, -1, -1):
        survive = 1.0 - cdf[i]
        if survive <= 1e-9:
            break
        choice, value = GRID_POINTS - 1, math.inf
        for j in range(i + 1, GRID_POINTS):
            late = grid[j] * (cdf[j] - cdf[i]) - (moment[j] - moment[i])  # expected delay of tasks done in between
            total = cost * survive + late + best[j]
            if total < value:
                choice, value = j, total
        best[i], after[i] = value, choice
    first, value = GRID_POINTS - 1, math.inf
    for j in range(GRID_POINTS):
        total = cost + grid[j] * cdf[j] - moment[j] + best[j]
        if total < value:
            first, value = j, total
    looks = [grid[first]]
    index = first
    while index < GRID_POINTS - 1:
        index = after[index]
        looks.append(grid[index])
    return tuple(looks)


def next_wait(plan: Iterator[float], elapsed: float) -> float | None:
    """How long to wait from ``elapsed`` for the plan's next look still ahead (a late look does not bunch up
    the following ones); None once the plan is over (then the fixed schedule's waits follow)."""
    for when in plan:
        if when > elapsed:
            return when - elapsed
    return None


def finished_between(looks: Sequence[float]) -> Interval:
    """The interval a task finished in, from the elapsed times of its looks (the last one saw it done)."""
    return (looks[-2] if len(looks) > 1 else 0.0, looks[-1])


class TaskTimes:
    """The recent intervals of each model's tasks and their plans.  ``recall``/``keep`` load and save a
    model's intervals (the store beside the learned limits); without them, they live as long as the client."""

    def __init__(self, recall: Callable[[str], list[Interval]] | None = None,
                 keep: Callable[[str, list[Interval]], None] | None = None) -> None:
        self._recall = recall
        self._keep = keep
        self._intervals: dict[str, deque[Interval]] = {}
        self._plans: dict[str, tuple[float, ...]] = {}
        self._lock = threading.Lock()

    def plan(self, model: str) -> tuple[float, ...]:
        with self._lock:
            self._known(model)
            if model not in self._plans:
                self._plans[model] = plan_looks(list(self._intervals[model]))
            return self._plans[model]

    def known(self, model: str) -> list[Interval]:
        with self._lock:
            return list(self._known(model))

    def finished(self, model: str, interval: Interval) -> None:
        with self._lock:
            known = self._known(model)
            known.append(interval)
            self._plans.pop(model, None)
            kept = list(known)
        if self._keep is not None:
            self._keep(model, kept)

    def _known(self, model: str) -> deque[Interval]:
        if model not in self._intervals:
            recalled = self._recall(model) if self._recall is not None else []
            self._intervals[model] = deque(recalled[-KEEP_TASKS:], maxlen=KEEP_TASKS)
        return self._intervals[model]


@dataclass(frozen=True)
class Look:
    """One look of a simulated task (benchmarks and tests): when, and whether it saw the task done."""

    at: float
    done: bool


def simulate(duration: float, plan: Sequence[float], fixed: Iterator[float]) -> list[Look]:
    """The looks a task of ``duration`` gets on a virtual clock (no round trips), as the client makes them:
    the plan's, then the fixed schedule's waits.  For benchmarks and tests."""
    looks: list[Look] = []
    planned, elapsed = iter(plan), 0.0
    while not looks or not looks[-1].done:
        wait = next_wait(planned, elapsed)
        elapsed += wait if wait is not None else next(fixed)
        looks.append(Look(elapsed, elapsed >= duration))
    return looks


def _cdf(point: float, intervals: Sequence[Interval], bandwidth: float) -> float:
    """The smoothed share of tasks done by ``point``: each interval spread evenly, then blurred by a normal."""
    total = 0.0
    for low, high in intervals:
        if high - low < 1e-6:
            total += _normal_cdf((point - high) / bandwidth)
        else:
            total += (_normal_integral((point - low) / bandwidth) - _normal_integral((point - high) / bandwidth)) \
                * bandwidth / (high - low)
    return total / len(intervals)


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _normal_integral(x: float) -> float:
    """∫_{-inf}^{x} Φ(t) dt: the share done for a task spread evenly over an interval, before scaling."""
    return x * _normal_cdf(x) + math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _accumulate(values: Iterator[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total
