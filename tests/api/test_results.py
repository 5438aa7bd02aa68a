"""GET /v1/series, /v1/series/{id}/forecast, /v1/risks, /v1/runs/{id}, /v1/models over lakes of results."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake
from tests.api.conftest import call, serving

NIGHT, UPLOAD = "20261122T020000Z-n2", "20261122T140000Z-u1"


# -- series --------------------------------------------------------------------------------------
def test_series_lists_every_server_with_its_metrics_and_pages(served_lake):
    # When
    first = call("GET", "/v1/series?limit=3").json
    second = call("GET", "/v1/series?limit=3&offset=3").json
    # Then
    assert first["total"] == 40 and first["limit"] == 3
    assert [s["series_id"] for s in first["series"] + second["series"]] == [f"srv-{i:05d}" for i in range(6)]
    assert first["series"][0]["metrics"] == ["cpu", "cpu_p95", "memory"]
    assert first["series"][0]["granularities"] == ["1d", "5min"]
    assert set(first["series"][0]["published"]) <= {"lgbm", "naive_weekly", "naive_daily", "slot_mean"}


def test_series_of_a_shard_the_upload_refreshed_come_from_the_upload_run(served_lake):
    # When (srv-00010 is in shard 3, which the upload run recomputed)
    listing = {s["series_id"]: s for s in call("GET", "/v1/series?limit=1000").json["series"]}
    # Then
    assert listing["srv-00010"]["run_id"] == UPLOAD
    assert listing["srv-00003"]["run_id"] == NIGHT


@pytest.mark.parametrize("query, field", [("limit=0", "query.limit"), ("limit=1001", "query.limit"),
                                          ("offset=-1", "query.offset"), ("limit=ten", "query.limit")])
def test_series_bad_paging_is_a_field_level_400(served_lake, query, field):
    # When
    reply = call("GET", f"/v1/series?{query}")
    # Then
    assert reply.status == 400
    assert reply.fields() == [field]


# -- one series' forecast ------------------------------------------------------------------------
def test_series_forecast_is_the_latest_run_of_its_shard_with_intervals(served_lake):
    # When
    body = call("GET", "/v1/series/srv-00010/forecast").json
    # Then
    assert body["run_id"] == UPLOAD
    kinds = {(f["metric"], f["granularity"]): f for f in body["forecasts"]}
    assert set(kinds) == {("cpu", "1d"), ("memory", "1d"), ("cpu_p95", "5min")}
    points = kinds[("cpu_p95", "5min")]["points"]
    assert len(points) == 288 and [p["step"] for p in points[:3]] == [1, 2, 3]
    assert points[0]["timestamp"] == "2026-11-22T14:05:00Z"
    for p in points:
        assert p["lo95"] <= p["lo80"] <= p["yhat"] <= p["hi80"] <= p["hi95"]


def test_series_forecast_filters_by_metric_and_reads_an_older_run(served_lake):
    # When
    body = call("GET", f"/v1/series/srv-00010/forecast?metric=memory&run_id={NIGHT}").json
    # Then
    assert body["run_id"] == NIGHT
    assert [(f["metric"], len(f["points"])) for f in body["forecasts"]] == [("memory", 90)]


@pytest.mark.parametrize("path", ["/v1/series/web-99/forecast", "/v1/series/srv-00010/forecast?metric=disk",
                                  "/v1/series/srv-00010/forecast?run_id=20200101T000000Z-x"])
def test_unknown_series_or_run_is_404(served_lake, path):
    # When
    reply = call("GET", path)
    # Then
    assert reply.status == 404
    assert reply.fields() == ["path.series_id"]


def test_bad_run_id_parameter_is_a_400_not_a_path_traversal(served_lake):
    # When
    reply = call("GET", "/v1/series/srv-00010/forecast?run_id=../../etc")
    # Then
    assert reply.status == 400
    assert reply.fields() == ["query.run_id"]


# -- risks ---------------------------------------------------------------------------------------
def _flag(series_id: str, level: str, p95: float, prob: float, days: int | None, metric: str = "cpu") -> dict:
    return {"series_id": series_id, "metric": metric, "horizon_days": 90, "level": level, "predicted_p95": p95,
            "breach_probability": prob, "threshold": {"very_high": 90.0, "high": 80.0}.get(level, 40.0),
            "first_breach_date": date(2026, 11, 22 + days) if days else None, "days_to_breach": days,
            "recent_p95": p95 - 5, "average_utilisation": p95 - 30, "model_version": "lgbm-direct-v1:abc",
            "reason": f"{metric} daily P95 forecast peaks at {p95}%"}


@pytest.fixture
def risk_lake(tmp_path) -> LocalLake:
    """Two runs: the newer one re-flags shard of web-01 only."""
    lake = LocalLake(tmp_path / "lake")
    rows = {
        ("r1", "web-01"): [_flag("web-01", "high", 84.0, 0.6, 5)],
        ("r1", "db-02"): [_flag("db-02", "very_high", 95.0, 0.9, 2), _flag("db-02", "normal", 60.0, 0.1, None,
                                                                           "memory")],
        ("r1", "cache-3"): [_flag("cache-3", "underutilised", 30.0, 0.0, None)],
        ("r1", "app-4"): [_flag("app-4", "very_high", 92.0, 0.7, 1)],
        ("r2", "web-01"): [_flag("web-01", "very_high", 97.0, 0.95, 3)],
    }
    for (run, series), flags in rows.items():
        lake.write(t.RISK_FLAGS, pl.DataFrame(flags), partition={"run_id": run, "shard": t.shard_of(series)},
                   key=f"risk-{series}")
    return lake


def test_risks_are_the_current_flags_most_severe_first(risk_lake):
    # When
    with serving(risk_lake):
        body = call("GET", "/v1/risks").json
    # Then: web-01's flag comes from r2; normal flags are left out unless asked for
    assert [(f["series_id"], f["level"], f["run_id"]) for f in body["flags"]] == [
        ("web-01", "very_high", "r2"), ("db-02", "very_high", "r1"), ("app-4", "very_high", "r1"),
        ("cache-3", "underutilised", "r1")]
    assert body["total"] == 4
    assert body["counts"] == {"normal": 1, "underutilised": 1, "very_high": 3}
    assert body["flags"][0]["first_breach_date"] == "2026-11-25"


def test_risks_filter_by_level_metric_and_limit(risk_lake):
    with serving(risk_lake):
        # When
        normal = call("GET", "/v1/risks?level=normal").json
        cpu_top = call("GET", "/v1/risks?metric=cpu&limit=1").json
        one = call("GET", "/v1/risks?series_id=app-4").json
    # Then
    assert [(f["series_id"], f["metric"]) for f in normal["flags"]] == [("db-02", "memory")]
    assert cpu_top["total"] == 4 and [f["series_id"] for f in cpu_top["flags"]] == ["web-01"]
    assert [f["predicted_p95"] for f in one["flags"]] == [92.0]


@pytest.mark.parametrize("query, field", [("level=critical", "query.level"), ("limit=-3", "query.limit"),
                                          ("horizon_days=0", "query.horizon_days"),
                                          ("metric=" + "x" * 65, "query.metric")])
def test_risks_bad_filters_are_field_level_400s(served_lake, query, field):
    # When
    reply = call("GET", f"/v1/risks?{query}")
    # Then
    assert reply.status == 400
    assert reply.fields() == [field]


def test_risks_of_the_sample_lake_agree_with_their_thresholds(served_lake):
    # When
    flags = call("GET", "/v1/risks?limit=1000").json["flags"]
    # Then
    assert flags and {f["level"] for f in flags} <= {"very_high", "high", "underutilised"}
    for f in flags:
        if f["level"] == "very_high":
            assert f["predicted_p95"] > 90
        elif f["level"] == "high":
            assert 80 < f["predicted_p95"] <= 90


# -- runs and models -----------------------------------------------------------------------------
def test_run_report_counts_what_the_run_wrote(served_lake):
    # When
    body = call("GET", f"/v1/runs/{UPLOAD}").json
    # Then: the upload recomputed shards 3 and 11: 5 servers
    assert body["run"]["trigger"] == "s3-upload" and body["run"]["status"] == "succeeded"
    assert body["series"] == 5
    assert body["outputs"]["forecasts"] == 5 * (288 + 90 + 90)
    assert body["outputs"]["risk_flags"] == 5 * 2 * 2
    assert sum(body["risk_levels"].values()) == 20
    assert body["run"]["started_at"] == "2026-11-22T14:00:00Z"


def test_unknown_run_is_404_and_a_malformed_one_400(served_lake):
    # When
    missing = call("GET", "/v1/runs/20991231T000000Z-zz")
    malformed = call("GET", "/v1/runs/has%20space")
    # Then
    assert missing.status == 404 and missing.fields() == ["path.run_id"]
    assert malformed.status == 400 and malformed.fields() == ["path.run_id"]


def test_models_list_the_versions_of_the_newest_runs_with_scores(served_lake):
    # When
    models = call("GET", "/v1/models?limit=2").json["models"]
    # Then
    assert [m["run_id"] for m in models][:1] == [UPLOAD]
    assert {m["run_id"] for m in models} == {UPLOAD, NIGHT}
    night = [m for m in models if m["run_id"] == NIGHT]
    assert sum(m["series"] for m in night if m["granularities"] == ["5min"]) == 40
    for m in models:
        assert set(m["backtest"]) == {"lgbm", "naive_daily", "naive_weekly", "slot_mean"}
        assert 0.7 < m["backtest"]["lgbm"]["coverage80"] < 0.9


def test_models_of_one_run_and_bad_limit(served_lake):
    # When
    one = call("GET", f"/v1/models?run_id={NIGHT}").json["models"]
    bad = call("GET", "/v1/models?limit=51")
    # Then
    assert {m["run_id"] for m in one} == {NIGHT} and len(one) == 2
    assert bad.status == 400 and bad.fields() == ["query.limit"]


def test_results_are_read_again_after_a_new_run(tmp_path):
    # Given a lake served with a listing reused for 0 s, and a run added while serving
    lake = LocalLake(tmp_path / "lake")
    lake.write(t.RISK_FLAGS, pl.DataFrame([_flag("web-01", "high", 84.0, 0.6, 5)]),
               partition={"run_id": "r1", "shard": t.shard_of("web-01")}, key="risk")
    with serving(lake):
        before = call("GET", "/v1/risks").json["flags"][0]["level"]
        lake.write(t.RISK_FLAGS, pl.DataFrame([_flag("web-01", "very_high", 93.0, 0.8, 2)]),
                   partition={"run_id": "r2", "shard": t.shard_of("web-01")}, key="risk")
        # When
        after = call("GET", "/v1/risks").json["flags"][0]
    # Then
    assert before == "high"
    assert (after["level"], after["run_id"]) == ("very_high", "r2")


def test_a_series_forecast_read_from_memory_is_replaced_by_a_newer_run(tmp_path):
    # Given one run's forecast of web-01, read once (the shard is then kept in memory)
    lake = LocalLake(tmp_path / "lake")

    def forecast(run: str, level: float) -> None:
        rows = pl.DataFrame({"series_id": "web-01", "metric": "cpu", "granularity": "1d",
                             "ts": [datetime(2026, 11, 23 + d) for d in range(3)], "step": [1, 2, 3],
                             "yhat": level, "lo80": level - 5, "hi80": level + 5, "lo95": level - 8,
                             "hi95": level + 8, "model": "lgbm", "model_version": f"lgbm-direct-v1:{run}"})
        lake.write(t.FORECASTS, rows, partition={"run_id": run, "shard": t.shard_of("web-01")}, key="1d-capacity")

    forecast("r1", 50.0)
    with serving(lake):
        first = call("GET", "/v1/series/web-01/forecast").json
        forecast("r2", 70.0)
        # When
        second = call("GET", "/v1/series/web-01/forecast").json
    # Then
    assert (first["run_id"], first["forecasts"][0]["points"][0]["yhat"]) == ("r1", 50.0)
    assert (second["run_id"], second["forecasts"][0]["points"][0]["yhat"]) == ("r2", 70.0)
    assert second["forecasts"][0]["points"][2]["timestamp"] == "2026-11-25T00:00:00Z"


def test_read_endpoints_answer_their_documented_shapes(served_lake):
    # Given the three endpoints that answer pre-serialised JSON (not validated on the way out)
    from fleetcast.api import models

    # When / Then
    assert models.SeriesList.model_validate(call("GET", "/v1/series?limit=5").json).total == 40
    assert models.RiskList.model_validate(call("GET", "/v1/risks?limit=5").json).flags
    assert models.SeriesForecast.model_validate(call("GET", "/v1/series/srv-00001/forecast").json).forecasts
