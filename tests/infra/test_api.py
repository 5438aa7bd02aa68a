"""REST API: IAM auth (or API keys), throttling, request validation, access logs."""

import json

from infra.api import ROUTES


def _methods(synth) -> list[dict]:
    return [m["Properties"] for m in synth.of_type("AWS::ApiGateway::Method").values()]


def test_every_route_is_a_method_with_iam_auth_and_a_validator(synth):
    methods = _methods(synth)
    assert len(methods) == len(ROUTES)
    for method in methods:
        assert method["AuthorizationType"] == "AWS_IAM"
        assert method["RequestValidatorId"]["Ref"].startswith("ApiRestApi")
        assert method["Integration"]["Type"] == "AWS_PROXY"
    # bodies are validated by the function (field-level 400s), parameters by the gateway
    assert all("RequestModels" not in m for m in methods)
    by_path_param = [m for m in methods if "method.request.path.series_id" in m.get("RequestParameters", {})]
    assert len(by_path_param) == 1 and all(
        m["RequestParameters"]["method.request.path.series_id"] for m in by_path_param
    )


def test_gateway_validates_parameters_and_answers_in_the_function_error_shape(synth):
    validators = [v["Properties"] for v in synth.of_type("AWS::ApiGateway::RequestValidator").values()]
    assert validators == [{"Name": "parameters", "RestApiId": validators[0]["RestApiId"],
                           "ValidateRequestParameters": True}]
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()}
    assert responses["BAD_REQUEST_PARAMETERS"]["StatusCode"] == "400"
    body = json.loads(responses["REQUEST_TOO_LARGE"]["ResponseTemplates"]["application/json"])
    assert body["statusCode"] == 413 and body["errors"] == []


def test_stage_throttles_traces_and_writes_access_logs(synth):
    (stage,) = synth.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (20, 40)
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    fmt = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "ip", "status", "user"} <= set(fmt)
    assert props["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1][-1]["Ref"].startswith("ApiAccessLogs")


def test_api_keys_and_usage_plan_are_an_option(synth, synth_options):
    assert not synth.of_type("AWS::ApiGateway::UsagePlan")
    methods = _methods(synth_options)
    assert all(m["AuthorizationType"] == "NONE" and m["ApiKeyRequired"] is True for m in methods)
    (plan,) = synth_options.of_type("AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["Throttle"] == {"BurstLimit": 40, "RateLimit": 20}
    assert plan["Properties"]["Quota"] == {"Limit": 10000, "Period": "DAY"}
    assert len(synth_options.of_type("AWS::ApiGateway::ApiKey")) == 1
