"""Staging rows of some shards -> their ``observations`` and ``gaps`` (``refresh_shard``, many shards at once).

As :func:`fleetcast.pipeline.ingest.refresh_shard`: request bins of all sources are merged per series and
bin; metric samples repeated across sources keep the one from the first source in file order (the
smallest ``source_id``); observations and gaps are a pure function of the shard's staging rows.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from fleetcast.spark.log_series import COUNTS, DEFAULT_GRANULARITIES, log_gaps, log_observations, merge_log_bins
from fleetcast.spark.server_series import sampling_intervals, server_gaps, server_observations

GAP_COLUMNS = ("shard", "series_id", "metric", "kind", "start", "end", "seconds", "expected")


def shard_tables(log_bins: DataFrame | None, samples: DataFrame | None, run_id: str,
                 granularities: tuple[str, ...] = DEFAULT_GRANULARITIES) -> tuple[DataFrame | None, DataFrame | None]:
    """``observations`` and ``gaps`` rows (with ``shard`` and ``run_id``) of the shards in the staging rows.

    ``log_bins``: the ``log_bins`` rows of the shards with ``shard``; ``samples``: the ``metric_samples``
    rows with ``shard`` and ``source_id``. Either may be None (no staging of that kind).

    Examples
    --------
    >>> observations, gaps = shard_tables(bins, None, "run-1", ("1h",))  # doctest: +SKIP
    """
    observations, gaps = [], []
    if log_bins is not None:
        merged = merge_log_bins(log_bins.select("shard", "series_id", "ts", *COUNTS, "first_seen", "last_seen",
                                                "hosts"))
        found = log_gaps(merged)
        observations.append(_with_shard(log_observations(merged, found, granularities), merged))
        gaps.append(_with_shard(found, merged).select(
            "shard", "series_id", F.lit(None).cast("string").alias("metric"), F.lit("unlogged").alias("kind"),
            "start", "end", "seconds", "expected"))
    if samples is not None:
        first = Window.partitionBy("series_id", "metric", "ts").orderBy("source_id")
        unique = samples.select("*", F.row_number().over(first).alias("_n")).filter("_n = 1") \
            .select("shard", "series_id", "metric", "ts", "value")
        intervals = sampling_intervals(unique)
        observations.append(_with_shard(server_observations(unique, granularities, intervals=intervals), unique))
        gaps.append(_with_shard(server_gaps(unique, intervals), unique).select(
            "shard", "series_id", "metric", F.lit("missing_samples").alias("kind"), "start", "end", "seconds",
            F.lit(None).cast("double").alias("expected")))
    if not observations:
        return None, None
    return (_union(observations).withColumn("run_id", F.lit(run_id)),
            _union(gaps).withColumn("run_id", F.lit(run_id)))


def _with_shard(rows: DataFrame, staged: DataFrame) -> DataFrame:
    shards = F.broadcast(staged.select("series_id", "shard").distinct())
    return rows.join(shards, "series_id")


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out
