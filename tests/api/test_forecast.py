"""POST /v1/forecast and /v1/backtest on real CloudWatch CPU data (NAB), JSON and CSV, and bad input."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from fleetcast.api import limits
from tests.api.conftest import call, nab, points

DAY = 288


@pytest.fixture(scope="module")
def cpu() -> pl.DataFrame:
    """The last 6 days of a real EC2 CPU series (5-minute points, percent)."""
    return nab("ec2_cpu_utilization_5f5533").tail(6 * DAY)


def _csv(frame: pl.DataFrame) -> str:
    lines = ["timestamp,value"] + [f"{ts:%Y-%m-%dT%H:%M:%S}Z,{'' if v is None else v}"
                                   for ts, v in zip(frame["timestamp"], frame["value"], strict=True)]
    return "\n".join(lines) + "\n"


def test_forecast_of_real_cpu_has_ordered_intervals_right_after_the_history(cpu):
    # When
    reply = call("POST", "/v1/forecast", {"history": points(cpu), "horizon": 36, "freq": "5min"})
    # Then
    assert reply.status == 200, reply.text
    body = reply.json
    rows = body["forecast"]
    assert body["freq"] == "5min" and body["horizon"] == 36 and len(rows) == 36
    last = cpu["timestamp"][-1]
    assert rows[0]["timestamp"] == f"{last + timedelta(minutes=5):%Y-%m-%dT%H:%M:%S}Z"
    assert [r["step"] for r in rows] == list(range(1, 37))
    for r in rows:
        assert r["lo95"] <= r["lo80"] <= r["yhat"] <= r["hi80"] <= r["hi95"]
        assert cpu["value"].min() - 10 < r["yhat"] < cpu["value"].max() + 10
    assert body["quality_gate"][0]["published"] == rows[0]["model"]
    assert {"lgbm", "naive_daily"} <= set(body["backtest"])
    assert body["model_version"].startswith("lgbm-") and body["caveats"] == []


def test_a_csv_body_with_gaps_gives_the_same_forecast_as_json(cpu):
    # Given the same history as JSON and as CSV, three values missing
    history = cpu.with_columns(pl.when(pl.int_range(pl.len()).is_in([100, 101, 700])).then(None)
                               .otherwise(pl.col("value")).alias("value"))
    # When
    as_json = call("POST", "/v1/forecast", {"history": points(history), "horizon": 12})
    as_csv = call("POST", "/v1/forecast?horizon=12", _csv(history), content_type="text/csv")
    # Then
    assert as_json.status == as_csv.status == 200, as_csv.text
    assert as_csv.json["forecast"] == as_json.json["forecast"]


def test_backtest_scores_the_model_against_the_baselines(cpu):
    # When
    reply = call("POST", "/v1/backtest", {"history": points(cpu), "horizon": 12, "windows": 40})
    # Then
    assert reply.status == 200, reply.text
    body = reply.json
    assert body["windows"] == 40 and body["step"] == 12
    assert set(body["pooled"]) == {"lgbm", "naive_weekly", "naive_daily", "slot_mean", "lgbm_slot_mean"}
    assert body["best_baseline"] in body["pooled"] and body["best_baseline"] != "lgbm"
    lgbm = body["pooled"]["lgbm"]
    assert 0 < lgbm["rmse"] < cpu["value"].std() * 2
    assert body["model_beats_best_baseline"] == (lgbm["rmse"] < body["pooled"][body["best_baseline"]]["rmse"])
    assert sum(s["chosen"] for s in body["scores"]) == 1


# -- bad input -----------------------------------------------------------------------------------
T0 = datetime(2024, 3, 1)


def _hist(n: int = 3, step_min: int = 5) -> list[dict]:
    return [{"timestamp": f"{T0 + timedelta(minutes=step_min * i):%Y-%m-%dT%H:%M:%S}Z", "value": 10.0 + i}
            for i in range(n)]


@pytest.mark.parametrize("body, fields", [
    ({"history": _hist(), "horizon": 0}, ["body.horizon"]),
    ({"history": _hist(), "horizon": limits.MAX_HORIZON + 1}, ["body.horizon"]),
    ({"history": _hist()}, ["body.horizon"]),
    ({"horizon": 5}, ["body.history"]),
    ({"history": _hist(1), "horizon": 5}, ["body.history"]),
    ({"history": [*_hist(), {"timestamp": "yesterday", "value": 1}], "horizon": 5}, ["body.history[3].timestamp"]),
    ({"history": [*_hist(), {"timestamp": "2024-03-02T00:00:00Z", "value": "lots"}], "horizon": 5},
     ["body.history[3].value"]),
    ({"history": [*_hist(), {"timestamp": "2024-03-02T00:00:00Z", "value": 1e300}], "horizon": 5},
     ["body.history[3].value"]),
    ({"history": [*_hist(), {"timestamp": "1900-01-01T00:00:00Z", "value": 1}], "horizon": 5},
     ["body.history[3].timestamp"]),
    ({"history": _hist(), "horizon": 5, "freq": "5 minutes"}, ["body.freq"]),
    ({"history": _hist(), "horizon": 5, "colour": "blue"}, ["body.colour"]),
    ({"history": [{"timestamp": "2024-03-01T00:00:00Z", "value": 1, "unit": "%"}] * 2, "horizon": 5},
     ["body.history[0].unit", "body.history[1].unit"]),
    ({"history": "0,1,2", "horizon": 5}, ["body.history"]),
    ([1, 2, 3], ["body"]),
])
def test_invalid_forecast_requests_are_field_level_400s(body, fields):
    # When
    reply = call("POST", "/v1/forecast", body)
    # Then
    assert reply.status == 400, reply.text
    assert sorted(reply.fields()) == fields
    assert all(e["problem"] for e in reply.json["errors"])


@pytest.mark.parametrize("history, freq, field, words", [
    (_hist(300) + _hist(1), None, "body.history[300].timestamp", "more than once"),
    (_hist(300), None, "body.history", "too little history"),
    ([{"timestamp": "2024-01-01T00:00:00Z", "value": 1}, {"timestamp": "2030-01-01T00:00:00Z", "value": 2}],
     "5min", "body.history", "would be gaps"),
])
def test_histories_the_forecaster_cannot_use_are_400s_naming_the_problem(history, freq, field, words):
    # When
    reply = call("POST", "/v1/forecast", {"history": history, "horizon": 12, "freq": freq})
    # Then
    assert reply.status == 400, reply.text
    assert reply.fields() == [field]
    assert words in reply.json["errors"][0]["problem"]


def test_off_grid_timestamps_with_a_freq_are_a_400():
    # Given 7-minute steps declared as 5-minute data
    reply = call("POST", "/v1/forecast", {"history": _hist(900, step_min=7), "horizon": 12, "freq": "5min"})
    # Then
    assert reply.status == 400
    assert reply.fields() == ["body.history"]


def test_invalid_json_deep_nesting_and_non_utf8_bodies_are_400s():
    # When
    broken = call("POST", "/v1/forecast", '{"history": [', content_type="application/json")
    deep = call("POST", "/v1/forecast", "[" * 200_000 + "]" * 200_000, content_type="application/json")
    binary = call("POST", "/v1/scaling/plan", b"\xff\xfe{", content_type="application/json")
    # Then
    assert (broken.status, broken.fields()) == (400, ["body"])
    assert broken.json["errors"][0]["problem"].startswith("not valid JSON at character 13")
    assert (deep.status, deep.fields()) == (400, ["body"]) and "nested too deeply" in deep.text
    assert (binary.status, binary.fields()) == (400, ["body"]) and "UTF-8" in binary.text


def test_a_csv_body_where_json_is_expected_is_not_a_server_error():
    # When
    reply = call("POST", "/v1/scaling/plan", "timestamp,value\n", content_type="text/csv")
    # Then
    assert reply.status == 415 and "application/json" in reply.json["message"]


@pytest.mark.parametrize("csv_body, query, field, words", [
    ("value\n1\n2\n", "horizon=3", "body", "lacks timestamp"),
    ("", "horizon=3", "body", ""),
    ("timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01T00:05:00Z,x\n", "horizon=3", "body.history[1].value",
     "CSV line 3"),
    ("timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01T00:05:00Z,2\n", "", "query.horizon", "required"),
    ("timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01T00:05:00Z,2\n", "horizon=-1", "query.horizon", ""),
])
def test_csv_body_errors_name_the_line_or_the_query_parameter(csv_body, query, field, words):
    # When
    reply = call("POST", f"/v1/forecast?{query}", csv_body, content_type="text/csv")
    # Then
    assert reply.status == 400, reply.text
    assert field in reply.fields()
    assert words in " ".join(e["problem"] for e in reply.json["errors"]) + reply.json["message"]


# -- size limits ---------------------------------------------------------------------------------
def test_a_body_over_the_byte_limit_is_413_before_parsing():
    # When
    reply = call("POST", "/v1/forecast", "x" * (limits.MAX_BODY_BYTES + 1))
    # Then
    assert reply.status == 413
    assert "5,242,880" in reply.json["message"]


def test_too_many_history_rows_are_413_in_json_and_csv():
    # Given 20,001 rows of 1-minute history
    rows = [{"timestamp": f"{T0 + timedelta(minutes=i):%Y-%m-%dT%H:%M}Z", "value": 1} for i in range(20_001)]
    csv_body = "timestamp,value\n" + "\n".join(f"{r['timestamp']},1" for r in rows)
    # When
    as_json = call("POST", "/v1/forecast", {"history": rows, "horizon": 5})
    as_csv = call("POST", "/v1/forecast?horizon=5", csv_body, content_type="text/csv")
    # Then
    assert as_json.status == as_csv.status == 413
    assert as_json.fields() == as_csv.fields() == ["body.history"]


def test_too_many_series_in_one_request_are_413():
    # Given 21 series of 3 points
    rows = [{**p, "series_id": f"s{k}"} for k in range(21) for p in _hist()]
    # When
    reply = call("POST", "/v1/forecast", {"history": rows, "horizon": 5})
    # Then
    assert reply.status == 413
    assert "21 series" in reply.json["message"]
