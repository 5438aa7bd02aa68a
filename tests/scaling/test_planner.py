"""Plans: what a decision may see (metric delay, no peeking), warm-up lead, the observed floor."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from fleetcast.forecast.frequency import Frequency
from fleetcast.scaling import PRESETS, LoadSeries, ScalingPolicy, SeasonalBaseline, forecast_book, plan

FIVE = Frequency.parse("5min")


def series(values, freq=FIVE) -> LoadSeries:
    return LoadSeries(np.datetime64("2024-01-01T00:00"), freq, np.array(values, float))


class Oracle:
    """A stub forecaster that knows the whole series (to test the planning mechanics only)
    and records what history it was shown."""

    name = "oracle"

    def __init__(self, load: LoadSeries):
        self.load, self.seen_until = load, []

    def __call__(self, history: pl.DataFrame, horizon: int, freq: str) -> pl.DataFrame:
        self.seen_until.append(history["ts"].max())
        last = int((np.datetime64(history["ts"][-1], "us") - self.load.start) / self.load.step)
        idx = np.arange(last + 1, last + 1 + horizon)
        v = np.where(idx < len(self.load), self.load.values[np.minimum(idx, len(self.load) - 1)], np.nan)
        return pl.DataFrame({"ts": self.load.times(idx), "yhat": v, "lo80": v, "hi80": v, "lo95": v,
                             "hi95": v})


def test_reactive_sees_the_load_metric_delay_plus_one_intervals_late():
    load = series([10, 10, 10, 10, 80, 80, 80, 80, 80, 80])
    reactive = PRESETS["reactive"]
    outs = {}
    for delay in (0, 1, 2):
        p = plan(reactive.with_(metric_delay=delay), load, 3, capacity_per_server=10.0)
        outs[delay] = 3 + int(np.flatnonzero(p.action == "out")[0])
    # the jump happens at 4: visible at 5 with no delay, at 6 and 7 with 1 and 2 intervals of delay
    assert outs == {0: 5, 1: 6, 2: 7}


def test_predictive_launches_warmup_intervals_ahead_of_the_forecast_load():
    # Given a perfect forecast of a jump at position 10 and a policy with 3 intervals of warm-up
    load = series([10.0] * 10 + [70.0] * 6)
    p = ScalingPolicy("p", target_utilisation=0.7, warmup=3, metric_delay=0, quantile="yhat")
    book = forecast_book(load, 4, Oracle(load), every=2, lead=3, delay=0)
    made = plan(p, load, 4, capacity_per_server=10.0, book=book)
    # Then the 10 servers are requested at 7 and serve from 10, exactly when the load arrives
    assert made.servers.tolist() == [2, 2, 2, 10, 10, 10, 10, 10, 10, 10, 10, 10]
    assert made.warm.tolist() == [2] * 6 + [10] * 6
    assert not np.any(load.values[4:] > made.warm * 10.0)


def test_predictive_never_scales_in_below_what_the_observed_load_needs():
    # Given a forecast that says 0 while the load actually seen is 60
    load = series([60.0] * 12)

    def silent(history, horizon, freq):
        first = history["ts"][-1] + timedelta(minutes=5)
        ts = pl.datetime_range(first, first + timedelta(minutes=5 * (horizon - 1)), "5m", eager=True)
        zeros = {c: [0.0] * horizon for c in ("yhat", "lo80", "hi80", "lo95", "hi95")}
        return pl.DataFrame({"ts": ts, **zeros})

    p = PRESETS["aggressive"]
    book = forecast_book(load, 4, silent, every=3, lead=p.warmup, delay=p.metric_delay)
    made = plan(p, load, 4, capacity_per_server=10.0, book=book)
    # Then the fleet stays at ceil(60 / (10 * 0.8)) = 8
    assert set(made.servers.tolist()) == {8}
    assert "load 60 needs 8" in made.reason[-1]


def test_forecasts_only_see_data_before_refresh_minus_delay():
    load = series(np.arange(40.0))
    spy = Oracle(load)
    forecast_book(load, 10, spy, every=5, lead=1, delay=2)
    # refreshes at 10, 15, ... 35 see data up to 7, 12, ... 32
    expected = [load.times(np.array([r - 3]))[0] for r in range(10, 40, 5)]
    assert [np.datetime64(t, "us") for t in spy.seen_until] == expected


def test_a_decision_is_the_same_whether_or_not_later_data_exists(nasa_requests):
    # Given the real NASA series, replayed from Aug 23 with the baseline forecaster
    full = LoadSeries.from_frame(nasa_requests("5min"))
    start, cut = full.index_of(datetime(1995, 8, 23)), full.index_of(datetime(1995, 8, 25, 13, 7))
    truncated = LoadSeries(full.start, full.freq, full.values[:cut])
    altered = LoadSeries(full.start, full.freq, np.r_[full.values[:cut], full.values[cut:] * 5])
    made = {}
    for name, load in (("full", full), ("truncated", truncated), ("altered", altered)):
        policies = [PRESETS["aggressive"], PRESETS["reactive"]]
        book = forecast_book(load, start, SeasonalBaseline(), every=24, lead=1, delay=1)
        made[name] = [plan(p, load, start, 50.0, book) for p in policies]
    # Then every decision before the cut is identical, for predictive and reactive alike
    n = cut - start
    for other in ("truncated", "altered"):
        for a, b in zip(made["full"], made[other], strict=True):
            assert a.servers[:n].tolist() == b.servers[:n].tolist()
            assert a.reason[:n] == b.reason[:n]
            np.testing.assert_array_equal(a.demand[:n], b.demand[:n])
    # and the altered future does change what comes after it (the check has teeth)
    assert made["full"][0].servers[n + 24:].tolist() != made["altered"][0].servers[n + 24:].tolist()
