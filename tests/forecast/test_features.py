"""Features: no leakage (nothing at or after the target time), gaps stay gaps, recursion is consistent."""

from __future__ import annotations

import numpy as np

from fleetcast.forecast.features import History, Layout, build_features, calendar_table
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.model import GlobalModel, ModelConfig
from fleetcast.forecast.panel import Panel

FREQ = Frequency.parse("1h")
START = np.datetime64("2024-01-01T00:00", "us")


def _series(n: int = 3, days: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(days * 24)
    values = 100 + 30 * np.sin(2 * np.pi * k / 24)[None, :] + rng.normal(0, 5, (n, k.size))
    values[0, 300:340] = np.nan  # an outage
    values[-1, rng.choice(k.size, 50, replace=False)] = np.nan  # scattered missing samples
    return values


def test_no_feature_uses_the_target_or_anything_after_the_origin():
    # Given a panel with gaps and rows (series, target t, origin o) for horizons 1..300
    values = _series()
    layout = Layout.for_freq(FREQ)
    rng = np.random.default_rng(1)
    for origin in (200, 500, 700):
        rows = rng.integers(0, 3, 200)
        t = origin + rng.integers(1, 300, 200)
        o = np.full(200, origin)
        before = build_features(History(values, layout, START, FREQ), rows, t, o)[0]
        # When every value after the origin (the targets included) is replaced by noise or gaps
        tampered = values.copy()
        tail = tampered[:, origin + 1:]
        tampered[:, origin + 1:] = np.where(rng.random(tail.shape) < 0.3, np.nan, rng.normal(1e6, 1e5, tail.shape))
        after = build_features(History(tampered, layout, START, FREQ), rows, t, o)[0]
        # Then not a single feature changes
        np.testing.assert_array_equal(before, after)
        assert np.isfinite(before).mean() > 0.8


def test_one_step_rows_see_the_previous_value_but_not_the_target():
    # Given the one-step (recursive) rows o = t - 1
    values = _series(n=1)
    layout = Layout.for_freq(FREQ)
    t = np.arange(400, 420)
    X, scale = build_features(History(values, layout, START, FREQ), np.zeros(20, int), t, t - 1)
    names = layout.names()
    # Then "last_0" is y[t-1] (scaled) and the horizon is 1
    seen = ~np.isnan(values[0, t - 1])
    np.testing.assert_allclose((X[:, names.index("last_0")] * scale)[seen], values[0, t - 1][seen], rtol=1e-5)
    assert set(X[:, names.index("h")]) == {1.0}


def test_gaps_are_imputed_explicitly_never_as_zeros():
    # Given a series at 50 whose last 6 hours before the origin, and last week's slot, are a gap
    values = np.full((1, 24 * 30), 50.0)
    values[0, 594:600] = np.nan
    values[0, 600 + 47 - 168] = np.nan
    layout = Layout.for_freq(FREQ)
    X, scale = build_features(History(values, layout, START, FREQ), np.array([0]), np.array([647]),
                              np.array([599]))
    f = dict(zip(layout.names(), X[0] * 1.0, strict=True))
    # Then the recent values are imputed from the EW mean (50, not 0), windows skip the gap,
    assert scale[0] == 50.0
    assert f["last_0"] == f["roll_mean_6"] == f["roll_mean_24"] == 1.0
    # the missing same-slot value comes from the other weeks, and the feature says data is thin
    assert f["week_lag_1"] == 1.0 and f["slot_mean_weeks"] == 1.0
    assert np.isclose(f["observed_week"], (168 - 7) / 168)


def test_recursive_updates_match_a_fresh_history():
    # Given a history extended step by step with forecasts
    values = _series(n=2)
    layout = Layout.for_freq(FREQ)
    hist = History(values[:, :500], layout, START, FREQ, extra=5)
    rows = np.array([0, 1])
    for k in range(5):
        hist.set(rows, np.array([500 + k] * 2), values[:, 500 + k])
    fresh = History(values[:, :505], layout, START, FREQ)
    # When the features of the next step are computed from both
    t = np.array([505, 505])
    a = build_features(hist, rows, t, t - 1)[0]
    b = build_features(fresh, rows, t, t - 1)[0]
    # Then they agree
    np.testing.assert_allclose(a, b, rtol=1e-5, equal_nan=True)


def test_training_rows_never_reach_past_the_cutoff_and_targets_follow_origins():
    # Given a model trained on data up to a cutoff
    values = _series()
    panel = Panel(["a", "b", "c"], START, FREQ, values, np.zeros(3, int), np.full(3, values.shape[1] - 1))
    model = GlobalModel(ModelConfig(), Layout.for_freq(FREQ), horizon=48)
    cutoff = np.array([600, 650, 700])
    rows, t, o = model._training_rows(values, panel.first, cutoff, seed=0)
    # Then every target is observed, within the cutoff, and after its origin by 1..48 steps
    assert np.all(t <= cutoff[rows]) and np.all(~np.isnan(values[rows, t]))
    assert np.all((t - o >= 1) & (t - o <= 48))
    assert np.all(o >= panel.first[rows] + 24)


def test_fitting_with_a_cutoff_ignores_later_data(small_config):
    # Given two panels that differ only after the cutoff
    values = _series()
    tampered = values.copy()
    tampered[:, 801:] = 1e6
    cutoff = np.full(3, 800)
    preds = []
    for v in (values, tampered):
        panel = Panel(["a", "b", "c"], START, FREQ, v, np.zeros(3, int), np.full(3, v.shape[1] - 1))
        model = GlobalModel(small_config, Layout.for_freq(FREQ), 24).fit(panel, cutoff)
        preds.append(model.predict(panel, np.arange(3), cutoff, 24)[0])
    # Then the fitted model and its forecasts from the cutoff are identical
    np.testing.assert_array_equal(preds[0], preds[1])


def test_calendar_marks_month_and_quarter_ends():
    cal = calendar_table(np.datetime64("2024-06-29T00:00"), FREQ, 24 * 3)
    slot, dow, month_end, quarter_end = cal
    # 2024-06-29 is a Saturday; June 30 closes the month and the quarter; July 1 is a Monday
    assert slot[:3].tolist() == [0, 1, 2]
    assert dow[0] == 5 and dow[48] == 0
    assert month_end[24] == 0 and quarter_end[24] == 0
    assert month_end[48] == 3 and quarter_end[48] == 3


def test_short_horizons_are_scaled_by_the_last_day_longer_ones_by_the_last_week():
    # Given a 5-minute series at 100 for three weeks that ramps up to 300 over its last day
    freq = Frequency.parse("5min")
    layout = Layout.for_freq(freq)
    values = np.full((1, 288 * 21), 100.0)
    values[0, -288:] = 300.0
    o = values.shape[1] - 1
    hist = History(values, layout, START, freq, extra=576)
    # When features are built at the last time for one step and for two days ahead
    X, scale = build_features(hist, np.array([0, 0]), np.array([o + 1, o + 576]), np.array([o, o]))
    last_0 = X[:, layout.names().index("last_0")]
    # Then one step ahead is scaled by the last day's mean (the ramp stays at 1, in the trained range)
    assert layout.short_horizon == 288
    np.testing.assert_allclose(scale, [300.0, (6 * 100 + 300) / 7])
    np.testing.assert_allclose(last_0, [1.0, 300.0 / scale[1]], rtol=1e-6)
    # And hourly series keep the week's scale at every horizon
    assert Layout.for_freq(FREQ).short_horizon == 0
