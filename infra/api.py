"""REST API in front of the api function: IAM auth (or API keys + usage plan), throttling, logs.

Routes (the api function's Powertools resolver, ``fleetcast.api.http``, implements the same table;
``tests/api/test_gateway.py`` checks they agree)::

    GET  /                                   info, limits, endpoints
    GET  /health                             lake reachable, latest run and its age, model version
    GET  /swagger, /openapi.json             Swagger UI and the OpenAPI document (generated from the code)
    POST /v1/forecast                        ad-hoc forecast of posted history (JSON or CSV)
    POST /v1/backtest                        backtest of posted history vs baselines
    POST /v1/scaling/plan                    servers and actions per interval for a policy
    POST /v1/cost/report                     cost, saving, SLA violations, scaling events per policy
    GET  /v1/policies, /v1/policies/{preset} scaling presets
    GET  /v1/series                          series with current forecasts      ?metric= &limit= &offset=
    GET  /v1/series/{series_id}/forecast     latest forecast of a series        ?metric= &granularity= &run_id=
    GET  /v1/risks                           open risk flags                    ?level= &metric= &series_id= &limit=
    GET  /v1/runs/{run_id}                   what a run was and wrote
    GET  /v1/models                          model versions and backtest scores ?run_id= &limit=

Validation: API Gateway checks the path parameters; the function validates every field of the query
and body (pydantic) and answers field-level 400s, which the gateway's own body validator could not
(it answers one generic message), so bodies are not validated twice. Errors the gateway raises itself
(bad parameters, a body over its 10 MB limit) come back in the function's error shape. The stage is
``api``: URLs are ``https://<id>.execute-api.<region>.amazonaws.com/api/v1/...``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import Config
from infra.nag import suppress

STAGE = "api"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    query: dict[str, bool] = field(default_factory=dict)  # name -> required


ROUTES = (
    Route("GET", "/"),
    Route("GET", "/health"),
    Route("GET", "/swagger", {"format": False}),
    Route("GET", "/openapi.json"),
    Route("POST", "/v1/forecast", {"horizon": False, "freq": False}),
    Route("POST", "/v1/backtest", {"horizon": False, "freq": False, "windows": False, "step": False}),
    Route("POST", "/v1/scaling/plan"),
    Route("POST", "/v1/cost/report"),
    Route("GET", "/v1/policies"),
    Route("GET", "/v1/policies/{preset}"),
    Route("GET", "/v1/series", {"metric": False, "limit": False, "offset": False}),
    Route("GET", "/v1/series/{series_id}/forecast", {"metric": False, "granularity": False, "run_id": False}),
    Route("GET", "/v1/risks", {"level": False, "metric": False, "series_id": False, "horizon_days": False,
                               "limit": False}),
    Route("GET", "/v1/runs/{run_id}"),
    Route("GET", "/v1/models", {"run_id": False, "limit": False}),
)

#: Errors API Gateway answers itself, in the function's error shape (static templates: valid JSON).
GATEWAY_ERRORS = {
    "BadRequestParameters": (apigw.ResponseType.BAD_REQUEST_PARAMETERS, "400",
                             "a required path or query parameter is missing"),
    "RequestTooLarge": (apigw.ResponseType.REQUEST_TOO_LARGE, "413",
                        "request over API Gateway's 10 MB limit (the API takes at most 5 MiB)"),
}


class Api(Construct):
    """API Gateway REST API (regional) with one Lambda proxy integration."""

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, handler: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        use_keys = config.api_auth == "apiKey"
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="fleetcast: forecasts, risks, scaling plans, cost reports",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logs need the account-level API Gateway CloudWatch role; kept on
            # stack deletion because other APIs in the account may rely on it.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=config.api_throttle_rate,
                throttling_burst_limit=config.api_throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.NONE if use_keys else apigw.AuthorizationType.IAM,
                api_key_required=use_keys,
            ),
        )
        self.params_validator = self.rest_api.add_request_validator(
            "Params", request_validator_name="parameters", validate_request_parameters=True
        )
        for name, (kind, status, message) in GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                name,
                type=kind,
                status_code=status,
                templates={"application/json": json.dumps({"statusCode": int(status), "message": message,
                                                           "errors": []})},
            )
        integration = apigw.LambdaIntegration(handler, proxy=True)
        for route in ROUTES:
            self._add(route, integration)
        if use_keys:
            self._usage_plan(config)
        suppress(
            self.rest_api,
            "APIG3",
            "A WAF web ACL costs a monthly fee per ACL and rule; the API is "
            "authenticated (IAM SigV4 or API key), throttled per stage/usage plan and validates input. "
            "Attach a WAF ACL to the stage if it is exposed to untrusted networks.",
        )
        suppress(
            self.rest_api,
            "APIG2",
            "API Gateway validates path and query parameters; bodies are validated by the function "
            "(pydantic), which answers field-level 400s the gateway's body validator cannot.",
        )
        suppress(
            self.rest_api,
            "COG4",
            "Callers are tools and services with AWS credentials: IAM (SigV4) "
            "authorisation, not a Cognito user pool, is the intended auth."
            + (" In apiKey mode, a usage-plan API key is required on every method." if use_keys else ""),
        )
        suppress(
            self.rest_api,
            "IAM4",
            "The account-level API Gateway logging role uses the AWS managed "
            "AmazonAPIGatewayPushToCloudWatchLogs policy, which API Gateway documents for this role.",
            findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"],
        )
        if use_keys:
            suppress(
                self.rest_api,
                "APIG4",
                "apiKey mode was chosen in context (apiAuth=apiKey): every "
                "method requires a usage-plan API key; the default mode uses IAM authorisation.",
            )

    def _add(self, route: Route, integration: apigw.Integration) -> None:
        resource = self.rest_api.root
        for part in route.path.strip("/").split("/"):
            if part:
                resource = resource.get_resource(part) or resource.add_resource(part)
        params = {f"method.request.path.{p[1:-1]}": True for p in route.path.split("/") if p.startswith("{")}
        params.update({f"method.request.querystring.{name}": req for name, req in route.query.items()})
        resource.add_method(
            route.method,
            integration,
            request_parameters=params or None,
            request_validator=self.params_validator,
        )

    def _usage_plan(self, config: Config) -> None:
        key = self.rest_api.add_api_key("ApiKey", description="fleetcast API key (apiAuth=apiKey)")
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            description="fleetcast API usage plan",
            throttle=apigw.ThrottleSettings(rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst),
            quota=apigw.QuotaSettings(limit=config.api_quota_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_key(key)
        plan.add_api_stage(stage=self.rest_api.deployment_stage)
        self.api_key = key

    @property
    def url(self) -> str:
        return self.rest_api.url
