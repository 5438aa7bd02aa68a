"""Baselines, metrics, conformal calibration and the lake writer, on small exact cases."""

from __future__ import annotations

import numpy as np
import polars as pl

from fleetcast.forecast import conformal, fit_forecast
from fleetcast.forecast.backtest import BacktestRun, BacktestSpec
from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.conformal import Calibration, ErrorScale
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.gate import rival_is_better
from fleetcast.forecast.lake_io import write_results
from fleetcast.forecast.metrics import mase_scales, point_scores
from fleetcast.forecast.synthetic import generate_fleet
from fleetcast.lake.local import LocalLake
from fleetcast.lake.tables import BACKTESTS, FORECASTS


def test_baselines_use_the_same_slot_and_skip_gaps():
    # Given three weeks of a daily series whose value is its day number, with last week's Monday missing
    freq = Frequency.parse("1d")
    y = np.arange(21, dtype=float)[None, :]
    y[0, 14] = np.nan
    out = baseline_forecasts(y, freq, np.array([0]), np.array([20]), 8)
    # Then weekly naive repeats last week (Monday from two weeks back), daily naive the last day
    assert out["naive_weekly"][0].tolist() == [7, 15, 16, 17, 18, 19, 20, 7]
    assert out["naive_daily"][0].tolist() == [20.0] * 8
    assert out["slot_mean"][0, 1] == np.mean([1, 8, 15])


def test_scores_ignore_gaps_and_mase_uses_the_seasonal_difference():
    y = np.array([[1.0, 2, 3, 4, np.nan, 6, 7, 8]])
    assert mase_scales(y, np.array([7]), period=4).tolist() == [4.0]
    s = point_scores(np.array([1.0, np.nan, 3.0]), np.array([2.0, 100.0, 3.0]), mase_scale=0.5)
    assert s["n"] == 2 and s["mae"] == 0.5 and s["mase"] == 1.0 and round(s["smape"], 4) == round(100 * 2 / 3 / 2, 4)


def test_conformal_intervals_cover_fresh_draws_of_the_same_noise():
    # Given residuals of a known distribution (skewed: exponential) from 400 backtest windows
    rng = np.random.default_rng(0)
    yhat = np.full((400, 6), 50.0)
    actual = yhat + rng.exponential(5.0, yhat.shape) - 5.0
    cal = Calibration.fit(actual, yhat, np.full(400, 50.0), np.zeros(400, int), np.arange(400) * 6,
                          level_power=0.0)
    # When new values are drawn from the same process
    fresh = 50.0 + rng.exponential(5.0, (20_000, 6)) - 5.0
    lo, hi = cal.interval(np.full((1, 6), 50.0), np.array([50.0]), np.array([0]), np.array([2400]), 80)
    inside = (fresh >= lo) & (fresh <= hi)
    # Then 80 % of them fall inside, and the interval is asymmetric like the noise
    assert abs(inside.mean() - 0.80) < 0.02
    assert (hi - 50.0).mean() > 1.3 * (50.0 - lo).mean()
    p = cal.prob_above(np.full((1, 6), 50.0), np.array([50.0]), np.array([0]), np.array([2400]), 55.0)
    assert abs(p.mean() - (fresh > 55.0).mean()) < 0.02


def test_intervals_are_no_narrower_than_at_the_same_time_of_an_earlier_week():
    # Given backtest residuals over two weeks of two steps each, the first week's first step the noisiest
    rng = np.random.default_rng(1)
    yhat = np.full((300, 4), 100.0)
    actual = yhat + rng.normal(0.0, 1.0, yhat.shape) * np.array([10.0, 5.0, 2.0, 5.0])
    args = (actual, yhat, np.full(300, 100.0), np.zeros(300, int), np.arange(300) * 4)
    own, inherited = (Calibration.fit(*args, level_power=0.0, week=w) for w in (0, 2))
    at = (np.full((1, 4), 100.0), np.array([100.0]), np.array([0]), np.array([1200]))
    # Then each step keeps its own spread without weeks, and with them step 3 is as wide as step 1
    width = {name: np.subtract(*cal.interval(*at, 80)[::-1])[0] for name, cal in (("own", own), ("day", inherited))}
    assert width["own"][2] < 0.3 * width["own"][0] and np.allclose(width["day"][:2], width["own"][:2])
    assert width["day"][2] == width["day"][0] and width["day"][3] >= max(width["own"][3], width["own"][1])
    # But within a week a later step may be narrower (it is another time of the week)
    assert width["day"][1] < 0.7 * width["day"][0]
    # And probabilities read the same tails as the intervals
    hi = inherited.quantile(*at, 0.9)
    p = inherited.prob_above(*at, hi)
    assert np.allclose(p, 0.1, atol=0.01) and p[0, 2] == p[0, 0]


