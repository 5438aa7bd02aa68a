"""GET /v1/policies, POST /v1/scaling/plan and /v1/cost/report on a real ELB request-count series (NAB)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from fleetcast.api import limits
from tests.api.conftest import call, nab, points


@pytest.fixture(scope="module")
def elb() -> pl.DataFrame:
    """Two weeks of real ELB request counts per 5 minutes, with three missing intervals."""
    return nab("elb_request_count_8c0756")


def test_policies_list_the_presets_with_their_targets():
    # When
    body = call("GET", "/v1/policies").json
    # Then
    targets = {name: p["target_utilisation"] for name, p in body["presets"].items()}
    assert {k: targets[k] for k in ("conservative", "balanced", "aggressive")} == \
        {"conservative": 0.6, "balanced": 0.7, "aggressive": 0.8}
    assert body["predictive"] == ["conservative", "balanced", "aggressive"]
    assert body["presets"]["reactive"]["kind"] == "reactive"


def test_one_policy_and_an_unknown_one():
    # When
    balanced = call("GET", "/v1/policies/balanced")
    unknown = call("GET", "/v1/policies/turbo")
    # Then
    assert balanced.status == 200 and balanced.json["scale_in_threshold"] < balanced.json["scale_out_threshold"]
    assert unknown.status == 404 and unknown.fields() == ["path.preset"]


def test_replay_plan_gives_servers_and_actions_per_interval(elb):
    # When
    reply = call("POST", "/v1/scaling/plan", {"load": points(elb), "policy": "balanced", "capacity_per_server": 20})
    # Then: the last 7 days are replayed, the week before is history
    assert reply.status == 200, reply.text
    body = reply.json
    intervals = body["intervals"]
    assert body["mode"] == "replay" and body["freq"] == "5min" and len(intervals) == 7 * 288
    assert intervals[-1]["timestamp"] == f"{elb['timestamp'][-1]:%Y-%m-%dT%H:%M:%S}Z"
    assert {i["action"] for i in intervals} == {"out", "in", "hold"}
    summary = body["summary"]
    assert summary["scale_outs"] == sum(i["action"] == "out" for i in intervals)
    assert summary["sla_violation_intervals"] == sum(bool(i["sla_violation"]) for i in intervals)
    assert summary["gap_intervals"] == sum(i["load"] is None for i in intervals) == 3
    assert 0 < summary["saving_vs_static_pct"] < 100
    for i in intervals:
        if i["load"] is not None and not i["sla_violation"]:
            assert i["load"] <= i["warm_servers"] * 20 + 1e-9


def test_plan_over_a_forecast_sizes_each_interval_for_its_quantile():
    # Given a forecast of 6 intervals, a peak in the middle
    t0 = datetime(2026, 11, 23)
    forecast = [{"timestamp": f"{t0 + timedelta(minutes=5 * i):%Y-%m-%dT%H:%M}Z", "yhat": y, "hi80": y * 1.2}
                for i, y in enumerate([100, 100, 400, 400, 100, 100])]
    # When
    reply = call("POST", "/v1/scaling/plan", {"forecast": forecast, "policy": "balanced", "capacity_per_server": 50,
                                               "current_servers": 4})
    # Then: 480 at 70% of 50 needs 14 servers, ordered one interval ahead (warm-up 1)
    assert reply.status == 200, reply.text
    rows = reply.json["intervals"]
    assert [r["servers"] for r in rows][:3] == [4, 14, 14]
    assert rows[1]["action"] == "out" and rows[1]["planned_load"] == pytest.approx(480)
    assert reply.json["summary"]["planned_on"] == "hi80"


def test_custom_policy_fields_override_its_base(elb):
    # When
    capped = {"name": "capped", "base": "aggressive", "max_servers": 10}
    body = call("POST", "/v1/scaling/plan", {"load": points(elb), "capacity_per_server": 20, "policy": capped}).json
    # Then
    assert body["policy"]["name"] == "capped" and body["policy"]["target_utilisation"] == 0.8
    assert max(i["servers"] for i in body["intervals"]) == 10


def test_cost_report_compares_the_presets_with_static_and_reactive(elb):
    # When
    reply = call("POST", "/v1/cost/report", {"load": points(elb), "capacity_per_server": 20,
                                              "price_per_server_hour": 0.5})
    # Then
    assert reply.status == 200, reply.text
    rows = {p["name"]: p for p in reply.json["policies"]}
    assert {"static_peak", "conservative", "balanced", "aggressive"} <= set(rows)
    assert any(name.startswith("reactive") for name in rows)
    assert rows["static_peak"]["saving_vs_static_pct"] == 0 and rows["static_peak"]["scaling_events"] == 0
    for p in rows.values():
        assert p["cost"] == pytest.approx(p["server_hours"] * 0.5, rel=1e-6)
        assert p["saving_vs_static_pct"] == pytest.approx(100 * (1 - p["cost"] / rows["static_peak"]["cost"]),
                                                          abs=0.01)
    assert rows["conservative"]["sla_violation_pct"] <= rows["aggressive"]["sla_violation_pct"]
    assert rows["aggressive"]["cost"] <= rows["conservative"]["cost"]


@pytest.mark.parametrize("path, body, fields", [
    ("/v1/scaling/plan", {"policy": "balanced"}, ["body"]),
    ("/v1/scaling/plan", {"load": "LOAD", "forecast": []}, ["body.forecast"]),
    ("/v1/scaling/plan", {"load": [{"timestamp": "2024-01-01T00:00:00Z", "value": -5}] * 2},
     ["body.load[0].value", "body.load[1].value"]),
    ("/v1/scaling/plan", "LOAD", ["body.policy"]),
    ("/v1/scaling/plan", {"load": "LOAD", "policy": {"name": "p", "target_utilisation": 1.5}},
     ["body.policy.target_utilisation"]),
    ("/v1/scaling/plan", {"load": "LOAD", "policy": {"name": "p", "base": "balanced", "scale_in_threshold": 0.9}},
     ["body.policy.scale_in_threshold"]),
    ("/v1/scaling/plan", {"load": "LOAD", "start": "2030-01-01T00:00:00Z"}, ["body.start"]),
    ("/v1/scaling/plan", {"load": "LOAD", "capacity_per_server": 0}, ["body.capacity_per_server"]),
    ("/v1/scaling/plan", {"forecast": [{"timestamp": "2024-01-01T00:00:00Z", "yhat": 1}], "policy": "reactive"},
     ["body.policy"]),
    ("/v1/cost/report", {"load": "LOAD", "policies": ["balanced"] * (limits.MAX_POLICIES + 1)}, ["body.policies"]),
    ("/v1/cost/report", {"load": "LOAD", "policies": []}, ["body.policies"]),
    ("/v1/cost/report", {"load": "LOAD", "price_per_server_hour": -1}, ["body.price_per_server_hour"]),
    ("/v1/cost/report", {"load": "LOAD", "policies": [{"name": "b", "step_out": 0}]}, ["body.policies[0].step_out"]),
])
def test_invalid_scaling_requests_are_field_level_400s(elb, path, body, fields):
    # Given "LOAD" standing for the real series
    load = points(elb.tail(600))
    if body == "LOAD":
        body = {"load": load, "policy": "turbo"}
    elif body.get("load") == "LOAD":
        body = {**body, "load": load}
    # When
    reply = call("POST", path, body)
    # Then
    assert reply.status == 400, reply.text
    assert sorted(set(reply.fields())) == fields


def test_too_much_load_is_413():
    # Given one more 1-minute interval than a request may hold
    t0 = datetime(2024, 1, 1)
    load = [{"timestamp": f"{t0 + timedelta(minutes=i):%Y-%m-%dT%H:%M}Z", "value": 1.0}
            for i in range(limits.MAX_LOAD_POINTS + 1)]
    # When
    reply = call("POST", "/v1/cost/report", {"load": load})
    # Then
    assert reply.status == 413 and reply.fields() == ["body.load"]
