"""GET /, /health, the OpenAPI document and Swagger UI, unknown routes."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from fleetcast.api import limits
from fleetcast.api.http import route_table
from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake
from tests.api.conftest import call, serving

ISSUE_ROUTES = {
    ("GET", "/"), ("GET", "/health"), ("POST", "/v1/forecast"), ("POST", "/v1/backtest"),
    ("POST", "/v1/scaling/plan"), ("POST", "/v1/cost/report"), ("GET", "/v1/policies"),
    ("GET", "/v1/policies/{preset}"), ("GET", "/v1/series"), ("GET", "/v1/series/{series_id}/forecast"),
    ("GET", "/v1/risks"), ("GET", "/v1/runs/{run_id}"), ("GET", "/v1/models"),
}


def test_info_lists_every_endpoint_of_the_issue_and_the_limits(served_lake):
    # When
    reply = call("GET", "/")
    # Then
    assert reply.status == 200
    body = reply.json
    assert {tuple(e.split(" ", 1)) for e in body["endpoints"]} >= ISSUE_ROUTES
    assert body["limits"]["max_history_points"] == limits.MAX_HISTORY_POINTS == 20_000
    assert body["docs"] == "/swagger" and body["openapi"] == "/openapi.json"
    assert set(route_table()) >= ISSUE_ROUTES


def test_health_reports_the_latest_run_its_age_and_the_model_version(served_lake):
    # When
    checks = call("GET", "/health").json["checks"]
    # Then: the newest run of the sample lake is the upload at 14:00 on 2026-11-22
    assert checks["lake"] == {"ok": True}
    assert checks["latest_run"]["run_id"] == "20261122T140000Z-u1"
    assert checks["latest_run"]["status"] == "succeeded"
    assert checks["latest_run"]["age_seconds"] > 0
    assert checks["results"] == {"latest_run_with_forecasts": "20261122T140000Z-u1", "runs_with_forecasts": 3}
    assert checks["model"]["model_version"].startswith("sample-lgbm-direct:")


def test_health_of_an_empty_lake_is_degraded_not_an_error(tmp_path):
    # Given a lake no run wrote to yet
    with serving(LocalLake(tmp_path / "empty")):
        # When
        reply = call("GET", "/health")
    # Then
    assert reply.status == 200
    assert reply.json["status"] == "degraded"
    assert reply.json["checks"]["latest_run"]["run_id"] is None


def test_health_of_an_unreadable_lake_is_503(tmp_path):
    # Given a runs table whose only file is not Parquet
    lake = LocalLake(tmp_path / "lake")
    lake.write(t.RUNS, pl.DataFrame({"run_id": ["r1"], "trigger": ["cli-run"], "started_at": [datetime(2026, 1, 1)],
                                     "finished_at": [None], "status": ["succeeded"], "inputs": [[]],
                                     "lines_read": [0], "lines_rejected": [0], "series": [0],
                                     "observations": [0], "gaps": [0], "model_version": [None],
                                     "message": [""]}), key="r1")
    (lake.table_dir(t.RUNS) / "r1.parquet").write_bytes(b"not parquet")
    with serving(lake):
        # When
        reply = call("GET", "/health")
    # Then
    assert reply.status == 503
    assert reply.json["status"] == "error" and reply.json["checks"]["lake"]["ok"] is False


def test_openapi_document_is_generated_from_the_routes_with_400s_and_sigv4(served_lake):
    # When
    reply = call("GET", "/openapi.json")
    # Then
    assert reply.status == 200
    doc = reply.json
    assert doc["openapi"].startswith("3.")
    paths = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert paths >= ISSUE_ROUTES
    forecast = doc["paths"]["/v1/forecast"]["post"]
    assert set(forecast["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert {"400", "413"} <= set(forecast["responses"]) and "422" not in forecast["responses"]
    assert doc["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_swagger_ui_is_served(served_lake):
    # When
    reply = call("GET", "/swagger")
    # Then
    assert reply.status == 200
    assert "text/html" in reply.headers["Content-Type"]
    assert "SwaggerUIBundle" in reply.text


def test_unknown_route_is_a_json_404(served_lake):
    # When
    reply = call("GET", "/v2/nothing")
    # Then
    assert reply.status == 404
    assert reply.json == {"statusCode": 404, "message": "no such route", "errors": []}


def test_without_a_configured_lake_results_are_503(monkeypatch):
    # Given no lake configured and none in the environment
    monkeypatch.delenv("FLEETCAST_LAKE", raising=False)
    monkeypatch.delenv("LAKE_TABLE_LOCATIONS", raising=False)
    with serving(None):
        from fleetcast.api import services

        services._state.update(lake=None, results=None)
        # When
        reply = call("GET", "/v1/risks")
    # Then
    assert reply.status == 503
    assert "FLEETCAST_LAKE" in reply.json["message"]
