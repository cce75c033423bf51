"""Moments in the data files: written in UTC, compared as instants, and the budget's day defined once.

The ledger and the history are shared by every process of a user, whatever time zone each runs in (``TZ``, a
laptop that travels, a server in UTC): text in local time with an offset sorts wrongly across zones, and a
"day" taken from the local clock gives a second daily budget to whoever changes ``TZ``.  So new rows hold UTC
text, old rows (local time with an offset) are parsed to the same instants, SQL compares ``julianday()`` values
(instants), never text, and the budget's day and month are those of one zone: the ``budget-timezone`` setting,
by default the platform's billing zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

DEFAULT_BUDGET_TIMEZONE = "Asia/Shanghai"  # where bigmodel.cn bills: its day and month
_SHANGHAI = timezone(timedelta(hours=8), DEFAULT_BUDGET_TIMEZONE)  # the same clock (no DST since 1991)
# The latest and earliest instants every time zone can still show as a date (datetime's years 1..9999).
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def zone_named(name: str) -> tzinfo:
    """The IANA zone ``name`` (ValueError when there is none of that name here).  The default zone works
    even where the system has no time-zone database (Windows without the tzdata package)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        if name == DEFAULT_BUDGET_TIMEZONE:
            return _SHANGHAI
        raise ValueError(name) from None
    except (ValueError, TypeError, OSError, UnicodeError):  # a path, an empty name, a name the OS cannot open
        raise ValueError(name) from None


def now_utc() -> datetime:
    return datetime.now(UTC)


def utc_text(moment: datetime) -> str:
    """How a moment is stored: ISO 8601 in UTC, to the second (``2026-12-06T04:54:57+00:00``)."""
    return _aware(moment).astimezone(UTC).isoformat(timespec="seconds")


def parse_instant(text: str | None) -> datetime | None:
    """A stored moment as an aware UTC datetime: new rows' UTC text and old rows' local time with an offset alike
    (a text without an offset is read as this machine's local time); None when it is not a time."""
    if not text:
        return None
    try:
        return _aware(datetime.fromisoformat(text)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def local_text(text: str) -> str:
    """A stored moment shown on this machine's clock (``2026-12-06 12:54:57``); the text itself if unreadable."""
    moment = parse_instant(text)
    if moment is None:
        return text.replace("T", " ")[:19]
    try:
        return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError, OSError):
        return text.replace("T", " ")[:19]


def budget_periods(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """(start of today, start of this month) in ``zone`` at the instant ``now``, as UTC instants."""
    local = _aware(now).astimezone(zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone)
    month = datetime(local.year, local.month, 1, tzinfo=zone)
    return day.astimezone(UTC), month.astimezone(UTC)


def day_of(moment: datetime, zone: tzinfo) -> str:
    """The budget day (``2026-12-06``) an instant falls on, in ``zone``."""
    return _aware(moment).astimezone(zone).strftime("%Y-%m-%d")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.astimezone()
