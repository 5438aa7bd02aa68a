"""Reading server metrics: layouts, zones, units, out-of-range values, schema errors."""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl
import pytest

from fleetcast.errors import InputError
from fleetcast.ingest.metrics import MetricsOptions, read_metrics


def write(tmp_path, text: str, name: str = "m.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wide_and_long_layouts_give_the_same_samples(tmp_path):
    wide = write(tmp_path, "timestamp,server_id,cpu,memory\n"
                 "2024-01-01T00:00:00Z,web-1,10,20\n2024-01-01T00:05:00Z,web-1,11,21\n", "wide.csv")
    long = write(tmp_path, "timestamp,server_id,metric,value\n"
                 "2024-01-01T00:00:00Z,web-1,cpu,10\n2024-01-01T00:00:00Z,web-1,memory,20\n"
                 "2024-01-01T00:05:00Z,web-1,cpu,11\n2024-01-01T00:05:00Z,web-1,memory,21\n", "long.csv")
    a, b = read_metrics(wide), read_metrics(long)
    assert a.format == "csv-wide" and b.format == "csv-long"
    assert a.samples.equals(b.samples)
    assert a.samples["value"].to_list() == [10.0, 11.0, 20.0, 21.0]


def test_parquet_with_zoned_timestamps(tmp_path):
    path = tmp_path / "m.parquet"
    pl.DataFrame({
        "time": pl.Series([datetime(2024, 1, 1, 9)]).dt.replace_time_zone("Europe/Berlin"),
        "host": ["db-1"], "CPUUtilization": [55.5],
    }).write_parquet(path)
    m = read_metrics(path)
    assert m.format == "parquet-wide"
    assert m.samples.rows() == [("db-1", "cpu", datetime(2024, 1, 1, 8), 55.5)]


@pytest.mark.parametrize("stamp, zone, utc", [
    ("2024-06-01 12:00:00", "UTC", datetime(2024, 6, 1, 12)),
    ("2024-06-01 12:00:00", "America/New_York", datetime(2024, 6, 1, 16)),
    ("2024-06-01T12:00:00+02:00", "America/New_York", datetime(2024, 6, 1, 10)),
    ("1717243200", "UTC", datetime(2024, 6, 1, 12)),
    ("1717243200000", "UTC", datetime(2024, 6, 1, 12)),
])
def test_timestamps_with_and_without_zone(tmp_path, stamp, zone, utc):
    path = write(tmp_path, f"timestamp,server_id,cpu\n{stamp},a,5\n")
    assert read_metrics(path, MetricsOptions(timezone=zone)).samples["ts"].to_list() == [utc]


def test_out_of_range_values_are_rejected_with_reasons(tmp_path):
    # Given one good line and lines with each kind of bad value
    path = write(tmp_path, "timestamp,server_id,cpu,memory\n"
                 "2024-01-01T00:00:00Z,a,50,60\n"      # 2 good
                 "2024-01-01T00:05:00Z,a,-1,100.4\n"   # 3 negative cpu; memory slightly over 100 -> 100
                 "2024-01-01T00:10:00Z,a,180,NaN\n"    # 4 both bad -> whole line rejected
                 "2024-01-01T00:15:00Z,a,,abc\n"       # 5 empty and not a number
                 "yesterday,a,1,1\n"                   # 6 bad timestamp
                 "2024-01-01T00:25:00Z,,1,1\n")        # 7 no server
    m = read_metrics(path)
    reasons = {(r["line"], r["field"]): r["reason"] for r in m.rejects.iter_rows(named=True)}
    assert reasons == {
        (3, "cpu"): "negative value -1",
        (4, "cpu"): "value 180 is above 100% (more than 5.0 points over)",
        (4, "memory"): "value is NaN",
        (5, "cpu"): "empty value",
        (5, "memory"): "not a number: 'abc'",
        (6, None): "timestamp 'yesterday' not understood",
        (7, None): "empty server id",
    }
    # Then line accounting: lines 2 and 3 used, 4-7 rejected
    assert (m.lines_read, m.lines_parsed, m.lines_rejected) == (6, 2, 4)
    assert m.samples.filter(pl.col("metric") == "memory")["value"].to_list() == [60.0, 100.0]
    assert m.rejects.filter(pl.col("line") == 6)["raw"].to_list() == ["yesterday,a,1,1"]


def test_absurdly_large_values_are_rejected_but_large_byte_counts_are_not(tmp_path):
    # Given network bytes per interval: a busy link's 4.5e13, and a garbage 1e300
    path = write(tmp_path, "timestamp,server_id,network_bytes\n2024-01-01T00:00:00Z,a,4.5e13\n"
                 "2024-01-01T00:05:00Z,a,1e300\n")
    m = read_metrics(path)
    # Then only the garbage is rejected, with its reason
    assert m.samples["value"].to_list() == [4.5e13]
    assert m.rejects.select("line", "reason").rows() == [
        (3, "value 1e300 is beyond 1e+100, larger than any measurement")]


def test_fractions_are_detected_and_scaled(tmp_path):
    path = write(tmp_path, "timestamp,server_id,cpu,memory\n2024-01-01,a,0.25,0.5\n2024-01-02,a,0.75,1.0\n")
    m = read_metrics(path)
    assert sorted(m.samples["value"].to_list()) == [25.0, 50.0, 75.0, 100.0]
    assert "fractions" in m.warnings[0]
    declared = read_metrics(path, MetricsOptions(units="percent"))
    assert sorted(declared.samples["value"].to_list()) == [0.25, 0.5, 0.75, 1.0]


def test_idle_percent_series_is_not_mistaken_for_fractions(nab_dir):
    # c6585a is a nearly idle EC2 instance: CPU between 0.06% and 1.6%
    m = read_metrics(nab_dir / "ec2_cpu_utilization_c6585a.csv")
    assert m.warnings == [] and m.samples["value"].max() == pytest.approx(1.602)
    assert m.samples["series_id"][0] == "ec2_cpu_utilization_c6585a" and m.samples["metric"][0] == "cpu"


def test_rate_metrics_are_not_capped_at_100(tmp_path):
    path = write(tmp_path, "timestamp,server_id,cpu,network_in_bytes\n2024-01-01,a,5,123456\n")
    assert read_metrics(path).samples.sort("metric")["value"].to_list() == [5.0, 123456.0]


def test_repeated_samples_keep_the_last(tmp_path):
    path = write(tmp_path, "timestamp,server_id,cpu\n2024-01-01,a,5\n2024-01-01,a,7\n")
    m = read_metrics(path)
    assert m.samples["value"].to_list() == [7.0]
    reason = m.rejects.rows(named=True)[0]["reason"]
    assert reason == "repeated sample for this server, metric and time (line 3 kept)"
    assert (m.lines_parsed, m.lines_rejected) == (1, 1)


@pytest.mark.parametrize("text, message", [
    ("", "file is empty"),
    ("timestamp,server_id,cpu\n", "header but no data rows"),
    ("when,server_id,cpu\n2024-01-01,a,1\n", "no timestamp column"),
    ("timestamp,server_id,cpu,colour\n2024-01-01,a,1,red\n", "unknown column(s) colour"),
    ("timestamp,a,b\n2024-01-01,1,2\n", "no server column"),
    ("timestamp,server_id,cpu\n2024-01-01,a,1,9,9\n", "not a well-formed CSV"),
    ("timestamp,server_id,cpu\nbad,a,1\n", "no usable metric value in the file (line 2: timestamp 'bad'"),
])
def test_unusable_files_name_the_problem(tmp_path, text, message):
    with pytest.raises(InputError) as err:
        read_metrics(write(tmp_path, text))
    assert message in str(err.value) and str(err.value).startswith(str(tmp_path))


def test_semicolon_files_with_decimal_commas_and_a_bom(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftimestamp;server_id;cpu\n2024-01-01 10:00;a;5,5\n".encode())
    assert read_metrics(path).samples.select("series_id", "value").rows() == [("a", 5.5)]


@pytest.mark.parametrize("text, message", [
    ("timestamp,server_id,cpu,cpu\n2024-01-01,a,1,2\n", "column(s) cpu appear more than once"),
    ("timestamp,server_id,cpu\n01/02/2024 10:00:00,a,1\n", "timestamp '01/02/2024 10:00:00' not understood"),
])
def test_ambiguous_or_repeated_things_are_not_guessed(tmp_path, text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        read_metrics(write(tmp_path, text))