def test_only_buckets_wholly_beyond_the_first_week_are_remapped_and_the_calibration_counts_them():
    # Given 14 windows x 30 daily steps of residuals: buckets hold steps 1-11 (across the week's end) and 12-30
    u = np.random.default_rng(2).normal(0.0, 1.0, (14, 30))
    steps = np.arange(1, 31)
    errors = ErrorScale.from_residuals(u, np.zeros(14, int), np.arange(14) * 30, steps, 30.0)

    def remap(columns, residuals):  # as wander's: a bucket with a first-week step keeps its residuals
        return None if steps[columns].min() <= 7 else np.sort(np.concatenate([-5 * np.abs(residuals),
                                                                              5 * np.abs(residuals)]))
    plain, mapped = (Calibration.from_studentised(u, steps, 30, errors, 0.0, week=7, remap=r) for r in (None, remap))
    at = (np.zeros((1, 30)), np.ones(1), np.zeros(1, int), np.array([420]))
    width = {name: np.subtract(*cal.interval(*at, 80)[::-1])[0] for name, cal in (("plain", plain), ("mapped", mapped))}
    # Then steps 1-11 keep the windows' tails, steps 12-30 take the remapped ones, and one bucket is counted
    assert np.flatnonzero(plain.bucket_of_step == 0).max() == 10
    np.testing.assert_allclose(width["mapped"][:11], width["plain"][:11])
    assert (width["mapped"][11:] > 3 * width["plain"][11:]).all()
    assert (plain.remapped, mapped.remapped) == (0, 1)


def test_a_calibration_from_one_window_is_symmetric_even_inside_a_longer_backtest():
    # Given two backtest windows whose errors lean opposite ways (actual above, then below the forecast)
    rng = np.random.default_rng(3)
    actual = np.vstack([rng.normal(5.0, 1.0, 200), rng.normal(-5.0, 1.0, 200)])
    run = BacktestRun(BacktestSpec(200, 2, 200), np.zeros(2, int), np.array([0, 200]), np.array([0, 1]),
                      np.arange(1, 201), actual, np.ones(2), {"lgbm": np.zeros((2, 200))}, np.ones(1), 24)
    at = (np.zeros((1, 200)), np.ones(1), np.zeros(1, int), np.array([400]), 80)
    # When intervals are calibrated on both windows, and on the first alone (a leave-one-window-out fold)
    lo_both, hi_both = run.calibration("lgbm", 0.0).interval(*at)
    lo_one, hi_one = run.calibration("lgbm", 0.0, np.array([True, False])).interval(*at)
    # Then one window's lean is not trusted: its interval is symmetric and as wide as its errors
    np.testing.assert_allclose(hi_one, -lo_one)
    assert 5.5 < hi_one.mean() < 7.5
    # While two windows keep the shape they show together (here both ways, about as wide)
    assert lo_both.mean() < -4 and hi_both.mean() > 4
    assert run.windows_scored() == 2 and run.windows_scored(np.array([True, False])) == 1


def test_results_are_written_to_the_lake_and_rerunning_replaces_them(tmp_path, small_config):
    data = generate_fleet(3, 15, "1h", seed=1).select("series_id", "ts", "value")
    result = fit_forecast(data, 6, "1h", config=small_config)
    lake = LocalLake(tmp_path)
    for _ in range(2):
        write_results(lake, result, "run-7", metric="request_count", granularity="1h")
    fc = lake.read(FORECASTS)
    bt = lake.read(BACKTESTS)
    assert fc.height == 18 and bt.height == 15  # 3 series x (the model, 3 baselines, the model averaged with one)
    assert fc["run_id"].unique().to_list() == ["run-7"] and fc["metric"].unique().to_list() == ["request_count"]
    assert fc["model_version"].unique().to_list() == [result.model_version]
    assert bt.filter(pl.col("chosen")).height == 3
    assert (tmp_path / "forecasts" / "_model_cards" / "run_id=run-7" / "1h-operational.json").exists()


