"""The seasonal decomposition blended with the trees, and reuse of the backtest model for big fleets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fleetcast.forecast import fit_forecast
from fleetcast.forecast.backtest import _blend
from fleetcast.forecast.decompose import blend_weight, seasonal_forecasts
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.synthetic import generate_fleet

HOURLY = Frequency.parse("1h")


def _weekly_load(weeks: int = 4) -> np.ndarray:
    t = np.arange(24 * 7 * weeks)
    weekend = np.where((t // 24) % 7 >= 5, 0.6, 1.0)
    return (100 * weekend * (1 + 0.4 * np.sin(2 * np.pi * t / 24)))[None, :]


def test_seasonal_forecast_uses_nothing_after_the_origin():
    # Given a series, and a copy whose values after the origin are changed wildly
    y = _weekly_load()
    origin = y.shape[1] - 50
    changed = y.copy()
    changed[0, origin + 1:] = 1e6
    # When both forecast 30 steps from the same origin
    a = seasonal_forecasts(y, HOURLY, np.array([0]), np.array([origin]), 30)
    b = seasonal_forecasts(changed, HOURLY, np.array([0]), np.array([origin]), 30)
    # Then the forecasts are identical, and a noise-free weekly cycle is reproduced closely
    assert np.array_equal(a, b)
    truth = y[0, origin + 1:origin + 31]
    assert np.mean(np.abs(a[0] - truth)) < 0.03 * truth.mean()


def test_seasonal_forecast_skips_gaps_and_follows_a_level_shift():
    # Given three weeks of a weekly cycle whose last day is 20 higher, with a gap of a day a week ago
    y = _weekly_load(3)
    y[0, -24:] += 20
    y[0, -24 * 7:-24 * 6] = np.nan
    origin = y.shape[1] - 1
    # When forecasting the next 48 hours
    out = seasonal_forecasts(y, HOURLY, np.array([0]), np.array([origin]), 48)
    next_two_days = _weekly_load(4)[0, origin + 1:origin + 49]
    # Then there is no NaN and no drop towards zero, and the shift is carried forward
    assert np.isfinite(out).all()
    assert abs(float(np.mean(out[0] - next_two_days)) - 20) < 3


def test_blend_weight_prefers_the_more_accurate_forecast():
    # Given a truth, a good forecast and one with twice the error
    rng = np.random.default_rng(1)
    truth = rng.normal(100, 10, (300, 8))
    good = truth + rng.normal(0, 1, truth.shape)
    poor = truth + rng.normal(0, 2, truth.shape)
    # Then the weight of the good forecast is high (about 0.8 for independent errors)
    assert blend_weight(truth, good, poor, np.ones(300)) == pytest.approx(0.8, abs=0.1)
    # And the cross-fitted backtest blend never uses a fold's own windows for its weight
    window = np.arange(300) % 10
    weight, blended = _blend(truth, good, poor, np.ones(300), window, "backtest")
    assert weight == pytest.approx(0.8, abs=0.1) and blended.shape == truth.shape
    assert _blend(truth, good, poor, np.ones(300), window, "equal")[0] == 0.5


def test_the_model_weight_is_recorded_and_the_blend_can_be_turned_off(small_config):
    # Given six weeks of two series (enough for a weekly profile before the backtest)
    data = generate_fleet(2, 42, "1h", seed=3).select("series_id", "ts", "value")
    # When fitting with a backtest-weighted, an equal and no blend (the default)
    chosen = fit_forecast(data, 24, "1h", config=dataclasses.replace(small_config, blend="backtest"))
    equal = fit_forecast(data, 24, "1h", config=dataclasses.replace(small_config, blend="equal"))
    off = fit_forecast(data, 24, "1h", config=small_config)
    # Then the weight is recorded, within [0.5, 1], and the blend changes the forecast
    assert 0.5 <= chosen.model_card["blend"]["model_weight"] == chosen.model.weight <= 1.0
    assert equal.model.weight == 0.5 and off.model.weight == 1.0
    assert not np.allclose(equal.forecasts["yhat"].to_numpy(), off.forecasts["yhat"].to_numpy())


def test_short_histories_are_not_blended(small_config):
    # Given 12 days of data, like the NAB series (less than two weeks before the last horizon)
    data = generate_fleet(2, 12, "1h", seed=3).select("series_id", "ts", "value")
    # Then the published forecast is the trees' alone
    assert fit_forecast(data, 24, "1h", config=small_config).model.weight == 1.0


def test_a_capped_training_sample_reuses_the_backtest_model(small_config):
    # Given a fleet larger than the training-row cap
    data = generate_fleet(6, 35, "1h", seed=4).select("series_id", "ts", "value")
    capped = dataclasses.replace(small_config, max_rows=5_000)
    # When fitting with refit_final auto (reuse) and always (refit)
    reused = fit_forecast(data, 24, "1h", config=capped)
    refit = fit_forecast(data, 24, "1h", config=dataclasses.replace(capped, refit_final="always"))
    # Then the reused model was trained up to the backtest's first origin, the refitted one on all data
    assert reused.model.capped and reused.model_card["training_ends_steps_before_last"] > 24
    assert refit.model_card["training_ends_steps_before_last"] == 0
    assert reused.forecasts.height == refit.forecasts.height == 6 * 24
