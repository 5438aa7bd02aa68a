"""Series frequencies: parsing ``5min``/``1h``/``1d``, inferring them, and the seasons they imply.

A frequency is a fixed step (seconds). The forecaster needs to know how many steps make a day and a
week (the two cycles of web and server load) and which window lengths are sensible for rolling
statistics at that step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

DAY = 86_400
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "t": 60, "h": 3600, "hour": 3600, "d": DAY, "day": DAY}
_FREQ = re.compile(r"^\s*(\d+)?\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Frequency:
    """A fixed step and the cycles it implies.

    Examples
    --------
    >>> f = Frequency.parse("5min")
    >>> f.name, f.seconds, f.day, f.week
    ('5min', 300, 288, 2016)
    >>> Frequency.parse("1d").week
    7
    """

    seconds: int

    @classmethod
    def parse(cls, text: str | int | timedelta) -> Frequency:
        """Read ``30s``, ``1min``, ``5min``, ``15min``, ``1h``, ``1d`` (or seconds, or a timedelta)."""
        if isinstance(text, Frequency):
            return text
        if isinstance(text, timedelta):
            return cls._checked(int(text.total_seconds()), str(text))
        if isinstance(text, int | np.integer):
            return cls._checked(int(text), str(text))
        match = _FREQ.match(str(text).lower())
        if not match or match.group(2) not in _UNITS:
            raise ValueError(f"unknown frequency {text!r} (use e.g. 1min, 5min, 15min, 1h, 1d)")
        return cls._checked(int(match.group(1) or 1) * _UNITS[match.group(2)], str(text))

    @classmethod
    def _checked(cls, seconds: int, text: str) -> Frequency:
        if seconds <= 0:
            raise ValueError(f"frequency {text!r} must be a positive duration")
        if seconds < DAY and DAY % seconds:
            raise ValueError(f"frequency {text!r} does not divide a day evenly")
        if seconds > DAY and seconds % DAY:
            raise ValueError(f"frequency {text!r} longer than a day must be whole days")
        return cls(seconds)

    @property
    def name(self) -> str:
        for unit, size in (("d", DAY), ("h", 3600), ("min", 60)):
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        return f"{self.seconds}s"

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @property
    def day(self) -> int:
        """Steps in a day (1 for daily and coarser series)."""
        return max(1, DAY // self.seconds)

    @property
    def week(self) -> int:
        """Steps in a week (the same slot one week earlier is ``week`` steps back)."""
        return max(1, 7 * DAY // self.seconds)

    @property
    def sub_daily(self) -> bool:
        return self.seconds < DAY

    def steps(self, seconds: float) -> int:
        """How many steps (at least one) make ``seconds``."""
        return max(1, int(round(seconds / self.seconds)))

    def rolling_windows(self) -> tuple[int, ...]:
        """Window lengths (steps) for rolling means: about 1 h, 6 h and 1 day; 3/7/28 days when daily."""
        if not self.sub_daily:
            return (3, 7, 28)
        return tuple(sorted({max(2, self.steps(3600)), self.steps(6 * 3600), self.day}))

    def ewm_spans(self) -> tuple[int, ...]:
        """Spans (steps) of the exponentially weighted means: about 1 h and 1 day; 7/28 days when daily."""
        if not self.sub_daily:
            return (7, 28)
        return tuple(sorted({max(2, self.steps(3600)), self.day}))


def infer_frequency(ts: np.ndarray) -> Frequency | None:
    """The step of a sorted datetime64 array, or None when the times are not on one regular grid.

    The step is the smallest positive difference; the times are regular when every difference
    is a whole multiple of it (missing rows are gaps, not irregularity).

    Examples
    --------
    >>> t = np.array(["2024-01-01T00:00", "2024-01-01T00:05", "2024-01-01T00:20"], "datetime64[s]")
    >>> infer_frequency(t).name
    '5min'
    >>> infer_frequency(np.array(["2024-01-01T00:00", "2024-01-01T00:05", "2024-01-01T00:07"],
    ...                          "datetime64[s]")) is None
    True
    """
    seconds = np.unique(ts.astype("datetime64[s]").astype(np.int64))
    if seconds.size < 2:
        return None
    diffs = np.diff(seconds)
    step = int(diffs.min())
    if step <= 0 or np.any(diffs % step):
        return None
    try:
        return Frequency.parse(step)
    except ValueError:
        return None
