"""Access-log request bins -> observations and gaps.

A silence in the log is a *gap* (unlogged time, an outage) rather than zero traffic when the
request rate around it makes the silence implausible: with rate ``r`` requests/s, a silence of
``s`` seconds has probability ``exp(-r*s)`` under Poisson arrivals; below ``GAP_PROBABILITY`` it is
a gap. Gaps produce no rows; bins the log covers with no request are real zeros. A bin keeps its
row only when at least ``min_coverage`` of it was logged (a half-logged bin undercounts).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from fleetcast.aggregate.bins import bin_start, covered_seconds, seconds

METRICS = ("request_count", "bytes_total", "bytes_mean", "error_rate_4xx", "error_rate_5xx",
           "unique_hosts")
GAP_PROBABILITY = 1e-6
RATE_WINDOW_BINS = 30  # non-empty bins each side used to estimate the rate around a silence
MIN_COVERAGE = 0.8


def find_gaps(bins: pl.DataFrame, base_seconds: int = 60) -> pl.DataFrame:
    """Silences in one series' request bins that are gaps, as ``start, end, seconds, expected``.

    ``bins`` holds one series, sorted by ``ts``, with ``requests``, ``first_seen``, ``last_seen``.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> minutes = [0, 1, 2, 3, 50, 51, 52]  # 46 silent minutes at ~60 requests/min
    >>> bins = pl.DataFrame({"ts": [t0 + timedelta(minutes=m) for m in minutes],
    ...     "requests": [60] * 7,
    ...     "first_seen": [t0 + timedelta(minutes=m) for m in minutes],
    ...     "last_seen": [t0 + timedelta(minutes=m, seconds=59) for m in minutes]})
    >>> find_gaps(bins).select("start", "end").rows()
    [(datetime.datetime(2024, 1, 1, 0, 4), datetime.datetime(2024, 1, 1, 0, 50))]
    """
    schema = {"start": pl.Datetime("us"), "end": pl.Datetime("us"), "seconds": pl.Float64,
              "expected": pl.Float64}
    if bins.height < 2:
        return pl.DataFrame(schema=schema)
    first = bins["first_seen"].dt.epoch("s").to_numpy()
    last = bins["last_seen"].dt.epoch("s").to_numpy()
    requests = bins["requests"].to_numpy().astype(float)
    silence = (first[1:] - last[:-1] - 1).astype(float)  # whole seconds with no request
    rate = _rate_around(first, last, requests, silence)
    expected = rate * silence
    is_gap = (silence >= base_seconds) & (expected > -math.log(GAP_PROBABILITY))
    idx = np.flatnonzero(is_gap)
    start = (last[idx] + 1) * 1_000_000
    end = first[idx + 1] * 1_000_000
    return pl.DataFrame({
        "start": pl.Series(start, dtype=pl.Int64).cast(pl.Datetime("us")),
        "end": pl.Series(end, dtype=pl.Int64).cast(pl.Datetime("us")),
        "seconds": silence[idx], "expected": expected[idx],
    }, schema=schema)


def _rate_around(first: np.ndarray, last: np.ndarray, requests: np.ndarray, silence: np.ndarray
                 ) -> np.ndarray:
    """Requests per second in the bins around each silence, the silence itself left out."""
    n = len(requests)
    cum = np.concatenate([[0.0], np.cumsum(requests)])
    i = np.arange(n - 1)
    lo = np.maximum(i - RATE_WINDOW_BINS + 1, 0)
    hi = np.minimum(i + RATE_WINDOW_BINS, n - 1)
    total = cum[hi + 1] - cum[lo]
    span = (last[hi] + 1 - first[lo]) - silence
    return total / np.maximum(span, 1.0)


def observations(bins: pl.DataFrame, gaps: pl.DataFrame, granularities: tuple[str, ...],
                 min_coverage: float = MIN_COVERAGE, base_seconds: int = 60) -> pl.DataFrame:
    """Observations (``series_id, metric, granularity, ts, value, coverage``) of one log series.

    ``bins`` are one series' merged ``base_seconds`` request bins (one row per bin).
    """
    series_id = bins["series_id"][0]
    begin = int(bins["first_seen"].dt.epoch("s").min())  # type: ignore[arg-type]
    end = int(bins["last_seen"].dt.epoch("s").max()) + 1  # type: ignore[arg-type]
    spans = _logged_spans(begin, end, gaps)
    frames = []
    for granularity in granularities:
        width = seconds(granularity)
        grid = np.arange(begin - begin % width, end, width)
        coverage = covered_seconds(grid, width, spans) / width
        keep = coverage >= min_coverage
        logged = pl.DataFrame({"ts": pl.Series(grid[keep] * 1_000_000).cast(pl.Datetime("us")),
                               "coverage": coverage[keep]})
        totals = _totals(bins, width, width == base_seconds)
        wide = logged.join(totals, on="ts", how="left").with_columns(
            pl.col(c).fill_null(0) for c in totals.columns if c != "ts")
        frames.append(_long(wide, series_id, granularity))
    return pl.concat(frames)


def _logged_spans(begin: int, end: int, gaps: pl.DataFrame) -> np.ndarray:
    edges = [begin]
    for start, stop in zip(gaps["start"].dt.epoch("s"), gaps["end"].dt.epoch("s"), strict=True):
        edges += [start, stop]
    edges.append(end)
    return np.array(edges, dtype=np.int64).reshape(-1, 2)


def _totals(bins: pl.DataFrame, width: int, one_bin_each: bool) -> pl.DataFrame:
    counts = ["requests", "bytes_sum", "bytes_n", "status_4xx", "status_5xx"]
    if one_bin_each:  # the hosts of a bin are distinct already: no need to unpack them
        return bins.select(bin_start(pl.col("ts"), width).alias("ts"), *counts,
                           pl.col("hosts").list.drop_nulls().list.len().alias("unique_hosts"))
    return (
        bins.lazy().group_by(bin_start(pl.col("ts"), width).alias("ts"))
        .agg(*[pl.col(c).sum() for c in counts],
             pl.col("hosts").list.explode().drop_nulls().n_unique().alias("unique_hosts"))
        .collect()
    )


def _long(wide: pl.DataFrame, series_id: str, granularity: str) -> pl.DataFrame:
    n = pl.col("requests")
    some = n > 0
    values = wide.select(
        "ts", "coverage",
        n.cast(pl.Float64).alias("request_count"),
        pl.col("bytes_sum").cast(pl.Float64).alias("bytes_total"),
        pl.when(pl.col("bytes_n") > 0).then(pl.col("bytes_sum") / pl.col("bytes_n")).alias("bytes_mean"),
        pl.when(some).then(pl.col("status_4xx") / n).alias("error_rate_4xx"),
        pl.when(some).then(pl.col("status_5xx") / n).alias("error_rate_5xx"),
        pl.col("unique_hosts").cast(pl.Float64),
    )
    return (
        values.unpivot(index=["ts", "coverage"], variable_name="metric", value_name="value")
        .drop_nulls("value")
        .select(pl.lit(series_id).alias("series_id"), "metric", pl.lit(granularity).alias("granularity"),
                "ts", "value", "coverage")
    )
