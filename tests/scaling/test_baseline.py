"""The seasonal baseline forecaster: exact on exact cycles, calibrated on real load."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from fleetcast.scaling import LoadSeries, SeasonalBaseline


def test_repeats_an_exact_weekly_cycle_and_orders_its_quantiles():
    # Given three weeks of an hourly cycle (busy 09-17, quieter weekends)
    ts = [datetime(2024, 1, 1) + timedelta(hours=k) for k in range(24 * 21)]
    value = [10.0 + 20 * (9 <= t.hour < 17) + 5 * (t.weekday() < 5) for t in ts]
    out = SeasonalBaseline()(pl.DataFrame({"ts": ts, "value": value}), 24, "1h")
    # Then the next day is forecast exactly, from the hour right after the history
    assert out["ts"][0] == datetime(2024, 1, 22) and out.height == 24
    expected = [10.0 + 20 * (9 <= h < 17) + 5 for h in range(24)]
    np.testing.assert_allclose(out["yhat"].to_numpy(), expected)
    for lo, hi in (("lo95", "lo80"), ("lo80", "yhat"), ("yhat", "hi80"), ("hi80", "hi95")):
        assert (out[lo] <= out[hi]).all()


def test_gaps_are_skipped_not_read_as_zero():
    ts = [datetime(2024, 1, 1) + timedelta(hours=k) for k in range(24 * 21)]
    frame = pl.DataFrame({"ts": ts, "value": [50.0] * len(ts)})
    holed = frame.filter((pl.col("ts") < datetime(2024, 1, 15)) | (pl.col("ts") >= datetime(2024, 1, 16)))
    out = SeasonalBaseline()(holed, 6, "1h")
    np.testing.assert_allclose(out["yhat"].to_numpy(), 50.0)


def test_intervals_are_calibrated_on_real_nasa_load(nasa_requests):
    # Given NASA 5-minute requests, forecast every 2 hours for the next hour, Aug 23-31
    load = LoadSeries.from_frame(nasa_requests("5min"))
    start = load.index_of(datetime(1995, 8, 23))
    hits80 = hits95 = total = 0
    errors = []
    for origin in range(start, len(load) - 12, 24):
        out = SeasonalBaseline()(load.history_frame(origin), 12, "5min")
        actual = load.values[origin: origin + 12]
        ok = np.isfinite(actual)
        hits80 += int(np.sum(actual[ok] <= out["hi80"].to_numpy()[ok]))
        hits95 += int(np.sum(actual[ok] <= out["hi95"].to_numpy()[ok]))
        errors.append(np.abs(actual[ok] - out["yhat"].to_numpy()[ok]))
        total += int(ok.sum())
    # Then hi80 / hi95 cover about 90% / 97.5% (one-sided), and the error is ~20% of the mean load
    assert 0.86 <= hits80 / total <= 0.94
    assert 0.95 <= hits95 / total <= 0.995
    assert np.concatenate(errors).mean() < 50  # mean load over the period: 203 per 5 min
