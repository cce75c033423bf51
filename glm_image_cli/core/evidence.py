"""What one model's recent calls show about the account's concurrency limit, beyond a single refusal.

A refusal says "more calls were counted than the account allows" at some moment of the refused call's life;
which calls were counted then is not known, so the bound taken is the most that may have been: the calls in
flight now, and every call that answered since the refused one was sent or shortly before (the platform may
still count an answered call for a moment: ``gap``).  Calls that answered together are the opposite evidence:
the account allowed that many.  A refusal that would put the ceiling below that is lag, not a lower limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

KEEP_CALLS = 128  # answered calls remembered per model: enough for a few rounds at any -j
OVERLAP_SHARE = 0.5  # calls count as "together" only if they overlapped for half the call's time, not by a hair


@dataclass(eq=False)
class Slot:
    """One call's hold on a slot of ``model``: when it was taken and, once let go, when and how."""

    model: str
    acquired: float
    released: float | None = None
    outcome: str = ""  # "answered", "failed" (both counted by the account), "refused" or "unsent" (never counted)
    peak: int = 0  # the most calls in flight (and resting) at any moment while it held the slot, itself among them


class CallLog:
    """The calls of one model that the account counted (answered or failed), most recent last."""

    def __init__(self) -> None:
        self._calls: deque[Slot] = deque(maxlen=KEEP_CALLS)

    def add(self, slot: Slot) -> None:
        self._calls.append(slot)

    def released_since(self, since: float) -> int:
        """Counted calls that let go of their slot at or after ``since``."""
        count = 0
        for call in reversed(self._calls):
            if call.released is not None and call.released >= since:
                count += 1
            else:
                break  # released in order: the rest are older
        return count

    def cooling_until(self, now: float, gap: float) -> list[float]:
        """When each call that answered within ``gap`` of ``now`` stops being counted by the account."""
        ends: list[float] = []
        for call in reversed(self._calls):
            if call.released is None or call.released + gap <= now:
                break
            ends.append(call.released + gap)
        return ends

    def together(self, call: Slot, slack: float = 0.0) -> int:
        """The most answered calls, ``call`` among them, that were in flight together for at least half of
        ``call``'s time and longer than ``slack`` (how late this client sees answers): a floor under the
        account's limit that a moment's overlap, or a busy client, cannot inflate."""
        start, end = call.acquired, call.released if call.released is not None else call.acquired
        margin = max(OVERLAP_SHARE * (end - start), slack)
        if margin >= end - start:
            return 1
        near = [c for c in self._calls if c.outcome == "answered" and c.released is not None
                and c.released >= start and c.acquired <= end]
        best = 1
        for point in {c.acquired for c in near if start <= c.acquired <= end - margin} | {start}:
            best = max(best, sum(1 for c in near if c.acquired <= point and c.released is not None
                                 and c.released >= point + margin))
        return best


TEST_REST = 0.5  # when lag is first suspected, every slot rests this long for a round: refusals then are no lag
FIRST_REST = 0.05  # shorter than this, a rest is not worth having
MAX_REST = 1.0  # past this, refusals put down to lag are taken as a lower limit after all
CALM_ROUNDS = 20  # rounds without a refusal put down to lag before a shorter rest is tried


@dataclass
class Rest:
    """How long a slot rests after an answer before the next call, found by experiment.

    A platform whose count lags refuses a call sent at once after an answer, exactly as a lower limit would.
    The first such refusal starts a test: the calls in flight finish, every slot rests ``TEST_REST``, then a
    wave of as many calls as the ceiling leaves at once.  Refused, it rules lag out (the rest goes back; the
    ceiling is lowered instead); all answered, the account took them together after a rest: lag.  The rest is
    then halved round by round until a refusal shows the shortest one that works (doubled back).  Later
    refusals put down to lag lengthen it; long calm shortens it again."""

    gap: float = 0.0
    testing_since: float | None = None
    wave: int = 0  # calls sent in the test's wave
    before: float = 0.0  # the rest before the test, restored if the test rules lag out
    changed_at: float = float("-inf")  # calls sent before the last change knew nothing of it
    shrinking: bool = False
    trying: bool = False  # a shorter rest after long calm, not yet through a clean round
    clean: int = 0  # answers of calls sent since the last change
    calm: int = 0  # answers since the last refusal put down to lag

    @property
    def settled(self) -> bool:
        """Not in the middle of an experiment: the rest worth remembering for the next run."""
        return self.testing_since is None and not self.trying

    def may_be_lag(self, sent: float) -> bool:
        """Whether a refusal of a call sent at ``sent`` may still be put down to lag.  A call that rested for the
        test and was refused all the same rules it out: the rest before the test comes back."""
        if self.testing_since is not None and sent >= self.testing_since:
            self.gap, self.testing_since, self.shrinking = self.before, None, False
            return False
        return self.gap < MAX_REST

    def lagged(self, now: float, sent: float) -> None:
        """A refusal put down to lag (once per call sent after the last change; older ones say nothing new)."""
        self.calm = 0
        if self.testing_since is not None or sent < self.changed_at:
            return
        if self.gap == 0.0 and not self.shrinking:  # first suspicion: test it
            self.before, self.gap, self.testing_since, self.wave = self.gap, TEST_REST, now, 0
        else:  # too short: back to what worked while shrinking, else a little longer
            self.gap = min(MAX_REST, max(FIRST_REST, self.gap * (2.0 if self.shrinking or self.trying else 1.5)))
            self.shrinking = self.trying = False
        self.changed_at, self.clean = now, 0

    def may_send(self, in_flight: int, resting: int, ceiling: int) -> bool:
        """During a test, the wave leaves only once nothing is in flight or resting, and then all together."""
        if self.testing_since is None:
            return True
        if self.wave == 0 and (in_flight or resting):
            return False
        return self.wave < ceiling

    def sent(self) -> None:
        if self.testing_since is not None:
            self.wave += 1

    def not_answered(self, sent: float, *, left: bool) -> None:
        """A call of the wave that never left (another may go) or failed otherwise (the test says nothing: the
        rest before it comes back), so a test never holds the slots."""
        if self.testing_since is None or sent < self.testing_since:
            return
        if left:
            self.gap, self.testing_since = self.before, None
        else:
            self.wave -= 1

    def answered(self, now: float, sent: float, rounds_of: int) -> None:
        """A call sent at ``sent`` answered; ``rounds_of``: the calls in a round (the ceiling)."""
        self.calm += 1
        if sent >= self.changed_at:
            self.clean += 1
        if self.trying and self.clean >= rounds_of:
            self.trying = False  # the shorter rest held for a round
        if self.clean >= rounds_of and (self.testing_since is not None or self.shrinking):
            self.testing_since, self.shrinking = None, True  # lag confirmed, or this rest works: try half
            half = self.gap / 2
            self.gap = half if half >= FIRST_REST else 0.0
            self.shrinking = self.gap > 0
            self.changed_at, self.clean = now, 0
        elif self.gap and self.calm >= CALM_ROUNDS * rounds_of:
            shorter = self.gap / 1.5  # the lag may have gone
            self.gap = shorter if shorter >= FIRST_REST else 0.0
            self.changed_at, self.clean, self.calm, self.trying = now, 0, 0, True
