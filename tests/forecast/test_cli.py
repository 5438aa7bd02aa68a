"""``fleetcast forecast`` / ``fleetcast backtest``: the CSV contract and one-line errors."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fleetcast.cli import main
from fleetcast.forecast.version import ENGINE_VERSION

FAST = ["--threads", "1"]


def _write(path, rows: list[str], header: str = "timestamp,value") -> str:
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def _hourly(days: int = 14, offset: str = "-04:00", sep: str = "T", blank_every: int = 17) -> list[str]:
    rng = np.random.default_rng(0)
    rows = []
    for h in range(days * 24):
        t = datetime(2024, 3, 1) + timedelta(hours=h)
        value = "" if h % blank_every == 5 else f"{200 + 80 * np.sin(2 * np.pi * h / 24) + rng.normal(0, 8):.1f}"
        rows.append(f"{t:%Y-%m-%d}{sep}{t:%H:%M:%S}{offset},{value}")
    return rows


def test_forecast_writes_the_contracted_csv_in_the_inputs_time_format(tmp_path, capsys):
    # Given two weeks of hourly load at -04:00 with some empty values
    src = _write(tmp_path / "load.csv", _hourly())
    out = tmp_path / "fc.csv"
    # When 24 steps are forecast
    code = main(["forecast", "--input", src, "--horizon", "24", "--out", str(out),
                 "--model-card", str(tmp_path / "card.json"), *FAST])
    # Then the output has exactly the contracted columns, one row per future step
    assert code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "series_id,timestamp,yhat,lo80,hi80,lo95,hi95"
    assert len(lines) == 25
    # And the timestamps continue right after the last input, in the same format and offset
    assert lines[1].split(",")[1] == "2024-03-15T00:00:00-04:00"
    assert lines[-1].split(",")[1] == "2024-03-15T23:00:00-04:00"
    for line in lines[1:]:
        _, _, yhat, lo80, hi80, lo95, hi95 = line.split(",")
        assert float(lo95) <= float(lo80) <= float(yhat) <= float(hi80) <= float(hi95)
    printed = capsys.readouterr()
    assert "wrote 24 rows" in printed.out and "note:" not in printed.err
    assert f'"model_version": "lgbm-direct-v{ENGINE_VERSION}:' in (tmp_path / "card.json").read_text()


def test_a_forecast_into_seasons_the_history_does_not_cover_says_so(tmp_path, capsys):
    # Given four months of a daily series
    rng = np.random.default_rng(1)
    rows = [f"{datetime(2024, 1, 1) + timedelta(days=d):%Y-%m-%d},{100 + 20 * (d % 7 < 5) + rng.normal(0, 3):.1f}"
            for d in range(120)]
    src = _write(tmp_path / "daily.csv", rows)
    # When the next four weeks are forecast
    code = main(["forecast", "--input", src, "--horizon", "28", "--out", str(tmp_path / "fc.csv"), *FAST])
    # Then the forecast is written, with a note that its intervals have not seen the seasons ahead
    assert code == 0
    err = capsys.readouterr().err
    assert "note: 1 of 1 series has less than a year plus the horizon of history (120 days, needs 393)" in err


def test_forecast_keeps_series_ids_and_space_separated_naive_times(tmp_path):
    rows = [f"{r},{sid}" for sid in ("web-a", "web-b") for r in _hourly(days=10, offset="", sep=" ")]
    src = _write(tmp_path / "multi.csv", rows, header="timestamp,value,series_id")
    out = tmp_path / "fc.csv"
    assert main(["forecast", "--input", src, "--horizon", "6", "--freq", "1h", "--out", str(out), *FAST]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 13
    assert lines[1].startswith("web-a,2024-03-11 00:00:00,") and lines[7].startswith("web-b,")


@pytest.mark.parametrize(("rows", "header", "args", "message"), [
    (["2024-01-01T00:00:00,1"], "timestamp,load", [], "missing column(s) value"),
    (["2024-01-01T00:00:00,1", "2024-01-01T01:00:00,2", "yesterday,3"], "timestamp,value", [],
     "bad.csv:4 [timestamp]: cannot parse timestamp 'yesterday'"),
    (["2024-01-01T00:00:00,1", "2024-01-01T01:00:00,lots"], "timestamp,value", [],
     "bad.csv:3 [value]: value 'lots' is not a number"),
    ([f"2024-01-01T{h:02d}:00:00,1" for h in range(10)], "timestamp,value", [],
     "too little history for a 24-step forecast at 1h"),
    (["2024-01-01T00:00:00,1", "2024-01-01T00:05:00,2", "2024-01-01T00:07:00,3"], "timestamp,value", [],
     "bad.csv:3: irregular timestamps: cannot infer a frequency"),
    (["2024-01-01T00:00:00,1", "2024-01-01T00:07:00,3"], "timestamp,value", ["--freq", "7min"],
     "--freq: frequency '7min' does not divide a day evenly"),
    (["2024-01-01T00:00:00,1"], "timestamp,value", ["--freq", "weekly"],
     "forecast: error: --freq: unknown frequency 'weekly'"),
    (["2024-01-01T00:00:00,1_000"], "timestamp,value", [], "bad.csv:2 [value]: value '1_000' is not a number"),
    (["2024-01-01T00:00:00,1", "2024-01-01T01:00:00,-2e300"], "timestamp,value", [],
     "bad.csv:3 [value]: value '-2e300' is beyond ±1e+100, larger than any measurement"),
    ([f"2024-01-{1 + h // 24:02d}T{h % 24:02d}:00:00,{'' if h >= 96 else 5}" for h in range(130)], "timestamp,value",
     ["--horizon", "6"], "bad.csv: 'series': its last 34 steps are gaps, more than the horizon: nothing recent to "
                         "forecast from"),
    (["2024-01-01T00:00:00,1", "2024-01-01T00:00:00,3"], "timestamp,value", [],
     "bad.csv:3 [timestamp]: duplicate timestamp 2024-01-01T00:00:00"),
    ([], "", [], "empty file"),
    (["2024-01-01T00:00:00,1", "2024-01-01T01:00:00,1,000"], "timestamp,value", [],
     "bad.csv:3: 3 field(s) where the header has 2 (quote a value that contains a comma)"),
    (["2024-01-01T00:00:00,1", "2024-01-01T01:00:00"], "timestamp,value", [],
     "bad.csv:3: 1 field(s) where the header has 2"),
    (["2024-01-01T00:00:00,1,a", "2024-01-01T01:00:00,2,"], "timestamp,value,series_id", [],
     "bad.csv:3 [series_id]: empty series_id"),
    (["2024-01-01T00:00:00,1,2"], "timestamp,value,value", [],
     "bad.csv:1 [header]: column value appears 2 times in the header"),
    ([f"2024-01-01T{h:02d}:00:{30 * (h == 3):02d},1" for h in range(6)], "timestamp,value", [],
     "bad.csv:5: irregular timestamps: cannot infer a frequency (most steps are 3600 s"),
    ([f"2024-{m:02d}-01,1" for m in range(1, 7)], "timestamp,value", [],
     "bad.csv:4: irregular timestamps: cannot infer a frequency (most steps are 2678400 s, but this row is off that "
     "grid); pass --freq (e.g. --freq 5min); calendar months are no fixed step: forecast daily values"),
    (["2024-01-01T00:00:00,1", "2024-01-01T01:00:00Z,2"], "timestamp,value", [],
     "bad.csv:2 [timestamp]: timestamp '2024-01-01T00:00:00' has no UTC offset but '2024-01-01T01:00:00Z' (line 3)"),
    (["2024-10-27T01:00:00,1", "2024-10-27T02:00:00,2", "2024-10-27T02:00:00,3"], "timestamp,value", [],
     "bad.csv:4 [timestamp]: duplicate timestamp 2024-10-27T02:00:00 for series 'series' (if these are local "
     "times, clocks going back repeat an hour"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys, rows, header, args, message):
    src = tmp_path / "bad.csv"
    src.write_text("\n".join([header, *rows]) + ("\n" if rows else ""))
    code = main(["forecast", "--input", str(src), "--horizon", "24", "--out", str(tmp_path / "o.csv"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_irregular_times_are_binned_onto_the_grid_given_by_freq(tmp_path):
    # Given 5-min samples whose clock drifts by a minute now and then (off the grid)
    rows = [r.replace(":00:00", ":01:00") if i % 50 == 7 else r for i, r in enumerate(_hourly(days=10))]
    src = _write(tmp_path / "drift.csv", rows)
    out = tmp_path / "fc.csv"
    # Then without --freq the frequency cannot be inferred, and with it the forecast is made
    assert main(["forecast", "--input", src, "--horizon", "6", "--out", str(out), *FAST]) == 2
    assert main(["forecast", "--input", src, "--horizon", "6", "--freq", "1h", "--out", str(out), *FAST]) == 0
    assert len(out.read_text().splitlines()) == 7


def test_backtest_prints_scores_against_the_baselines_and_writes_them(tmp_path, capsys):
    src = _write(tmp_path / "load.csv", _hourly(days=21))
    out = tmp_path / "bt.csv"
    code = main(["backtest", "--input", src, "--horizon", "24", "--windows", "4", "--out", str(out), *FAST])
    text = capsys.readouterr().out
    assert code == 0
    assert "4 windows x 24 steps" in text
    for name in ("lgbm", "naive_weekly", "naive_daily", "slot_mean", "coverage80"):
        assert name in text
    assert "the best baseline" in text
    header = out.read_text().splitlines()[0].split(",")
    assert {"series_id", "model", "rmse", "mae", "smape", "mase", "coverage80", "width95"} <= set(header)


def test_gzip_input_is_read_like_the_plain_file(tmp_path):
    # Given the same history plain and gzip-compressed
    import gzip

    from fleetcast.forecast.csvio import read_history
    plain = _write(tmp_path / "load.csv", _hourly(days=2))
    packed = tmp_path / "load.csv.gz"
    packed.write_bytes(gzip.compress((tmp_path / "load.csv").read_bytes()))
    # Then both read to the same rows
    assert read_history(packed)[0].equals(read_history(plain)[0])


@pytest.mark.parametrize(("data", "message"), [
    ("timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T01:00:00,caf\xe9\n".encode("latin-1"),
     "bad.csv:3: not UTF-8 text (byte 0xe9)"),
    (b"\x1f\x8b\x08\x00garbage", "bad.csv: damaged gzip file"),
])
def test_unreadable_files_name_the_problem_and_the_line(tmp_path, capsys, data, message):
    src = tmp_path / "bad.csv"
    src.write_bytes(data)
    assert main(["forecast", "--input", str(src), "--horizon", "6", "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_forecast_to_stdout_keeps_small_values_distinct(tmp_path, capsys):
    # Given an error rate around 0.002 (hourly, ten days)
    rows = [f"{r.split(',')[0]},{float(r.split(',')[1]) / 1e5:.7f}" if r.split(",")[1] else r
            for r in _hourly(days=10)]
    src = _write(tmp_path / "rate.csv", rows)
    # When it is forecast to stdout ('-')
    code = main(["forecast", "--input", src, "--horizon", "6", "--out", "-", *FAST])
    # Then the CSV is on stdout and the summary on stderr, and no file named '-' is written
    printed = capsys.readouterr()
    assert code == 0 and not (tmp_path / "-").exists()
    lines = printed.out.splitlines()
    assert lines[0] == "series_id,timestamp,yhat,lo80,hi80,lo95,hi95" and len(lines) == 7
    assert "wrote 6 rows" in printed.err and "to stdout" in printed.err
    # And the intervals are not rounded away (4 decimals made them 0.002,0.0019,0.0021...)
    for line in lines[1:]:
        yhat, lo80, hi80, lo95, hi95 = map(float, line.split(",")[2:])
        assert lo95 < lo80 < yhat < hi80 < hi95
        assert 0.0005 < yhat < 0.005 and len(line.split(",")[2].rstrip("0")) > 6


def test_the_model_card_is_not_written_to_a_file_named_dash(tmp_path, capsys):
    src = _write(tmp_path / "load.csv", ["2024-01-01T00:00:00,1"])
    assert main(["forecast", "--input", src, "--horizon", "6", "--out", "-", "--model-card", "-"]) == 2
    assert "--model-card: give a file name" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["forecast", "backtest"])
@pytest.mark.parametrize(("out", "message"), [
    ("missing/fc.csv", "--out: directory {tmp}/missing does not exist"),
    ("", "--out {tmp}/ is a directory"),
])
def test_an_output_that_cannot_be_written_fails_before_the_work(tmp_path, capsys, command, out, message):
    src = _write(tmp_path / "load.csv", ["2024-01-01T00:00:00,1"])  # would fail later: too short
    code = main([command, "--input", src, "--horizon", "6", "--out", f"{tmp_path}/{out}"])
    err = capsys.readouterr().err
    assert code == 2 and message.format(tmp=tmp_path) in err, err


def test_too_short_series_are_left_out_and_named_and_the_others_forecast(tmp_path, capsys):
    # Given five series of which two are too short for the horizon, one of them all gaps
    rows = [f"{r},{sid}" for sid in ("a", "b", "c") for r in _hourly(days=4)]
    rows += [f"{r},short" for r in _hourly(days=1)] + [f"{r.split(',')[0]},,empty" for r in _hourly(days=4)]
    src = _write(tmp_path / "fleet.csv", rows, header="timestamp,value,series_id")
    # When they are forecast
    out = tmp_path / "o.csv"
    assert main(["forecast", "--input", src, "--horizon", "24", "--out", str(out)]) == 0
    # Then the three others are, and a note names the two left out with what they have
    assert sorted(pl.read_csv(out)["series_id"].unique()) == ["a", "b", "c"]
    err = capsys.readouterr().err
    assert ("note: left out 2 of 5 series: 'empty': too little history for a 24-step forecast at 1h: 0 values over "
            "96 steps (needs 72 steps, half of them observed); 'short': too little history for a 24-step forecast "
            "at 1h: 22 values over 24 steps") in err, err
    # And the backtest leaves them out the same way
    assert main(["backtest", "--input", src, "--horizon", "24"]) == 0
    captured = capsys.readouterr()
    assert "backtest: 3 series at 1h" in captured.out and "note: left out 2 of 5 series" in captured.err


def test_a_file_whose_series_are_all_too_short_is_refused_naming_them(tmp_path, capsys):
    rows = [f"{r},{sid}" for sid in ("a", "b") for r in _hourly(days=1)]
    src = _write(tmp_path / "fleet.csv", rows, header="timestamp,value,series_id")
    assert main(["forecast", "--input", src, "--horizon", "24", "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert ("fleet.csv: all 2 series: 'a': too little history for a 24-step forecast at 1h: 22 values over "
            "24 steps") in err, err
    assert "shorten --horizon or give more history" in err and "Traceback" not in err


def test_a_negative_thread_count_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["forecast", "--input", "x.csv", "--horizon", "6", "--out", "o.csv", "--threads", "-1"])
    assert stop.value.code == 2 and "argument --threads: must be at least 0" in capsys.readouterr().err


def test_backtest_says_how_many_windows_it_scored_and_when_the_model_ties(tmp_path, capsys):
    # Given five days of a constant hourly series (every method forecasts it exactly)
    rows = [f"{datetime(2024, 3, 1) + timedelta(hours=h):%Y-%m-%dT%H:%M:%S},50" for h in range(5 * 24)]
    src = _write(tmp_path / "flat.csv", rows)
    # When ten windows a day apart are asked for, of which only the last three have history before them
    code = main(["backtest", "--input", src, "--horizon", "24", "--windows", "10", *FAST])
    out = capsys.readouterr().out
    # Then the header counts the windows scored, and the verdict is a tie, not a loss
    assert code == 0
    assert "3 windows (of 10 asked for) x 24 steps" in out, out
    assert "lgbm ties with the best baseline" in out


def test_backtest_of_one_window_says_its_coverage_is_not_measured(tmp_path, capsys, nab_dir):
    # Given 3.3 days of real 5-minute network traffic: room for one day-ahead window of the two asked for
    lines = (nab_dir / "iio_us-east-1_i-a2eb1cd9_NetworkIn.csv").read_text().splitlines()
    src = tmp_path / "iio.csv"
    src.write_text("\n".join(lines[:956]) + "\n")
    # When it is backtested a day ahead
    code = main(["backtest", "--input", str(src), "--horizon", "288", *FAST])
    out = capsys.readouterr().out
    # Then the header counts one window, and coverage is said to be unmeasured rather than shown as 0
    assert code == 0
    assert "1 window (of 2 asked for) x 288 steps" in out, out
    assert "coverage: not measured; intervals are checked on windows they were not fitted to" in out


def test_a_freq_finer_than_the_data_is_forecast_with_a_note(tmp_path, capsys):
    # Given two weeks of hourly values, forecast at 5-minute steps
    src = _write(tmp_path / "load.csv", _hourly(days=14))
    code = main(["forecast", "--input", src, "--horizon", "6", "--freq", "5min", "--out", str(tmp_path / "fc.csv"),
                 *FAST])
    # Then the forecast is made, with a note that most of the grid is gaps
    assert code == 0
    assert ("note: 1 of 1 series have values further apart (median) than the 5min steps they are forecast at, "
            "so most of their steps are gaps: 'series' (every 1h)") in capsys.readouterr().err


def test_offsets_in_whole_hours_are_read_as_postgres_writes_them(tmp_path):
    from fleetcast.forecast.csvio import read_history
    short = _write(tmp_path / "short.csv", ["2024-01-01 00:00:00+02,1", "2024-01-01 01:00:00+02,2"])
    full = _write(tmp_path / "full.csv", ["2024-01-01 00:00:00+02:00,1", "2024-01-01 01:00:00+02:00,2"])
    (frame, style), (expected, _) = read_history(short), read_history(full)
    assert frame.equals(expected) and style.offset == "+02"
