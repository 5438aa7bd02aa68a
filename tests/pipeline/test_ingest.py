"""Ingesting into the lake: idempotent re-delivery, rotated logs, all-or-nothing on bad input."""

from __future__ import annotations

import polars as pl
import pytest

from fleetcast.errors import InputError
from fleetcast.lake import tables as t
from fleetcast.pipeline.ingest import IngestOptions, ingest, refresh_shard


def observations(lake) -> pl.DataFrame:
    return lake.read(t.OBSERVATIONS).drop("run_id").sort("series_id", "metric", "granularity", "ts")


def test_re_ingesting_the_same_file_adds_nothing(lake, nasa_dir, nab_dir):
    inputs = [nasa_dir / "access_log_sample.log", nab_dir / "ec2_cpu_utilization_ac20cd.csv"]
    first = ingest(inputs, lake, "run-a")
    before = observations(lake)
    # When the same files are delivered again (one of them twice in one call)
    second = ingest(inputs + inputs[:1], lake, "run-b")
    # Then the lake holds exactly the same rows, now stamped with the new run
    after = observations(lake)
    assert after.equals(before) and before.height == first.observations == second.observations
    assert lake.read(t.OBSERVATIONS)["run_id"].unique().to_list() == ["run-b"]
    assert lake.read(t.SOURCES).height == 2 and lake.read(t.LOG_BINS)["series_id"].n_unique() == 1


def test_rotated_logs_merge_exactly(lake, tmp_path, nasa_dir):
    # Given the sample split into two files in the middle of a minute
    lines = (nasa_dir / "access_log_sample.log").read_text().splitlines(keepends=True)
    cut = next(i for i, ln in enumerate(lines) if "00:30:2" in ln)
    (tmp_path / "site.log.1").write_text("".join(lines[:cut]))
    (tmp_path / "site.log").write_text("".join(lines[cut:]))
    whole = tmp_path / "whole" / "site.log"
    whole.parent.mkdir()
    whole.write_text("".join(lines))
    # When both parts are ingested (in separate runs) and, elsewhere, the whole file at once
    ingest([tmp_path / "site.log.1"], lake, "r1")
    ingest([tmp_path / "site.log"], lake, "r2")
    other = type(lake)(tmp_path / "other")
    ingest([whole], other, "r3")
    # Then the observations are identical, unique hosts included
    assert observations(lake).equals(observations(other))
    assert observations(lake)["series_id"].unique().to_list() == ["site"]


def test_an_unusable_input_leaves_the_lake_untouched(lake, tmp_path, nasa_dir):
    bad = tmp_path / "empty.csv"
    bad.write_text("")
    with pytest.raises(InputError, match="empty"):
        ingest([nasa_dir / "access_log_sample.log", bad], lake, "r1")
    assert not lake.root.exists()


def test_renaming_a_series_replaces_the_old_one(lake, nasa_dir):
    path = nasa_dir / "access_log_sample.log"
    ingest([path], lake, "r1")
    ingest([path], lake, "r2", IngestOptions(series="nasa"))
    assert observations(lake)["series_id"].unique().to_list() == ["nasa"]


def test_rejects_and_sources_account_for_every_line(lake, nasa_dir):
    result = ingest([nasa_dir / "access_log_sample_damaged.log"], lake, "r1")
    source = lake.read(t.SOURCES).row(0, named=True)
    assert source["lines_read"] == 1930 and source["lines_parsed"] + source["lines_rejected"] == 1930
    assert source["lines_repaired"] == 98 and source["records"] == 1880
    rejects = lake.read(t.REJECTS)
    assert rejects.select("line", "run_id").rows() == [(1930, "r1")]
    assert rejects["file"][0].endswith("access_log_sample_damaged.log")
    assert result.sources[0].series == ["access_log_sample_damaged"]


def test_granularities_are_configurable(lake, nab_dir):
    ingest([nab_dir / "ec2_cpu_utilization_825cc2.csv"], lake, "r1", IngestOptions(granularities=("1h",)))
    assert lake.read(t.OBSERVATIONS)["granularity"].unique().to_list() == ["1h"]
    # and asking for others later replaces them rather than leaving stale partitions
    ingest([nab_dir / "ec2_cpu_utilization_825cc2.csv"], lake, "r2", IngestOptions(granularities=("1d",)))
    assert lake.read(t.OBSERVATIONS)["granularity"].unique().to_list() == ["1d"]


def test_shards_aggregated_in_memory_equal_shards_read_back_from_their_files(lake, nasa_dir, nab_dir):
    # Given a log and a metrics file ingested in one call (each shard then holds one source, so it is
    # aggregated from the staged rows in memory)
    ingest([nasa_dir / "access_log_sample.log", nab_dir / "ec2_cpu_utilization_ac20cd.csv"], lake, "run-a")
    in_memory, gaps = observations(lake), lake.read(t.GAPS).sort(pl.all())
    # When every shard is recomputed from its staging files
    for shard in lake.read(t.OBSERVATIONS)["shard"].unique():
        refresh_shard(lake, shard, "run-a", IngestOptions().granularities)
    # Then the observations and gaps are the same
    assert observations(lake).equals(in_memory) and in_memory.height > 0
    assert lake.read(t.GAPS).sort(pl.all()).equals(gaps)
