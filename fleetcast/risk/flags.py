"""Capacity risk flags per server, metric and horizon, from the daily-P95 outlook.

Levels (thresholds and horizons configurable, :class:`RiskConfig`):

- ``very_high``: the daily P95 is likely (``decide_at``, 50 % by default) to exceed 90 % on some day
  within the horizon;
- ``high``: likewise above 80 %;
- ``underutilised``: not high, and the average over the last 30 days is under 40 % (a
  consolidation candidate);
- ``normal`` otherwise.

"Likely to exceed on some day" combines the days' calibrated exceedance probabilities: the chance
that at least one day of the horizon is above, counting days as independent but never less likely
than the single most likely day. The first breach date is the day by which that chance reaches
``decide_at`` (the median time to the first breach).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from fleetcast.risk.outlook import MODEL_VERSION, Outlook, capacity_outlook

LEVELS = ("very_high", "high", "underutilised", "normal")
COLUMNS = ("series_id", "metric", "horizon_days", "level", "predicted_p95", "breach_probability", "threshold",
           "first_breach_date", "days_to_breach", "recent_p95", "average_utilisation", "model_version", "reason")


@dataclass(frozen=True)
class RiskConfig:
    """Thresholds (percent), horizons (days) and the probability at which a level is flagged."""

    very_high: float = 90.0
    high: float = 80.0
    underutilised: float = 40.0
    horizons: tuple[int, ...] = (30, 90)
    recent_days: int = 30
    decide_at: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.underutilised < self.high < self.very_high:
            raise ValueError("thresholds must satisfy 0 <= underutilised < high < very_high")
        if not self.horizons or min(self.horizons) < 1:
            raise ValueError("horizons must be positive numbers of days")
        if not 0 < self.decide_at < 1:
            raise ValueError("decide_at must be a probability strictly between 0 and 1")


@dataclass(frozen=True)
class Assessment:
    """``flags`` (:data:`COLUMNS`, one row per series, metric and horizon) and the daily-P95
    ``forecasts`` of the longest horizon they were made from (``series_id, metric, ts, step, yhat,
    lo80, hi80, lo95, hi95, model, model_version``)."""

    flags: pl.DataFrame
    forecasts: pl.DataFrame


def assess(daily: pl.DataFrame, config: RiskConfig = RiskConfig()) -> Assessment:
    """Risk flags for every series and metric of ``daily`` and every horizon of ``config``.

    ``daily`` is :func:`fleetcast.risk.daily.daily_stats`' output (``series_id, metric, day, p95,
    mean, values``).

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> days = [date(2024, 1, 1) + timedelta(days=d) for d in range(20)]
    >>> daily = pl.DataFrame({"series_id": "db-1", "metric": "cpu", "day": days, "p95": 92.0, "mean": 70.0,
    ...                       "values": 24})
    >>> flags = assess(daily, RiskConfig(horizons=(30,))).flags
    >>> flags.select("level", "days_to_breach", "model_version").row(0)
    ('very_high', 1, 'trend-weekly-42d-v1')
    """
    if daily.is_empty():
        return Assessment(pl.DataFrame(schema=_schema()), pl.DataFrame())
    thresholds = (config.high, config.very_high)
    recent = _recent(daily, config.recent_days)
    outlook = capacity_outlook(daily, max(config.horizons), thresholds)
    frames = [_flags(outlook.head(h), h, recent, config) for h in config.horizons]
    flags = pl.concat(frames).sort("series_id", "metric", "horizon_days")
    return Assessment(flags, outlook.frame())


def any_day(prob: np.ndarray) -> np.ndarray:
    """Cumulative chance, day by day, that at least one day so far is above the threshold.

    Examples
    --------
    >>> any_day(np.array([[0.1, 0.5, 0.2]])).round(3).tolist()
    [[0.1, 0.55, 0.64]]
    """
    independent = 1.0 - np.cumprod(1.0 - np.nan_to_num(prob), axis=1)
    return np.maximum(independent, np.maximum.accumulate(np.nan_to_num(prob), axis=1))


def _flags(view: Outlook, horizon: int, recent: dict, config: RiskConfig) -> pl.DataFrame:
    cumulative = {t: any_day(p) for t, p in view.prob.items()}
    rows = []
    for i, (series, metric) in enumerate(view.keys):
        recent_p95, average, days = recent[(series, metric)]
        level, threshold = _level(cumulative, i, average, config)
        odds = cumulative[threshold if level in ("very_high", "high") else config.high][i]
        hit = np.flatnonzero(odds >= config.decide_at) if level in ("very_high", "high") else np.array([], int)
        ahead = int(hit[0]) + 1 if hit.size else None
        peak = float(view.yhat[i].max())
        row = {
            "series_id": series, "metric": metric, "horizon_days": horizon, "level": level,
            "predicted_p95": peak, "breach_probability": float(odds[-1]), "threshold": threshold,
            "first_breach_date": view.last_day[i] + timedelta(days=ahead) if ahead else None,
            "days_to_breach": ahead, "recent_p95": recent_p95, "average_utilisation": average,
            "model_version": MODEL_VERSION,
        }
        row["reason"] = _reason(row, view.method[i], days, config)
        rows.append(row)
    return pl.DataFrame(rows, schema=_schema())


def _level(cumulative: dict[float, np.ndarray], i: int, average: float, config: RiskConfig) -> tuple[str, float]:
    if cumulative[config.very_high][i, -1] >= config.decide_at:
        return "very_high", config.very_high
    if cumulative[config.high][i, -1] >= config.decide_at:
        return "high", config.high
    if average < config.underutilised:
        return "underutilised", config.underutilised
    return "normal", config.high


def _reason(row: dict, method: str, days: int, config: RiskConfig) -> str:
    metric, horizon, peak = row["metric"], row["horizon_days"], row["predicted_p95"]
    basis = f"; short history ({days} days): {method.replace('_', ' ')}" if method != "trend_weekly" else ""
    if row["level"] in ("very_high", "high"):
        when = f"by {row['first_breach_date']} (in {_days(row['days_to_breach'])})"
        return (f"{metric} daily P95 likely above {row['threshold']:g}% within {horizon} days "
                f"({row['breach_probability']:.0%}), {when}; forecast peak {peak:.0f}%, "
                f"last {config.recent_days} days' worst {row['recent_p95']:.0f}%{basis}")
    if row["level"] == "underutilised":
        return (f"{metric} averaged {row['average_utilisation']:.0f}% over the last {config.recent_days} days "
                f"(under {config.underutilised:g}%), forecast peak {peak:.0f}%: a consolidation candidate{basis}")
    return (f"{metric} forecast peak {peak:.0f}% within {horizon} days; {row['breach_probability']:.0%} chance "
            f"of a day above {config.high:g}%{basis}")


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _recent(daily: pl.DataFrame, recent_days: int) -> dict[tuple[str, str], tuple[float, float, int]]:
    """Per key: worst daily P95 and average over the last ``recent_days`` days, and days of history."""
    last = daily.group_by("series_id", "metric").agg(pl.col("day").max().alias("last"), pl.len().alias("days"))
    window = daily.join(last, on=["series_id", "metric"]).filter(
        pl.col("day") > pl.col("last") - pl.duration(days=recent_days))
    stats = window.group_by("series_id", "metric").agg(
        pl.col("p95").max().alias("recent_p95"),
        ((pl.col("mean") * pl.col("values")).sum() / pl.col("values").sum()).alias("average"),
        pl.col("days").first())
    return {(s, m): (p, a, d) for s, m, p, a, d in stats.iter_rows()}


def _schema() -> dict[str, pl.DataType]:
    return {"series_id": pl.String, "metric": pl.String, "horizon_days": pl.Int32, "level": pl.String,
            "predicted_p95": pl.Float64, "breach_probability": pl.Float64, "threshold": pl.Float64,
            "first_breach_date": pl.Date, "days_to_breach": pl.Int32, "recent_p95": pl.Float64,
            "average_utilisation": pl.Float64, "model_version": pl.String, "reason": pl.String}
