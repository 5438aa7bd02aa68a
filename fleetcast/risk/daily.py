"""Daily capacity statistics of server metrics: each day's P95 and mean, from samples or bins.

Capacity planning looks at the daily P95 of each metric: the 95th percentile (linear
interpolation) of the values within one UTC day. Days with less than ``min_coverage`` of their
expected values (from the series' sampling interval) are left out: a half-logged day's P95 says
little about the day. The same function serves raw samples (``fleetcast risk``) and observation
bins at the series' finest granularity (the pipeline), whose ``<metric>_mean`` values are the
samples when bins match the sampling interval.
"""

from __future__ import annotations

import polars as pl

DAY_SECONDS = 86_400
KEYS = ("series_id", "metric")


def daily_stats(points: pl.DataFrame, *, min_coverage: float = 0.8) -> pl.DataFrame:
    """``series_id, metric, day, p95, mean, values`` per full-enough UTC day, sorted.

    ``points`` has ``series_id, metric, ts, value``; nulls are ignored.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> ts = [datetime(2024, 1, 1) + timedelta(hours=h) for h in range(36)]
    >>> pts = pl.DataFrame({"series_id": "web-1", "metric": "cpu", "ts": ts,
    ...                     "value": [float(h % 24) for h in range(36)]})
    >>> daily_stats(pts).select("day", pl.col("p95").round(2), "mean").rows()  # day 2: 12 of 24 hours, left out
    [(datetime.date(2024, 1, 1), 21.85, 11.5)]
    """
    points = points.filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
    spacing = (points.lazy().sort(*KEYS, "ts")
               .group_by(*KEYS).agg(pl.col("ts").diff().dt.total_seconds().median().alias("interval_s")))
    days = (points.lazy().group_by(*KEYS, pl.col("ts").dt.date().alias("day"))
            .agg(pl.col("value").quantile(0.95, interpolation="linear").alias("p95"),
                 pl.col("value").mean().alias("mean"), pl.len().alias("values")))
    expected = DAY_SECONDS / pl.col("interval_s").clip(1, DAY_SECONDS)
    return (days.join(spacing, on=list(KEYS))  # a lone sample has no spacing: its days are not judged
            .filter(pl.col("interval_s").is_not_null() & (pl.col("values") >= min_coverage * expected))
            .select(*KEYS, "day", "p95", "mean", "values")
            .sort(*KEYS, "day").collect())


def finest_means(observations: pl.DataFrame) -> pl.DataFrame:
    """Points (``series_id, metric, ts, value``) for :func:`daily_stats` from the ``observations`` table.

    Takes each server metric's ``<metric>_mean`` at its finest sub-daily granularity and renames it
    ``<metric>``. Only server metrics (those with ``_mean``, ``_max`` and ``_p95`` statistics) are
    capacity metrics: an access log's ``bytes_mean`` is not a utilisation.
    """
    order = {"1min": 0, "5min": 1, "15min": 2, "1h": 3}
    servers = (observations.filter(pl.col("metric").str.ends_with("_p95")).select(
        "series_id", pl.col("metric").str.strip_suffix("_p95").alias("base")).unique())
    means = observations.filter(pl.col("metric").str.ends_with("_mean") & pl.col("granularity").is_in(list(order)))
    means = means.join(servers, left_on=["series_id", pl.col("metric").str.strip_suffix("_mean")],
                       right_on=["series_id", "base"], how="semi")
    rank = pl.col("granularity").replace_strict(order, return_dtype=pl.Int8)
    finest = means.group_by(*KEYS).agg(rank.min().alias("rank"))
    return (means.with_columns(rank.alias("rank")).join(finest, on=[*KEYS, "rank"])
            .select("series_id", pl.col("metric").str.strip_suffix("_mean"), "ts", "value"))
