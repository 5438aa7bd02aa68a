"""Request-rate model shared by the access-log and load-series generators.

The rate follows local time: a daily curve (quiet at night, main peak mid-afternoon, a smaller
evening peak) times a weekly one (weekends ~35% quieter), scaled to average 1 over a week. Bursts
are flash crowds: the rate jumps within minutes to 3–8 times normal and decays over the burst.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

MINUTES_PER_WEEK = 7 * 1440
WEEKDAY_LEVEL = np.array([1.0, 1.02, 1.0, 0.98, 0.92, 0.62, 0.68])  # Monday first
_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")


def parse_offset(offset: str) -> int:
    """Minutes east of UTC of a ``+hhmm`` / ``-hhmm`` offset.

    Examples
    --------
    >>> parse_offset("-0500"), parse_offset("+0130")
    (-300, 90)
    """
    match = _OFFSET.match(offset)
    if not match or int(match.group(3)) >= 60 or int(match.group(2)) > 14:
        raise ValueError(f"utc_offset must look like -0500 or +0100, not {offset!r}")
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return -minutes if match.group(1) == "-" else minutes


def _circular(hours: np.ndarray, centre: float) -> np.ndarray:
    return (hours - centre + 12.0) % 24.0 - 12.0


def weekly_profile() -> np.ndarray:
    """Relative rate for each local minute of the week (Monday 00:00 first), mean 1.

    Examples
    --------
    >>> week = weekly_profile()
    >>> round(float(week.mean()), 6), bool(week[14 * 60] > 3 * week[4 * 60])   # Monday 14:00 vs 04:00
    (1.0, True)
    """
    hours = np.arange(1440) / 60.0
    afternoon = np.exp(-(_circular(hours, 14.0) / 4.5) ** 2)
    evening = np.exp(-(_circular(hours, 21.0) / 2.2) ** 2)
    day = 0.2 + 0.9 * afternoon + 0.45 * evening
    week = (WEEKDAY_LEVEL[:, None] * day[None, :]).ravel()
    return week / week.mean()


def minute_of_week(start: datetime, n_steps: int, step: int, offset_min: int) -> np.ndarray:
    """Local minute of the week (0 = Monday 00:00 local) of each step of a UTC grid.

    Examples
    --------
    >>> minute_of_week(datetime(2025, 3, 3, 5, 0), 2, 60, -300).tolist()   # Monday 00:00 in UTC-5
    [0, 60]
    """
    first = start.weekday() * 1440 + start.hour * 60 + start.minute + offset_min
    return (first + np.arange(n_steps, dtype=np.int64) * step) % MINUTES_PER_WEEK


@dataclass(frozen=True)
class Burst:
    """A flash crowd: ``length`` minutes from minute ``start`` of the grid, up to ``peak`` times normal."""

    start: int
    length: int
    peak: float


def draw_bursts(rng: np.random.Generator, n_minutes: int, count: int,
                avoid: tuple[int, int] | None = None) -> list[Burst]:
    """``count`` bursts of 10 minutes to 4 hours (log-uniform), none touching the ``avoid`` span.

    Examples
    --------
    >>> bursts = draw_bursts(np.random.default_rng(0), 7 * 1440, 2, avoid=(4000, 4200))
    >>> all(b.start + b.length <= 4000 or b.start >= 4200 for b in bursts)
    True
    """
    bursts: list[Burst] = []
    while len(bursts) < count:
        length = int(np.exp(rng.uniform(np.log(10), np.log(240))))
        start = int(rng.integers(0, max(1, n_minutes - length)))
        peak = float(rng.uniform(3.0, 8.0))
        if avoid is None or start + length <= avoid[0] - 60 or start >= avoid[1] + 60:
            bursts.append(Burst(start, length, round(peak, 2)))
    return sorted(bursts, key=lambda b: b.start)


def burst_multiplier(n_minutes: int, bursts: list[Burst]) -> np.ndarray:
    """Per-minute rate multiplier (1 outside bursts): a fast linear rise, then exponential decay.

    Examples
    --------
    >>> mult = burst_multiplier(100, [Burst(start=10, length=50, peak=5.0)])
    >>> float(mult[0]), float(mult[15]), bool(mult[15] > mult[40] > mult[59] > 1.0), float(mult[60])
    (1.0, 5.0, True, 1.0)
    """
    mult = np.ones(n_minutes)
    for burst in bursts:
        t = np.arange(burst.length, dtype=float)
        rise = max(2, burst.length // 10)
        shape = np.where(t < rise, (t + 1) / rise, np.exp(-3.0 * (t - rise) / max(1, burst.length - rise)))
        end = min(n_minutes, burst.start + burst.length)
        mult[burst.start:end] += (burst.peak - 1.0) * shape[:end - burst.start]
    return mult
