"""The forecasts a person would make by hand, computed beside the model every time.

- ``naive_weekly``: the same slot one week earlier (whole weeks further back when the horizon
  exceeds a week or the slot is a gap);
- ``naive_daily``: the same slot one day earlier (likewise);
- ``slot_mean``: the mean of the same slot over the last four weeks that precede the origin.

Every baseline uses only data up to the origin; when all of its candidate slots are gaps it falls
back to the last observed value (gaps are never read as zero).
"""

from __future__ import annotations

import numpy as np

from fleetcast.forecast.frequency import Frequency

BASELINES = ("naive_weekly", "naive_daily", "slot_mean")
LOOK_BACK_CYCLES = 4


def baseline_forecasts(values: np.ndarray, freq: Frequency, rows: np.ndarray, origins: np.ndarray,
                       horizon: int, steps: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each baseline's forecasts, ``len(rows) x len(steps)``, from data up to each origin.

    ``steps`` are the horizon steps wanted (default ``1..horizon``).

    Examples
    --------
    >>> f = Frequency.parse("1d")
    >>> y = np.array([[1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]])
    >>> out = baseline_forecasts(y, f, np.array([0]), np.array([13]), 2)
    >>> out["naive_weekly"].tolist(), out["naive_daily"].tolist()
    ([[8.0, 9.0]], [[14.0, 14.0]])
    """
    rows, origins = np.asarray(rows), np.asarray(origins)
    steps = (np.arange(1, horizon + 1) if steps is None else np.asarray(steps))[None, :]
    t = origins[:, None] + steps
    r = np.broadcast_to(rows[:, None], t.shape)
    last = _last_observed(values, rows, origins)[:, None]
    week, day = freq.week, freq.day
    weekly = _first_available(values, r, t, steps, origins, week, LOOK_BACK_CYCLES)
    daily = _first_available(values, r, t, steps, origins, day, 7)
    mean = _cycle_mean(values, r, t, steps, week, LOOK_BACK_CYCLES)
    out = {
        "naive_weekly": np.where(np.isnan(weekly), daily, weekly),
        "naive_daily": daily,
        "slot_mean": np.where(np.isnan(mean), daily, mean),
    }
    return {name: np.where(np.isnan(f), last, f) for name, f in out.items()}


def _first_back(steps: np.ndarray, period: int) -> np.ndarray:
    return -(-steps // period)


def _take(values: np.ndarray, r: np.ndarray, idx: np.ndarray) -> np.ndarray:
    ok = (idx >= 0) & (idx < values.shape[1])
    return np.where(ok, values[r, np.clip(idx, 0, values.shape[1] - 1)], np.nan)


def _first_available(values, r, t, steps, origins, period: int, cycles: int) -> np.ndarray:
    """The same slot ``period`` steps back (at or before the origin), skipping gaps."""
    out = np.full(t.shape, np.nan)
    back = _first_back(steps, period)
    for k in range(cycles):
        cand = _take(values, r, t - period * (back + k))
        out = np.where(np.isnan(out), cand, out)
    return out


def _cycle_mean(values, r, t, steps, period: int, cycles: int) -> np.ndarray:
    back = _first_back(steps, period)
    stack = np.stack([_take(values, r, t - period * (back + k)) for k in range(cycles)])
    seen = (~np.isnan(stack)).sum(axis=0)
    total = np.nansum(stack, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, total / seen, np.nan)


def _last_observed(values: np.ndarray, rows: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """The last non-gap value at or before each origin (NaN when there is none)."""
    uniq, local = np.unique(rows, return_inverse=True)
    sub = values[uniq]
    idx = np.where(~np.isnan(sub), np.arange(sub.shape[1])[None, :], -1)
    idx = np.maximum.accumulate(idx, axis=1)
    pos = idx[local, np.clip(origins, 0, sub.shape[1] - 1)]
    return np.where(pos >= 0, sub[local, np.maximum(pos, 0)], np.nan)
