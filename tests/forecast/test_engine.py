"""fit_forecast end to end: calibrated intervals, quality gate, gaps, trends, versions."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.forecast import backtest, fit_forecast
from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.panel import InsufficientHistory, to_panel
from fleetcast.forecast.synthetic import generate_fleet

Z80, Z95 = 1.2816, 1.96


def test_intervals_cover_at_their_nominal_rate_on_data_with_known_noise(small_config):
    # Given 40 hourly series with a daily cycle and Gaussian noise of 8 % of their level
    data = generate_fleet(40, 42, "1h", seed=3, noise=0.08, future_days=2)
    cut = datetime(2024, 1, 1) + timedelta(days=42)
    history = data.filter(pl.col("ts") < cut).select("series_id", "ts", "value")
    future = data.filter(pl.col("ts") >= cut)
    # When the next 48 hours are forecast
    result = fit_forecast(history, 48, "1h", config=small_config)
    got = result.forecasts.join(future, on=["series_id", "ts"])
    assert got.height == 40 * 48
    inside80 = ((got["value"] >= got["lo80"]) & (got["value"] <= got["hi80"])).mean()
    inside95 = ((got["value"] >= got["lo95"]) & (got["value"] <= got["hi95"])).mean()
    # Then the realised coverage is within a few points of 80 % and 95 %
    assert abs(inside80 - 0.80) <= 0.04, inside80
    assert abs(inside95 - 0.95) <= 0.03, inside95
    # And the 80 % interval is about as wide as the true noise implies (not just wide)
    level = history.group_by("series_id").agg(pl.col("value").mean().alias("level"))
    width = got.join(level, on="series_id").select(
        ((pl.col("hi80") - pl.col("lo80")) / (2 * Z80 * 0.08 * pl.col("level") / 1.0)).median()).item()
    assert 0.9 <= width <= 1.5, width
    # And the backtest reports the (leave-one-window-out) coverage it measured
    bt = result.model_card["backtest"]["scores"]["lgbm"]
    assert abs(bt["coverage80"] - 0.8) < 0.05 and abs(bt["coverage95"] - 0.95) < 0.03


def test_quality_gate_publishes_the_best_baseline_when_the_model_is_worse(small_config):
    # Given a clean weekly-periodic series and a model crippled to a single tiny tree
    data = generate_fleet(3, 35, "1h", seed=5, noise=0.01).select("series_id", "ts", "value")
    crippled = dataclasses.replace(small_config, n_estimators=1, learning_rate=0.01)
    # When it is forecast with the gate on
    result = fit_forecast(data, 24, "1h", config=crippled)
    # Then every series falls back to a baseline, and the backtest table says why
    published = result.forecasts.group_by("series_id").agg(pl.col("model").first())["model"].to_list()
    assert set(published) <= {"naive_weekly", "naive_daily", "slot_mean"} and len(published) == 3
    chosen = result.backtest.filter(pl.col("chosen"))
    assert chosen.height == 3 and chosen["reason"].str.starts_with("fallback: model rmse").all()
    lgbm = result.backtest.filter(pl.col("model") == "lgbm").sort("series_id")["rmse"].to_numpy()
    assert np.all(lgbm > chosen.sort("series_id")["rmse"].to_numpy())
    # And the published numbers are exactly that baseline's forecast
    panel = to_panel(data, "1h")
    expected = baseline_forecasts(panel.values, panel.freq, np.arange(3), panel.last, 24)
    for i, sid in enumerate(panel.ids):
        method = result.forecasts.filter(pl.col("series_id") == sid)["model"][0]
        got = result.forecasts.filter(pl.col("series_id") == sid).sort("step")["yhat"].to_numpy()
        np.testing.assert_allclose(got, np.maximum(expected[method][i], 0))
    # And with the gate off the model is published anyway
    ungated = fit_forecast(data, 24, "1h", config=crippled, gate=False)
    assert set(ungated.forecasts["model"]) == {"lgbm"}


def test_quality_gate_publishes_the_model_averaged_with_the_slot_mean_where_that_is_significantly_better(
        small_config):
    # Given a fleet where a small model and the mean of past weeks err in different ways
    data = generate_fleet(3, 35, "1h", seed=3, noise=0.05).select("series_id", "ts", "value")
    # When it is forecast with the gate on
    result = fit_forecast(data, 24, "1h", config=small_config)
    # Then some series publish the average, and the backtest table says why
    chosen = result.backtest.filter(pl.col("chosen") & (pl.col("model") == "lgbm_slot_mean"))
    assert chosen.height >= 1 and chosen["reason"].str.starts_with("averaged: model rmse").all()
    scores = result.backtest.pivot("model", index="series_id", values="rmse")
    averaged = scores.filter(pl.col("series_id").is_in(chosen["series_id"].to_list()))
    assert (averaged["lgbm_slot_mean"] < averaged["lgbm"]).all()
    # And its numbers are exactly the mean of the model's forecast and the slot mean's
    model = fit_forecast(data, 24, "1h", config=small_config, gate=False).forecasts
    panel = to_panel(data, "1h")
    slot_mean = baseline_forecasts(panel.values, panel.freq, np.arange(3), panel.last, 24)["slot_mean"]
    for sid in chosen["series_id"]:
        i = panel.ids.index(sid)
        got = result.forecasts.filter(pl.col("series_id") == sid).sort("step")["yhat"].to_numpy()
        alone = model.filter(pl.col("series_id") == sid).sort("step")["yhat"].to_numpy()
        np.testing.assert_allclose(got, np.maximum((alone + slot_mean[i]) / 2, 0))


def test_a_backtest_with_one_scored_window_reports_no_coverage_and_keeps_the_model(nab_dir, small_config):
    # Given 3.3 days of real 5-minute network traffic: enough for one day-ahead backtest window
    everything = pl.read_csv(nab_dir / "iio_us-east-1_i-a2eb1cd9_NetworkIn.csv").select(
        pl.col("timestamp").str.to_datetime().alias("ts"), "value")
    data = everything.head(955)
    # When it is forecast a day ahead
    result = fit_forecast(data, 288, "5min", config=small_config)
    # Then intervals cannot be checked out of sample: coverage and width are unknown, not 0
    assert (result.backtest["n"] == 288).all()
    assert (result.backtest["windows"] == 1).all() and result.model_card["backtest"]["windows"] > 1  # of those asked
    assert result.backtest["coverage80"].is_nan().all() and result.backtest["width95"].is_nan().all()
    # And one window is no evidence against the model, which is kept, saying so
    chosen = result.backtest.filter(pl.col("chosen"))
    assert chosen["model"].to_list() == ["lgbm"]
    assert "over 1 backtest window: under two windows' worth of independent evidence" in chosen["reason"][0]
    # And the forecast warns that its intervals are unchecked
    assert any("one backtest window only" in c for c in result.model_card["caveats"])
    # And the intervals lean neither way: the window's errors leaned one way (the model forecast too
    # high there), but that is one draw; the next day rose, and at least half of it is inside them
    f = result.forecasts.join(everything.rename({"value": "actual"}), on="ts")
    above_zero = f.filter(pl.col("lo80") > 0)
    assert above_zero.height > 200
    np.testing.assert_allclose(above_zero["hi80"] - above_zero["yhat"], above_zero["yhat"] - above_zero["lo80"])
    inside = ((f["actual"] >= f["lo80"]) & (f["actual"] <= f["hi80"])).mean()
    assert f.height == 288 and inside >= 0.5  # the window's own lopsided tails covered 6% (bench)
    # And the model card counts the residuals measured, not their mirror images
    assert sum(b["n"] for b in result.model_card["intervals"]["residual_quantiles"]["buckets"]) == 288
    # And a backtest of one window by design is no different: its coverage is not its own fit's
    alone = fit_forecast(data, 288, "5min", config=small_config, windows=1)
    assert alone.model_card["backtest"]["windows"] == 1 and alone.backtest["coverage80"].is_nan().all()
    assert any("one backtest window only" in c for c in alone.model_card["caveats"])


def test_a_good_model_passes_the_gate_and_beats_the_baselines(small_config):
    data = generate_fleet(10, 35, "1h", seed=2, noise=0.05).select("series_id", "ts", "value")
    result = fit_forecast(data, 24, "1h", config=small_config)
    scores = result.model_card["backtest"]["scores"]
    assert scores["lgbm"]["rmse"] < min(scores[b]["rmse"] for b in ("naive_weekly", "naive_daily", "slot_mean"))
    assert result.model_card["quality_gate"]["published"].get("lgbm", 0) >= 8


def test_gaps_are_not_read_as_zeros(small_config):
    # Given a busy series whose last 10 hours and a 3-day stretch are unlogged
    full = generate_fleet(1, 35, "1h", seed=7, noise=0.03, future_days=1)
    cut = datetime(2024, 1, 1) + timedelta(days=35)
    data = full.filter(pl.col("ts") < cut).select("ts", "value")
    truth = full.filter(pl.col("ts") >= cut)["signal"].to_numpy()
    end = data["ts"].max()
    holed = data.filter((pl.col("ts") < datetime(2024, 1, 20)) | (pl.col("ts") > datetime(2024, 1, 23)))
    holed = holed.with_columns(pl.when(pl.col("ts") > end - timedelta(hours=10)).then(None)
                               .otherwise(pl.col("value")).alias("value"))
    # When it is forecast, and when the same gaps are (wrongly) fed as zeros
    result = fit_forecast(holed, 24, "1h", config=small_config, gate=False)
    zero_fed = fit_forecast(holed.with_columns(pl.col("value").fill_null(0.0)), 24, "1h", config=small_config,
                            gate=False)
    # Then the forecast stays at the true level; zeros would drag it down
    yhat = result.forecasts["yhat"].to_numpy()
    assert abs(yhat.mean() / truth.mean() - 1) < 0.1
    assert np.mean(np.abs(yhat - truth)) < 0.15 * truth.mean()
    assert zero_fed.forecasts["yhat"].mean() < 0.9 * yhat.mean()
    # And the forecast starts right after the last (empty) row; the gaps are counted as gaps
    assert result.forecasts["ts"][0] == end + timedelta(hours=1)
    assert result.model_card["data"]["gap_values"] == 3 * 24 + 1 + 10


def test_linear_growth_is_extrapolated(small_config):
    # Given 180 days of a daily series growing by 0.4 % of its starting level per day
    data = generate_fleet(1, 180, "1d", seed=11, noise=0.03, growth=0.004, future_days=90)
    cut = datetime(2024, 1, 1) + timedelta(days=180)
    history = data.filter(pl.col("ts") < cut).select("ts", "value")
    truth = data.filter(pl.col("ts") >= cut)["signal"].to_numpy()
    # When the next 90 days are forecast, with and without trend handling
    with_trend = fit_forecast(history, 90, "1d", config=small_config, gate=False)
    flat = fit_forecast(history, 90, "1d", config=dataclasses.replace(small_config, trend="none"), gate=False)
    yhat = with_trend.forecasts["yhat"].to_numpy()
    # Then the forecast keeps growing past anything seen, and tracks the true signal
    assert with_trend.model_card["series_with_trend"] == 1
    assert with_trend.model_card["caveats"][0].startswith("1 of 1 series has less than a year plus the horizon")
    assert yhat[-14:].mean() > history["value"].max() * 0.98
    ape = np.abs(yhat - truth) / truth
    flat_ape = np.abs(flat.forecasts["yhat"].to_numpy() - truth) / truth
    assert ape.mean() < 0.05 and ape[-30:].mean() < flat_ape[-30:].mean() / 2, (ape.mean(), flat_ape.mean())
    # And the last month's 80 % interval still contains the truth most of the time
    lo, hi = with_trend.forecasts["lo80"].to_numpy(), with_trend.forecasts["hi80"].to_numpy()
    assert np.mean((truth >= lo) & (truth <= hi)) > 0.6


def test_long_horizon_intervals_are_calibrated_on_more_than_one_season(small_config):
    # Given single daily series whose level wanders for weeks at a time (AR(1) with a 33-day memory,
    # about 16 % spread) around a weekly cycle, with 810 days of history each
    days, coverage = 900, []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        wander = np.zeros(days)
        for t in range(1, days):
            wander[t] = 0.97 * wander[t - 1] + rng.normal(0, 0.04)
        weekly = np.where(np.arange(days) % 7 >= 5, 0.7, 1.0)
        value = 100 * np.exp(wander) * weekly * (1 + rng.normal(0, 0.03, days))
        data = pl.DataFrame({"ts": [datetime(2022, 1, 1) + timedelta(days=d) for d in range(days)], "value": value})
        # When the next 90 days are forecast with the default backtest
        result = fit_forecast(data.head(days - 90), 90, "1d", config=small_config, gate=False)
        got = result.forecasts.join(data.tail(90), on="ts")
        coverage.append(((got["value"] >= got["lo80"]) & (got["value"] <= got["hi80"])).mean())
        # Then its windows reach back over a year, not the last four months
        spec = result.model_card["backtest"]
        assert spec["horizon"] + (spec["windows"] - 1) * spec["step"] > 365, spec
        assert result.model_card["caveats"] == []
    # And the 80 % intervals hold most of the wandering (origins a day apart, all calibrated on the
    # same few months, covered 31 % on these series)
    assert np.mean(coverage) >= 0.6, coverage


def test_model_version_is_on_every_row_and_tracks_the_data(small_config):
    data = generate_fleet(2, 20, "1h", seed=1).select("series_id", "ts", "value")
    a = fit_forecast(data, 12, "1h", config=small_config)
    b = fit_forecast(data, 12, "1h", config=small_config)
    c = fit_forecast(data.with_columns(pl.col("value") * 1.01), 12, "1h", config=small_config)
    assert a.forecasts["model_version"].unique().to_list() == [a.model_version]
    assert a.backtest["model_version"].unique().to_list() == [a.model_version]
    assert a.model_version == b.model_version != c.model_version
    assert a.forecasts.equals(b.forecasts)  # deterministic
    card = a.model_card
    assert card["data"]["fingerprint"] and card["features"] and card["params"]["num_leaves"] == 31
    assert set(card["backtest"]["scores"]) == {"lgbm", "naive_weekly", "naive_daily", "slot_mean", "lgbm_slot_mean"}


def test_probabilities_and_quantiles_are_consistent(small_config):
    data = generate_fleet(3, 30, "1h", seed=4).select("series_id", "ts", "value")
    result = fit_forecast(data, 24, "1h", config=small_config)
    fc = result.forecasts.sort("series_id", "step")
    p_low = result.prob_above(0.0).sort("series_id", "ts")["prob_above"].to_numpy()
    p_mid = result.prob_above({s: v for s, v in zip(*fc.group_by("series_id").agg(
        pl.col("yhat").mean()).select("series_id", "yhat").to_dict(as_series=False).values(), strict=True)})
    p_high = result.prob_above(1e9)["prob_above"].to_numpy()
    assert np.all(p_low > 0.95) and np.all(p_high < 0.05)
    assert 0.2 < p_mid["prob_above"].mean() < 0.8
    q = result.quantiles((0.025, 0.5, 0.975)).sort("series_id", "ts")
    np.testing.assert_allclose(q["q0.025"].to_numpy(), fc["lo95"].to_numpy(), rtol=1e-9)
    assert np.all(q["q0.5"].to_numpy() <= fc["hi80"].to_numpy())


def test_recursive_strategy_runs_end_to_end(small_config):
    data = generate_fleet(10, 30, "1h", seed=8, noise=0.05).select("series_id", "ts", "value")
    result = fit_forecast(data, 24, "1h", config=dataclasses.replace(small_config, strategy="recursive"))
    direct = fit_forecast(data, 24, "1h", config=small_config)
    assert result.forecasts.height == 240 and result.model_version.startswith("lgbm-recursive-")
    rec, dir_ = (r.model_card["backtest"]["scores"] for r in (result, direct))
    assert rec["lgbm"]["rmse"] < rec["naive_daily"]["rmse"]
    assert abs(rec["lgbm"]["rmse"] / dir_["lgbm"]["rmse"] - 1) < 0.3


def test_series_with_too_little_history_are_skipped_with_a_reason(small_config):
    data = generate_fleet(2, 20, "1h", seed=1).select("series_id", "ts", "value")
    short = data.filter((pl.col("series_id") == "s0000") | (pl.col("ts") >= datetime(2024, 1, 19, 12)))
    result = fit_forecast(short, 24, "1h", config=small_config)
    assert result.forecasts["series_id"].unique().to_list() == ["s0000"]
    assert "too little history" in result.skipped["s0001"]


def test_models_trained_side_by_side_forecast_exactly_as_when_trained_one_by_one(small_config, monkeypatch):
    # Given a fleet whose backtest refits several models, plus the final one
    data = generate_fleet(4, 35, "1h", seed=6).select("series_id", "ts", "value")
    # When fitting with one thread per core (2) and then with a single core
    monkeypatch.setattr(backtest, "available_cores", lambda: 2)
    parallel = fit_forecast(data, 24, "1h", config=small_config)
    monkeypatch.setattr(backtest, "available_cores", lambda: 1)
    serial = fit_forecast(data, 24, "1h", config=small_config)
    # Then forecasts, intervals and backtest scores are identical, and several models were trained
    assert parallel.model_card["backtest"]["refits"] > 1
    assert parallel.forecasts.equals(serial.forecasts)
    assert parallel.backtest.equals(serial.backtest)


def test_a_series_whose_last_rows_are_gaps_is_forecast_from_its_last_value(nasa_requests, small_config):
    # Given NASA's 5-minute requests up to Aug 30 (in the late-August surge), and the same with the
    # last hour, or the last half day, of values missing (logs that arrive late)
    data = nasa_requests("5min")
    origin = datetime(1995, 8, 30)
    history = data.filter(pl.col("ts") < origin)
    actual = data.filter(pl.col("ts") >= origin).head(288)["value"].to_numpy().astype(float)
    scores = {}
    for blank in (0, 12, 144):
        late = history.with_columns(value=pl.when(pl.int_range(pl.len()) < history.height - blank)
                                    .then(pl.col("value")))
        result = fit_forecast(late, 288, "5min", config=small_config, gate=False)
        fc = result.forecasts
        # Then the forecast still starts right after the last row
        assert fc["ts"][0] == origin and fc.height == 288
        inside = (actual >= fc["lo80"].to_numpy()) & (actual <= fc["hi80"].to_numpy())
        scores[blank] = (float(np.sqrt(np.mean((fc["yhat"].to_numpy() - actual) ** 2))), float(inside.mean()))
        # And the quantiles and probabilities read the same calibration as the intervals
        q = result.quantiles((0.1,))
        np.testing.assert_allclose(q["q0.1"].to_numpy(), fc["lo80"].to_numpy(), rtol=1e-9)
        p = result.prob_above(fc["hi80"].to_numpy().mean())["prob_above"].to_numpy()
        assert np.isfinite(p).all()
        notes = [c for c in result.model_card["caveats"] if "without values" in c]
        assert len(notes) == (blank > 0)
        card = result.model_card
        assert (card["horizon"], card["backtest"]["horizon"]) == (288, 288 + blank)
    # Then it is nearly as accurate, and its intervals nearly as honest, as with every value there
    # (forecast from the gap as if it were a last value, an hour missing cost 15 % more error and the
    # 80 % intervals covered 68 % instead of 75 %; half a day, 80 % more error and 35 %)
    assert scores[12][0] < 1.1 * scores[0][0] and scores[12][1] >= 0.7, scores
    assert scores[144][0] < 1.4 * scores[0][0] and scores[144][1] >= 0.6, scores


def test_a_series_silent_for_longer_than_the_horizon_is_skipped(small_config):
    # Given two hourly series, the second without values for its last two days
    data = generate_fleet(2, 20, "1h", seed=1).select("series_id", "ts", "value")
    late = (pl.col("series_id") == "s0001") & (pl.col("ts") >= datetime(2024, 1, 19))
    silent = data.with_columns(value=pl.when(late).then(None).otherwise(pl.col("value")))
    # When 12 hours are forecast, then only the first is, and the second is skipped with the reason
    result = fit_forecast(silent, 12, "1h", config=small_config)
    assert result.forecasts["series_id"].unique().to_list() == ["s0000"]
    assert result.skipped["s0001"].startswith("its last 48 steps are gaps, more than the horizon")
    # And a series that ends with fewer gaps needs the history of a forecast that much further ahead
    hourly = data.filter(pl.col("series_id") == "s0000").tail(65)
    late = hourly.with_columns(value=pl.when(pl.int_range(pl.len()) < 55).then(pl.col("value")))
    with pytest.raises(InsufficientHistory, match=r"needs 70 steps, half of them observed, counting the 10 gaps"):
        fit_forecast(late, 12, "1h", config=small_config)


def test_a_series_left_without_a_backtest_window_says_its_intervals_are_unchecked(small_config):
    # Given two hourly series: one just long enough for a 12-hour forecast (60 hours), the other
    # ending with 12 hours of gaps, so the backtest reaches 24 hours past its origins
    data = generate_fleet(2, 30, "1h", seed=2).select("series_id", "ts", "value")
    end = data["ts"].max()
    short = (pl.col("series_id") == "s0000") & (pl.col("ts") <= end - timedelta(hours=60))
    late = (pl.col("series_id") == "s0001") & (pl.col("ts") > end - timedelta(hours=12))
    data = data.filter(~short).with_columns(value=pl.when(late).then(None).otherwise(pl.col("value")))
    result = fit_forecast(data, 12, "1h", config=small_config)
    # Then both are forecast from the same hour on, and the short one's missing backtest is said
    starts = result.forecasts.group_by("series_id").agg(pl.col("ts").min())["ts"]
    assert starts.unique().to_list() == [end + timedelta(hours=1)]
    assert result.backtest.filter(pl.col("model") == "lgbm")["series_id"].to_list() == ["s0001"]
    assert "1 of 2 series has no backtest window" in " ".join(result.model_card["caveats"])


def test_only_the_late_series_forecast_beyond_a_week_gets_the_seasons_caveat(small_config):
    # Given two hourly series of 60 days, forecast a week ahead, the second with its last 6 hours empty
    data = generate_fleet(2, 60, "1h", seed=3).select("series_id", "ts", "value")
    late = (pl.col("series_id") == "s0001") & (pl.col("ts") > data["ts"].max() - timedelta(hours=6))
    result = fit_forecast(data.with_columns(value=pl.when(late).then(None).otherwise(pl.col("value"))), 168, "1h",
                          config=small_config)
    # Then only the late one reaches beyond a week (174 steps from its last value), and only it is said
    # to have too little history for the seasons ahead
    seasons = [c for c in result.model_card["caveats"] if "less than a year" in c]
    assert len(seasons) == 1 and seasons[0].startswith("1 of 2 series has less than a year"), seasons
