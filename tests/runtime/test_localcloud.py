"""The local cloud as a whole: the synthesized stack in moto, events routed as EventBridge routes them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.e2e


def test_the_state_machine_is_the_synthesized_definition_with_local_names(cloud, template):
    # Given the definition as CDK synthesized it
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    expected = json.loads(cloud.names.resolve(machine["Properties"]["DefinitionString"]))
    # Then moto runs exactly that, with every reference pointing at a resource of this cloud
    (arn,) = cloud.provisioned["state_machines"]
    sfn = cloud.session.client("stepfunctions")
    running = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert running == expected and arn == cloud.outputs["StateMachineArn"]
    functions = {f["FunctionArn"] for f in cloud.session.client("lambda").list_functions()["Functions"]}
    invoked = {s["Parameters"]["FunctionName"] for s in _states(running)
               if s.get("Resource", "").endswith("lambda:invoke")}
    assert invoked and invoked <= functions
    assert "Fn::" not in json.dumps(running) and '"Ref"' not in json.dumps(running)


def test_an_upload_starts_one_run_whose_id_is_the_upload(cloud):
    # When a file is put into the raw bucket and the events are delivered
    put = cloud.upload(b"just text, not a log\n", key="notes/readme.txt")
    (execution,) = cloud.run_until_idle()
    # Then the upload rule started the pipeline with the S3 event, in AWS's shape
    event = execution["input"]
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["detail"]["object"]["etag"] == put["etag"] and event["time"].endswith("Z")
    # and the run id is derived from bucket, key and content (ADR 0002), the same on every delivery
    digest = hashlib.md5(f"{cloud.raw_bucket}/notes/readme.txt/{put['etag']}".encode()).hexdigest()
    (failed,) = cloud.events("PipelineRunFailed")
    assert failed["detail"]["run_id"] == f"upload-{digest}"
    cloud.dispatcher.redeliver()
    (again,) = cloud.run_until_idle()
    assert again["executionArn"] != execution["executionArn"]
    assert [e["detail"]["run_id"] for e in cloud.events("PipelineRunFailed")] == [f"upload-{digest}"] * 2


def test_the_nightly_schedule_starts_a_refresh_run_named_after_its_day(cloud):
    fired = cloud.fire_schedule(datetime(2024, 5, 2, 3, 0, tzinfo=UTC))
    (execution,) = cloud.run_until_idle()
    assert fired == 1 and execution["input"] == {"mode": "refresh", "trigger": "schedule"}
    day = execution["startDate"].astimezone(UTC).strftime("%Y-%m-%d")
    history = cloud.history(execution["executionArn"])
    started = next(e for e in history if e.get("stateExitedEventDetails", {}).get("name") == "Start refresh run")
    assert json.loads(started["stateExitedEventDetails"]["output"])["run"]["run_id"] == f"refresh-{day}"


def test_capacity_risk_events_reach_the_risk_topic(cloud):
    # When a CapacityRiskDetected event is put on fleetcast's bus (as risk_plan does)
    detail = {"run_id": "r1", "series_id": "db-02", "metric": "memory", "risk_level": "very_high"}
    cloud.session.client("events").put_events(Entries=[{
        "Source": "fleetcast", "DetailType": "CapacityRiskDetected", "Detail": json.dumps(detail),
        "EventBusName": cloud.outputs["EventBusName"]}])
    cloud.run_until_idle()
    # Then the stack's rule delivers it to the risk topic (moto alone drops SNS targets)
    (message,) = cloud.notifications("RiskTopicArn")
    assert json.loads(message)["detail"] == detail
    assert [e["detail-type"] for e in cloud.events()] == ["CapacityRiskDetected"]


def _states(definition: dict) -> list[dict]:
    found = []
    for state in definition["States"].values():
        found.append(state)
        if "ItemProcessor" in state:
            found += _states(state["ItemProcessor"])
    return found
