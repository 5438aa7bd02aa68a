"""Simulator arithmetic, static sizing and gaps, on series small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fleetcast.forecast.frequency import Frequency
from fleetcast.scaling import PRESETS, LoadSeries, Plan, replay, simulate, static_plan, static_servers
from fleetcast.scaling.simulator import default_capacity


def hourly(values) -> LoadSeries:
    return LoadSeries(np.datetime64("2024-01-01T00:00"), Frequency.parse("1h"), np.array(values, float))


def test_cost_saving_and_violations_by_hand():
    # Given hourly loads 10, 30, (gap), 5 and a plan of 2, 2, 3, 1 servers of which 2, 2, 2, 1 are warm
    load = hourly([10, 30, np.nan, 5])
    plan = Plan("p", "reactive", 0, load.values, np.array([2, 2, 3, 1]), np.array([2, 2, 2, 1]),
                np.array(["hold", "hold", "out", "in"], dtype=object), [""] * 4)
    # When replayed at 10 per server and 0.5 per server-hour against static fleets costing 10 and 6
    r = replay(plan, load, 10.0, 0.5, static_cost=10.0, static_100pct_cost=6.0)
    # Then 8 server-hours cost 4.0 (the gap hour is billed), 60% less than 10.0, 33.3% less than 6.0
    got = (r.server_hours, r.cost, r.saving_vs_static_pct, r.saving_vs_static_100pct)
    assert got == (8.0, 4.0, 60.0, 33.333)
    # and only hour 1 violates (30 > 2 warm x 10); the gap is neither violation nor counted
    assert (r.sla_violation_intervals, r.observed_intervals, r.gap_intervals) == (1, 3, 1)
    assert r.sla_violation_pct == 33.333
    # 10 of the 45 load units found no capacity; 45 load on 20 + 20 + 10 warm capacity is 90%
    assert r.unserved_load_pct == pytest.approx(100 * 10 / 45, abs=1e-3)
    assert r.mean_utilisation_pct == 90.0
    assert (r.scaling_events, r.scale_outs, r.scale_ins, r.mean_servers, r.max_servers) == (2, 1, 1, 2.0, 3)


def test_static_fleet_is_sized_for_the_replay_peak_at_70_percent():
    assert static_servers(655, 50) == 19            # 655 / (50 * 0.7) = 18.7
    assert static_servers(655, 50, 1.0) == 14       # the stricter reading: 655 / 50 = 13.1
    assert static_servers(0, 50) == 1
    # the peak is the replay's (history and gaps ignored), and the fleet never changes
    plan = static_plan(hourly([500, 9, np.nan, 70]), 1, 10.0)
    assert plan.servers.tolist() == plan.warm.tolist() == [10, 10, 10]
    assert plan.events == 0


def test_reactive_against_static_end_to_end_by_hand():
    # Given hourly load 10 10 | 10 40 40 10 10 replayed from hour 2, 10 per server, price 1
    load = hourly([10, 10, 10, 40, 40, 10, 10])
    sim = simulate(load, start=2, capacity_per_server=10.0, policies=[], match_reactive=False)
    static, reactive = sim.results
    assert [r.name for r in sim.results] == ["static_peak", "reactive"]
    # Then static: ceil(40 / 7) = 6 servers x 5 hours = 30
    assert (static.cost, static.sla_violation_intervals) == (30.0, 0)
    # reactive (target 70%, sees load 2 hours late, 1 hour warm-up) plans on loads 10 10 10 40 40:
    # 2 2 2 6 6 servers, of which 2 2 2 2 6 serve -> hours 3 and 4 (40 > 20) violate
    plan = sim.plans["reactive"]
    assert plan.servers.tolist() == [2, 2, 2, 6, 6] and plan.warm.tolist() == [2, 2, 2, 2, 6]
    assert (reactive.cost, reactive.saving_vs_static_pct) == (18.0, 40.0)
    assert (reactive.sla_violation_intervals, reactive.sla_violation_pct) == (2, 40.0)
    assert (reactive.scale_outs, reactive.scale_ins) == (1, 0)


def test_gaps_in_the_replay_are_billed_but_never_violations():
    load = hourly([10, 10, 10, np.nan, np.nan, 40, 10])
    sim = simulate(load, start=2, capacity_per_server=10.0, policies=[], match_reactive=False)
    reactive = sim.results[1]
    # the reactive fleet holds through the gap (it sees nothing) and is billed for it
    assert sim.plans["reactive"].servers.tolist() == [2, 2, 2, 2, 2]
    assert reactive.server_hours == 10.0
    # hour 5 (40 > 20) violates: 1 of 3 observed hours
    got = (reactive.sla_violation_intervals, reactive.observed_intervals, reactive.gap_intervals)
    assert got == (1, 3, 2)
    assert reactive.sla_violation_pct == 33.333


def test_matched_reactive_reaches_at_least_the_predictive_sla():
    day = np.r_[np.full(8, 20.0), np.full(12, 90.0), np.full(4, 40.0)]
    load = hourly(np.tile(day, 10))
    sim = simulate(load, start=24 * 7, capacity_per_server=10.0, policies=[PRESETS["balanced"]])
    rows = {r.name: r for r in sim.results}
    assert list(rows) == ["static_peak", "balanced", "reactive", "reactive@balanced"]
    matched = rows["reactive@balanced"]
    assert matched.kind == "reactive-matched"
    assert matched.sla_violation_intervals <= rows["balanced"].sla_violation_intervals
    assert 0.3 <= sim.policies["reactive@balanced"].target_utilisation <= 0.95


def test_default_capacity_makes_a_static_fleet_of_about_15():
    load = hourly([100, 655, 300, 120])
    assert default_capacity(load, 2) == 44.0          # 655 / 15 = 43.7, history only
    assert default_capacity(load, 0) == 44.0          # no history: the whole series


@pytest.mark.parametrize("kwargs, message", [
    (dict(capacity_per_server=0.0), "capacity per server must be a positive number"),
    (dict(capacity_per_server=10.0, price_per_server_hour=-1.0), "price per server-hour"),
    (dict(capacity_per_server=10.0, start=99), "not inside the load series"),
    (dict(capacity_per_server=10.0, policies=[PRESETS["balanced"]]), "at least one day of history"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    from fleetcast.errors import FleetcastError
    with pytest.raises(FleetcastError, match=message):
        simulate(hourly([10, 20, 30, 40]), **{"start": 2, **kwargs})
