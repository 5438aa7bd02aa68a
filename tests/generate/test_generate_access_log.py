"""The synthetic access log: format, exact per-minute truth, cycles, statuses, bursts and the outage."""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.generate import generate_access_log

CLF = (r'^\S+ \S+ \S+ \[\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[^"]*" \d{3} (\d+|-) '
       r'"[^"]*" "[^"]*"$')
FIELDS = r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\S+) "([^"]*)" "([^"]*)"$'


def parse(path) -> pl.DataFrame:
    """The log's lines and their fields, timestamps converted to naive UTC."""
    lines = pl.read_csv(path, has_header=False, separator="\x01", quote_char=None, new_columns=["line"])
    parts = lines.select(pl.col("line"), pl.col("line").str.extract_groups(FIELDS).alias("f")).unnest("f")
    names = ["host", "stamp", "method", "path", "protocol", "status", "bytes", "referrer", "agent"]
    parts = parts.rename(dict(zip([str(i) for i in range(1, 10)], names, strict=True)))
    stamp = pl.col("stamp").str.to_datetime("%d/%b/%Y:%H:%M:%S %z")
    return parts.with_columns(
        ts=stamp.dt.convert_time_zone("UTC").dt.replace_time_zone(None),
        local_hour=pl.col("stamp").str.slice(12, 2).cast(pl.Int32),
        status=pl.col("status").cast(pl.Int32),
    )


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    truth = generate_access_log(tmp_path_factory.mktemp("log") / "access.log")
    return truth, parse(truth.path)


def test_every_line_is_combined_log_format_in_time_order(log):
    # Given the default log (7 days, -0500)
    truth, lines = log
    # Then every line passes the Combined Log Format check, carries the offset, and time only goes forward
    assert lines.height == truth.n_lines > 500_000
    assert lines["line"].str.contains(CLF).all()
    assert lines["stamp"].str.ends_with(" -0500").all()
    assert lines["ts"].is_sorted()
    assert lines["protocol"].is_in(["HTTP/1.1", "HTTP/1.0"]).all()


def test_lines_per_minute_are_exactly_the_truth(log):
    # Given the lines counted per UTC minute from the file
    truth, lines = log
    counted = lines.group_by(minute=pl.col("ts").dt.truncate("1m")).agg(
        n=pl.len(), b=pl.col("bytes").replace("-", "0").cast(pl.Int64).sum(),
        e4=pl.col("status").is_between(400, 499).sum(), e5=(pl.col("status") >= 500).sum(),
        hosts=pl.col("host").n_unique())
    both = truth.minutes.join(counted, on="minute", how="left").with_columns(
        pl.col("n", "b", "e4", "e5", "hosts").fill_null(0))
    # Then lines, bytes, error counts and distinct hosts agree for every minute of the week
    assert truth.minutes.height == 7 * 1440
    for mine, theirs in [("lines", "n"), ("bytes_total", "b"), ("status_4xx", "e4"), ("status_5xx", "e5"),
                         ("unique_hosts", "hosts")]:
        assert (both[mine] == both[theirs]).all(), mine
    # and over the logged hours they follow the expected rate
    logged = truth.minutes.filter(pl.col("logged_seconds") == 60)
    assert logged["lines"].sum() / logged["expected_rate"].sum() == pytest.approx(1.0, abs=0.02)


def test_the_outage_is_a_few_hours_with_no_line_at_all(log):
    # Given the default outage
    truth, lines = log
    start, end = truth.outage
    # Then it lasts a few hours on a weekday, no line falls in it, and traffic runs right up to it
    assert timedelta(hours=2) <= end - start <= timedelta(hours=6)
    assert start.weekday() < 5
    def count(lo: datetime, hi: datetime) -> int:
        return lines.filter(pl.col("ts").is_between(lo, hi, closed="left")).height

    five = timedelta(minutes=5)
    assert count(start, end) == 0 and count(start - five, start) > 0 and count(end, end + five) > 0
    # the partial minutes at both ends only hold lines outside the span
    inside = truth.minutes.filter(pl.col("logged_seconds") < 60)
    assert inside["lines"].sum() == lines.filter(
        pl.col("ts").dt.truncate("1m").is_in(inside["minute"].implode())).height
    assert inside.height == pytest.approx((end - start).total_seconds() / 60, abs=2)


def test_daily_and_weekly_cycles_follow_local_time(log):
    # Given requests per local hour (outside the outage and bursts) and per local day
    truth, lines = log
    calm = lines.filter(~pl.col("ts").dt.date().is_in([truth.outage[0].date()]))
    for row in truth.bursts.iter_rows(named=True):
        calm = calm.filter(~pl.col("ts").is_between(row["start"], row["end"]))
    by_hour = calm.group_by("local_hour").len().sort("local_hour")["len"].to_numpy()
    local_day = lines.with_columns(day=pl.col("stamp").str.slice(0, 11).str.to_date("%d/%b/%Y"))
    per_day = local_day.group_by("day").len().with_columns(weekend=pl.col("day").dt.weekday() >= 6)
    # Then the busiest hours are in the afternoon, nights are far quieter
    assert 12 <= int(np.argmax(by_hour)) <= 16
    assert by_hour.max() > 3 * by_hour.min() and int(np.argmin(by_hour)) in range(2, 7)
    # and weekend days are quieter than weekdays
    weekday = per_day.filter(~pl.col("weekend"))["len"].median()
    assert per_day.filter("weekend")["len"].max() < 0.8 * weekday


def test_status_mix_and_dash_bytes(log):
    # Given the statuses and byte fields of all lines
    truth, lines = log
    share = lines.group_by(cls=pl.col("status") // 100).len().with_columns(share=pl.col("len") / lines.height)
    share = dict(zip(share["cls"], share["share"], strict=True))
    in_burst = pl.lit(False)
    for row in truth.bursts.iter_rows(named=True):
        in_burst = in_burst | pl.col("ts").is_between(row["start"], row["end"])
    error_5xx = lines.group_by(in_burst.alias("burst")).agg(rate=(pl.col("status") >= 500).mean())
    rate = dict(zip(error_5xx["burst"], error_5xx["rate"], strict=True))
    # Then 4xx are 1-3%, 5xx rare but several times more frequent in bursts, most answers 200
    assert 0.01 <= share[4] <= 0.03
    assert share[5] < 0.005 and rate[True] > 3 * rate[False]
    assert share[2] > 0.85 and share[3] > 0.05
    # and "-" bytes appear for some 304 and 404 answers, never for a 200 GET
    dash = lines.filter(pl.col("bytes") == "-")
    assert dash.filter(pl.col("status") == 304).height > 0 and dash.filter(pl.col("status") == 404).height > 0
    assert dash.filter((pl.col("status") == 200) & (pl.col("method") == "GET")).height == 0
    assert lines.filter(pl.col("status") == 304)["bytes"].is_in(["-", "0"]).all()


def test_hosts_are_a_long_tail_and_agents_stick_to_hosts(log):
    # Given requests per host
    _, lines = log
    per_host = lines.group_by("host").agg(n=pl.len(), agents=pl.col("agent").n_unique())
    per_host = per_host.sort("n", descending=True)
    top_tenth = per_host.head(per_host.height // 10)["n"].sum() / lines.height
    # Then a tenth of the hosts send most requests, thousands of hosts send a few, each host one agent
    assert per_host.height > 5_000
    assert top_tenth > 0.5
    assert (per_host["n"] <= 3).sum() > 1_000
    assert (per_host["agents"] == 1).all()


def test_bursts_lift_the_rate_well_above_the_same_time_a_day_apart(log):
    # Given each flash crowd and the same clock window one day before or after
    truth, _ = log
    minutes = truth.minutes
    for row in truth.bursts.iter_rows(named=True):
        shift = timedelta(days=1) if row["start"] < datetime(2025, 3, 6) else timedelta(days=-1)
        lines = minutes.filter(pl.col("minute").is_between(row["start"], row["end"], closed="left"))["lines"]
        usual = minutes.filter(pl.col("minute").is_between(row["start"] + shift, row["end"] + shift,
                                                           closed="left"))["lines"]
        # Then the burst's busiest minutes are several times the usual traffic
        assert lines.max() > 2.5 * usual.mean(), row
        assert row["peak_multiplier"] >= 3


def test_gzip_is_the_same_log_and_files_are_byte_identical(tmp_path):
    # Given the same two-day log written twice as gzip and once plain
    kwargs = dict(days=2, base_rate_per_min=20, seed=7)
    gz = [generate_access_log(tmp_path / f"{i}.log.gz", gzip=True, **kwargs).path for i in range(2)]
    plain = generate_access_log(tmp_path / "plain.log", **kwargs).path
    # Then the gzip files have the same bytes and decompress to the plain file
    assert hashlib.sha256(gz[0].read_bytes()).digest() == hashlib.sha256(gz[1].read_bytes()).digest()
    assert gzip.decompress(gz[0].read_bytes()) == plain.read_bytes()
    # and another seed gives another log
    other = generate_access_log(tmp_path / "other.log", **{**kwargs, "seed": 8})
    assert other.path.read_bytes() != plain.read_bytes()


def test_offset_outage_and_arguments_can_be_chosen(tmp_path):
    # Given a one-day log in +0100 with a chosen outage, and one without outage
    truth = generate_access_log(tmp_path / "eu.log", start="2025-06-02", days=1, base_rate_per_min=10,
                                utc_offset="+0100", outage=("2025-06-02T10:00:00Z", "2025-06-02T11:30:00Z"))
    lines = parse(truth.path)
    none = generate_access_log(tmp_path / "none.log", days=1, base_rate_per_min=10, outage=None)
    # Then stamps carry +0100 and local hours are UTC + 1, the outage is where asked, or absent
    assert lines["stamp"].str.ends_with(" +0100").all()
    assert ((lines["ts"].dt.hour() + 1) % 24 == lines["local_hour"]).all()
    assert truth.outage == (datetime(2025, 6, 2, 10), datetime(2025, 6, 2, 11, 30))
    assert lines.filter(pl.col("ts").is_between(*truth.outage, closed="left")).height == 0
    assert none.outage is None and (none.minutes["logged_seconds"] == 60).all()
    # And impossible arguments are refused
    with pytest.raises(ValueError, match="inside"):
        generate_access_log(tmp_path / "x.log", days=1, outage=("2025-06-01", "2025-06-02"))
    with pytest.raises(ValueError, match="utc_offset"):
        generate_access_log(tmp_path / "x.log", days=1, utc_offset="EST")
