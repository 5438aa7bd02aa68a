"""A plain, honest baseline forecaster: seasonal profile x recent level, with conformal quantiles.

It exists so the planner and the simulator can be developed and tested without the machine-learning
forecaster, and as the yardstick that forecaster must beat. For a future step ``j``:

- the *profile* is the mean of the same slot (and, at 15 minutes or finer, its two neighbours) over
  the last ``weeks`` weeks;
  with less than a week of history, over the last ``weeks`` days instead;
- the *level* is the ratio of what was observed to what the profile said over the last
  ``level_hours`` before the origin (clipped to 0.5-2), so a busier-than-usual week lifts the forecast;
- ``yhat[j] = profile[j] * level``.

The intervals are *split-conformal*: the same forecast is replayed from hourly origins over the last
``calibration_days`` of the history, and the quantiles of its errors, scaled by ``sqrt(yhat)``
(counts are noisier when they are larger, but less than proportionally), widen ``yhat`` into
``lo80/hi80/lo95/hi95``. Everything uses data at or before the origin only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fleetcast.scaling.series import LoadSeries

_QUANTILES = {"lo95": 0.025, "lo80": 0.10, "hi80": 0.90, "hi95": 0.975}


@dataclass(frozen=True)
class SeasonalBaseline:
    """``forecaster(history, horizon, freq) -> frame[ts, yhat, lo80, hi80, lo95, hi95]``.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> ts = [datetime(2024, 1, 1) + timedelta(hours=k) for k in range(24 * 21)]
    >>> hist = pl.DataFrame({"ts": ts, "value": [10.0 + (t.hour >= 9) * 20 for t in ts]})
    >>> out = SeasonalBaseline()(hist, 3, "1h")
    >>> out["ts"].to_list()[0], out["yhat"].round(1).to_list()
    (datetime.datetime(2024, 1, 22, 0, 0), [10.0, 10.0, 10.0])
    """

    weeks: int = 3
    level_hours: float = 6.0
    calibration_days: float = 7.0
    name: str = "seasonal-baseline"

    def __call__(self, history: pl.DataFrame, horizon: int, freq: str) -> pl.DataFrame:
        series = LoadSeries.from_frame(history, freq)
        y = np.concatenate([series.values, np.full(horizon, np.nan)])
        origin = len(series) - 1
        season = _season(series, self.weeks)
        profile = _profile(y, season, self.weeks, spread=1 if series.freq.seconds <= 900 else 0)
        level_n = series.freq.steps(self.level_hours * 3600)
        ratio = _level_ratios(y, profile, np.array([origin]), level_n)[0]
        future = np.arange(origin + 1, origin + 1 + horizon)
        yhat = np.nan_to_num(profile[future] * ratio, nan=_fallback(series.values, series.freq.day))
        z = self._calibration_errors(y, profile, origin, level_n, series, min(horizon, season - 1))
        columns = {"ts": series.times(future), "yhat": np.maximum(yhat, 0.0)}
        scale = np.sqrt(np.maximum(yhat, 1.0))
        for name, q in _QUANTILES.items():
            shift = np.quantile(z, q) if z.size >= 20 else (-1.0 if name.startswith("lo") else 1.0) * 3
            columns[name] = np.maximum(yhat + shift * scale, 0.0)
        return pl.DataFrame(columns, schema={"ts": pl.Datetime("us"), **{k: pl.Float64 for k in
                                                                         list(columns)[1:]}})

    def _calibration_errors(self, y: np.ndarray, profile: np.ndarray, last: int, level_n: int,
                            series: LoadSeries, horizon: int) -> np.ndarray:
        """Errors ``(y - yhat) / sqrt(yhat)`` of the same forecast made from past hourly origins."""
        every = series.freq.steps(3600)
        span = series.freq.steps(self.calibration_days * 86_400)
        origins = np.arange(last - horizon, max(level_n, last - horizon - span), -every)
        if origins.size == 0 or horizon < 1:
            return np.empty(0)
        ratios = _level_ratios(y, profile, origins, level_n)
        targets = origins[:, None] + np.arange(1, horizon + 1)[None, :]
        yhat = profile[targets] * ratios[:, None]
        actual = y[targets]
        ok = np.isfinite(actual) & np.isfinite(yhat)
        return (actual[ok] - yhat[ok]) / np.sqrt(np.maximum(yhat[ok], 1.0))


def _season(series: LoadSeries, weeks: int) -> int:
    """Weekly season when a full week of history exists, else daily."""
    week, day = series.freq.week, series.freq.day
    return week if len(series) > week else day


def _profile(y: np.ndarray, season: int, count: int, spread: int) -> np.ndarray:
    """Mean of the same slot +-``spread`` over the last ``count`` seasons (only earlier data is used)."""
    n = y.size
    total = np.zeros(n)
    seen = np.zeros(n)
    for k in range(1, count + 1):
        for d in range(-spread, spread + 1):
            lag = k * season - d
            if lag <= 0 or lag >= n:
                continue
            shifted = np.full(n, np.nan)
            shifted[lag:] = y[:-lag]
            ok = np.isfinite(shifted)
            total[ok] += shifted[ok]
            seen[ok] += 1
    with np.errstate(invalid="ignore"):
        return np.where(seen > 0, total / np.maximum(seen, 1), np.nan)


def _level_ratios(y: np.ndarray, profile: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """Observed / profile over the ``window`` steps ending at each origin, clipped to [0.5, 2]."""
    both = np.isfinite(y) & np.isfinite(profile)
    cy = np.concatenate([[0.0], np.cumsum(np.where(both, y, 0.0))])
    cp = np.concatenate([[0.0], np.cumsum(np.where(both, profile, 0.0))])
    lo = np.maximum(origins + 1 - window, 0)
    num, den = cy[origins + 1] - cy[lo], cp[origins + 1] - cp[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / den, 1.0)
    return np.clip(ratio, 0.5, 2.0)


def _fallback(values: np.ndarray, day: int) -> float:
    """Mean of the last day's observed values, used where the profile has no data at all."""
    seen = values[np.isfinite(values)]
    return float(seen[-day:].mean()) if seen.size else 0.0
