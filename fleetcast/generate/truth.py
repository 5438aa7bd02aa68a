"""Ground truth of a generated fleet: which server metrics cross 80% / 90% and when.

Capacity planning looks at the daily P95 of each metric: the 95th percentile (linear
interpolation, as ``numpy.percentile``) of the samples within one UTC day. A metric *crosses* a
threshold on the first future day whose daily P95 is strictly above it. "Within 30 days" means
on one of the first 30 UTC days after the end of the history.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

KEYS = ("timestamp", "server_id")


def daily_p95(frame: pl.DataFrame) -> pl.DataFrame:
    """Daily P95 per server and metric of a wide metrics frame, in long form.

    Returns columns ``server_id, metric, date, p95``, sorted.

    Examples
    --------
    >>> from datetime import datetime
    >>> frame = pl.DataFrame({
    ...     "timestamp": [datetime(2025, 1, 1, h) for h in range(24)],
    ...     "server_id": ["web-01"] * 24,
    ...     "cpu": [float(h) for h in range(24)],
    ... })
    >>> daily_p95(frame).with_columns(pl.col("p95").round(2)).rows()
    [('web-01', 'cpu', datetime.date(2025, 1, 1), 21.85)]
    """
    metrics = [c for c in frame.columns if c not in KEYS]
    wide = frame.group_by("server_id", pl.col("timestamp").dt.date().alias("date")).agg(
        pl.col(m).quantile(0.95, interpolation="linear") for m in metrics)
    long = wide.unpivot(index=["server_id", "date"], variable_name="metric", value_name="p95")
    return long.select("server_id", "metric", "date", "p95").sort("server_id", "metric", "date")


def _exact_mean(column: str) -> pl.Expr:
    """Mean over micro-units summed as integers: the same bits whatever order threads add in."""
    micro = (pl.col(column) * 1e6).round().cast(pl.Int64)
    return (micro.sum() / pl.col(column).count() / 1e6).alias(column)


def compute_truth(history: pl.DataFrame, future: pl.DataFrame, *,
                  thresholds: tuple[float, ...] = (80.0, 90.0), windows: tuple[int, ...] = (30, 90),
                  underutilised_below: float = 40.0) -> pl.DataFrame:
    """Per server and metric: threshold crossings in ``future``, history mean and underutilisation.

    Parameters
    ----------
    history, future
        Wide metrics frames (``timestamp, server_id`` and one column per metric); ``future`` starts
        at midnight right after the last day of ``history``.
    thresholds
        Percent levels; each gives ``first_cross_<t>`` (date of the first future day whose daily
        P95 is above it, null when none) and ``crosses_<t>_within_<w>d`` for each of ``windows``.
    windows
        Horizons in days, counted from the first future day.
    underutilised_below
        ``underutilised`` is true when the history mean is below this level.

    Returns
    -------
    polars.DataFrame
        ``server_id, metric, history_mean, underutilised, history_max_p95_30d, future_max_p95``,
        then the crossing columns; one row per server and metric, sorted. ``history_mean`` is
        summed in integer micro-units, so it is reproducible to the bit (and exact to 1e-6).
        ``history_max_p95_30d`` is the worst daily P95 of the last 30 days of history (what a
        "last month" rule looks at).

    Examples
    --------
    >>> from datetime import datetime
    >>> def day(d, level):
    ...     return pl.DataFrame({"timestamp": [datetime(2025, 1, d, h) for h in range(24)],
    ...                          "server_id": ["db-01"] * 24, "memory": [level] * 24})
    >>> history = day(1, 70.0)
    >>> future = pl.concat([day(2, 75.0), day(3, 85.0)])
    >>> truth = compute_truth(history, future)
    >>> truth.select("history_mean", "first_cross_80", "crosses_80_within_30d",
    ...              "crosses_90_within_30d").row(0)
    (70.0, datetime.date(2025, 1, 3), True, False)
    """
    metrics = [c for c in history.columns if c not in KEYS]
    first_day = future["timestamp"].min().date()
    last_history_day = history["timestamp"].max().date()
    future_days = daily_p95(future).with_columns(day=(pl.col("date") - pl.lit(first_day)).dt.total_days())
    recent = daily_p95(history).filter(pl.col("date") > last_history_day - timedelta(days=30))
    per_metric = [
        history.group_by("server_id").agg(_exact_mean(m) for m in metrics)
        .unpivot(index="server_id", variable_name="metric", value_name="history_mean"),
        recent.group_by("server_id", "metric").agg(history_max_p95_30d=pl.col("p95").max()),
        future_days.group_by("server_id", "metric").agg(
            pl.col("p95").max().alias("future_max_p95"),
            *[pl.col("date").filter(pl.col("p95") > t).min().alias(f"first_cross_{t:g}") for t in thresholds],
            *[pl.col("day").filter(pl.col("p95") > t).min().alias(f"_day_{t:g}") for t in thresholds],
        ),
    ]
    truth = per_metric[0].join(per_metric[1], on=["server_id", "metric"], how="left")
    truth = truth.join(per_metric[2], on=["server_id", "metric"], how="left")
    crossings = [
        (pl.col(f"_day_{t:g}") < w).fill_null(False).alias(f"crosses_{t:g}_within_{w}d")
        for t in thresholds for w in windows
    ]
    order = ["server_id", "metric", "history_mean", "underutilised", "history_max_p95_30d", "future_max_p95",
             *[f"crosses_{t:g}_within_{w}d" for t in thresholds for w in windows],
             *[f"first_cross_{t:g}" for t in thresholds]]
    return (
        truth.with_columns(*crossings, underutilised=pl.col("history_mean") < underutilised_below)
        .select(order)
        .sort("server_id", "metric")
    )
