"""Comparing what the local engine and the Spark transforms wrote or returned."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from pyspark.sql import DataFrame

from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.sources import read_source
from fleetcast.spark.aggregate import AggregationResult, run_aggregation


def to_polars(frame: DataFrame) -> pl.DataFrame:
    """A Spark frame as polars (naive timestamps in microseconds, as the local engine has them)."""
    rows = [r.asDict() for r in frame.collect()]
    out = pl.DataFrame(rows, schema=frame.columns, orient="row", infer_schema_length=None) if rows \
        else pl.DataFrame(schema={c: pl.Null for c in frame.columns})
    return out.with_columns(pl.col(c).cast(pl.Datetime("us")) for c, d in out.schema.items()
                            if isinstance(d, pl.Datetime))


def canonical(frame: pl.DataFrame, drop: tuple[str, ...] = ("run_id",)) -> pl.DataFrame:
    """Rows in a fixed order and hosts lists sorted, so two writers' tables compare with ``equals``."""
    frame = frame.drop([c for c in drop if c in frame.columns])
    lists = [c for c, d in frame.schema.items() if isinstance(d, pl.List)]
    frame = frame.with_columns(pl.col(c).list.sort() for c in lists)
    keys = [c for c in frame.columns if c not in lists]
    return frame.sort(keys, nulls_last=False)


def spark_lake_locations(root: Path) -> str:
    return json.dumps({name: str(root / name) for name in t.TABLES})


def aggregate(spark, path: Path, lake_root: Path, run_id: str, **options) -> AggregationResult:
    """run_aggregation on a local file, with the source id and kind validation would pass."""
    source = read_source(path)
    return run_aggregation(spark, run_id, source.source_id, str(path), source.kind, source.format, "raw",
                           "curated", "", spark_lake_locations(lake_root), **options)


def table(lake: LocalLake, name: str, **kwargs) -> pl.DataFrame:
    return canonical(lake.read(t.TABLES[name]), **kwargs)
