"""Each local-cloud shim closes one moto gap, and only that: proven on small state machines and events."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from fleetcast.localcloud.dispatcher import EventDispatcher, Rule, aws_shape
from fleetcast.localcloud.template import LocalNames

from .conftest import event

ROLE = "arn:aws:iam::123456789012:role/localcloud-role"


@pytest.fixture
def sfn(aws):
    """moto executing state machines, with the interpreter shims installed."""
    from moto import settings  # noqa: F401 - moto is already mocking (aws fixture)
    from moto.core.config import default_user_config

    from fleetcast.localcloud.stepfunctions import glue_sync_without_callback, iso_start_time, scaled_retry_waits

    saved = dict(default_user_config["stepfunctions"])
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    with iso_start_time(), glue_sync_without_callback(), scaled_retry_waits(0.01):
        yield aws.client("stepfunctions")
    default_user_config["stepfunctions"].update(saved)


def run(sfn, definition: dict, payload: dict | None = None) -> dict:
    arn = sfn.create_state_machine(name=f"m{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                   roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))["executionArn"]
    for _ in range(600):
        answer = sfn.describe_execution(executionArn=execution)
        if answer["status"] != "RUNNING":
            return answer
        time.sleep(0.05)
    raise TimeoutError(execution)


def test_start_time_is_the_iso_string_aws_gives(sfn):
    # Given a state that splits $$.Execution.StartTime as the nightly run id does
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True, "Parameters": {
        "day.$": "States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0)",
        "start.$": "$$.Execution.StartTime"}}}}
    # When it runs
    answer = run(sfn, definition)
    # Then it gets AWS's format (moto's own interpreter hands out a datetime)
    output = json.loads(answer["output"])
    assert answer["status"] == "SUCCEEDED" and output["day"] == datetime.utcnow().strftime("%Y-%m-%d")
    assert len(output["start"]) == 24 and output["start"].endswith("Z")


def test_glue_sync_waits_for_the_job_run_and_fails_with_it(aws, sfn):
    from fleetcast.localcloud.glue import GlueJobs

    glue = aws.client("glue")
    for name in ("good", "bad"):
        glue.create_job(Name=name, Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
    seen = []
    jobs = GlueJobs()
    jobs.register("good", lambda args: seen.append(args["--x"]))
    jobs.register("bad", lambda args: 1 / 0)

    def machine(job: str) -> dict:
        return {"StartAt": "G", "States": {"G": {
            "Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "End": True,
            "Parameters": {"JobName": job, "Arguments": {"--x.$": "$.x"}},
            "ResultSelector": {"state.$": "$.JobRunState"}}}}

    with jobs.installed():
        good, bad = run(sfn, machine("good"), {"x": "7"}), run(sfn, machine("bad"), {"x": "7"})
    # The job ran with the task's arguments, and .sync returned its end state (moto alone crashes here)
    assert (good["status"], json.loads(good["output"]), seen) == ("SUCCEEDED", {"state": "SUCCEEDED"}, ["7"])
    # A job that raises ends FAILED, which fails the task with the job run (and its error) as cause
    assert (bad["status"], bad["error"]) == ("FAILED", "States.TaskFailed")
    assert json.loads(bad["cause"])["ErrorMessage"] == "ZeroDivisionError: division by zero"


def test_lambda_tasks_run_the_real_handler_and_errors_keep_their_name(aws, sfn, tmp_path):
    from fleetcast.localcloud.lambdas import HandlerRef, LambdaRuntime

    # Given a function whose code is a handler module on disk (as lambdas/<name>/handler.py)
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "handler.py").write_text(
        "class InputRejected(Exception):\n    pass\n\n"
        "def handler(event, context):\n"
        "    if event.get('bad'):\n        raise InputRejected('not usable')\n"
        "    return {'seen': event['n'] + 1, 'function': context.function_name}\n")
    aws.client("iam").create_role(RoleName="localcloud-role", AssumeRolePolicyDocument="{}")
    aws.client("lambda").create_function(FunctionName="Echo", Role=ROLE, PackageType="Image",
                                         Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"})
    runtime = LambdaRuntime(root=tmp_path)
    runtime.register("Echo", HandlerRef("echo"))
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Echo",
                           "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["InputRejected"], "MaxAttempts": 0},
                      {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 2, "BackoffRate": 3}],
            "ResultSelector": {"answer.$": "$.Payload"}}
    with runtime.installed():
        ok = run(sfn, {"StartAt": "T", "States": {"T": task}}, {"n": 1})
        rejected = run(sfn, {"StartAt": "T", "States": {"T": task}}, {"n": 1, "bad": True})
        started = time.perf_counter()
        broken = run(sfn, {"StartAt": "T", "States": {"T": task}}, {"no_n": 1})
        elapsed = time.perf_counter() - started
    # Then the handler ran in process and answered through moto's Lambda API
    assert json.loads(ok["output"]) == {"answer": {"seen": 2, "function": "Echo"}}
    # A raised exception is a function error named after its class: InputRejected is not retried
    assert (rejected["status"], rejected["error"]) == ("FAILED", "InputRejected")
    assert json.loads(rejected["cause"])["errorMessage"] == "not usable"
    # Any other error is retried as the Retry says (twice), with waits scaled down (5 s + 15 s -> 0.2 s)
    assert broken["error"] == "KeyError" and elapsed < 5
    assert [i.error_type for i in runtime.calls("echo")] == [None, "InputRejected", "KeyError", "KeyError", "KeyError"]


def test_moto_s3_events_are_given_aws_field_names_and_time():
    moto_event = {"time": 1714564800.5, "source": "aws.s3",
                  "detail": {"bucket": {"name": "raw"}, "object": {"key": "a.log", "eTag": "abc", "size": 3}}}
    shaped = aws_shape(moto_event)
    assert shaped["time"] == "2024-05-01T12:00:00Z"
    assert shaped["detail"]["object"] == {"key": "a.log", "etag": "abc", "size": 3}
    assert moto_event["detail"]["object"]["eTag"] == "abc"  # the original is left alone


def test_a_fired_schedule_sends_the_event_eventbridge_sends():
    # Given a scheduled rule (no targets: only the event is looked at)
    names = LocalNames({"Resources": {"PipelineNightlyRefresh": {"Type": "AWS::Events::Rule", "Properties": {}}}})
    dispatcher = EventDispatcher(names, session=None)
    rule = Rule("PipelineNightlyRefresh", "PipelineNightlyRefresh", "default", None, "cron(0 3 * * ? *)", [])
    dispatcher.rules[rule.logical_id] = rule
    # When it fires at 03:00 UTC
    dispatcher.fire_schedule(datetime(2024, 5, 2, 3, 0, tzinfo=UTC))
    # Then the event is the "Scheduled Event" AWS sends (tests/events/scheduled_event.json), id aside
    (sent,) = rule.delivered
    expected = event("scheduled_event.json")
    assert {k: v for k, v in sent.items() if k != "id"} == {k: v for k, v in expected.items() if k != "id"}


def test_intrinsics_resolve_to_the_local_names():
    names = LocalNames({"Resources": {
        "RawB1": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "FnA": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "fleetcast-bus"}},
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }, "Parameters": {"BootstrapVersion": {"Default": "/cdk-bootstrap/version"}}})
    assert names.resolve({"Fn::GetAtt": ["FnA", "Arn"]}) == "arn:aws:lambda:us-east-1:123456789012:function:FnA"
    assert names.resolve({"Fn::Sub": "s3://${RawB1}/x/${AWS::Region}/${Bus.Arn}"}) == (
        "s3://fleetcast-local-rawb1/x/us-east-1/arn:aws:events:us-east-1:123456789012:event-bus/fleetcast-bus")
    assert names.resolve({"Fn::Select": [1, {"Fn::Split": [":", {"Fn::GetAtt": ["Q", "Arn"]}]}]}) == "aws"
    assert names.resolve({"Ref": "Q"}) == "https://sqs.us-east-1.amazonaws.com/123456789012/Q"
    assert names.resolve({"Fn::Sub": ["${A}-${AWS::AccountId}", {"A": {"Ref": "BootstrapVersion"}}]}) == (
        "/cdk-bootstrap/version-123456789012")
    with pytest.raises(NotImplementedError, match="Fn::If"):
        names.resolve({"Fn::If": ["C", 1, 2]})
