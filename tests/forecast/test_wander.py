"""Intervals beyond a week from under a year of backtest windows take the whole history's spread."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from fleetcast.forecast import backtest, fit_forecast

START = datetime(2024, 1, 1)


def shifting_fleet(n: int, seed: int) -> pl.DataFrame:
    """Daily series (weekday/weekend cycle, 3 % noise) whose level moves by up to 30 % every three
    weeks, except over days 110-239: the backtest's windows see a calm stretch, the forecast does not."""
    rng = np.random.default_rng(seed)
    t = np.arange(330)
    frames = []
    for i in range(n):
        moves = np.where((t % 21 == 0) & ((t < 110) | (t >= 240)), rng.uniform(-0.3, 0.3, t.size), 0.0)
        level = 1000 * np.exp(np.cumsum(moves)) * (1 + 0.1 * (t % 7 < 5))
        frames.append(pl.DataFrame({"series_id": f"s{i}", "ts": [START + timedelta(days=int(d)) for d in t],
                                    "value": level * (1 + rng.normal(0, 0.03, t.size))}))
    return pl.concat(frames)


def late_coverage(result, future: pl.DataFrame) -> tuple[float, float]:
    got = result.forecasts.join(future, on=["series_id", "ts"]).filter(pl.col("step") > 30)
    return tuple(float(((got["value"] >= got[f"lo{lv}"]) & (got["value"] <= got[f"hi{lv}"])).mean())
                 for lv in (80, 95))


def test_long_horizon_intervals_take_the_spread_of_the_whole_history(small_config, monkeypatch):
    # Given 8 daily series with 240 days of history, whose last 130 days were calm
    data = shifting_fleet(8, seed=1)
    cut = START + timedelta(days=240)
    history, future = data.filter(pl.col("ts") < cut), data.filter(pl.col("ts") >= cut)
    # When the next 90 days are forecast
    result = fit_forecast(history, 90, "1d", config=small_config, gate=False)
    # Then the intervals over days 31-90 cover about as often as they say, though the level moved again
    cov80, cov95 = late_coverage(result, future)
    assert cov80 >= 0.75 and cov95 >= 0.9, (cov80, cov95)
    assert "as wide as their level moved within their history" in result.model_card["caveats"][0]
    # And from the backtest's windows alone they would have missed most of those days
    monkeypatch.setattr(backtest, "needs_history", lambda *args: False)
    plain = fit_forecast(history, 90, "1d", config=small_config, gate=False)
    plain80, plain95 = late_coverage(plain, future)
    assert plain80 < 0.5 and plain95 < 0.6, (plain80, plain95)
    # And the first week, which the windows do vouch for, keeps the windows' own intervals
    early = pl.col("step") <= 7
    assert result.forecasts.filter(early).select("lo80", "hi95").equals(
        plain.forecasts.filter(early).select("lo80", "hi95"))
    assert not result.forecasts.filter(pl.col("step") > 30)["hi80"].equals(
        plain.forecasts.filter(pl.col("step") > 30)["hi80"])


def test_the_caveat_says_tails_were_widened_only_where_they_were(small_config):
    # Given one series with 130 days of history: one backtest window 90 days ahead, so one bucket of
    # horizon steps that starts in the first week (it keeps the window's tails: nothing is remapped)
    history = shifting_fleet(1, seed=2).filter(pl.col("ts") < START + timedelta(days=130))
    # When the next 90 days are forecast
    result = fit_forecast(history, 90, "1d", config=small_config)
    # Then the forecast does not claim its tails took the history's spread: it says they may be too narrow
    caveats = " ".join(result.model_card["caveats"])
    assert "its intervals beyond the first weeks may be too narrow" in caveats
    assert "as wide as its level moved" not in caveats and "one backtest window only" in caveats
