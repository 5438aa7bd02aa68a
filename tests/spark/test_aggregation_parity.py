"""Table-level parity: the Glue job's transforms (PySpark local mode) write the rows the local engine writes.

One real access-log excerpt and one real CloudWatch CPU series go through both engines with the same run
id; every table either engine writes is compared value by value (floats included, hosts lists as sets).
"""

from __future__ import annotations

import polars as pl
import pytest

from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.ingest import ingest
from tests.spark.helpers import aggregate, table

pytestmark = pytest.mark.spark

RUN = "upload-parity"
COMPARED = ("observations", "gaps", "log_bins", "metric_samples", "sources", "rejects")


@pytest.fixture(scope="module")
def lakes(spark, nasa_dir, nab_dir, tmp_path_factory):
    """The two inputs aggregated by each engine into its own lake folder (same layout)."""
    inputs = [nasa_dir / "access_log_sample_damaged.log", nab_dir / "ec2_cpu_utilization_ac20cd.csv"]
    local = LocalLake(tmp_path_factory.mktemp("local"))
    ingest(inputs, local, RUN)
    root = tmp_path_factory.mktemp("spark")
    results = [aggregate(spark, path, root, RUN) for path in inputs]
    return local, LocalLake(root), results


@pytest.mark.parametrize("name", COMPARED)
def test_spark_writes_the_same_rows_as_the_local_engine(lakes, name):
    # Given a damaged NASA access-log excerpt and a real EC2 CPU series, each aggregated by both engines
    local, spark_lake, _ = lakes
    # When the table is read back from each engine's lake
    expected, actual = table(local, name, drop=()), table(spark_lake, name, drop=())
    # Then it holds the same rows, column for column (run ids included; floats to 1e-12 relative, as
    # the engines sum in different orders)
    assert expected.height > 0
    assert actual.schema == expected.schema
    assert_same_rows(actual, expected)


def test_the_observations_cover_both_inputs_at_every_granularity(lakes):
    # Given both engines' observations
    _, spark_lake, results = lakes
    observations = spark_lake.read(t.OBSERVATIONS)
    # Then the last run reported the rows of the shards it recomputed, and each series has its granularities
    assert results[-1].observations == observations.filter(pl.col("shard").is_in(results[-1].shards)).height
    per_series = observations.group_by("series_id").agg(pl.col("granularity").unique().sort()).sort("series_id")
    assert per_series.rows() == [
        ("access_log_sample_damaged", ["15min", "1h", "1min", "5min"]),  # 72 minutes: no whole day
        ("ec2_cpu_utilization_ac20cd", ["15min", "1d", "1h", "5min"]),
    ]
    # and the damaged excerpt's 1,880 requests are all binned; only its cut last line is rejected
    log = next(r for r in results if r.kind == "access_log")
    assert log.lines_rejected == 1 and spark_lake.read(t.LOG_BINS)["requests"].sum() == 1880


def assert_same_rows(actual: pl.DataFrame, expected: pl.DataFrame, rel: float = 1e-12) -> None:
    """Equal frames, except that floats may differ in their last bits (never in which are null)."""
    assert actual.height == expected.height, f"{actual.height} rows, expected {expected.height}"
    for column, dtype in expected.schema.items():
        a, b = actual[column], expected[column]
        if dtype.is_float():
            assert a.is_null().equals(b.is_null()), f"{column}: nulls differ"
            off = ((a - b).abs() > rel * b.abs().clip(lower_bound=1.0)).fill_null(False)
        else:
            off = (a != b).fill_null(False) | (a.is_null() != b.is_null())
        if off.any():
            row = int(off.arg_max())
            raise AssertionError(f"column {column!r}, row {row}: {a[row]!r} != {b[row]!r} "
                                 f"({int(off.sum())} rows differ)")
