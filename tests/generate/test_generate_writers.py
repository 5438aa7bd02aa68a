"""Writing generated metrics as CSV / Parquet, wide / long, and injecting bad rows."""

from __future__ import annotations

import hashlib
import re

import polars as pl
import pytest

from fleetcast.generate import add_defects, generate_fleet, to_long, write_metrics

METRICS = ["cpu", "memory", "disk_io", "network"]


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(n_servers=10, days=60, seed=5)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_files_are_byte_identical_for_the_same_seed(tmp_path, layout, suffix):
    # Given the same fleet generated twice and written the same way
    paths = [write_metrics(generate_fleet(n_servers=10, days=60, seed=9).metrics,
                           tmp_path / f"{i}" / f"metrics.{suffix}", layout=layout) for i in range(2)]
    # Then the files have the same bytes
    assert sha(paths[0]) == sha(paths[1])


def test_wide_csv_has_iso_z_timestamps_and_round_trips(fleet, tmp_path):
    # Given the history written as wide CSV
    path = write_metrics(fleet.metrics, tmp_path / "wide.csv")
    lines = path.read_text().splitlines()
    # Then the header is the wide layout and timestamps are ISO 8601 UTC with Z
    assert lines[0] == "timestamp,server_id,cpu,memory,disk_io,network"
    assert re.fullmatch(r"2024-11-15T00:00:00Z,batch-01,[\d.]+,[\d.]+,[\d.]+,[\d.]+", lines[1])
    assert len(lines) == fleet.metrics.height + 1
    # And reading it back gives the frame again
    back = pl.read_csv(path).with_columns(pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ"))
    assert back.equals(fleet.metrics)


def test_long_layout_holds_the_same_values(fleet, tmp_path):
    # Given the history written long, as CSV and as Parquet
    csv = pl.read_csv(write_metrics(fleet.metrics, tmp_path / "long.csv", layout="long"))
    parquet = pl.read_parquet(write_metrics(fleet.metrics, tmp_path / "long.parquet", layout="long"))
    # Then both have one row per server, metric and time, in the long columns
    assert csv.columns == parquet.columns == ["timestamp", "server_id", "metric", "value"]
    assert csv.height == parquet.height == 4 * fleet.metrics.height
    assert parquet.schema["timestamp"] == pl.Datetime("us")
    # And the values are the wide frame's
    wide = parquet.pivot(on="metric", index=["timestamp", "server_id"], values="value")
    wide = wide.select("timestamp", "server_id", *METRICS).sort("server_id", "timestamp")
    assert wide.equals(fleet.metrics)
    assert csv["value"].equals(parquet["value"])
    assert csv["metric"].head(3).to_list() == ["cpu"] * 3


def test_bad_layout_arguments_are_refused(fleet, tmp_path):
    with pytest.raises(ValueError, match="layout"):
        write_metrics(fleet.metrics, tmp_path / "x.csv", layout="tall")
    with pytest.raises(ValueError, match="long frame"):
        write_metrics(to_long(fleet.metrics), tmp_path / "x.csv", layout="wide")


def check_defects(clean: pl.DataFrame, bad: pl.DataFrame, injected: pl.DataFrame, long: bool) -> None:
    rows = {r["kind"]: r for r in injected.iter_rows(named=True)}
    assert list(rows) == ["nan", "missing_value", "negative", "slightly_over_100", "over_100", "gap",
                          "duplicate"]
    assert len({r["server_id"] for r in rows.values()}) == 7

    def cell(kind: str) -> pl.DataFrame:
        r = rows[kind]
        here = bad.filter((pl.col("server_id") == r["server_id"]) & (pl.col("timestamp") == r["timestamp"]))
        return here.filter(pl.col("metric") == r["metric"])["value"] if long else here[r["metric"]]

    assert cell("nan").is_nan().to_list() == [True]
    assert cell("missing_value").is_null().to_list() == [True]
    assert cell("negative").to_list() == [rows["negative"]["value"]] and rows["negative"]["value"] < 0
    assert cell("slightly_over_100").to_list() == [100.3]
    assert cell("over_100").to_list() == [180.0]
    gap = rows["gap"]
    in_gap = (pl.col("server_id") == gap["server_id"]) & pl.col("timestamp").is_between(
        gap["timestamp"], gap["until"], closed="left")
    assert bad.filter(in_gap).height == 0 and clean.filter(in_gap).height == gap["rows"] == (8 if long else 2)
    dup = rows["duplicate"]
    twice = bad.filter((pl.col("server_id") == dup["server_id"]) & (pl.col("timestamp") == dup["timestamp"]))
    if long:
        twice = twice.filter(pl.col("metric") == dup["metric"])
    assert twice.height == 2 and twice.unique().height == 1
    assert bad.height == clean.height - gap["rows"] + 1
    # nothing else changed: the clean rows not touched are all still there
    keys = ["timestamp", "server_id", "metric"] if long else ["timestamp", "server_id"]
    touched = injected.select("server_id", "timestamp")
    untouched = clean.join(touched, on=["server_id", "timestamp"], how="anti").filter(~in_gap)
    assert untouched.join(bad, on=[*untouched.columns], how="anti").height == 0
    assert bad.select(keys).is_duplicated().sum() == 2


def test_defects_in_a_wide_frame(fleet):
    # Given defects injected into the wide history
    bad, injected = add_defects(fleet.metrics, seed=1)
    # Then each one is where the report says, and nothing else changed
    check_defects(fleet.metrics, bad, injected, long=False)


def test_defects_in_a_long_frame(fleet):
    # Given defects injected into the long history
    clean = to_long(fleet.metrics)
    bad, injected = add_defects(clean, seed=1)
    # Then each one is where the report says, and nothing else changed
    check_defects(clean, bad, injected, long=True)


def test_defects_are_deterministic_and_written_as_a_user_would_see_them(fleet, tmp_path):
    # Given the same defects twice, written as wide CSV
    first, second = add_defects(fleet.metrics, seed=4), add_defects(fleet.metrics, seed=4)
    text = write_metrics(first.frame, tmp_path / "bad.csv").read_text()
    # Then they are the same, NaN is written NaN, a missing value is an empty field
    assert first.frame.equals(second.frame, null_equal=True) and first.injected.equals(second.injected)
    assert text.count("NaN") == 1
    assert len(re.findall(r",,|,$", text, flags=re.M)) == 1
    assert ",180.0" in text and ",100.3" in text
