"""Small training samples are learnt by several boosters, so the forecast does not hang on the seed."""

from __future__ import annotations

import numpy as np
import polars as pl

from fleetcast.forecast.features import Layout
from fleetcast.forecast.model import MAX_MEMBERS, GlobalModel, ModelConfig
from fleetcast.forecast.panel import to_panel


def _nasa_hourly(nasa_requests) -> pl.DataFrame:
    """Requests per hour, Jul 1 - Aug 22 1995."""
    return nasa_requests("1h").filter(pl.col("ts") < pl.datetime(1995, 8, 23))


def _next_two_days(panel, **settings) -> tuple[GlobalModel, np.ndarray]:
    model = GlobalModel(ModelConfig(n_estimators=150, **settings), Layout.for_freq(panel.freq), 48).fit(panel)
    return model, model.predict(panel, np.array([0]), panel.last, 48)[0][0]


def test_a_small_sample_is_averaged_over_boosters_and_moves_less_with_the_seed(nasa_requests):
    # Given NASA's hourly requests, 53 days: about 10,000 training rows for 48 h ahead
    panel = to_panel(_nasa_hourly(nasa_requests), "1h")
    # When the next two days are forecast with three seeds (far apart: a model with seed s also
    # trains boosters with seeds s+1...), by one booster and by the default
    single = [_next_two_days(panel, seed=s, ensemble_rows=0) for s in (0, 10, 20)]
    averaged = [_next_two_days(panel, seed=s) for s in (0, 10, 20)]
    # Then the default learns the sample with the most boosters allowed, one learns it once
    assert [len(m.boosters) for m, _ in averaged] == [MAX_MEMBERS] * 3
    assert [len(m.boosters) for m, _ in single] == [1] * 3
    # And its forecasts differ less from seed to seed: the standard deviation over the seeds, in
    # requests per hour over the 48 hours, is 61 instead of 88
    def spread(runs):
        return float(np.sqrt(np.mean(np.var([f for _, f in runs], axis=0))))
    assert spread(averaged) < 0.8 * spread(single), (spread(averaged), spread(single))


def test_a_sample_as_large_as_the_ensemble_threshold_is_learnt_once(nasa_requests):
    # Given the same history and a threshold at the size of its training sample
    panel = to_panel(_nasa_hourly(nasa_requests), "1h")
    rows = GlobalModel(ModelConfig(ensemble_rows=0), Layout.for_freq(panel.freq), 48).fit(panel).n_rows
    # When the threshold is the sample's size, then one booster learns it; at twice the size, two
    assert len(_next_two_days(panel, ensemble_rows=rows)[0].boosters) == 1
    assert len(_next_two_days(panel, ensemble_rows=2 * rows)[0].boosters) == 2
