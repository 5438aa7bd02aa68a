"""The Glue job's work for one uploaded object: stage it, recompute its shards, register partitions.

The same steps as :func:`fleetcast.pipeline.ingest.ingest` for one input (ADR 0001):

1. read and check the object (nothing is written when it is unusable);
2. stage it: delete its earlier staging files (any shard), write ``log_bins/shard=S/<source_id>.parquet``
   or ``metric_samples/shard=S/<source_id>.parquet``, ``sources/<source_id>.parquet`` and
   ``rejects/<source_id>.parquet``;
3. recompute ``observations`` (every granularity) and ``gaps`` of the shards touched, from all their
   staging files, each partition replaced whole (``part.parquet``), emptied partitions removed;
4. tell the Glue catalog which partitions of the tables written now exist (when a catalog is given).

Re-running it for the same object rewrites the same files with the same rows (keyed by ``source_id``),
so a redelivered upload never duplicates anything.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fleetcast.lake import tables as t
from fleetcast.spark import configure_session
from fleetcast.spark.catalog import PartitionCatalog
from fleetcast.spark.lake import HadoopLake, Partition
from fleetcast.spark.log_series import DEFAULT_GRANULARITIES, GRANULARITIES
from fleetcast.spark.metrics import MetricsOptions
from fleetcast.spark.schemas import table_schema
from fleetcast.spark.shards import shard_tables
from fleetcast.spark.sources import (
    ACCESS_LOG,
    DEFAULT_OPTIONS,
    METRICS,
    SourceRows,
    read_log_source,
    read_metrics_source,
    source_row,
)

log = logging.getLogger(__name__)
STAGING = (t.LOG_BINS, t.METRIC_SAMPLES)
Changes = dict[str, tuple[list[Partition], list[Partition]]]  # table -> (partitions present, partitions gone)


@dataclass(frozen=True)
class AggregationResult:
    """What one run did: the source's accounting, the shards recomputed and the rows they now hold."""

    source_id: str
    kind: str
    format: str
    lines_read: int
    lines_rejected: int
    shards: list[int]
    observations: int
    gaps: int


def run_aggregation(spark: SparkSession, run_id: str, source_id: str, source_uri: str, kind: str, format: str,
                    raw_bucket: str, curated_bucket: str, database: str, lake_locations: str | Mapping[str, str], *,
                    catalog: PartitionCatalog | None = None, granularities: tuple[str, ...] = DEFAULT_GRANULARITIES,
                    series: str | None = None, metrics_options: MetricsOptions = DEFAULT_OPTIONS,
                    scratch: str | None = None) -> AggregationResult:
    """Aggregate one object into the lake whose table folders are ``lake_locations`` (JSON or a mapping).

    ``source_id`` is validation's fingerprint of the object (the staging key); ``kind`` is ``access_log``
    or ``metrics``. ``raw_bucket``, ``curated_bucket`` and ``database`` are the job's arguments, kept for
    its signature: the URIs already say where everything is, and the catalog comes with ``catalog``.
    ``format`` is validation's guess; the format recorded is the one read. Scratch files go under
    ``scratch`` (default: ``_tmp/`` beside the tables) and are removed at the end.

    Examples
    --------
    >>> run_aggregation(spark, "run-1", "0f3a9c1d2b4e5f60", "s3://raw/site/access.log", "access_log",
    ...                 "access-log", "raw", "curated", "fleetcast", locations_json,
    ...                 catalog=PartitionCatalog(boto3.client("glue"), "fleetcast"))  # doctest: +SKIP
    AggregationResult(source_id='0f3a9c1d2b4e5f60', kind='access_log', ..., shards=[5], observations=552, gaps=0)
    """
    configure_session(spark)
    locations = json.loads(lake_locations) if isinstance(lake_locations, str) else dict(lake_locations)
    root = locations[t.OBSERVATIONS.name].rstrip("/").rsplit("/", 1)[0]
    lake = HadoopLake(spark, locations, scratch or f"{root}/_tmp/{run_id}-{uuid.uuid4().hex[:8]}")
    try:
        source = _read(lake, source_uri, kind, series, metrics_options)
        try:
            row = source_row(source, source_id, source_uri, lake.size(source_uri), run_id)
            log.info("read %s: %s", source_uri, {k: v for k, v in row.items() if k != "series"})
            touched, changes = _stage(lake, source, source_id, row)
            counts = _refresh(lake, touched, run_id, granularities, changes)
        finally:
            source.release()
    finally:
        lake.delete(lake.scratch)
    if catalog is not None:
        for name, (present, gone) in changes.items():
            catalog.sync(t.TABLES[name], lake.location(t.TABLES[name]), present, gone)
    return AggregationResult(source_id, source.kind, source.format, row["lines_read"], row["lines_rejected"],
                             sorted(touched), counts[t.OBSERVATIONS.name], counts[t.GAPS.name])


