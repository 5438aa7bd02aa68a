"""Plans and results in the lake: documented columns, run_id on every row, re-runs replace."""

from __future__ import annotations

import numpy as np

from fleetcast.forecast.frequency import Frequency
from fleetcast.lake.tables import SCALING_PLANS, SIMULATIONS, TABLES
from fleetcast.scaling import PRESETS, LoadSeries, simulate, write_simulations


def test_tables_are_registered_with_documented_columns():
    for table in (SCALING_PLANS, SIMULATIONS):
        assert TABLES[table.name] is table
        assert [c.name for c in table.partitions] == ["run_id", "shard"] and table.doc
        assert all(c.doc for c in (*table.columns, *table.partitions))


def test_write_and_rewrite_a_run(lake):
    day = np.r_[np.full(8, 20.0), np.full(12, 90.0), np.full(4, 40.0)]
    load = LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("1h"), np.tile(day, 9))
    sim = simulate(load, start=24 * 8, capacity_per_server=10.0, policies=[PRESETS["aggressive"]])
    sims = {"web-01": sim, "api": sim}
    # When the same run is written twice
    first = write_simulations(lake, "run-7", sims)
    again = write_simulations(lake, "run-7", sims)
    # Then the second write replaced the first
    assert first == again == {"scaling_plans": 2 * 4 * 24, "simulations": 2 * 4}
    plans, results = lake.read(SCALING_PLANS), lake.read(SIMULATIONS)
    assert plans.height == 2 * 4 * 24 and results.height == 8
    assert set(plans["run_id"]) == {"run-7"} and set(results["run_id"]) == {"run-7"}
    row = results.filter(series_id="web-01", policy="aggressive").row(0, named=True)
    assert row["kind"] == "predictive" and row["quantile"] == "hi80" and row["target_utilisation"] == 0.8
    assert row["static_servers"] == 13 and row["freq"] == "1h"
    violations = plans.filter(series_id="api", policy="reactive")["sla_violation"].sum()
    assert violations == results.filter(series_id="api", policy="reactive")["sla_violation_intervals"][0]
    # a second run is added beside the first
    write_simulations(lake, "run-8", {"web-01": sim})
    assert lake.read(SIMULATIONS).height == 12
