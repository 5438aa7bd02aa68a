"""Regular time grids and the local calendar features the generators shape their series with.

Every generator works on a grid of equally spaced UTC instants starting at ``start``. Servers and
visitors live in a local time zone (a whole-hour offset from UTC): the daily cycle follows local
hours, the weekly cycle local weekdays and month-end peaks local dates.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

FREQ_MINUTES = {"5min": 5, "15min": 15, "1h": 60}
MINUTES_PER_DAY = 1440
QUARTER_END_MONTHS = (3, 6, 9, 12)


def step_minutes(freq: str) -> int:
    """Minutes between samples for a supported frequency name.

    Examples
    --------
    >>> step_minutes("15min")
    15
    """
    try:
        return FREQ_MINUTES[freq]
    except KeyError:
        raise ValueError(f"freq must be one of {sorted(FREQ_MINUTES)}, not {freq!r}") from None


def as_datetime(value: str | date | datetime) -> datetime:
    """A naive UTC :class:`datetime` from an ISO string, a date or a datetime.

    Aware datetimes are converted to UTC; strings may end in ``Z``.

    Examples
    --------
    >>> as_datetime("2025-03-03T05:00:00Z")
    datetime.datetime(2025, 3, 3, 5, 0)
    >>> as_datetime(date(2025, 3, 3))
    datetime.datetime(2025, 3, 3, 0, 0)
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = (value - value.utcoffset()).replace(tzinfo=None)
    return value


def time_index(start: datetime, n_steps: int, minutes: int) -> np.ndarray:
    """``n_steps`` UTC instants from ``start``, ``minutes`` apart, as ``datetime64[us]``.

    Examples
    --------
    >>> time_index(datetime(2025, 1, 1), 3, 60)[-1]
    np.datetime64('2025-01-01T02:00:00.000000')
    """
    first = np.datetime64(start, "us")
    return first + np.arange(n_steps, dtype=np.int64) * np.timedelta64(minutes, "m")


@dataclass(frozen=True)
class LocalCalendar:
    """Local-time features of a grid, one row per server (time zone), one column per step.

    ``hour`` is the local hour of day as a float (``13.25`` = 13:15); ``weekday`` is 0 for Monday;
    ``month_end`` marks the last two local days of a month and ``quarter_end`` the last three local
    days of March, June, September and December; ``day`` is the local day number counted from the
    grid's first UTC day (−1 for the evening before it in zones west of UTC).
    """

    hour: np.ndarray
    weekday: np.ndarray
    month_end: np.ndarray
    quarter_end: np.ndarray
    day: np.ndarray


def local_calendar(start: datetime, n_steps: int, minutes: int, offsets_h: np.ndarray) -> LocalCalendar:
    """Local calendar features of a grid seen from zones ``offsets_h`` hours east of UTC.

    Examples
    --------
    >>> cal = local_calendar(datetime(2025, 3, 31), 2, 60, np.array([0, -5]))
    >>> cal.hour.tolist()
    [[0.0, 1.0], [19.0, 20.0]]
    >>> cal.quarter_end.tolist()   # Mar 31 and, 5 hours west, still Mar 30
    [[True, True], [True, True]]
    """
    offsets = np.asarray(offsets_h, dtype=np.int64)
    since_start = np.arange(n_steps, dtype=np.int64) * minutes
    local_min = since_start[None, :] + offsets[:, None] * 60 + start.hour * 60 + start.minute
    day = np.floor_divide(local_min, MINUTES_PER_DAY)
    hour = np.mod(local_min, MINUTES_PER_DAY) / 60.0
    first, last = int(day.min()), int(day.max())
    days = [start.date() + timedelta(days=d) for d in range(first, last + 1)]
    weekday = np.array([d.weekday() for d in days])
    left = np.array([calendar.monthrange(d.year, d.month)[1] - d.day for d in days])
    month_end = left < 2
    quarter_end = (left < 3) & np.isin([d.month for d in days], QUARTER_END_MONTHS)
    at = day - first
    return LocalCalendar(hour, weekday[at], month_end[at], quarter_end[at], day)
