"""``fleetcast simulate`` as a user meets it: the JSON contract, the table, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest

from fleetcast.cli import main


def write_load(path, days=10, step_min=5, drop=(), offset=""):
    """A daily cycle (busy 09-18) with a little deterministic noise."""
    rng = np.random.default_rng(0)
    start = datetime(2024, 3, 4)
    lines = ["timestamp,value"]
    for k in range(days * 24 * 60 // step_min):
        t = start + timedelta(minutes=step_min * k)
        if k in drop:
            continue
        v = 40 + 160 * (9 <= t.hour < 18) + rng.integers(0, 20)
        lines.append(f"{t:%Y-%m-%dT%H:%M:%S}{offset},{v}")
    path.write_text("\n".join(lines) + "\n")
    return path


KEYS = {"name", "kind", "cost", "saving_vs_static_pct", "sla_violation_pct", "sla_violation_intervals",
        "scaling_events", "server_hours", "mean_servers", "gap_intervals", "settings"}


def test_json_contract(tmp_path, capsys):
    # Given ten days of 5-minute load with two missing rows in the replay
    src = write_load(tmp_path / "load.csv", drop=(2700, 2701))
    out = tmp_path / "sim.json"
    # When simulating from day 8 with a stated capacity
    code = main(["simulate", "--input", str(src), "--out", str(out), "--start", "2024-03-12",
                 "--capacity-per-server", "20", "--price-per-server-hour", "0.5"])
    assert code == 0
    result = json.loads(out.read_text())
    names = [p["name"] for p in result["policies"]]
    # Then static_peak and reactive are always there, with the three presets and their equal-SLA reactive
    assert names == ["static_peak", "conservative", "balanced", "aggressive", "reactive",
                     "reactive@conservative", "reactive@balanced", "reactive@aggressive"]
    for p in result["policies"]:
        assert set(p) >= KEYS
    static = result["policies"][0]
    # static: peak 219 at 70% of 20 -> 16 servers, 2 days x 24 h x 16 x 0.5
    assert static["cost"] == 16 * 48 * 0.5 and static["saving_vs_static_pct"] == 0.0
    assert result["replay"]["static_servers"] == 16
    assert result["replay"]["start"] == "2024-03-12T00:00:00" and result["replay"]["intervals"] == 576
    assert all(p["gap_intervals"] == 2 for p in result["policies"])
    assert result["policies"][3]["settings"]["target_utilisation"] == 0.8
    printed = capsys.readouterr().out
    assert "static_peak" in printed and f"wrote {out}" in printed


def test_without_out_prints_a_table_and_the_chosen_capacity(tmp_path, capsys):
    src = write_load(tmp_path / "load.csv")
    assert main(["simulate", "--input", str(src), "--policy", "balanced"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    # ten days are fewer than 7 of history + 7 replayed: the replay starts in the middle
    assert lines[0].startswith("replay 2024-03-09T00:00:00 .. 2024-03-13T23:55:00 UTC (1440 x 5min")
    assert [ln.split()[0] for ln in lines[2:5]] == ["static_peak", "balanced", "reactive"]
    # peak of the history 219 / 15 = 14.6 -> 15
    assert "capacity per server: 15 per 5min (chosen: history peak / 15" in text


def test_json_to_stdout_and_custom_policy_file(tmp_path, capsys):
    src = write_load(tmp_path / "load.csv", offset="-04:00")
    policies = tmp_path / "mine.json"
    policies.write_text(json.dumps([{"name": "steady", "base": "conservative", "min_servers": 4}]))
    assert main(["simulate", "--input", str(src), "--out", "-", "--policy-file", str(policies),
                 "--start", "2024-03-12", "--capacity-per-server", "20"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in result["policies"]][:3] == ["static_peak", "conservative", "balanced"]
    steady = next(p for p in result["policies"] if p["name"] == "steady")
    assert steady["settings"]["min_servers"] == 4 and steady["mean_servers"] >= 4
    # a --start without offset is read in the input's offset (-04:00): 04:00 UTC
    assert result["replay"]["start"] == "2024-03-12T04:00:00"


TWO = "timestamp,value\n2024-01-01T00:00,1\n2024-01-01T00:05,2\n"


@pytest.mark.parametrize("content, args, message", [
    (None, [], "missing.csv: no such file"),
    ("time,load\n1,2\n", [], "needs columns timestamp,value (found time,load)"),
    ("timestamp,value\n", [], "no rows"),
    ("timestamp,value\n2024-01-01T00:00,1\nyesterday,2\n", [],
     ":3 [timestamp]: cannot read timestamp 'yesterday'"),
    ("timestamp,value\n2024-01-01T00:00,1\n2024-01-01T00:05,lots\n", [],
     ":3 [value]: value 'lots' is not a number"),
    ("timestamp,value\n2024-01-01T00:00,1\n2024-01-01T00:05,-4\n", [], "load must be a finite number >= 0"),
    ("timestamp,value\n2024-01-01T00:00,1\n2024-01-01T00:00,2\n", [], "appears more than once"),
    ("timestamp,value\n2024-01-01T00:00,1\n2024-01-01T00:05,2\n2024-01-01T00:07,2\n", [],
     "not on a regular grid"),
    (TWO, ["--start", "2025-01-01"],
     "--start 2025-01-01 is after the last timestamp"),
    (TWO, ["--start", "soon"], "--start: cannot read 'soon'"),
    (TWO, ["--policy", "lavish"], "unknown policy 'lavish'"),
    (TWO, ["--capacity-per-server", "-3"],
     "capacity per server must be a positive number"),
    (TWO, [],
     "predictive policies need at least one day of history"),
])
def test_bad_input_is_one_line_on_stderr(tmp_path, capsys, content, args, message):
    src = tmp_path / ("missing.csv" if content is None else "load.csv")
    if content is not None:
        src.write_text(content)
    assert main(["simulate", "--input", str(src), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fleetcast simulate: error: ") and message in err
    assert err.count("\n") == 1


def test_bad_policy_file_names_the_field_and_no_traceback(tmp_path):
    src = write_load(tmp_path / "load.csv", days=3)
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"name": "x", "scale_in_periods": 0}))
    done = subprocess.run([sys.executable, "-m", "fleetcast", "simulate", "--input", str(src),
                           "--policy-file", str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "policy 'x': field 'scale_in_periods' must be a whole number >= 1 (got 0)" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unwritable_out_fails_before_any_work(tmp_path, capsys):
    src = write_load(tmp_path / "load.csv", days=3)
    assert main(["simulate", "--input", str(src), "--out", str(tmp_path / "no" / "x.json")]) == 2
    assert "--out: directory" in capsys.readouterr().err
