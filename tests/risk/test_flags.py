"""Risk flags on hand-computed histories: breach dates, probabilities, levels, odd servers."""

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.risk import RiskConfig, any_day, assess, daily_stats
from fleetcast.risk.outlook import capacity_outlook

SHORT = RiskConfig(horizons=(30,))


def daily(values, server="db-1", metric="cpu", mean=None) -> pl.DataFrame:
    days = [date(2024, 3, 1) + timedelta(days=i) for i in range(len(values))]
    return pl.DataFrame({"series_id": server, "metric": metric, "day": days, "p95": np.asarray(values, float),
                         "mean": np.asarray(mean if mean is not None else values, float), "values": 24})


def test_growing_server_breaches_80_then_90_on_the_days_the_trend_says():
    # Given 41 days of a daily P95 rising exactly one point a day, ending at 80%
    history = daily(np.arange(40.0, 81.0))
    # When it is assessed 30 days ahead
    flag = assess(history, SHORT).flags.row(0, named=True)
    # Then the trend continues at 80 + d on day d: above 90% on day 11, which is the first day the
    # chance of having crossed reaches one half (day 10 sits exactly at 90%: 50 %)
    assert flag["level"] == "very_high"
    assert flag["days_to_breach"] == 10
    assert flag["first_breach_date"] == date(2024, 4, 10) + timedelta(days=10)
    assert flag["predicted_p95"] == pytest.approx(110.0)
    assert flag["breach_probability"] > 0.99
    assert flag["model_version"] == "trend-weekly-42d-v1" and "short history" not in flag["reason"]


def test_probabilities_fall_as_the_threshold_rises():
    # Given a noisy server around 75%
    rng = np.random.default_rng(3)
    history = daily(75 + rng.normal(0, 4, 20))
    # When exceedance probabilities are asked for rising thresholds
    thresholds = (60.0, 70.0, 75.0, 80.0, 90.0)
    outlook = capacity_outlook(history, 30, thresholds)
    cumulative = [any_day(outlook.prob[t])[0, -1] for t in thresholds]
    daily_p = np.stack([outlook.prob[t][0] for t in thresholds])
    # Then every day's probability, and the chance of some day above, never rise with the threshold
    assert np.all(np.diff(daily_p, axis=0) <= 0)
    assert cumulative == sorted(cumulative, reverse=True)
    assert cumulative[0] > 0.99 and cumulative[-1] < 0.2


def test_any_day_is_at_least_the_likeliest_day_and_grows_over_the_horizon():
    p = np.array([[0.0, 0.3, 0.1, 0.6], [0.2, 0.2, 0.2, 0.2]])
    out = any_day(p)
    assert np.all(np.diff(out, axis=1) >= 0)
    assert out[0, 1] == pytest.approx(0.3) and out[1, 1] == pytest.approx(0.36)
    assert out[0, -1] == pytest.approx(1 - 0.7 * 0.9 * 0.4)


def test_saturated_server_slightly_above_100_is_very_high_from_day_one():
    # Given a server pinned at 100-103% (samples a little above 100 are clipped at ingest, or kept here)
    history = daily([101.0, 103.0, 100.0, 102.0, 100.5, 101.0, 102.0, 100.0, 101.5, 100.0])
    flag = assess(history, SHORT).flags.row(0, named=True)
    assert flag["level"] == "very_high" and flag["days_to_breach"] == 1
    assert flag["recent_p95"] == 103.0


def test_flat_idle_server_is_underutilised_with_finite_numbers():
    # Given a server whose P95 is exactly 0.3% every day (a flat idle box: zero spread)
    flag = assess(daily([0.3] * 14, mean=[0.1] * 14), SHORT).flags.row(0, named=True)
    assert flag["level"] == "underutilised"
    assert flag["average_utilisation"] == pytest.approx(0.1)
    assert flag["breach_probability"] < 1e-6 and flag["days_to_breach"] is None
    assert "consolidation candidate" in flag["reason"]


def test_server_at_60_percent_is_normal_not_underutilised():
    flag = assess(daily([60.0, 62, 61, 59, 60, 61, 60, 62], mean=[50.0] * 8), SHORT).flags.row(0, named=True)
    assert flag["level"] == "normal" and flag["threshold"] == 80.0


def test_partial_days_are_left_out_of_daily_statistics():
    # Given hourly samples: a full day, then a day with 12 of 24 hours, then a full day with a gap hour
    ts = [datetime(2024, 1, 1) + timedelta(hours=h) for h in range(24)]
    ts += [datetime(2024, 1, 2) + timedelta(hours=h) for h in range(12)]
    ts += [datetime(2024, 1, 3) + timedelta(hours=h) for h in range(24) if h != 5]
    points = pl.DataFrame({"series_id": "web-1", "metric": "memory", "ts": ts, "value": 50.0})
    # When daily statistics are computed (80 % coverage needed)
    days = daily_stats(points)
    # Then the half day is missing, not a low day
    assert days["day"].to_list() == [date(2024, 1, 1), date(2024, 1, 3)]
    assert days["values"].to_list() == [24, 23]


def test_thresholds_are_configurable_and_validated():
    flag = assess(daily([70.0] * 10), RiskConfig(high=65, very_high=95, horizons=(7,))).flags.row(0, named=True)
    assert flag["level"] == "high" and flag["horizon_days"] == 7
    with pytest.raises(ValueError, match="underutilised < high < very_high"):
        RiskConfig(high=95, very_high=90)
