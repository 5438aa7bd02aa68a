"""Real CloudWatch series with bursts: quiet weeks and one-off spikes must not blow up the forecast."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fleetcast.forecast import fit_forecast
from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.features import SPIKE_LIMIT, guard_spikes
from fleetcast.forecast.panel import to_panel


def _day_ahead(path: Path, small_config, days_before_end: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """History up to ``days_before_end`` days before the file's end, and the model's next 288 steps
    (gate off: the model's own forecast) joined to what happened."""
    data = pl.read_csv(path).select(pl.col("timestamp").str.to_datetime().alias("ts"), "value")
    history = data.filter(pl.col("ts") <= data["ts"].max() - timedelta(days=days_before_end))
    result = fit_forecast(history, 288, "5min", config=small_config, gate=False, snap=True)
    return history, result.forecasts.join(data.rename({"value": "actual"}), on="ts")


def _rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((forecast - actual) ** 2)))


def test_an_intermittent_series_is_never_forecast_above_what_it_has_done(nab_dir, small_config):
    # Given disk writes that are zero three quarters of the time, with bursts up to 4.6e8 bytes
    history, got = _day_ahead(nab_dir / "ec2_disk_write_bytes_1ef3de.csv", small_config, 3)
    assert (history["value"] == 0).mean() > 0.7
    # When the next day is forecast, then no forecast exceeds the largest value ever seen
    # (quiet weeks once gave a scale of 1 and forecasts of 1e13 bytes, 30,000 times that)
    assert got["yhat"].max() <= history["value"].max()
    assert got["hi95"].max() <= 10 * history["value"].max()


def test_bursts_in_the_history_do_not_become_the_forecast(nab_dir, small_config):
    # Given network traffic of about 75 bytes per 5 minutes with bursts of millions
    path = nab_dir / "ec2_network_in_5abac7.csv"
    history, got = _day_ahead(path, small_config, 2)
    assert history["value"].median() < 100 and history["value"].max() > 1e6
    # When the next day is forecast
    panel = to_panel(history, "5min", snap=True)
    baselines = baseline_forecasts(panel.values, panel.freq, np.array([0]), panel.last, 288)
    actual = got["actual"].to_numpy()
    # Then the forecast stays below the bursts, and its error is of the order of the best seasonal
    # baseline's (it was 650 times that when bursts were learnt as they came)
    assert got["yhat"].max() < history["value"].max()
    model = _rmse(got["yhat"].to_numpy(), actual)
    best = min(_rmse(b[0, : actual.size], actual) for b in baselines.values())
    assert model < 3 * best, (model, best)


def test_the_spike_guard_leaves_ordinary_load_alone_and_looks_only_backwards(nasa_dir):
    # Given NASA's 5-minute request counts (busiest bins, the July 13 launch included, under 6x the weekly mean)
    nasa = pl.read_csv(nasa_dir / "nasa_ksc_requests_5min.csv")["requests"].to_numpy().astype(float)[None, :]
    # Then the guard changes nothing
    np.testing.assert_array_equal(guard_spikes(nasa, 2016), nasa)
    # And given a burst of 1000x, only the burst is capped, at the limit times the week before
    burst = nasa.copy()
    burst[0, 12000] = 1000 * nasa[0, 12000]
    guarded = guard_spikes(burst, 2016)
    changed = np.flatnonzero((guarded[0] != burst[0]) & ~np.isnan(burst[0]))
    assert changed.tolist() == [12000]
    assert guarded[0, 12000] == pytest.approx(SPIKE_LIMIT * np.nanmean(nasa[0, 12000 - 2016:12000]), rel=1e-9)
    # And what comes after a time never changes what the guard makes of it
    tampered = burst.copy()
    tampered[0, 12001:] = 1e9
    np.testing.assert_array_equal(guard_spikes(tampered, 2016)[0, :12001], guarded[0, :12001])


def test_a_one_off_burst_in_the_last_days_does_not_widen_the_next_days_intervals(nasa_requests, small_config):
    # Given NASA's 5-minute requests to Aug 31, and the same with one bin at 1,000 times its count
    # (a counter glitch) three and a half days before the end
    history = nasa_requests("5min")
    glitch = history.height - 1000
    spiked = history.with_columns(value=pl.when(pl.int_range(pl.len()) == glitch).then(pl.col("value") * 1000)
                                  .otherwise(pl.col("value")))
    widths = {}
    for name, data in (("plain", history), ("spiked", spiked)):
        fc = fit_forecast(data, 288, "5min", config=small_config, gate=False).forecasts
        widths[name] = {level: (fc[f"hi{level}"] - fc[f"lo{level}"]).mean() for level in (80, 95)}
    # Then the next day's intervals are as wide as without it (they were twice as wide at 80 %,
    # when the burst's squared error dominated the series' recent error level)
    for level in (80, 95):
        assert widths["spiked"][level] == pytest.approx(widths["plain"][level], rel=0.05), widths


def test_a_glitch_in_an_idle_series_does_not_widen_its_intervals(small_config):
    # Given an idle server's hourly requests (nothing 90 % of the time, a few otherwise), and the same
    # with one glitch of 10,000 three days before the end
    hours = 24 * 30
    rng = np.random.default_rng(0)
    idle = np.where(rng.random(hours) < 0.1, rng.poisson(2, hours), 0).astype(float)
    ts = [datetime(2024, 1, 1) + timedelta(hours=h) for h in range(hours)]
    widths = {}
    for name, values in (("idle", idle), ("glitch", np.where(np.arange(hours) == hours - 72, 1e4, idle))):
        fc = fit_forecast(pl.DataFrame({"ts": ts, "value": values}), 24, "1h", config=small_config).forecasts
        widths[name] = float((fc["hi95"] - fc["lo95"]).mean())
    # Then the next day's 95 % intervals are about as wide (they were 50 times as wide, when the
    # glitch was in the local scale that intervals are measured in)
    assert widths["glitch"] < 1.5 * widths["idle"], widths
