"""Server metric samples -> observations (``<metric>_mean``, ``_max``, ``_p95`` per bin) and gaps.

Each series (server, metric) has a sampling interval: the median spacing of its samples. Spacing
longer than ``GAP_FACTOR`` intervals is a gap (missing samples). A bin's coverage is the share of
its expected samples present; bins below ``min_coverage`` have no row. Granularities finer than
a series' interval are skipped for it (a 1-minute bin of 5-minute samples says nothing new).
"""

from __future__ import annotations

import polars as pl

from fleetcast.aggregate.bins import bin_start, seconds

GAP_FACTOR = 1.5
MIN_COVERAGE = 0.5  # statistics of a bin stay unbiased with missing samples, unlike log counts
STATS = ("mean", "max", "p95")


def sampling_intervals(samples: pl.DataFrame) -> pl.DataFrame:
    """Median spacing in seconds of each ``series_id, metric`` (at least 1 s).

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t = [datetime(2024, 1, 1) + timedelta(minutes=5 * k) for k in (0, 1, 2, 4)]
    >>> s = pl.DataFrame({"series_id": "a", "metric": "cpu", "ts": t, "value": 1.0})
    >>> sampling_intervals(s)["interval_s"].to_list()
    [300.0]
    """
    return (
        samples.lazy().sort("series_id", "metric", "ts")
        .with_columns(step=pl.col("ts").diff().over("series_id", "metric").dt.total_seconds())
        .group_by("series_id", "metric")
        .agg(pl.col("step").median().fill_null(0).clip(lower_bound=1).cast(pl.Float64).alias("interval_s"))
        .collect()
    )


def find_gaps(samples: pl.DataFrame, intervals: pl.DataFrame) -> pl.DataFrame:
    """Spans of missing samples: ``series_id, metric, start, end, seconds``."""
    return (
        samples.lazy().sort("series_id", "metric", "ts")
        .join(intervals.lazy(), on=["series_id", "metric"])
        .with_columns(previous=pl.col("ts").shift(1).over("series_id", "metric"))
        .filter((pl.col("ts") - pl.col("previous")).dt.total_seconds() > GAP_FACTOR * pl.col("interval_s"))
        .select(
            "series_id", "metric",
            (pl.col("previous") + pl.duration(seconds=pl.col("interval_s"))).cast(pl.Datetime("us"))
            .alias("start"),
            pl.col("ts").alias("end"),
        )
        .with_columns(seconds=(pl.col("end") - pl.col("start")).dt.total_seconds().cast(pl.Float64))
        .collect()
    )


def observations(samples: pl.DataFrame, granularities: tuple[str, ...],
                 min_coverage: float = MIN_COVERAGE) -> pl.DataFrame:
    """Observations (``series_id, metric, granularity, ts, value, coverage``) of server samples.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t = [datetime(2024, 1, 1) + timedelta(minutes=5 * k) for k in range(12)]
    >>> s = pl.DataFrame({"series_id": "a", "metric": "cpu", "ts": t, "value": [float(k) for k in range(12)]})
    >>> obs = observations(s, ("1min", "1h"))
    >>> obs.select("metric", "granularity", "value", "coverage").sort("metric").rows()
    [('cpu_max', '1h', 11.0, 1.0), ('cpu_mean', '1h', 5.5, 1.0), ('cpu_p95', '1h', 10.45, 1.0)]
    """
    intervals = sampling_intervals(samples)
    frames = []
    for granularity in granularities:
        width = seconds(granularity)
        binned = (
            samples.lazy()
            .join(intervals.lazy().filter(pl.col("interval_s") <= width), on=["series_id", "metric"])
            .group_by("series_id", "metric", bin_start(pl.col("ts"), width).alias("ts"))
            .agg(
                pl.col("value").mean().alias("mean"), pl.col("value").max().alias("max"),
                pl.col("value").quantile(0.95, "linear").alias("p95"),
                (pl.len() * pl.col("interval_s").first() / width).clip(upper_bound=1.0).alias("coverage"),
            )
            .filter(pl.col("coverage") >= min_coverage)
            .unpivot(index=["series_id", "metric", "ts", "coverage"], on=list(STATS),
                     variable_name="stat", value_name="value")
            .select("series_id", pl.format("{}_{}", "metric", "stat").alias("metric"),
                    pl.lit(granularity).alias("granularity"), "ts", "value", "coverage")
        )
        frames.append(binned)
    return pl.concat(pl.collect_all(frames)).sort("series_id", "metric", "granularity", "ts")
