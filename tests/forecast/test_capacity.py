"""Capacity planning: daily P95 per server and metric, with growth and exceedance probabilities."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.forecast import InsufficientHistory
from fleetcast.forecast.capacity import daily_p95, forecast_daily_p95
from fleetcast.forecast.model import ModelConfig
from fleetcast.forecast.synthetic import generate_fleet


def _observations(days: int, growth: float) -> pl.DataFrame:
    fleet = generate_fleet(2, days, "1h", seed=6, noise=0.03, growth=growth)
    cpu = fleet.with_columns(metric=pl.lit("cpu_p95"), value=pl.col("value") / 5)
    mem = fleet.with_columns(metric=pl.lit("memory_max"), value=pl.col("value") / 10 + 20)
    return pl.concat([cpu, mem]).select("series_id", "metric", pl.lit("1h").alias("granularity"), "ts", "value",
                                        pl.lit(1.0).alias("coverage"))


def test_daily_p95_drops_poorly_covered_bins_and_days():
    # Given two days of 5-min CPU: day 1 complete, day 2 with most bins only 50 % sampled
    ts = [datetime(2024, 1, 1) + timedelta(minutes=5 * k) for k in range(2 * 288)]
    obs = pl.DataFrame({"series_id": "db-1", "metric": "cpu", "granularity": "5min", "ts": ts,
                        "value": [float(k % 100) for k in range(576)],
                        "coverage": [1.0] * 288 + [0.5] * 200 + [1.0] * 88})
    # Also hourly rows of the same metric, which the finer 5-min data supersedes
    hourly = obs.head(24).with_columns(granularity=pl.lit("1h"), value=pl.lit(1e6))
    out = daily_p95(pl.concat([obs, hourly]))
    # Then only day 1 counts and its P95 is that of its 5-min values
    assert out["ts"].to_list() == [datetime(2024, 1, 1)]
    assert out["value"][0] == np.quantile([k % 100 for k in range(288)], 0.95)


def test_capacity_forecast_extrapolates_growth_with_calibrated_odds():
    # Given 180 days of hourly CPU and memory for two servers, growing ~0.3 %/day
    obs = _observations(180, growth=0.003)
    # When their daily P95 is forecast 90 days ahead
    cap = forecast_daily_p95(obs, 90, config=ModelConfig(num_threads=1, n_estimators=60, learning_rate=0.1))
    fc = cap.forecasts
    # Then every server and metric gets 90 daily rows with ordered intervals and a model version
    assert fc.height == 2 * 2 * 90 and fc.columns[:4] == ["series_id", "metric", "ts", "step"]
    assert (fc["lo95"] <= fc["lo80"]).all() and (fc["lo80"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["hi95"]).all()
    # And the growth continues beyond anything observed
    last_month = fc.filter(pl.col("step") > 60).group_by("series_id", "metric").agg(pl.col("yhat").mean())
    seen = cap.history.group_by("series_id", "metric").agg(pl.col("value").max().alias("max"))
    assert (last_month.join(seen, on=["series_id", "metric"]).select(pl.col("yhat") > pl.col("max"))).to_series().all()
    # And exceedance probabilities fall as the threshold rises
    key = ("s0000", "cpu_p95")
    probs = []
    for threshold in (0.0, 1e9):
        p = cap.prob_above({key: threshold})
        probs.append(p.filter((pl.col("series_id") == key[0]) & (pl.col("metric") == key[1]))["prob_above"])
    assert probs[0].len() == 90 and probs[0].min() > 0.9 and probs[1].max() < 0.1
    others = cap.prob_above({key: 0.0}).filter(pl.col("metric") != key[1])["prob_above"]
    assert others.is_nan().all()  # no threshold given for them
    q = cap.quantiles((0.1, 0.9))
    assert (q["q0.1"] <= q["q0.9"]).all() and set(q["metric"]) == {"cpu_p95", "memory_max"}


def test_short_histories_are_skipped_with_their_reason():
    # Given 150 days of history for one server and 50 for the other
    obs = _observations(150, growth=0.0)
    obs = obs.filter((pl.col("series_id") == "s0001") | (pl.col("ts") >= datetime(2024, 4, 10)))
    config = ModelConfig(num_threads=1, n_estimators=30)
    # When a 90-day plan (which needs 118 days of history) is asked for
    quarter = forecast_daily_p95(obs, 90, config=config)
    # Then the short server is skipped, with the reason, and the other is forecast
    assert set(quarter.forecasts["series_id"]) == {"s0001"}
    assert set(quarter.skipped) == {("s0000", "cpu_p95"), ("s0000", "memory_max")}
    assert "too little history for a 90-step forecast" in quarter.skipped[("s0000", "cpu_p95")]
    # And when no series is long enough, the call says so
    with pytest.raises(InsufficientHistory, match="too little history"):
        forecast_daily_p95(obs.filter(pl.col("series_id") == "s0000"), 90, config=config)
