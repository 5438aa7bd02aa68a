"""S3Lake (moto): the LocalLake interface on S3 - same rows, same keys, same partitions, plus the catalog."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake
from fleetcast.lake.s3 import S3Lake
from fleetcast.pipeline.ingest import ingest


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort([c for c, d in frame.schema.items() if not isinstance(d, pl.List)], nulls_last=True)


def _samples(values: list[float], series: str = "web-1") -> pl.DataFrame:
    return pl.DataFrame({"series_id": series, "metric": "cpu",
                         "ts": [datetime(2024, 1, 1, h) for h in range(len(values))], "value": values})


def test_the_pipeline_gets_the_same_rows_from_s3_as_from_disk(s3_lake, tmp_path, nasa_dir, nab_dir):
    # Given a real access-log excerpt and a real CloudWatch CPU series
    inputs = [nasa_dir / "access_log_sample.log", nab_dir / "ec2_cpu_utilization_ac20cd.csv"]
    local = LocalLake(tmp_path / "lake")
    # When the local engine ingests them into the local lake and into the S3 lake
    on_disk = ingest(inputs, local, "run-1")
    on_s3 = ingest(inputs, s3_lake, "run-1")
    # Then every table holds the same rows, with the same types, in the same files
    assert on_s3.observations == on_disk.observations > 1000
    for table in t.TABLES.values():
        expected, got = local.read(table), s3_lake.read(table)
        assert got.schema == expected.schema, table.name
        assert _sorted(got).equals(_sorted(expected)), table.name
        assert len(s3_lake.files(table)) == len(local.files(table)), table.name


def test_writing_a_key_again_replaces_its_file(s3_lake):
    # Given two files in one partition
    s3_lake.write(t.METRIC_SAMPLES, _samples([1.0, 2.0]), partition={"shard": 3}, key="src-a")
    s3_lake.write(t.METRIC_SAMPLES, _samples([5.0], "db-1"), partition={"shard": 3}, key="src-b")
    # When src-a is delivered again with other rows
    s3_lake.write(t.METRIC_SAMPLES, _samples([7.0]), partition={"shard": 3}, key="src-a")
    # Then src-a holds only the new row and src-b is untouched
    rows = s3_lake.read(t.METRIC_SAMPLES).sort("series_id")
    assert rows.select("series_id", "value", "shard").rows() == [("db-1", 5.0, 3), ("web-1", 7.0, 3)]
    assert [f.rsplit("/", 2)[-2:] for f in s3_lake.files(t.METRIC_SAMPLES)] == [
        ["shard=3", "src-a.parquet"], ["shard=3", "src-b.parquet"]]


def test_replace_partition_leaves_only_its_rows_and_an_empty_frame_empties_it(s3_lake):
    part = {"granularity": "1h", "shard": 5}
    rows = pl.DataFrame({"series_id": ["a"], "metric": ["cpu_p95"], "ts": [datetime(2024, 1, 1)], "value": [50.0],
                         "coverage": [1.0], "run_id": ["r1"]})
    s3_lake.write(t.OBSERVATIONS, rows, partition=part, key="stray")
    # When the partition is replaced
    s3_lake.replace_partition(t.OBSERVATIONS, rows.with_columns(value=pl.lit(60.0)), part)
    # Then one file (part.parquet) holds the new rows
    assert [f.rsplit("/", 1)[-1] for f in s3_lake.files(t.OBSERVATIONS, part)] == ["part.parquet"]
    assert s3_lake.read(t.OBSERVATIONS, part)["value"].to_list() == [60.0]
    # When it is replaced by nothing, it is gone (files and catalog partition)
    s3_lake.replace_partition(t.OBSERVATIONS, pl.DataFrame(), part)
    assert s3_lake.files(t.OBSERVATIONS) == [] and s3_lake.read(t.OBSERVATIONS).height == 0
    assert _catalog_partitions(s3_lake, "observations") == []


def test_delete_key_removes_it_everywhere_and_says_where_it_was(s3_lake):
    for shard in (2, 9):
        s3_lake.write(t.METRIC_SAMPLES, _samples([1.0]), partition={"shard": shard}, key="src-a")
    s3_lake.write(t.METRIC_SAMPLES, _samples([1.0]), partition={"shard": 9}, key="src-b")
    # When src-a is deleted
    found = s3_lake.delete_key(t.METRIC_SAMPLES, "src-a")
    # Then both its files are gone, src-b stays, and the partitions it was in are reported
    assert found == [{"shard": "2"}, {"shard": "9"}]
    assert [f.rsplit("/", 1)[-1] for f in s3_lake.files(t.METRIC_SAMPLES)] == ["src-b.parquet"]
    assert s3_lake.delete_key(t.METRIC_SAMPLES, "src-a") == []


def test_written_partitions_are_registered_in_the_glue_catalog(s3_lake, nasa_dir):
    # When a log is ingested into the S3 lake
    ingest([nasa_dir / "access_log_sample.log"], s3_lake, "run-1")
    # Then every observations partition on S3 is in the catalog, with its location
    on_s3 = {tuple(p.split("=", 1)[1] for p in f.split("/")[-3:-1]) for f in s3_lake.files(t.OBSERVATIONS)}
    assert set(_catalog_partitions(s3_lake, "observations")) == on_s3
    assert on_s3 == {("1min", "0"), ("5min", "0"), ("15min", "0"), ("1h", "0")}
    glue = s3_lake.session.client("glue")
    one = glue.get_partition(DatabaseName="fleetcast", TableName="observations", PartitionValues=["1h", "0"])
    assert one["Partition"]["StorageDescriptor"]["Location"] == "s3://fc-test-lake/observations/granularity=1h/shard=0/"


def test_files_beside_a_table_go_through_its_table_dir(s3_lake):
    # Given a model card written the way the forecasting stage writes it beside `forecasts`
    cards = s3_lake.table_dir(t.FORECASTS) / "_model_cards" / "run_id=r1"
    cards.mkdir(parents=True, exist_ok=True)
    (cards / "1h.json").write_text('{"model": "lgbm"}\n')
    # Then it can be read back, and it is not mistaken for a data file of the table
    assert (cards / "1h.json").read_text() == '{"model": "lgbm"}\n' and (cards / "1h.json").exists()
    assert s3_lake.files(t.FORECASTS) == []


def test_the_lake_of_a_deployed_function_comes_from_its_environment():
    env = {"LAKE_TABLE_LOCATIONS": '{"runs": "s3://results/runs"}', "LAKE_DATABASE": "fleetcast"}
    lake = S3Lake.from_environment(env)
    assert lake.table_uri(t.RUNS) == "s3://results/runs/" and lake.database == "fleetcast"
    with pytest.raises(KeyError, match="has no location"):
        lake.table_uri(t.OBSERVATIONS)
    with pytest.raises(KeyError, match="LAKE_TABLE_LOCATIONS"):
        S3Lake.from_environment({})


def _catalog_partitions(lake: S3Lake, table: str) -> list[tuple[str, ...]]:
    glue = lake.session.client("glue")
    return [tuple(p["Values"]) for p in glue.get_partitions(DatabaseName="fleetcast", TableName=table)["Partitions"]]
