"""Panels: long data on a regular grid, gaps kept as NaN, frequency inferred."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.forecast.frequency import Frequency, infer_frequency
from fleetcast.forecast.panel import PanelError, to_panel


def test_missing_rows_and_null_values_are_gaps_never_zeros():
    # Given two series at 5 min, one with a missing row, one with an empty value
    t0 = datetime(2024, 1, 1)
    df = pl.DataFrame({
        "series_id": ["a", "a", "a", "b", "b", "b"],
        "ts": [t0, t0 + timedelta(minutes=5), t0 + timedelta(minutes=15), t0, t0 + timedelta(minutes=5),
               t0 + timedelta(minutes=10)],
        "value": [1.0, 2.0, 4.0, 5.0, None, 7.0],
    })
    # When they are put on a grid
    panel = to_panel(df)
    # Then both gaps are NaN and every real zero-free value is where it belongs
    assert panel.freq.name == "5min" and panel.ids == ["a", "b"]
    np.testing.assert_array_equal(panel.values, [[1, 2, np.nan, 4], [5, np.nan, 7, np.nan]])
    assert panel.last.tolist() == [3, 2]
    assert not np.any(panel.values == 0)


def test_duplicates_in_a_bin_are_averaged_and_off_grid_times_rejected():
    t0 = datetime(2024, 1, 1)
    df = pl.DataFrame({"ts": [t0, t0, t0 + timedelta(hours=1)], "value": [1.0, 3.0, 5.0]})
    assert to_panel(df, "1h").values.tolist() == [[2.0, 5.0]]
    off = pl.DataFrame({"ts": [t0, t0 + timedelta(minutes=50)], "value": [1.0, 2.0]})
    with pytest.raises(PanelError, match="not on the 1h grid"):
        to_panel(off, "1h")


def test_frequency_parsing_and_inference():
    assert Frequency.parse("15min").day == 96 and Frequency.parse("1h").week == 168
    assert Frequency.parse("1d").rolling_windows() == (3, 7, 28)
    with pytest.raises(ValueError, match="does not divide a day"):
        Frequency.parse("7min")
    t = np.array(["2024-01-01T00:00", "2024-01-01T00:15", "2024-01-01T01:00"], "datetime64[s]")
    assert infer_frequency(t).name == "15min"
    jitter = np.array(["2024-01-01T00:00", "2024-01-01T00:05", "2024-01-01T00:11"], "datetime64[s]")
    assert infer_frequency(jitter) is None
