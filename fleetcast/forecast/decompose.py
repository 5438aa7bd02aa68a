"""A seasonal decomposition forecast (MSTL-like), blended with the LightGBM model.

``seasonal_forecasts`` forecasts each step as the *seasonal profile* of its slot plus the *level
shift* seen at the origin:

- profile: the mean, over the last ``cycles`` weeks that end before the origin, of the values in a
  window of about 30 minutes either side of the same slot of the week (the same slot of the day
  over the last seven days when fewer than two past weeks are available: one week is too noisy);
- level shift: the mean over the last day before the origin minus the mean over the same day-long
  window in each of those past weeks (a week-long window for data at a daily or coarser step);
- recent deviation: the mean of ``y - profile`` over the last hour, which replaces the level shift
  at the first steps and fades into it with a half-life of an hour.

It uses only data up to each origin and skips gaps. Its errors differ from the trees' (it extends
the whole recent level to every slot, where trees mostly predict from slot-level features), so a
weighted mean of the two is more accurate than either (measured on NASA: every protocol improved).
It is blended into the model's forecast when ``ModelConfig.blend`` asks for it (off by default: its
intervals covered less, see :class:`~fleetcast.forecast.model.ModelConfig`): with ``backtest`` the
trees' weight comes from the rolling-origin backtest, never below one half (see
:func:`blend_weight`); ``equal`` is the plain mean of the two. Panels with less than two weeks of
history before the last ``horizon`` steps are not blended (the trees alone): measured on 14-day NAB series, a
profile from one past week or from days alone made forecasts worse.
"""

from __future__ import annotations

import numpy as np

from fleetcast.forecast.frequency import Frequency

CYCLES = 4
MIN_CYCLES = 2
WEIGHTS = np.round(np.linspace(0.5, 1.0, 6), 2)


class _Sums:
    """NaN-aware prefix sums of some panel rows, for window means at any (row, end)."""

    def __init__(self, values: np.ndarray, rows: np.ndarray) -> None:
        self.uniq, self.local = np.unique(rows, return_inverse=True)
        sub = values[self.uniq]
        have = ~np.isnan(sub)
        zero = np.zeros((sub.shape[0], 1))
        self.cs = np.concatenate([zero, np.cumsum(np.where(have, sub, 0.0), axis=1)], axis=1)
        self.cn = np.concatenate([zero, np.cumsum(have, axis=1, dtype=np.float64)], axis=1)
        self.length = sub.shape[1]

    def mean(self, local: np.ndarray, end: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Sum and count of the values over ``(end - width, end]`` (both 0 outside the data)."""
        hi = np.clip(end + 1, 0, self.length)
        lo = np.clip(end + 1 - width, 0, self.length)
        return self.cs[local, hi] - self.cs[local, lo], self.cn[local, hi] - self.cn[local, lo]


def seasonal_forecasts(values: np.ndarray, freq: Frequency, rows: np.ndarray, origins: np.ndarray,
                       horizon: int, steps: np.ndarray | None = None, cycles: int = CYCLES) -> np.ndarray:
    """Profile-plus-level-shift forecasts, ``len(rows) x len(steps)``, from data up to each origin.

    Parameters
    ----------
    values
        ``n x T`` panel values (NaN gaps).
    rows, origins
        The series row and origin index of each forecast.
    horizon, steps
        Steps wanted (default ``1..horizon``).
    cycles
        Past weeks (or days, for the daily fallback profile) averaged.

    Examples
    --------
    >>> f = Frequency.parse("1h")
    >>> t = np.arange(24 * 21)
    >>> y = (100 + 20 * np.sin(2 * np.pi * t / 24))[None, :]
    >>> y[0, -24:] += 10  # the last day is 10 higher than the weeks before
    >>> out = seasonal_forecasts(y, f, np.array([0]), np.array([t.size - 1]), 3)
    >>> future = t.size - 1 + np.arange(1, 4)
    >>> np.round(out - (110 + 20 * np.sin(2 * np.pi * future / 24)), 1).tolist()   # the profile is smoothed
    [[0.4, -0.4, -0.4]]
    """
    rows, origins = np.asarray(rows), np.asarray(origins)
    steps = (np.arange(1, horizon + 1) if steps is None else np.asarray(steps))[None, :]
    sums = _Sums(values, rows)
    local = np.broadcast_to(sums.local[:, None], (rows.size, steps.shape[1]))
    t = origins[:, None] + steps
    half = max(1, freq.steps(1800)) if freq.sub_daily else 1
    week, weeks_seen = _profile(sums, local, t, steps, freq.week, cycles, half)
    day = _profile(sums, local, t, steps, freq.day, 7, half)[0] if freq.sub_daily else week
    week = np.where(weeks_seen >= MIN_CYCLES, week, np.nan)  # one past week is too noisy a profile
    shift_w = _shift(sums, sums.local, origins, freq.week, cycles, freq.day if freq.sub_daily else freq.week)
    shift_d = _shift(sums, sums.local, origins, freq.day, 7, max(1, freq.day // 4))
    shift = np.where(np.isnan(week), shift_d[:, None], shift_w[:, None])
    recent = _recent_deviation(sums, values, rows, origins, freq, cycles, half)
    decay = 0.5 ** (steps / freq.steps(3600))
    shift = np.where(np.isnan(recent)[:, None], shift, shift + (recent[:, None] - shift) * decay)
    out = np.where(np.isnan(week), day, week) + shift
    last = _last_mean(sums, sums.local, origins, freq)
    return np.where(np.isnan(out), last[:, None], out)


def _profile(sums: _Sums, local, t, steps, period: int, count: int, half: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``count`` past cycles of the window ``[slot - half, slot + half]`` (ending <= origin),
    and how many cycles were seen."""
    if period <= 2 * half:
        return np.full(t.shape, np.nan), np.zeros(t.shape)
    back = -(-(steps + half) // period)
    total = np.zeros(t.shape)
    seen = np.zeros(t.shape)
    for j in range(count):
        s, n = sums.mean(local, t - period * (back + j) + half, 2 * half + 1)
        ok = n > 0
        total += np.where(ok, s / np.maximum(n, 1), 0.0)
        seen += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, total / seen, np.nan), seen


def _recent_deviation(sums: _Sums, values, rows, origins, freq: Frequency, cycles: int, half: int) -> np.ndarray:
    """Mean of ``y - profile`` over the last hour (two steps at least) before the origin (NaN if none)."""
    width = max(2, freq.steps(3600)) if freq.sub_daily else 2
    back = np.arange(width)[None, :]
    t = origins[:, None] - back
    local = np.broadcast_to(sums.local[:, None], t.shape)
    one = np.ones_like(back)
    profile, seen = _profile(sums, local, t, one, freq.week, cycles, half)
    profile = np.where(seen >= MIN_CYCLES, profile, np.nan)
    if freq.sub_daily:
        profile = np.where(np.isnan(profile), _profile(sums, local, t, one, freq.day, 7, half)[0], profile)
    y = np.where(t >= 0, values[rows[:, None], np.clip(t, 0, values.shape[1] - 1)], np.nan)
    dev = y - profile
    seen = np.isfinite(dev).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, np.where(np.isfinite(dev), dev, 0.0).sum(axis=1) / seen, np.nan)


