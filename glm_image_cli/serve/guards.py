"""The serve guards that decide whether a request may go on: a token bucket per client, a lockout after
repeated wrong tokens, a non-blocking cap on images in progress, the constant-time token compare, and which
hosts may listen without a token.  Also ``printable``, which keeps request text in log lines harmless."""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable


class TokenBucket:
    """Per-client rate limit: ``rate`` requests per minute with bursts of ``burst``."""

    def __init__(self, rate_per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(max(1, burst))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds until the client may try again."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > 10_000:  # forget idle clients; memory stays bounded
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate


class AuthFailures:
    """Per-client count of wrong tokens: after ``limit`` within ``window`` seconds, the client is locked
    out (429) until the oldest of them is ``window`` seconds old.  Memory stays bounded."""

    MAX_CLIENTS = 10_000

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is not None:
            while times and now - times[0] >= self.window:
                times.popleft()
            if not times:
                del self._failures[client]
                return None
        return times

    def wait(self, client: str) -> float:
        """0 when the client may try a token, else the seconds until it may."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None or len(times) < self.limit:
                return 0.0
            return max(0.001, self.window - (now - times[0]))

    def failed(self, client: str) -> None:
        if self.limit <= 0:
            return
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None:
                if len(self._failures) >= self.MAX_CLIENTS:  # forget clients whose failures have aged out
                    for other in list(self._failures):
                        self._recent(other, now)
                    if len(self._failures) >= self.MAX_CLIENTS:
                        self._failures.pop(next(iter(self._failures)))
                times = self._failures[client] = deque(maxlen=self.limit)
            times.append(now)


class Slots:
    """A non-blocking counter of upstream calls in flight: when full, say so at once (503)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._lock = threading.Lock()

    def try_acquire(self, count: int) -> bool:
        with self._lock:
            if self.used + count > self.capacity:
                return False
            self.used += count
            return True

    def release(self, count: int) -> None:
        with self._lock:
            self.used -= count


def bearer_matches(header: str, expected: str) -> bool:
    """True when an ``Authorization`` header carries the expected bearer token (constant-time compare)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def is_loopback(host: str) -> bool:
    """True for a host only this machine can reach: serve may listen there without a token."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def printable(text: str) -> str:
    """``text`` safe for a log line: control and other non-printable characters, backslashes and double
    quotes escaped the way ``repr`` does (\\x1b, \\u2028), so a request cannot drive the terminal."""
    if text.isprintable() and "\\" not in text and '"' not in text:
        return text
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