def _read(lake: HadoopLake, uri: str, kind: str, series: str | None, options: MetricsOptions) -> SourceRows:
    if kind == ACCESS_LOG:
        return read_log_source(lake, uri, series)
    if kind == METRICS:
        return read_metrics_source(lake, uri, options)
    raise ValueError(f"unknown input kind {kind!r} (access_log or metrics)")


def _stage(lake: HadoopLake, source: SourceRows, source_id: str, row: dict) -> tuple[set[int], Changes]:
    """Replace what an earlier delivery of this source staged; return the shards touched and the staging
    partitions now present / emptied."""
    table = t.LOG_BINS if source.kind == ACCESS_LOG else t.METRIC_SAMPLES
    removed = {staging.name: lake.delete_key(staging, source_id) for staging in STAGING}
    written = lake.write_keyed(table, source.staged, source_id)
    lake.write_keyed(t.SOURCES, lake.spark.createDataFrame([row], schema=table_schema(t.SOURCES)), source_id)
    rejects = source.rejects.select(F.lit(source_id).alias("source_id"), F.lit(row["uri"]).alias("file"), "line",
                                    "field", "reason", "raw", F.lit(row["run_id"]).alias("run_id"))
    lake.write_keyed(t.REJECTS, rejects, source_id)
    touched = {int(p["shard"]) for p in written} | {int(p["shard"]) for ps in removed.values() for p in ps}
    changes = {}
    for staging in STAGING:
        present = written if staging is table else []
        gone = [p for p in removed[staging.name] if p not in present and not lake.has_files(staging, p)]
        changes[staging.name] = (present, gone)
    return touched, changes


def _refresh(lake: HadoopLake, shards: set[int], run_id: str, granularities: tuple[str, ...],
             changes: Changes) -> dict[str, int]:
    """Recompute observations and gaps of ``shards`` from all their staging files (adds to ``changes``)."""
    scope = [{"shard": str(s)} for s in sorted(shards)]
    bins = lake.read(t.LOG_BINS, scope)
    samples = lake.read(t.METRIC_SAMPLES, scope, with_file=True)
    if samples is not None:
        samples = samples.withColumnRenamed("source_file", "source_id")
    observations, gaps = shard_tables(bins, samples, run_id, granularities)
    scopes = {t.OBSERVATIONS.name: [{"granularity": g, **p} for g in GRANULARITIES for p in scope],
              t.GAPS.name: scope}
    counts = {}
    for table, rows in ((t.OBSERVATIONS, observations), (t.GAPS, gaps)):
        counts[table.name], changes[table.name] = _replace(lake, table, rows, scopes[table.name])
    return counts


def _replace(lake: HadoopLake, table: t.Table, rows: DataFrame | None, scope: list[Partition]
             ) -> tuple[int, tuple[list[Partition], list[Partition]]]:
    if rows is None:  # no staging left in these shards: every partition of the scope goes
        for partition in scope:
            lake.delete(lake.partition_uri(table, partition))
        return 0, ([], scope)
    rows = rows.persist()
    try:
        count = rows.count()
        return count, lake.replace_partitions(table, rows, scope)
    finally:
        rows.unpersist()
