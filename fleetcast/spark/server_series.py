"""Server metric samples -> observations (``<metric>_mean``, ``_max``, ``_p95`` per bin) and gaps.

The rules of :mod:`fleetcast.aggregate.servers`: each series (server, metric) has a sampling interval,
the median spacing of its samples; a spacing longer than ``GAP_FACTOR`` intervals is a gap; a bin keeps
its row when its samples cover ``MIN_COVERAGE`` of it; granularities finer than the interval are skipped.

Statistics are exact: the p95 interpolates linearly between the sorted values exactly as polars'
``quantile(0.95, "linear")`` does (``lo + (hi - lo) * (pos - floor(pos))``, ``pos = 0.95 * (n - 1)``),
the maximum is the largest value, and the mean is a compensated (Neumaier) sum of the sorted values,
so it does not depend on the order Spark meets the rows (polars sums pairwise: the two agree to a few
units in the last place, not always bit for bit). Coverage reproduces polars' arithmetic exactly.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fleetcast.spark.log_series import DEFAULT_GRANULARITIES, _widths
from fleetcast.spark.schemas import epoch_micros, epoch_seconds, from_micros, from_seconds

GAP_FACTOR = 1.5  # fleetcast.aggregate.servers
MIN_COVERAGE = 0.5
STATS = ("mean", "max", "p95")


def sampling_intervals(samples: DataFrame) -> DataFrame:
    """Median spacing in whole seconds of each ``series_id, metric`` (at least 1 s), as ``interval_s``.

    Examples
    --------
    >>> sampling_intervals(samples).collect()  # doctest: +SKIP
    [Row(series_id='a', metric='cpu', interval_s=300.0)]
    """
    order = Window.partitionBy("series_id", "metric").orderBy("ts")
    step = epoch_micros(F.col("ts")) - F.lag(epoch_micros(F.col("ts"))).over(order)
    steps = samples.select("series_id", "metric", _truncated_seconds(step).alias("step"))
    return steps.groupBy("series_id", "metric").agg(
        quantile(F.array_sort(F.collect_list("step").cast("array<double>")), 0.5).alias("median")
    ).select("series_id", "metric", F.greatest(F.coalesce("median", F.lit(0.0)), F.lit(1.0)).alias("interval_s"))


def server_observations(samples: DataFrame, granularities: tuple[str, ...] = DEFAULT_GRANULARITIES,
                        min_coverage: float = MIN_COVERAGE, intervals: DataFrame | None = None) -> DataFrame:
    """Observations ``series_id, metric, granularity, ts, value, coverage`` of samples (one value per
    series, metric and time)."""
    intervals = sampling_intervals(samples) if intervals is None else intervals
    epoch = epoch_seconds(F.col("ts"))
    tagged = samples.join(intervals, ["series_id", "metric"]).select("*", _widths(granularities)) \
        .select("*", "g.*").filter(F.col("interval_s") <= F.col("width"))
    binned = tagged.groupBy("series_id", "metric", "granularity", "width",
                            (epoch - F.pmod(epoch, F.col("width"))).alias("bin")).agg(
        F.array_sort(F.collect_list("value")).alias("values"), F.first("interval_s").alias("interval_s"))
    n = F.size("values")
    # polars divides a column by a literal as a multiplication by its reciprocal, except when the
    # aggregation has a single group (a scalar): the same arithmetic here, bit for bit
    single = F.count(F.lit(1)).over(Window.partitionBy("granularity")) == 1
    share = n.cast("double") * F.col("interval_s")
    share = F.when(single, share / F.col("width")).otherwise(share * (F.lit(1.0) / F.col("width")))
    stats = binned.select(
        "series_id", "metric", "granularity", from_seconds(F.col("bin")).alias("ts"),
        F.least(share, F.lit(1.0)).alias("coverage"),
        (exact_sum(F.col("values")) / n).alias("mean"), F.element_at("values", -1).alias("max"),
        quantile(F.col("values"), 0.95).alias("p95"),
    ).filter(F.col("coverage") >= min_coverage)
    return stats.unpivot(["series_id", "metric", "granularity", "ts", "coverage"], list(STATS), "stat", "value") \
        .select("series_id", F.concat_ws("_", "metric", "stat").alias("metric"), "granularity", "ts", "value",
                "coverage")


def server_gaps(samples: DataFrame, intervals: DataFrame | None = None) -> DataFrame:
    """Spans of missing samples: ``series_id, metric, start, end, seconds``."""
    intervals = sampling_intervals(samples) if intervals is None else intervals
    order = Window.partitionBy("series_id", "metric").orderBy("ts")
    micros = epoch_micros(F.col("ts"))
    steps = samples.join(intervals, ["series_id", "metric"]).select(
        "series_id", "metric", "interval_s", micros.alias("at"), F.lag(micros).over(order).alias("previous"))
    found = steps.filter(_truncated_seconds(F.col("at") - F.col("previous")) > GAP_FACTOR * F.col("interval_s"))
    start = F.col("previous") + (F.col("interval_s") * 1_000_000).cast("long")
    return found.select("series_id", "metric", from_micros(start).alias("start"), from_micros(F.col("at")).alias("end"),
                        _truncated_seconds(F.col("at") - start).cast("double").alias("seconds"))


def quantile(sorted_values: Column, q: float) -> Column:
    """Linear-interpolation quantile of a sorted array, the way polars computes it (null when empty)."""
    n = F.size(sorted_values)
    position = (n - 1).cast("double") * F.lit(q)
    low = F.floor(position)
    lower = F.element_at(sorted_values, (low + 1).cast("int"))
    upper = F.element_at(sorted_values, F.least(low + 2, n).cast("int"))
    value = F.when(lower == upper, lower).otherwise((position - low) * (upper - lower) + lower)
    return F.when(n > 0, value)


def exact_sum(values: Column) -> Column:
    """Neumaier-compensated sum of an array of doubles (in array order)."""
    def step(acc: Column, x: Column) -> Column:
        total = acc["s"] + x
        lost = F.when(F.abs(acc["s"]) >= F.abs(x), (acc["s"] - total) + x).otherwise((x - total) + acc["s"])
        return F.struct(total.alias("s"), (acc["c"] + lost).alias("c"))

    start = F.struct(F.lit(0.0).alias("s"), F.lit(0.0).alias("c"))
    return F.aggregate(values, start, step, lambda acc: acc["s"] + acc["c"])


def _truncated_seconds(micros: Column) -> Column:
    """Whole seconds of a duration in microseconds, truncated towards zero (polars ``total_seconds``)."""
    return F.when(micros >= 0, F.floor(micros / 1_000_000)).otherwise(-F.floor(-micros / 1_000_000))
