"""`fleetcast risk` on real CloudWatch CPU series (NAB) and on bad input."""

import shutil

import polars as pl
import pytest

from fleetcast.cli import main

EXPECTED = {"825cc2": {"high", "very_high"}, "24ae8d": {"underutilised"}, "c6585a": {"underutilised"},
            "53ea38": {"underutilised"}, "5f5533": {"normal", "underutilised"}}


@pytest.mark.parametrize("suffix", sorted(EXPECTED))
def test_real_ec2_cpu_series_get_the_expected_level(nab_dir, tmp_path, capsys, suffix):
    # Given two weeks of real 5-minute EC2 CPU utilisation (a single timestamp,value file)
    source = tmp_path / f"{suffix}.csv"
    shutil.copy(nab_dir / f"ec2_cpu_utilization_{suffix}.csv", source)
    # When fleetcast risk flags it
    assert main(["risk", "--input", str(source), "--out", str(tmp_path / "flags.csv"), "--metric", "cpu"]) == 0
    flags = pl.read_csv(tmp_path / "flags.csv")
    # Then both horizons are flagged at the expected level, with the columns the contract names
    assert {"server_id", "metric", "level", "predicted_p95", "breach_probability", "first_breach_date",
            "days_to_breach", "reason"} <= set(flags.columns)
    assert flags["horizon_days"].to_list() == [30, 90]
    assert set(flags["level"]) <= EXPECTED[suffix], flags.select("horizon_days", "level", "reason").rows()
    assert flags["server_id"].unique().to_list() == [suffix]
    assert "flags:" in capsys.readouterr().out


def test_825cc2_breach_is_immediate_and_certain(nab_dir, tmp_path):
    source = tmp_path / "825cc2.csv"
    shutil.copy(nab_dir / "ec2_cpu_utilization_825cc2.csv", source)
    assert main(["risk", "--input", str(source), "--out", str(tmp_path / "f.csv")]) == 0
    flag = pl.read_csv(tmp_path / "f.csv", try_parse_dates=True).row(0, named=True)
    # its daily P95 was 93-97% on every one of its 14 days
    assert flag["level"] == "very_high" and flag["days_to_breach"] == 1
    assert flag["breach_probability"] > 0.95 and 93 < flag["predicted_p95"] < 97


def test_rejected_lines_are_written_with_line_numbers(tmp_path, capsys):
    rows = ["timestamp,server_id,cpu"] + [f"2024-01-{d:02d}T{h:02d}:00:00Z,web-1,{50 + h}" for d in (1, 2)
                                           for h in range(24)]
    rows[5] = "2024-01-01T04:00:00Z,web-1,-7"
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    assert main(["risk", "--input", str(tmp_path / "m.csv"), "--out", str(tmp_path / "f.csv")]) == 0
    assert "1 of 48 input lines rejected" in capsys.readouterr().out
    rejects = pl.read_csv(tmp_path / "f.csv.rejects.csv")
    assert rejects.select("line", "field").rows() == [(6, "cpu")]


@pytest.mark.parametrize(("content", "args", "message"), [
    ("", [], "empty"),
    ("timestamp,server_id,cpu\n", [], "header"),
    ("timestamp,server_id,cpu\n2024-01-01T00:00:00Z,web-1,50\n", [], "no server metric has a full day"),
    ("timestamp,server_id,cpu\n2024-01-01T00:00:00Z,web-1,50\n", ["--horizons", "thirty"], "--horizons"),
    ("timestamp,server_id,cpu\n2024-01-01T00:00:00Z,web-1,50\n", ["--high", "95"], "underutilised < high"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, args, message):
    (tmp_path / "m.csv").write_text(content)
    code = main(["risk", "--input", str(tmp_path / "m.csv"), "--out", str(tmp_path / "f.csv"), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
