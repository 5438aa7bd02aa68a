"""fleetcast's HTTP API: one Powertools resolver for API Gateway (``app.resolve(event, context)``) and
``fleetcast serve``.

Routes are thin: validate (pydantic models, field-level 400s), call :mod:`fleetcast.api.results` (the
lake) or :mod:`fleetcast.api.compute` (ad-hoc work), return. Importing this module loads Powertools
and pydantic only; polars, the lake and LightGBM are imported by the first request that needs them.
Authorisation is API Gateway's (IAM SigV4 by default, see ``infra/api.py``); the OpenAPI document
says so.
"""

import json
import logging
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from fleetcast.api import limits, models
from fleetcast.api.errors import ApiError, NotFound, from_validation
from fleetcast.api.models import LEVELS, PRESET_NAMES
from fleetcast.api.resolver import FleetcastResolver

logger = logging.getLogger(__name__)
VERSION = "0.1.0"
TITLE = "fleetcast API"
DESCRIPTION = (
    "Forecasts with 80/95% intervals, capacity risks, scaling plans and cost reports. Behind API Gateway "
    "every call is signed with AWS SigV4 (IAM) unless the stack was deployed with API keys. Size limits: "
    + ", ".join(f"{k}={v:,}" for k, v in limits.as_dict().items()) + ".")
RUN_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
JSON = "application/json"

app = FleetcastResolver()

_ERRORS = {400: "invalid request: the errors name each field", 404: "no such series, run or preset",
           413: "request over a stated size limit", 415: "unsupported content type", 503: "lake unreachable"}


def _responses(*codes: int, ok: type | None = None) -> dict:
    out: dict = {200: {"description": "OK", "content": {JSON: {"model": ok}}} if ok else {"description": "OK"}}
    for code in codes:
        out[code] = {"description": _ERRORS[code], "content": {JSON: {"model": models.ErrorResponse}}}
    return out


def _results():
    from fleetcast.api import services

    return services.results()


def _compute():
    from fleetcast.api import compute

    return compute


# -- info ------------------------------------------------------------------------------------------
@app.get("/", summary="What this API is and where its documents are", tags=["info"])
def info() -> models.Info:
    return {"name": "fleetcast", "version": VERSION, "description": DESCRIPTION, "docs": "/swagger",
            "openapi": "/openapi.json", "limits": limits.as_dict(),
            "endpoints": [f"{m} {p}" for m, p in route_table()]}


@app.get("/health", summary="Lake reachable, latest run and its age, model version", tags=["info"],
         responses=_responses(503))
def health() -> models.Health:
    reachable, checks = _results().health()
    status = ("ok" if checks.get("latest_run", {}).get("run_id") else "degraded") if reachable else "error"
    body = {"status": status, "version": VERSION, "checks": checks}
    return body if reachable else Response(503, JSON, body)


@app.get("/openapi.json", summary="This API's OpenAPI document", tags=["info"], include_in_schema=False)
def openapi_document():
    from aws_lambda_powertools.event_handler.openapi.models import Server

    base = app._get_base_path()  # the stage prefix behind API Gateway, "" locally
    text = app.get_openapi_json_schema(servers=[Server(url=base or "/")], **openapi_settings())
    return Response(200, JSON, text)


# -- ad-hoc computation ----------------------------------------------------------------------------
@app.post("/v1/forecast", summary="Forecast posted history (JSON or CSV) with 80/95% intervals",
          tags=["forecasting"], responses=_responses(400, 413, 415))
def post_forecast(request: models.ForecastRequest) -> models.ForecastResponse:
    return _compute().forecast(request)


@app.post("/v1/backtest", summary="Backtest the forecaster against seasonal baselines on posted history",
          tags=["forecasting"], responses=_responses(400, 413, 415))
def post_backtest(request: models.BacktestRequest) -> models.BacktestResponse:
    return _compute().backtest(request)


@app.post("/v1/scaling/plan", summary="Servers and actions per interval for a policy over observed or "
          "predicted load", tags=["scaling"], responses=_responses(400, 413, 415))
def post_scaling_plan(request: models.PlanRequest) -> models.PlanResponse:
    return _compute().scaling_plan(request)


@app.post("/v1/cost/report", summary="Cost, saving vs static, SLA violations and scaling events per policy",
          tags=["scaling"], responses=_responses(400, 413, 415))
def post_cost_report(request: models.CostReportRequest) -> models.CostReportResponse:
    return _compute().cost_report(request)


@app.get("/v1/policies", summary="The scaling presets and their settings", tags=["scaling"])
def get_policies() -> models.PolicyList:
    from fleetcast.scaling.policy import PREDICTIVE_PRESETS, PRESETS

    return {"presets": {n: p.to_dict() for n, p in PRESETS.items()}, "predictive": list(PREDICTIVE_PRESETS)}


@app.get("/v1/policies/<preset>", summary="One scaling preset", tags=["scaling"], responses=_responses(404))
def get_policy(preset: Annotated[str, Path(max_length=64)]) -> dict:
    from fleetcast.scaling.policy import PRESETS

    if preset not in PRESETS:
        raise NotFound(f"no preset {preset!r} (presets: {', '.join(PRESET_NAMES)})", field="path.preset")
    return PRESETS[preset].to_dict()


# -- results from the lake -------------------------------------------------------------------------
# The three read endpoints below answer pre-serialised JSON: their body is documented (``ok=``) but not
# validated again on the way out, which for a 1,000-row answer costs more than reading it.
@app.get("/v1/series", summary="Series with current forecasts", tags=["results"],
         responses=_responses(400, ok=models.SeriesList))
