"""Presets and custom policies from JSON, with errors that name the bad field."""

from __future__ import annotations

import json

import pytest

from fleetcast.errors import FleetcastError
from fleetcast.scaling import PRESETS, PolicyError, ScalingPolicy, load_policy_file, policy_from_dict
from fleetcast.scaling.compare import resolve_policies


def test_presets_target_60_70_80_percent():
    assert {n: PRESETS[n].target_utilisation for n in ("conservative", "balanced", "aggressive")} == {
        "conservative": 0.6, "balanced": 0.7, "aggressive": 0.8}
    assert all(PRESETS[n].kind == "predictive" for n in ("conservative", "balanced", "aggressive"))
    assert PRESETS["reactive"].kind == "reactive"


def test_policies_are_frozen_and_derive_thresholds_from_the_target():
    p = ScalingPolicy("p", target_utilisation=0.6)
    assert (p.scale_out_threshold, p.scale_in_threshold) == (0.6, pytest.approx(0.51))
    with pytest.raises(AttributeError):
        p.warmup = 3  # type: ignore[misc]


def test_a_custom_policy_can_start_from_a_preset():
    p = policy_from_dict({"name": "nightly", "base": "balanced", "min_servers": 2, "max_servers": 30,
                          "warmup": 2, "quantile": "hi95"})
    got = (p.target_utilisation, p.min_servers, p.max_servers, p.warmup, p.quantile)
    assert got == (0.7, 2, 30, 2, "hi95")


@pytest.mark.parametrize("spec, message", [
    ({"name": "x", "target_utilisation": 70}, "'target_utilisation' is a fraction of capacity: write 0.7"),
    ({"name": "x", "target_utilisation": 0}, "'target_utilisation' must be a number in (0, 1]"),
    ({"name": "x", "target_utilisation": "high"}, "'target_utilisation' must be a number"),
    ({"name": "x", "scale_in_threshold": 0.9}, "'scale_in_threshold' must be below scale_out_threshold"),
    ({"name": "x", "scale_out_periods": 0}, "'scale_out_periods' must be a whole number >= 1"),
    ({"name": "x", "cooldown_in": -1}, "'cooldown_in' must be a whole number >= 0"),
    ({"name": "x", "step_in": 1.5}, "'step_in' must be a whole number >= 1"),
    ({"name": "x", "warmup": True}, "'warmup' must be a whole number"),
    ({"name": "x", "min_servers": 5, "max_servers": 3}, "'max_servers' must be at least min_servers (5)"),
    ({"name": "x", "quantile": "p99"}, "'quantile' must be one of yhat, hi80, hi95"),
    ({"name": "x", "kind": "psychic"}, "'kind' must be one of predictive, reactive"),
    ({"name": "x", "target": 0.7}, "unknown field 'target'"),
    ({"name": "x", "base": "lavish"}, "'base' must be one of conservative"),
    ({"target_utilisation": 0.7}, "'name' must be a non-empty string"),
])
def test_bad_fields_are_named(spec, message):
    with pytest.raises(PolicyError) as err:
        policy_from_dict(spec)
    assert message in str(err.value)
    assert isinstance(err.value, FleetcastError) and isinstance(err.value, ValueError)


def test_policy_files_hold_one_a_list_or_a_policies_key(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"name": "a", "target_utilisation": 0.65}))
    many = tmp_path / "many.json"
    many.write_text(json.dumps({"policies": [{"name": "a"}, {"name": "b", "kind": "reactive"}]}))
    assert [p.name for p in load_policy_file(one)] == ["a"]
    assert [p.kind for p in load_policy_file(many)] == ["predictive", "reactive"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable JSON file"),
    ("[]", "holds no policy"),
    ('[{"name": "a"}, {"name": "a"}]', "policy names must be unique"),
    ('[{"name": "a", "warmup": -2}]', "bad.json: policy 'a': field 'warmup'"),
    ('[3]', "a policy must be a JSON object"),
])
def test_bad_policy_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_policy_file(path)


def test_resolve_policies_always_adds_reactive_and_rejects_unknown_names():
    custom = [ScalingPolicy("mine", target_utilisation=0.75)]
    assert [p.name for p in resolve_policies(None, custom)] == [
        "conservative", "balanced", "aggressive", "mine", "reactive"]
    assert [p.name for p in resolve_policies(["mine", "static_peak"], custom)] == ["mine", "reactive"]
    with pytest.raises(FleetcastError, match="unknown policy 'lavish'"):
        resolve_policies(["lavish"])
    with pytest.raises(FleetcastError, match="'static_peak' is reserved"):
        resolve_policies(None, [ScalingPolicy("static_peak")])


def test_a_custom_policy_named_reactive_replaces_the_preset():
    mine = ScalingPolicy("reactive", kind="reactive", target_utilisation=0.5)
    other = ScalingPolicy("tracker", kind="reactive")
    assert resolve_policies(["reactive"], [mine]) == [mine]
    assert [p.name for p in resolve_policies(["tracker"], [other])] == ["tracker", "reactive"]
    with pytest.raises(FleetcastError, match="must have kind 'reactive'"):
        resolve_policies(["reactive"], [ScalingPolicy("reactive")])
