"""Interval tails for horizons the backtest's windows cannot vouch for: how far the level wanders.

Far ahead, a forecast's error is mostly how far the level moves before then. When the backtest's
windows (origins and horizons together) cover less than a year, their residuals come from one part
of the year: they miss how the level moves with the seasons ahead (on daily series 90 days ahead
from 240 days of history, the 80 % intervals covered 62 % of days 31-90, and half of that on an
electricity load whose windows saw its spring rise and whose forecasts met its autumn fall). The
slot-mean baseline is cheap enough to forecast from *every day* of the history, so its errors there
show how far the level moved over each horizon, in every part of the history it has, both ways.

For each horizon bucket wholly beyond the first week, the tails are then mapped from the windows to
the whole history (a bucket holds at least 150 residuals, so with few windows the first one reaches
past the week, and its later steps keep the windows' tails):

    half-width(p) = Q_p|model on the windows| * Q_p|slot mean over the history| / Q_p|slot mean on the windows|

at each probability ``p``, the same both sides of the forecast (a level that rose over the windows
may fall ahead). The ratio is how much the windows understate the slot mean's errors; the model's
own errors on the windows carry how much better (or worse) than the slot mean it forecasts. The
result replaces the bucket's residuals in :class:`~fleetcast.forecast.conformal.Calibration`.
Measured in the README (``bench/forecast_generalisation.py --only daily --history 240``) and in
docs/adr/0006.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.conformal import Remap, sigma
from fleetcast.forecast.features import Layout
from fleetcast.forecast.panel import Panel, first_origins

MAX_CELLS = 1_000_000
MIN_RESIDUALS = 30
MAX_RATIO = 10.0


def needs_history(horizon: int, span: int, panel: Panel, layout: Layout) -> bool:
    """Whether backtest windows covering ``span`` steps (origins and horizons) miss part of a year,
    for a forecast beyond a week.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> f = Frequency.parse("1d")
    >>> p = Panel(["a"], np.datetime64("2024-01-01"), f, np.ones((1, 400)), np.array([0]), np.array([399]))
    >>> needs_history(90, 233, p, Layout.for_freq(f)), needs_history(90, 453, p, Layout.for_freq(f))
    (True, False)
    >>> needs_history(7, 100, p, Layout.for_freq(f))
    False
    """
    year = 365 * 86_400 / panel.freq.seconds
    return horizon > layout.week and span < year


@dataclass
class HistoryErrors:
    """The slot-mean baseline's forecasts from every day of the history, with the actual values."""

    actual: np.ndarray
    baseline: np.ndarray
    scale: np.ndarray
    steps: np.ndarray
    week: int

    @classmethod
    def measure(cls, panel: Panel, horizon: int, steps: np.ndarray, layout: Layout) -> HistoryErrors:
        """Forecasts at ``steps`` from each day of each series' history (from the first day with
        history enough for a backtest), evenly thinned to at most ``MAX_CELLS`` values."""
        day = max(layout.day, 1)
        per = [np.arange(f, last, day) for f, last in zip(first_origins(panel, layout), panel.last, strict=True)]
        rows = np.repeat(np.arange(panel.n_series), [o.size for o in per])
        origins = np.concatenate(per) if per else np.empty(0, dtype=np.int64)
        cap = max(1, MAX_CELLS // max(1, steps.size))
        if rows.size > cap:
            pick = np.linspace(0, rows.size - 1, cap).astype(np.int64)
            rows, origins = rows[pick], origins[pick]
        baseline = baseline_forecasts(panel.values, panel.freq, rows, origins, horizon, steps)["slot_mean"]
        return cls(panel.values_after(rows, origins, steps), baseline,
                   panel.scale_at(rows, origins), steps, layout.week)

    def remap(self, actual: np.ndarray, slot_mean: np.ndarray, scale: np.ndarray, level_power: float) -> Remap:
        """The :class:`~fleetcast.forecast.conformal.Calibration` remap for backtest windows whose
        values, slot-mean forecasts and scales are ``actual``, ``slot_mean`` and ``scale``; buckets
        with a step in the first week keep their residuals."""
        history = normalised(self.actual, self.baseline, self.scale, level_power)
        windows = normalised(actual, slot_mean, scale, level_power)

        def remap(columns: np.ndarray, residuals: np.ndarray) -> np.ndarray | None:
            if self.steps[columns].min() <= self.week:
                return None
            return mapped_residuals(residuals, windows[:, columns], history[:, columns])
        return remap


def normalised(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray, level_power: float) -> np.ndarray:
    """``(actual - forecast) / sigma``, as the conformal residuals are normalised (before studentising)."""
    return (actual - forecast) / sigma(forecast, scale[:, None], level_power)


def mapped_residuals(model: np.ndarray, windows: np.ndarray, history: np.ndarray) -> np.ndarray | None:
    """A bucket's residuals with the whole history's spread: symmetric, sorted (None when too few).

    ``model`` holds the model's residuals on the windows, ``windows`` and ``history`` the slot
    mean's there and over the history (any sign, NaN for gaps). The ratio of the history's quantile
    to the windows' is at most ``MAX_RATIO``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> model, windows = rng.normal(0, 1, 2000), rng.normal(3, 2, 2000)   # the windows: a calm rise
    >>> history = rng.normal(0, 6, 20000)                                 # the history: level moves
    >>> r = mapped_residuals(model, windows, history)
    >>> np.quantile(r, [0.1, 0.9]).round(1).tolist()  # 1.28 * (6 * 1.28) / (3 + 2 * 0.84)
    [-2.1, 2.1]
    >>> calm = np.where(np.arange(2000) < 1500, 1e-12, windows)  # the slot mean exact, but for rounding
    >>> float(np.quantile(mapped_residuals(model, calm, history), 0.9).round(1))  # unbounded: 3.5e12
    8.1
    """
    m, w, h = (np.sort(np.abs(a[np.isfinite(a)])) for a in (model, windows, history))
    if min(m.size, w.size, h.size) < MIN_RESIDUALS:
        return None
    p = (np.arange(m.size) + 0.5) / m.size
    numerator, denominator = _quantiles(h, p), _quantiles(w, p)
    with np.errstate(invalid="ignore", divide="ignore"):  # bounded: the slot mean may be exact on the windows
        ratio = np.where(numerator > 0, np.minimum(numerator / denominator, MAX_RATIO), 1.0)
    half = np.sort(m * ratio)  # m's sorted values are (about) its own quantiles at p
    return np.concatenate([-half[::-1], half])


def _quantiles(sorted_values: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles of already sorted values (``np.quantile``'s default, faster
    for many ``p``)."""
    return np.interp(p * (sorted_values.size - 1), np.arange(sorted_values.size), sorted_values)