def get_series(metric: Annotated[str | None, Query(max_length=64)] = None,
               limit: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 100,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0):
    return _json(_results().series(metric=metric, limit=limit, offset=offset))


@app.get("/v1/series/<series_id>/forecast", summary="The latest forecast of a series (from the results lake)",
         tags=["results"], responses=_responses(400, 404, ok=models.SeriesForecast))
def get_series_forecast(series_id: Annotated[str, Path(min_length=1, max_length=128)],
                        metric: Annotated[str | None, Query(max_length=64)] = None,
                        granularity: Annotated[str | None, Query(max_length=16)] = None,
                        run_id: Annotated[str | None, Query(pattern=RUN_ID)] = None):
    found = _results().series_forecast(series_id, metric=metric, granularity=granularity, run_id=run_id)
    if found is None:
        raise NotFound(f"no forecast for series {series_id!r}" + (f" in run {run_id}" if run_id else ""),
                       field="path.series_id")
    return _json(found)


@app.get("/v1/risks", summary="Current capacity risk flags, most severe first", tags=["results"],
         responses=_responses(400, ok=models.RiskList))
def get_risks(level: Annotated[Literal[LEVELS] | None, Query()] = None,  # type: ignore[valid-type]
              metric: Annotated[str | None, Query(max_length=64)] = None,
              series_id: Annotated[str | None, Query(max_length=128)] = None,
              horizon_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
              limit: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 100):
    return _json(_results().risks(level=level, metric=metric, series_id=series_id, horizon_days=horizon_days,
                                  limit=limit))


@app.get("/v1/runs/<run_id>", summary="What a run was and wrote", tags=["results"], responses=_responses(400, 404))
def get_run(run_id: Annotated[str, Path(pattern=RUN_ID)]) -> models.RunReport:
    found = _results().run(run_id)
    if found is None:
        raise NotFound(f"no run {run_id!r} in the lake", field="path.run_id")
    return found


@app.get("/v1/models", summary="Model versions of the latest runs with their backtest scores", tags=["results"],
         responses=_responses(400))
def get_models(run_id: Annotated[str | None, Query(pattern=RUN_ID)] = None,
               limit: Annotated[int, Query(ge=1, le=50)] = 5) -> models.ModelList:
    return _results().models(run_id=run_id, limit=limit)


# -- errors ----------------------------------------------------------------------------------------
@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    moved = app.context.get("csv_query") or set()
    if moved:  # a CSV body's horizon/freq came from the query string: say so
        errors = [{**e, "loc": ("query", *e["loc"][1:])} if tuple(e.get("loc", ()))[:1] == ("body",)
                  and len(e["loc"]) == 2 and e["loc"][1] in moved else e for e in errors]
    return _error(from_validation(errors, lines=app.context.get("csv_lines")))


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return _error(exc)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response:
    return Response(415, JSON, {"statusCode": 415, "message": "send application/json (or text/csv where "
                                "the route accepts it)", "errors": []})


@app.not_found
def _not_found(exc: NotFoundError) -> Response:
    return Response(404, JSON, {"statusCode": 404, "message": "no such route", "errors": []})


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    return Response(exc.status_code, JSON, {"statusCode": exc.status_code, "message": str(exc.msg), "errors": []})


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    from fleetcast.api.services import LakeNotConfigured

    if isinstance(exc, LakeNotConfigured):
        return Response(503, JSON, {"statusCode": 503, "message": str(exc), "errors": []})
    logger.exception("unexpected error")
    return Response(500, JSON, {"statusCode": 500, "message": "internal error (logged)", "errors": []})


def _json(body: dict) -> Response:
    """A 200 with ``body`` as JSON; :class:`~fleetcast.api.results.RawJson` values (also one level
    down, in lists of dicts) are spliced in as they are."""
    from fleetcast.api.results import RawJson

    raw: dict[str, str] = {}

    def mark(value):  # noqa: ANN001, ANN202
        if isinstance(value, RawJson):  # a placeholder no JSON value of ours contains (NUL characters)
            key = f"\u0000raw{len(raw)}\u0000"
            raw[key] = value
            return key
        if isinstance(value, list):
            return [mark(v) for v in value]
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        return value

    text = json.dumps(mark(body), separators=(",", ":"), allow_nan=False)
    for key, value in raw.items():
        text = text.replace(json.dumps(key), value, 1)
    return Response(200, JSON, text)


def _error(exc: ApiError) -> Response:
    return Response(exc.status, JSON, exc.body())


# -- documents -------------------------------------------------------------------------------------
def openapi_settings() -> dict:
    """Title, version, description and security of the OpenAPI document (Swagger UI uses the same)."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    sigv4 = APIKey(name="Authorization", in_=APIKeyIn.header,
                   description="AWS Signature Version 4 (IAM), checked by API Gateway before the function runs",
                   **{"x-amazon-apigateway-authtype": "awsSigv4"})
    return {"title": TITLE, "version": VERSION, "description": DESCRIPTION,
            "security_schemes": {"sigv4": sigv4}, "security": [{"sigv4": []}]}


def route_table() -> list[tuple[str, str]]:
    """``(method, path)`` of every route, API Gateway style (``{name}``), the documents included."""
    routes = [(r.method.upper(), r.openapi_path) for r in (*app._static_routes, *app._dynamic_routes)]
    return sorted(set(routes), key=lambda mp: (mp[1], mp[0]))


app.enable_swagger(path="/swagger", **openapi_settings())
