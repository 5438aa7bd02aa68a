"""What each server metric's daily P95 will do over the next days, with exceedance probabilities.

The capacity outlook is a small structural model per series and metric, fitted on the last six
weeks of daily P95 (:data:`WINDOW_DAYS`): a level, a linear growth trend (from four weeks of
history on) and a day-of-week profile (from two weeks on), by least squares. Its residuals give a
robust spread (1.4826 x MAD); the prediction spread adds the uncertainty of the fitted level and
trend, so it widens with the horizon. ``P(P95 > t)`` per day comes from that normal spread.

Why not the LightGBM engine here: on the generated tuning fleet (seed 1, 60 servers) the global
daily LightGBM model's flags for "crosses 80 % within 30 days" scored F1 0.63 against 0.93 for this
model: trees do not extrapolate growth, and threshold crossings are about growth and weekly peaks.
``bench/risk_flags.py`` measures it on a separate fleet (seed 0).

The spread is too narrow on real daily series (80 % bands cover about half the days of the next
month, ``bench/forecast_generalisation.py --only outlook``); calibrating it on past errors made the
flags worse on generated fleets, so it stays for now: ``docs/adr/0003-the-capacity-outlook-spread.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.special import ndtr

WINDOW_DAYS = 42
TREND_MIN_DAYS = 28
WEEKLY_MIN_DAYS = 14
MIN_SPREAD = 0.5  # percentage points: even a flat idle server's P95 moves a little
BANDS = {"lo80": -1.2816, "hi80": 1.2816, "lo95": -1.96, "hi95": 1.96}  # normal quantiles
MODEL_VERSION = f"trend-weekly-{WINDOW_DAYS}d-v1"


@dataclass
class Outlook:
    """Per (series, metric): last history day, the next ``horizon`` days' forecast and exceedance odds."""

    keys: list[tuple[str, str]]
    last_day: list[date]
    yhat: np.ndarray                  # (n, horizon)
    prob: dict[float, np.ndarray]     # threshold -> (n, horizon) P(daily P95 > threshold)
    method: list[str]
    bands: dict[str, np.ndarray]      # lo80, hi80, lo95, hi95: (n, horizon)

    @property
    def horizon(self) -> int:
        return int(self.yhat.shape[1])

    def head(self, days: int) -> Outlook:
        """The first ``days`` days."""
        return Outlook(self.keys, self.last_day, self.yhat[:, :days], {t: p[:, :days] for t, p in self.prob.items()},
                       self.method, {b: v[:, :days] for b, v in self.bands.items()})

    def frame(self) -> pl.DataFrame:
        """Long ``series_id, metric, ts, step, yhat, lo80, hi80, lo95, hi95, model, model_version``."""
        n, h = self.yhat.shape
        steps = np.tile(np.arange(1, h + 1), n)
        first = np.array(self.last_day, dtype="datetime64[D]").astype("datetime64[us]")
        return pl.DataFrame({
            "series_id": np.repeat([k[0] for k in self.keys], h), "metric": np.repeat([k[1] for k in self.keys], h),
            "ts": np.repeat(first, h) + steps.astype("timedelta64[D]"), "step": steps.astype(np.int32),
            "yhat": self.yhat.ravel(), **{b: v.ravel() for b, v in self.bands.items()},
            "model": np.repeat(self.method, h), "model_version": MODEL_VERSION})


def capacity_outlook(daily: pl.DataFrame, horizon: int, thresholds: tuple[float, ...]) -> Outlook:
    """Forecast every series' daily P95 ``horizon`` days past its last day, with exceedance odds.

    ``daily`` has ``series_id, metric, day, p95`` (one row per day with enough samples).

    Examples
    --------
    >>> from datetime import timedelta
    >>> days = [date(2024, 1, 1) + timedelta(days=d) for d in range(35)]
    >>> daily = pl.DataFrame({"series_id": "web-1", "metric": "cpu", "day": days,
    ...                       "p95": [50.0 + 0.5 * d for d in range(35)]})
    >>> o = capacity_outlook(daily, 30, (80.0,))
    >>> o.method, round(float(o.yhat[0, 0]), 1), round(float(o.yhat[0, -1]), 1)
    (['trend_weekly'], 67.5, 82.0)
    >>> bool(o.prob[80.0][0, 0] < 0.01 < 0.99 < o.prob[80.0][0, -1])
    True
    """
    keys = [tuple(k) for k in daily.select("series_id", "metric").unique().sort("series_id", "metric").rows()]
    if not keys:
        none = np.empty((0, horizon))
        return Outlook([], [], none, {t: none for t in thresholds}, [], {b: none for b in BANDS})
    groups = {k: g for k, g in daily.sort("day").group_by("series_id", "metric")}
    fits = [_fit(groups[k]["day"].to_list(), groups[k]["p95"].to_numpy(), horizon) for k in keys]
    yhat = np.maximum(np.vstack([f[0] for f in fits]), 0.0)
    spread = np.vstack([f[1] for f in fits])
    prob = {t: ndtr((yhat - t) / spread) for t in thresholds}
    bands = {b: np.maximum(yhat + z * spread, 0.0) for b, z in BANDS.items()}
    return Outlook(keys, [groups[k]["day"][-1] for k in keys], yhat, prob, [f[2] for f in fits], bands)


def _fit(days: list[date], y: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Least squares on the last :data:`WINDOW_DAYS` days; forecast, prediction spread and method name."""
    last = days[-1]
    age = np.array([(d - last).days for d in days], dtype=np.float64)
    keep = age > -WINDOW_DAYS
    age, y = age[keep], y[keep]
    weekday = np.array([d.weekday() for d, k in zip(days, keep, strict=True) if k])
    span = int(age[-1] - age[0]) + 1
    trend, weekly = span >= TREND_MIN_DAYS, span >= WEEKLY_MIN_DAYS
    ahead = np.arange(1, horizon + 1, dtype=np.float64)
    future_weekday = (last.weekday() + ahead.astype(int)) % 7
    design, future = _design(age, weekday, trend, weekly), _design(ahead, future_weekday, trend, weekly)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    sigma = max(1.4826 * float(np.median(np.abs(residual - np.median(residual)))), MIN_SPREAD)
    leverage = np.einsum("ij,jk,ik->i", future, np.linalg.pinv(design.T @ design), future)
    method = "trend_weekly" if trend else ("weekly_level" if weekly else "recent_level")
    return future @ beta, sigma * np.sqrt(1.0 + leverage), method


def _design(age: np.ndarray, weekday: np.ndarray, trend: bool, weekly: bool) -> np.ndarray:
    columns = [np.ones_like(age)]
    if trend:
        columns.append(age)
    if weekly:
        columns += [(weekday == k).astype(np.float64) for k in range(1, 7)]
    return np.column_stack(columns)
