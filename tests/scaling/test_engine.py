"""The decision loop, on demand series small enough to follow by hand (target 50%, 10 per server)."""

from __future__ import annotations

import numpy as np
import pytest

from fleetcast.scaling.engine import decide, servers_needed, warm_servers
from fleetcast.scaling.policy import ScalingPolicy

C = 10.0  # capacity per server: at 50% a server carries 5


def policy(**changes) -> ScalingPolicy:
    base = dict(target_utilisation=0.5, scale_out_periods=1, scale_in_periods=1, cooldown_in=0,
                warmup=0, metric_delay=0)
    return ScalingPolicy("t", **{**base, **changes})


def run(p: ScalingPolicy, demand: list[float], initial: int):
    made = decide(p, np.array(demand, dtype=float), C, initial)
    return made.servers.tolist(), made.action.tolist()


def test_servers_needed_rounds_up_without_float_noise():
    # 70 at 70% of 10 per server is exactly 10 servers (0.7*10*10 is 70.00000000000001 in floats)
    assert servers_needed(70, 10, 0.7) == 10
    assert servers_needed(70.01, 10, 0.7) == 11
    assert servers_needed(0, 10, 0.7) == 0


def test_scale_out_waits_for_n_consecutive_periods():
    # Given a policy that wants 3 consecutive periods above the threshold
    p = policy(scale_out_periods=3)
    # When demand jumps from 10 (2 servers) to 30 (6 servers) and stays
    servers, actions = run(p, [10, 30, 30, 30, 30], initial=2)
    # Then it acts on the third period only
    assert servers == [2, 2, 2, 6, 6]
    assert actions == ["hold", "hold", "hold", "out", "hold"]


def test_a_broken_streak_starts_counting_again():
    p = policy(scale_out_periods=3)
    servers, actions = run(p, [30, 30, 10, 30, 30, 30], initial=2)
    assert servers == [2, 2, 2, 2, 2, 6]
    assert actions.index("out") == 5


def test_scale_in_hysteresis_and_threshold_band():
    # Given scale-in after 2 periods below 40% utilisation (target 50%)
    p = policy(scale_in_periods=2, scale_in_threshold=0.4)
    # When 4 servers (capacity 40) see 18 (45%: inside the band), then 12 (30%) twice
    servers, actions = run(p, [18, 18, 12, 12, 12], initial=4)
    # Then nothing happens inside the band; the second low period scales in to ceil(12/5) = 3
    assert servers == [4, 4, 4, 3, 3]
    assert actions == ["hold", "hold", "hold", "in", "hold"]


def test_scale_in_cooldown_and_step():
    # Given at most 1 server removed per decision and 3 intervals of cooldown after any scaling
    p = policy(step_in=1, cooldown_in=3)
    # When demand drops from 30 (6 servers) to 10 (2 servers)
    servers, actions = run(p, [30, 10, 10, 10, 10, 10, 10, 10], initial=6)
    # Then it steps down one server every third interval
    assert servers == [6, 5, 5, 5, 4, 4, 4, 3]
    assert [i for i, a in enumerate(actions) if a == "in"] == [1, 4, 7]


def test_scale_out_cooldown_and_step():
    p = policy(step_out=2, cooldown_out=2)
    servers, actions = run(p, [10, 50, 50, 50, 50, 50], initial=2)
    assert servers == [2, 4, 4, 6, 6, 8]
    assert actions == ["hold", "out", "hold", "out", "hold", "out"]


def test_unlimited_scale_out_jumps_to_the_need():
    servers, _ = run(policy(), [10, 95], initial=2)
    assert servers == [2, 19]


def test_scale_out_resets_the_scale_in_clock():
    # Given cooldown_in counts from any scaling action
    p = policy(cooldown_in=2)
    servers, actions = run(p, [10, 30, 10, 10, 10], initial=2)
    # Then after the scale-out at 1 the scale-in waits until 3
    assert servers == [2, 6, 6, 2, 2]
    assert actions == ["hold", "out", "hold", "in", "hold"]


def test_min_and_max_servers_bound_every_decision():
    p = policy(min_servers=3, max_servers=5)
    # initial 1 is raised to the minimum; 100 needs 20 but the fleet stops at 5; 0 goes back to 3
    servers, actions = run(p, [0, 100, 100, 0], initial=1)
    assert servers == [3, 5, 5, 3]
    assert actions == ["hold", "out", "hold", "in"]
    made = decide(p, np.array([100.0]), C, initial=5)
    assert made.reason[0] == ("hold: load 100 needs 5 at 50% (utilisation 200%) "
                              "[20 bounded by min/max servers]")
    # an initial fleet above the maximum is cut to it
    assert run(p, [20], initial=9)[0] == [4]  # 9 -> 5 (max), then 20 needs 4: scale in


def test_unknown_demand_holds():
    made = decide(policy(), np.array([np.nan, 30.0, np.nan]), C, initial=2)
    assert made.servers.tolist() == [2, 6, 6]
    assert made.reason[0].startswith("hold: nothing known") and made.reason[1].startswith("out:")


def test_reasons_name_what_held_the_decision_back():
    made = decide(policy(scale_out_periods=2), np.array([30.0, 30.0]), C, initial=2)
    assert "1/2" in made.reason[0] and made.reason[1].startswith("out: load 30 needs 6")


@pytest.mark.parametrize("servers, warmup, initial, warm", [
    ([2, 4, 4, 4, 1, 3], 2, 2, [2, 2, 2, 4, 1, 1]),   # new servers serve 2 intervals later
    ([2, 4, 4, 4, 1, 3], 0, 2, [2, 4, 4, 4, 1, 3]),   # no warm-up: all serve at once
    ([5, 5, 2, 2], 1, 5, [5, 5, 2, 2]),               # scale-in takes effect at once
    ([3, 6], 3, 3, [3, 3]),
])
def test_capacity_counts_only_warmed_up_servers(servers, warmup, initial, warm):
    assert warm_servers(np.array(servers), warmup, initial).tolist() == warm