def test_gate_falls_back_only_when_a_baseline_is_significantly_better():
    # Given per-window losses where the model is slightly worse on average but wins half the windows
    rng = np.random.default_rng(0)
    baseline = rng.gamma(4.0, 100.0, 20)
    noisy_tie = baseline * rng.choice([0.8, 1.3], 20)
    # Then that is no evidence against the model, and it is kept
    assert (noisy_tie - baseline).mean() > 0 and not rival_is_better(noisy_tie - baseline)
    # When the model is worse in nearly every window, the baseline is published
    clearly_worse = baseline * rng.uniform(1.1, 1.6, 20)
    assert rival_is_better(clearly_worse - baseline)
    # And a model that is better on average is never replaced
    assert not rival_is_better(0.9 * baseline - baseline)


def test_gate_counts_overlapping_windows_as_correlated_evidence():
    # Given 48-step windows a day apart, so that each day's error shock lands in two neighbouring
    # windows, and a model exactly as good as the baseline
    rng = np.random.default_rng(0)
    trials = 400
    hits = np.zeros(2)
    for _ in range(trials):
        shocks = rng.normal(0.0, 1.0, 41)
        diff = (shocks[:-1] + shocks[1:]) / 2
        hits += [rival_is_better(diff), rival_is_better(diff, overlap=2)]
    # Then taking the windows as independent falls back to the baseline about twice as often as
    # the test's 10 % level (87 of 400); counting the overlap stays near it (54)
    assert hits[0] > 1.5 * hits[1] and hits[1] / trials < 0.15
    # And a model that is worse in every window is still replaced when windows overlap
    assert rival_is_better(np.abs(rng.normal(1.0, 0.2, 40)), overlap=2)
    assert rival_is_better(np.abs(rng.normal(1.0, 0.2, 40)), overlap=9)


def test_the_error_factor_follows_a_run_of_large_errors_but_not_one_burst(monkeypatch):
    # Given 40 windows x 12 steps of one series' normalised residuals, 12 steps apart
    z = np.random.default_rng(4).normal(0.0, 1.0, (40, 12))
    origins, steps = np.arange(40) * 12, np.arange(1, 13)

    def factor_after(residuals: np.ndarray) -> float:
        errors = ErrorScale.from_residuals(residuals, np.zeros(40, int), origins, steps, 12.0)
        return float(errors.at(np.zeros(1, int), np.array([480]))[0])
    # When the last three windows' errors are three times as large, the factor follows them
    run = z.copy()
    run[37:] *= 3.0
    assert factor_after(run) > 1.5 * factor_after(z)
    # But one burst in the last window, of a million or of 1e300, moves it by a fraction
    for burst in (1e6, 1e300):
        spiked = z.copy()
        spiked[39, 5] = burst
        assert factor_after(z) < factor_after(spiked) < 1.5 * factor_after(z)
    # Also where most residuals are exactly zero (an idle series, forecast exactly)
    idle = np.where(np.arange(z.size).reshape(z.shape) % 5 < 3, 0.0, z)
    spiked = idle.copy()
    spiked[39, 5] = 1e6
    # (capped at 100 times the median of all squares, which is 0 here, the factor rose 150,000 times)
    assert factor_after(spiked) < 2 * factor_after(idle)
    # And a series thirty times as noisy as the rest of its fleet has no burst: nothing is capped
    both = np.vstack([z, 30 * z])

    def factors() -> np.ndarray:
        errors = ErrorScale.from_residuals(both, np.repeat([0, 1], 40), np.tile(origins, 2), steps, 12.0)
        return errors.at(np.array([0, 1]), np.array([480, 480]))
    capped = factors()
    monkeypatch.setattr(conformal, "BURST_CAP", np.inf)
    np.testing.assert_array_equal(capped, factors())
