"""Capacity planning: each server's and metric's daily P95, forecast 30-90 days ahead with its growth.

The daily P95 is taken over the day's bins at the finest granularity available (bins logged or
sampled for less than ``min_coverage`` of their length are left out, and days with less than
``min_coverage`` of their bins are gaps). The forecast uses the same engine as operational forecasts
at a daily frequency; a per-series linear trend is removed before modelling and extrapolated (trees
cannot extrapolate growth by themselves), and the conformal residual distribution gives calibrated
quantiles and exceedance probabilities for risk flags.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from fleetcast.forecast.engine import ForecastResult, fit_forecast
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.model import ModelConfig

SEP = "\x1f"
DAILY = {"1min": 1440, "5min": 288, "15min": 96, "1h": 24}


def daily_p95(observations: pl.DataFrame, *, min_coverage: float = 0.8) -> pl.DataFrame:
    """``series_id, metric, ts (day), value``: the P95 of each day's bins, finest granularity first.

    ``observations`` has ``series_id, metric, granularity, ts, value`` and optionally ``coverage``.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> obs = pl.DataFrame({"series_id": "web-1", "metric": "cpu", "granularity": "1h",
    ...                     "ts": [datetime(2024, 1, 1) + timedelta(hours=h) for h in range(48)],
    ...                     "value": [float(h % 24) for h in range(48)]})
    >>> daily_p95(obs)["value"].round(2).to_list()
    [21.85, 21.85]
    """
    obs = observations.filter(pl.col("granularity").is_in(list(DAILY)) & pl.col("value").is_not_null())
    if "coverage" in obs.columns:
        obs = obs.filter(pl.col("coverage").fill_null(1.0) >= min_coverage)
    finest = obs.group_by("series_id", "metric").agg(
        pl.col("granularity").sort_by(pl.col("granularity").replace_strict(DAILY, return_dtype=pl.Int64))
        .last().alias("use"))
    obs = obs.join(finest, on=["series_id", "metric"]).filter(pl.col("granularity") == pl.col("use"))
    days = obs.group_by("series_id", "metric", pl.col("ts").dt.truncate("1d").alias("ts")).agg(
        pl.col("value").quantile(0.95, interpolation="linear").alias("value"),
        pl.len().alias("bins"),
        pl.col("granularity").first().replace_strict(DAILY, return_dtype=pl.Int64).alias("expected"),
    )
    return (days.filter(pl.col("bins") >= min_coverage * pl.col("expected"))
            .select("series_id", "metric", "ts", "value").sort("series_id", "metric", "ts"))


@dataclass
class CapacityForecast:
    """Daily P95 forecasts per series and metric, with calibrated quantiles and exceedance odds."""

    result: ForecastResult
    history: pl.DataFrame

    @property
    def forecasts(self) -> pl.DataFrame:
        """``series_id, metric, ts, step, yhat, lo80, hi80, lo95, hi95, model, model_version``."""
        return _split(self.result.forecasts)

    @property
    def backtest(self) -> pl.DataFrame:
        return _split(self.result.backtest)

    @property
    def skipped(self) -> dict[tuple[str, str], str]:
        return {tuple(k.split(SEP, 1)): v for k, v in self.result.skipped.items()}

    def prob_above(self, threshold: float | dict[tuple[str, str], float]) -> pl.DataFrame:
        """P(daily P95 > threshold) per series, metric and day; thresholds per (series, metric) or one."""
        if isinstance(threshold, dict):
            threshold = {f"{s}{SEP}{m}": v for (s, m), v in threshold.items()}
        return _split(self.result.prob_above(threshold))

    def quantiles(self, probs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pl.DataFrame:
        """Calibrated quantiles of each future daily P95 (columns ``q0.05``, ``q0.5``...)."""
        return _split(self.result.quantiles(probs))


def forecast_daily_p95(observations: pl.DataFrame, horizon_days: int = 90, *, config: ModelConfig | None = None,
                       min_coverage: float = 0.8) -> CapacityForecast:
    """Forecast every series' and metric's daily P95 ``horizon_days`` ahead, with growth trends.

    Parameters
    ----------
    observations
        The ``observations`` table (or any frame with ``series_id, metric, granularity, ts, value``
        and optionally ``coverage``); sub-daily granularities are used.
    horizon_days
        Days to forecast (30 and 90 are the planning horizons). Series with less than
        ``horizon_days + 28`` days of history are skipped (listed in ``skipped``).

    Examples
    --------
    >>> import numpy as np
    >>> from datetime import datetime, timedelta
    >>> hours = np.arange(24 * 150)
    >>> cpu = 30 + 0.01 * hours + 10 * np.sin(2 * np.pi * hours / 24)
    >>> obs = pl.DataFrame({"series_id": "db-1", "metric": "cpu", "granularity": "1h",
    ...                     "ts": [datetime(2024, 1, 1) + timedelta(hours=int(h)) for h in hours],
    ...                     "value": cpu})
    >>> cap = forecast_daily_p95(obs, 30, config=ModelConfig(num_threads=1, n_estimators=50))
    >>> cap.forecasts.height, cap.forecasts["metric"][0]
    (30, 'cpu')
    >>> bool(cap.forecasts["yhat"][-1] > obs["value"].max())   # growth is extrapolated
    True
    """
    history = daily_p95(observations, min_coverage=min_coverage)
    long = history.select((pl.col("series_id") + SEP + pl.col("metric")).alias("series_id"), "ts", "value")
    result = fit_forecast(long, horizon_days, Frequency.parse("1d"),
                          config=config or ModelConfig(trend="auto"))
    return CapacityForecast(result, history)


def _split(frame: pl.DataFrame) -> pl.DataFrame:
    parts = pl.col("series_id").str.split_exact(SEP, 1)
    return frame.with_columns(parts.struct.field("field_0").alias("series_id"),
                              parts.struct.field("field_1").alias("metric")).select(
        "series_id", "metric", pl.exclude("series_id", "metric"))
