"""The request-count series for the scaling simulator and forecasting demos."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import polars as pl

from fleetcast.generate import generate_load_series


def test_regular_five_minute_grid_and_determinism(tmp_path):
    # Given the default series twice, written to CSV
    first = generate_load_series(path=tmp_path / "a.csv")
    second = generate_load_series(path=tmp_path / "b.csv")
    # Then it is 8 weeks of 5-minute counts, identical for the same seed, with ISO Z timestamps
    assert first.height == 56 * 288 and first.columns == ["timestamp", "value"]
    assert first["timestamp"][0] == datetime(2025, 1, 6)
    assert first["timestamp"].diff().drop_nulls().unique().to_list() == [timedelta(minutes=5)]
    assert first.equals(second) and first["value"].min() > 0
    assert hashlib.sha256((tmp_path / "a.csv").read_bytes()).digest() == \
        hashlib.sha256((tmp_path / "b.csv").read_bytes()).digest()
    assert (tmp_path / "a.csv").read_text().splitlines()[1].startswith("2025-01-06T00:00:00Z,")
    assert not first.equals(generate_load_series(seed=1))


def test_cycles_growth_and_bursts():
    # Given a year-on-year doubling series in UTC-5
    load = generate_load_series(days=84, growth_per_year=1.0, seed=3).with_columns(
        local=pl.col("timestamp") - pl.duration(hours=5))
    by_hour = load.group_by(pl.col("local").dt.hour()).agg(pl.col("value").median()).sort("local")["value"]
    weekday = load.filter(pl.col("local").dt.weekday() <= 5)["value"].median()
    weekend = load.filter(pl.col("local").dt.weekday() > 5)["value"].median()
    weeks = load.group_by(week=pl.col("timestamp").dt.truncate("1w")).agg(pl.col("value").sum()).sort("week")
    # Then afternoons are several times the night, weekends quieter, the last week busier than the first
    assert by_hour.max() > 3 * by_hour.min()
    assert weekend < 0.8 * weekday
    assert weeks["value"][-1] > 1.12 * weeks["value"][1]
    # and a burst stands out: the busiest interval is well above its hour's usual level
    busiest = load.sort("value").tail(1)
    usual = load.filter(pl.col("local").dt.hour() == busiest["local"].dt.hour()[0])["value"].median()
    assert busiest["value"][0] > 2 * usual