def _shift(sums: _Sums, local, origins, period: int, count: int, width: int) -> np.ndarray:
    """Mean over the last ``width`` steps minus the mean of the same window in past cycles (0 if unknown)."""
    s, n = sums.mean(local, origins, width)
    total = np.zeros(origins.shape)
    seen = np.zeros(origins.shape)
    for j in range(1, count + 1):
        ps, pn = sums.mean(local, origins - j * period, width)
        ok = pn >= width / 3
        total += np.where(ok, ps / np.maximum(pn, 1), 0.0)
        seen += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = s / n - total / seen
    return np.where((n >= width / 3) & np.isfinite(shift), shift, 0.0)


def _last_mean(sums: _Sums, local, origins, freq: Frequency) -> np.ndarray:
    """Mean of the last day (or week, or all history) before the origin: the fallback forecast."""
    out = np.full(origins.shape, np.nan)
    for width in (freq.day, freq.week, sums.length):
        s, n = sums.mean(local, origins, width)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(np.isnan(out) & (n > 0), s / n, out)
    return out


def blend_weight(actual: np.ndarray, model: np.ndarray, seasonal: np.ndarray, norm: np.ndarray) -> float:
    """The weight of the model (0.5 to 1 by 0.1) minimising the backtest's normalised squared error.

    ``norm`` (one per backtest row) divides each row's errors, so large series do not decide alone.
    The weight never goes below one half: backtest models are trained on less data than the final
    model (before their windows), so the backtest under-rates the trees; on NASA an unbounded weight
    swung between 0.1 and 0.8 from one day to the next and made the published forecast worse than
    the plain mean.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(0, 1, (200, 5))
    >>> a, b = truth + rng.normal(0, 1, truth.shape), truth + rng.normal(0, 1, truth.shape)
    >>> blend_weight(truth, a, b, np.ones(200)), blend_weight(truth, a, (a + 3 * truth) / 4, np.ones(200))
    (0.5, 0.5)
    """
    ok = np.isfinite(actual) & np.isfinite(model) & np.isfinite(seasonal)
    if not ok.any():
        return 1.0
    scale = np.broadcast_to(norm[:, None], actual.shape)[ok]
    a, m, s = actual[ok] / scale, model[ok] / scale, seasonal[ok] / scale
    loss = [float(np.mean((a - w * m - (1 - w) * s) ** 2)) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(loss))])
