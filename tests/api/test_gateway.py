"""The API as API Gateway sees it: the same routes as the CDK stack declares, and the api Lambda's
handler answering a REST proxy event."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetcast.api.http import app, openapi_settings, route_table

EVENTS = Path(__file__).parent / "events"


def test_the_gateway_declares_exactly_the_resolvers_routes_and_query_parameters():
    # Given the routes the CDK stack puts in front of the function and the generated document
    from infra.api import ROUTES

    doc = app.get_openapi_schema(**openapi_settings()).model_dump(mode="json", by_alias=True, exclude_none=True)
    declared = {(r.method, r.path): r.query for r in ROUTES}
    # Then
    assert set(declared) == set(route_table())
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            query = {p["name"]: p.get("required", False) for p in operation.get("parameters", []) if p["in"] == "query"}
            assert query == declared[(method.upper(), path)], (method, path)


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_the_api_lambda_answers_a_rest_proxy_event(served_lake, monkeypatch):
    # Given a signed GET as API Gateway delivers it (stage "api")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "fleetcast-api")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "fleetcast")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    from lambdas.api.handler import handler

    event = json.loads((EVENTS / "get_series_forecast.json").read_text())
    context = SimpleNamespace(function_name="api", memory_limit_in_mb=2048, aws_request_id="r-1",
                              invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:api")
    # When
    response = handler(event, context)
    # Then
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["series_id"] == "srv-00010" and body["run_id"] == "20261122T140000Z-u1"
    assert [f["metric"] for f in body["forecasts"]] == ["cpu"]
