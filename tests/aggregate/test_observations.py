"""From parsed inputs to observations: exact counts, bin boundaries, gaps, coverage, server stats."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from fleetcast.aggregate import requests, servers
from fleetcast.ingest.logs import read_access_log
from tests.helpers import clf, every


def utc_reference(path):
    return pl.read_csv(path).with_columns(
        ts=pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%z").dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None).dt.cast_time_unit("us"))


def log_observations(path, granularities=("1min", "5min", "1h")):
    log = read_access_log(path, "site")
    gaps = requests.find_gaps(log.bins)
    return requests.observations(log.bins, gaps, granularities), gaps


def test_nasa_sample_reproduces_the_published_minute_counts(nasa_dir):
    # Given the real sample (Aug 1 00:00:01 - 01:12:24, -04:00)
    obs, gaps = log_observations(nasa_dir / "access_log_sample.log")
    counts = obs.filter(pl.col("metric") == "request_count", pl.col("granularity") == "1min")
    reference = utc_reference(nasa_dir / "nasa_ksc_requests_1min.csv")
    # Then every minute it covers (72 full or nearly full ones) matches the per-minute file exactly
    joined = counts.join(reference, on="ts", how="left")
    assert gaps.height == 0 and joined.height == 72
    assert (joined["value"] == joined["requests"]).all()
    # The first minute starts at 00:00:01 (59 of 60 s logged); the last, 01:12, only has 25 s: no row
    assert counts["coverage"][0] == pytest.approx(59 / 60)
    assert counts["ts"].max() == datetime(1995, 8, 1, 5, 11)


def test_bin_boundaries_in_utc(tmp_path):
    # Given requests just before and at a 5-minute boundary, logged at +0200
    base = datetime(2024, 1, 1, 12, 0, 0)
    stamps = [base + timedelta(seconds=s) for s in range(0, 600, 2)]
    lines = [clf(ts, offset="+0200") for ts in stamps]
    path = tmp_path / "x.log"
    path.write_text("\n".join(lines) + "\n")
    obs, _ = log_observations(path, ("5min",))
    counts = obs.filter(pl.col("metric") == "request_count").sort("ts")
    # Then bins start on UTC 5-minute marks and split at exactly :05:00
    assert counts["ts"].to_list() == [datetime(2024, 1, 1, 10, 0), datetime(2024, 1, 1, 10, 5)]
    assert counts["value"].to_list() == [150.0, 150.0]


def test_an_outage_is_a_gap_not_zero_traffic(tmp_path):
    # Given ~1 request/s with a 2-hour silence in the middle
    before = every(datetime(2024, 1, 1, 0, 0), 1.0, 3600)
    after = every(datetime(2024, 1, 1, 3, 0), 1.0, 3600)
    path = tmp_path / "x.log"
    path.write_text("".join(clf(ts) + "\n" for ts in before + after))
    obs, gaps = log_observations(path, ("1min", "1h"))
    # Then the silence is one gap from the second after the last request to the next request
    assert gaps.select("start", "end").rows() == [(datetime(2024, 1, 1, 1, 0), datetime(2024, 1, 1, 3, 0))]
    assert gaps["expected"][0] > 7000
    # And no observation falls inside it (no zeros), while hours around it are complete
    hourly = obs.filter(pl.col("metric") == "request_count", pl.col("granularity") == "1h").sort("ts")
    assert hourly.select("ts", "value").rows() == [(datetime(2024, 1, 1, 0), 3600.0),
                                                    (datetime(2024, 1, 1, 3), 3600.0)]
    minutes = obs.filter(pl.col("metric") == "request_count", pl.col("granularity") == "1min")
    assert minutes.height == 120 and minutes["value"].min() == 60


def test_quiet_spans_of_a_low_traffic_site_are_real_zeros(tmp_path):
    # Given a site with a request every 10 minutes: silences of minutes are normal
    stamps = every(datetime(2024, 1, 1), 600.0, 36)
    path = tmp_path / "x.log"
    path.write_text("".join(clf(ts) + "\n" for ts in stamps))
    obs, gaps = log_observations(path, ("1min",))
    counts = obs.filter(pl.col("metric") == "request_count")
    # Then there is no gap and the empty minutes are zeros (the last minute, logged 1 s, has no row)
    assert gaps.height == 0
    assert counts.height == 35 * 10 and (counts["value"] == 0).sum() == 35 * 9


def test_log_metrics_per_bin(tmp_path):
    t = [datetime(2024, 1, 1, 0, 0, s) for s in (0, 20, 40, 59)]  # the minute is fully logged
    lines = [clf(t[0], host="a", status=200, size="100"), clf(t[1], host="b", status=404, size="-"),
             clf(t[2], host="a", status=503, size="300"), clf(t[3], host="c", status=200, size="200")]
    path = tmp_path / "x.log"
    path.write_text("\n".join(lines) + "\n")
    obs, _ = log_observations(path, ("1min",))
    values = dict(obs.select("metric", "value").rows())
    assert values == {"request_count": 4.0, "bytes_total": 600.0, "bytes_mean": 200.0,
                      "error_rate_4xx": 0.25, "error_rate_5xx": 0.25, "unique_hosts": 3.0}


def test_unique_hosts_are_distinct_over_the_coarse_bin(nasa_dir):
    log = read_access_log(nasa_dir / "access_log_sample.log", "s")
    obs = requests.observations(log.bins, requests.find_gaps(log.bins), ("1min", "1h"))
    hourly = obs.filter(pl.col("metric") == "unique_hosts", pl.col("granularity") == "1h")
    lines = (nasa_dir / "access_log_sample.log").read_text().splitlines()
    hosts_0h = {ln.split(" ")[0] for ln in lines if "01/Aug/1995:00:" in ln}
    assert hourly["value"].to_list() == [float(len(hosts_0h))]
    per_minute = obs.filter(pl.col("metric") == "unique_hosts", pl.col("granularity") == "1min")
    assert per_minute["value"].sum() > len(hosts_0h)  # the same host in many minutes


def samples(values, step_min=5, start=datetime(2024, 1, 1), skip=()):
    ts = [start + timedelta(minutes=step_min * k) for k in range(len(values)) if k not in skip]
    vals = [v for k, v in enumerate(values) if k not in skip]
    return pl.DataFrame({"series_id": "s1", "metric": "cpu", "ts": ts, "value": vals})


def test_server_stats_per_bin():
    obs = servers.observations(samples([float(v) for v in range(1, 13)]), ("15min", "1h"))
    hour = dict(obs.filter(pl.col("granularity") == "1h").select("metric", "value").rows())
    assert hour == {"cpu_mean": 6.5, "cpu_max": 12.0, "cpu_p95": pytest.approx(11.45)}
    quarter = obs.filter(pl.col("granularity") == "15min", pl.col("metric") == "cpu_max")
    assert quarter["value"].to_list() == [3.0, 6.0, 9.0, 12.0]


def test_missing_samples_are_gaps_and_lower_coverage():
    data = samples([50.0] * 24, skip=range(6, 14))  # 40 minutes missing
    intervals = servers.sampling_intervals(data)
    gaps = servers.find_gaps(data, intervals)
    assert gaps.select("start", "end", "seconds").rows() == [
        (datetime(2024, 1, 1, 0, 30), datetime(2024, 1, 1, 1, 10), 2400.0)]
    obs = servers.observations(data, ("1h",))
    coverage = obs.filter(pl.col("metric") == "cpu_mean").sort("ts")["coverage"].to_list()
    assert coverage == [pytest.approx(0.5), pytest.approx(10 / 12)]


def test_granularities_finer_than_the_sampling_are_skipped():
    obs = servers.observations(samples([1.0] * 12, step_min=5), ("1min", "5min"))
    assert set(obs["granularity"]) == {"5min"}
