"""Request bins -> gaps (silences too long for the traffic around them) and observations.

The rules of :mod:`fleetcast.aggregate.requests`, with windows instead of numpy:

- a silence between two consecutive bins of a series is a gap when it lasts at least a bin and the
  request rate of the ``RATE_WINDOW_BINS`` bins on each side predicts more than ``-ln(GAP_PROBABILITY)``
  requests in it (Poisson arrivals);
- every bin of the grid from the series' first to last request is kept when at least ``MIN_COVERAGE`` of
  it was logged (gaps are not logged); bins without requests are real zeros.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fleetcast.spark.schemas import epoch_seconds, from_seconds

# fleetcast.aggregate.requests and fleetcast.aggregate.bins (tests/spark checks they agree)
GAP_PROBABILITY = 1e-6
RATE_WINDOW_BINS = 30
MIN_COVERAGE = 0.8
GRANULARITIES = {"1min": 60, "5min": 300, "15min": 900, "1h": 3600, "1d": 86400}
DEFAULT_GRANULARITIES = ("1min", "5min", "15min", "1h", "1d")
LOG_METRICS = ("request_count", "bytes_total", "bytes_mean", "error_rate_4xx", "error_rate_5xx", "unique_hosts")
COUNTS = ("requests", "bytes_sum", "bytes_n", "status_2xx", "status_3xx", "status_4xx", "status_5xx")


def merge_log_bins(bins: DataFrame) -> DataFrame:
    """One row per series and bin, from several sources' bins: counts add up, hosts are unioned.

    Extra grouping columns (such as ``shard``) are kept when they depend on the series only.
    """
    keys = [c for c in bins.columns if c not in (*COUNTS, "first_seen", "last_seen", "hosts")]
    return bins.groupBy(*keys).agg(
        *[F.sum(c).alias(c) for c in COUNTS],
        F.min("first_seen").alias("first_seen"), F.max("last_seen").alias("last_seen"),
        _distinct_hosts(F.collect_list("hosts")).alias("hosts"))


def log_gaps(bins: DataFrame, base_seconds: int = 60) -> DataFrame:
    """Gaps of each series (``bins`` merged: one row per series and bin): ``series_id, start, end,
    seconds, expected``.

    Examples
    --------
    >>> log_gaps(bins).select("start", "end").collect()  # doctest: +SKIP
    [Row(start=datetime.datetime(2024, 1, 1, 0, 4), end=datetime.datetime(2024, 1, 1, 0, 50))]
    """
    order = Window.partitionBy("series_id").orderBy("ts")
    around = order.rowsBetween(-(RATE_WINDOW_BINS - 1), RATE_WINDOW_BINS)
    seen = bins.select("series_id", "ts", "requests", epoch_seconds(F.col("first_seen")).alias("first_s"),
                       epoch_seconds(F.col("last_seen")).alias("last_s"))
    silence = (F.lead("first_s").over(order) - F.col("last_s") - 1).cast("double")
    spans = seen.select(
        "series_id", "last_s", silence.alias("silence"), F.lead("first_s").over(order).alias("next_first_s"),
        F.sum("requests").over(around).cast("double").alias("total"),
        (F.last("last_s").over(around) + 1 - F.first("first_s").over(around)).alias("width"))
    rate = F.col("total") / F.greatest(F.col("width") - F.col("silence"), F.lit(1.0))
    found = spans.select("*", (rate * F.col("silence")).alias("expected")).filter(
        (F.col("silence") >= base_seconds) & (F.col("expected") > -math.log(GAP_PROBABILITY)))
    return found.select("series_id", from_seconds(F.col("last_s") + 1).alias("start"),
                        from_seconds(F.col("next_first_s")).alias("end"), F.col("silence").alias("seconds"),
                        "expected")


def log_observations(bins: DataFrame, gaps: DataFrame, granularities: tuple[str, ...] = DEFAULT_GRANULARITIES,
                     min_coverage: float = MIN_COVERAGE) -> DataFrame:
    """Observations ``series_id, metric, granularity, ts, value, coverage`` of merged request bins.

    All granularities are computed in one pass (each row is tagged with every granularity's bin).
    """
    widths = _widths(granularities)
    ranges = bins.groupBy("series_id").agg(
        F.min(epoch_seconds(F.col("first_seen"))).alias("begin"),
        (F.max(epoch_seconds(F.col("last_seen"))) + 1).alias("end"))
    grid = ranges.select("series_id", "begin", "end", widths).select(
        "series_id", "begin", "end", "g.*",
        F.explode(F.sequence(F.col("begin") - F.pmod("begin", F.col("g.width")), F.col("end") - 1,
                             F.col("g.width").cast("long"))).alias("bin"))
    gap_edges = gaps.select("series_id", epoch_seconds(F.col("start")).alias("g_start"),
                            epoch_seconds(F.col("end")).alias("g_end"), widths)
    missing = gap_edges.select(
        "series_id", "g_start", "g_end", "g.*",
        F.explode(F.sequence(F.col("g_start") - F.pmod("g_start", F.col("g.width")), F.col("g_end") - 1,
                             F.col("g.width").cast("long"))).alias("bin"),
    ).groupBy("series_id", "granularity", "bin").agg(
        F.sum(_overlap(F.col("bin"), F.col("width"), F.col("g_start"), F.col("g_end"))).alias("unlogged"))
    covered = _overlap(F.col("bin"), F.col("width"), F.col("begin"), F.col("end")) - F.coalesce("unlogged", F.lit(0))
    logged = grid.join(missing, ["series_id", "granularity", "bin"], "left").select(
        "series_id", "granularity", "width", "bin", (covered / F.col("width")).alias("coverage")
    ).filter(F.col("coverage") >= min_coverage)
    epoch = epoch_seconds(F.col("ts"))
    totals = bins.select("*", widths).select("*", "g.*").groupBy(
        "series_id", "granularity", (epoch - F.pmod(epoch, F.col("width"))).alias("bin")
    ).agg(*[F.sum(c).alias(c) for c in ("requests", "bytes_sum", "bytes_n", "status_4xx", "status_5xx")],
          F.size(_distinct_hosts(F.collect_list("hosts"))).alias("unique_hosts"))
    wide = logged.join(totals, ["series_id", "granularity", "bin"], "left").fillna(
        0, ["requests", "bytes_sum", "bytes_n", "status_4xx", "status_5xx", "unique_hosts"])
    n, some = F.col("requests"), F.col("requests") > 0
    values = wide.select(
        "series_id", "granularity", from_seconds(F.col("bin")).alias("ts"), "coverage",
        n.cast("double").alias("request_count"),
        F.col("bytes_sum").cast("double").alias("bytes_total"),
        F.when(F.col("bytes_n") > 0, F.col("bytes_sum") / F.col("bytes_n")).alias("bytes_mean"),
        F.when(some, F.col("status_4xx") / n).alias("error_rate_4xx"),
        F.when(some, F.col("status_5xx") / n).alias("error_rate_5xx"),
        F.col("unique_hosts").cast("double").alias("unique_hosts"))
    return values.unpivot(["series_id", "granularity", "ts", "coverage"], list(LOG_METRICS), "metric", "value") \
        .filter(F.col("value").isNotNull()) \
        .select("series_id", "metric", "granularity", "ts", "value", "coverage")


def _widths(granularities: tuple[str, ...]) -> Column:
    unknown = [g for g in granularities if g not in GRANULARITIES]
    if unknown:
        raise ValueError(f"unknown granularity {unknown[0]!r} (use one of {', '.join(GRANULARITIES)})")
    return F.explode(F.array(*[F.struct(F.lit(g).alias("granularity"), F.lit(GRANULARITIES[g]).alias("width"))
                               for g in granularities])).alias("g")


def _overlap(bin_start: Column, width: Column, begin: Column, end: Column) -> Column:
    """Seconds of ``[bin_start, bin_start + width)`` inside ``[begin, end)``."""
    return F.greatest(F.least(bin_start + width, end) - F.greatest(bin_start, begin), F.lit(0))


def _distinct_hosts(lists: Column) -> Column:
    """The distinct non-null hosts of a list of host lists."""
    return F.array_distinct(F.filter(F.flatten(lists), lambda host: host.isNotNull()))
