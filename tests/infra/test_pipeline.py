"""Step Functions pipeline: valid ASL, the stages in order, retries everywhere, failures reported; rules."""

import json

from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

from fleetcast.lake.tables import N_SHARDS


def definition(synth) -> dict:
    """The synthesized ASL with CloudFormation references replaced by placeholder ARNs."""
    (machine,) = synth.of_type("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]

    def text(part) -> str:
        if isinstance(part, str):
            return part
        if part.get("Ref") == "AWS::Partition":
            return "aws"
        name = part.get("Ref") or part["Fn::GetAtt"][0]
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"

    return json.loads("".join(text(p) for p in parts))


def _states(asl: dict) -> dict:
    """Every state, including those inside the Distributed Map's item processor."""
    states = dict(asl["States"])
    for state in asl["States"].values():
        if "ItemProcessor" in state:
            states.update(state["ItemProcessor"]["States"])
    return states


def test_definition_is_valid_amazon_states_language(synth):
    # Given the definition CDK synthesized; When statelint checks it; Then it reports no problem.
    # (FLOAT is statelint's optional "write 2 as 2.0" check: JSON numbers, the same to Step Functions.)
    assert Linter.validate(definition(synth), Config({ProblemType.FLOAT})) == []


def test_upload_path_runs_validate_aggregate_forecast_risk_plan_then_succeeds(synth):
    states = definition(synth)["States"]
    assert states["Which trigger?"]["Choices"][0] == {
        "Variable": "$.detail.object.key",
        "IsPresent": True,
        "Next": "Start upload run",
    }
    assert states["Start upload run"]["Next"] == "Validate"
    assert states["Validate"]["Next"] == "Aggregate"
    assert states["Aggregate"]["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert states["Aggregate"]["Next"] == "Forecast shards"
    assert states["Forecast shards"]["Next"] == "Check shards"
    assert states["Any shard failed?"]["Default"] == "Risk and plan"
    assert states["Risk and plan"]["Next"] == "Publish PipelineRunSucceeded"
    succeeded = states["Publish PipelineRunSucceeded"]["Parameters"]["Entries"][0]
    assert (succeeded["Source"], succeeded["DetailType"]) == ("fleetcast", "PipelineRunSucceeded")
    assert states["Publish PipelineRunSucceeded"]["Next"] == "Run succeeded"


def test_refresh_path_skips_validation_and_aggregation(synth):
    states = definition(synth)["States"]
    refresh = states["Which trigger?"]["Choices"][1]
    assert refresh["Next"] == "Start refresh run"
    assert states["Start refresh run"]["Parameters"]["run"]["trigger"] == "schedule"
    assert states["Start refresh run"]["Next"] == "Forecast shards"


def test_forecast_is_a_distributed_map_over_every_shard(synth):
    states = definition(synth)["States"]
    fan_out = states["Forecast shards"]
    assert fan_out["Type"] == "Map"
    assert fan_out["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert fan_out["ItemsPath"] == "$.shards"
    assert fan_out["MaxConcurrency"] == 16
    assert states["Start upload run"]["Parameters"]["shards"] == list(range(N_SHARDS))
    assert fan_out["ItemSelector"] == {"shard.$": "$$.Map.Item.Value", "run.$": "$.run"}
    inner = fan_out["ItemProcessor"]["States"]
    assert inner["Forecast shard"]["Catch"][0]["Next"] == "Record shard failure"
    assert inner["Record shard failure"]["Parameters"]["status"] == "failed"


def test_every_task_retries_with_backoff(synth):
    tasks = {name: s for name, s in _states(definition(synth)).items() if s["Type"] == "Task"}
    assert len(tasks) == 7  # validate, aggregate, forecast shard, risk and plan, 2 events, SNS
    for name, state in tasks.items():
        retriers = [r for r in state["Retry"] if r.get("MaxAttempts", 3) > 0]
        assert retriers, name
        assert all(r["BackoffRate"] >= 1.5 for r in retriers), name
        assert state["Retry"][-1]["ErrorEquals"] == ["States.ALL"], name
    # rejected input is final: not retried
    assert definition(synth)["States"]["Validate"]["Retry"][0] == {"ErrorEquals": ["InputRejected"], "MaxAttempts": 0}


def test_failures_publish_an_event_notify_sns_and_fail_the_run(synth):
    states = definition(synth)["States"]
    for name in ("Validate", "Aggregate", "Forecast shards", "Risk and plan"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Publish PipelineRunFailed"}
        ]
    assert states["Shards failed"]["Next"] == "Publish PipelineRunFailed"
    assert states["Unknown trigger"]["Next"] == "Publish PipelineRunFailed"
    failed = states["Publish PipelineRunFailed"]["Parameters"]["Entries"][0]
    assert failed["DetailType"] == "PipelineRunFailed"
    assert failed["Detail"]["error.$"] == "$.error.Error"
    assert states["Publish PipelineRunFailed"]["Next"] == "Notify failure"
    assert states["Notify failure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert states["Run failed"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    # a failed shard fails the run, which reports every shard's status, error and cause
    assert states["Check shards"]["Parameters"] == {
        "any_failed.$": "States.ArrayContains($.forecast[*].status, 'failed')"
    }
    assert states["Any shard failed?"]["Choices"][0] == {
        "Variable": "$.check.any_failed",
        "BooleanEquals": True,
        "Next": "Shards failed",
    }
    assert states["Shards failed"]["Parameters"]["Cause.$"] == "States.JsonToString($.forecast)"


def test_state_machine_logs_everything_and_traces(synth):
    (machine,) = synth.of_type("AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["StateMachineType"] == "STANDARD"


def test_uploads_and_the_nightly_schedule_start_the_pipeline(synth):
    rules = synth.of_type("AWS::Events::Rule")
    upload = next(
        r["Properties"]
        for r in rules.values()
        if "EventPattern" in r["Properties"] and r["Properties"]["EventPattern"].get("source") == ["aws.s3"]
    )
    assert upload["EventPattern"]["detail-type"] == ["Object Created"]
    assert upload["EventPattern"]["detail"]["bucket"]["name"][0]["Ref"].startswith("StorageRaw")
    nightly = next(r["Properties"] for r in rules.values() if "ScheduleExpression" in r["Properties"])
    assert nightly["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert json.loads(nightly["Targets"][0]["Input"]) == {"mode": "refresh", "trigger": "schedule"}
    for rule in (upload, nightly):
        target = rule["Targets"][0]
        assert target["Arn"]["Ref"].startswith("PipelineStateMachine")
        assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("PipelineRuleTargetFailures")
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
