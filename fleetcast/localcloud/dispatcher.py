"""EventBridge rules delivering to their real targets, and schedules that fire.

Gaps closed:

- moto matches events against rules (S3's EventBridge notifications, ``PutEvents``) but delivers
  only to SQS queues and log groups - never to a state machine or an SNS topic. Each rule of the
  template is created in moto with its own pattern plus one extra SQS *tap* target; the
  dispatcher drains the taps and hands every matched event to the rule's real targets
  (``StartExecution`` with the target's ``Input``, or the event itself; SNS ``Publish``), as
  EventBridge does. Pattern matching stays moto's.
- moto never fires ``ScheduleExpression`` rules: :meth:`EventDispatcher.fire_schedule` delivers the
  "Scheduled Event" of a scheduled rule at a given time, to the same targets.
- moto's S3 events differ from AWS's in two fields: ``time`` is epoch seconds (AWS: ISO-8601) and the
  object's ETag is ``eTag`` (AWS: ``etag``, which the state machine's run id uses). Events are
  normalized to AWS's shape before delivery.

Delivery is explicit (:meth:`pump`), so tests decide when it happens; ``LocalCloud.run_until_idle``
pumps until nothing is left. Execution names are random, as EventBridge's are.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleetcast.localcloud.template import LocalNames

TAP_PREFIX = "localcloud-tap-"


@dataclass
class Target:
    arn: str
    input: str | None = None  # the target's constant Input (JSON text)
    input_path: str | None = None


@dataclass
class Rule:
    logical_id: str
    name: str
    bus: str
    pattern: dict | None
    schedule: str | None
    targets: list[Target]
    tap_url: str | None = None
    delivered: list[dict] = field(default_factory=list)


class EventDispatcher:
    """Creates the template's rules in moto and carries their events to state machines and topics."""

    def __init__(self, names: LocalNames, session: Any) -> None:
        self.names = names
        self.session = session
        self.rules: dict[str, Rule] = {}
        self.executions: list[str] = []

    def install(self) -> None:
        events, sqs = self.session.client("events"), self.session.client("sqs")
        for resource in self.names.of_type("AWS::Events::Rule"):
            props = self.names.resolve(resource.properties)
            bus = props.get("EventBusName", "default")
            rule = Rule(resource.logical_id, self.names.name(resource.logical_id), bus, props.get("EventPattern"),
                        props.get("ScheduleExpression"), [_target(t) for t in props.get("Targets", [])])
            events.put_rule(Name=rule.name, EventBusName=bus, State=props.get("State", "ENABLED"),
                            **({"EventPattern": json.dumps(rule.pattern)} if rule.pattern else
                               {"ScheduleExpression": rule.schedule}))
            if rule.pattern:
                queue = f"{TAP_PREFIX}{rule.name}"[:80]
                rule.tap_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=rule.tap_url, AttributeNames=["QueueArn"])
                events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[
                    {"Id": "localcloud-tap", "Arn": arn["Attributes"]["QueueArn"]}])
            self.rules[resource.logical_id] = rule

    def pump(self) -> int:
        """Deliver every event waiting in the taps; returns how many deliveries were made."""
        sqs = self.session.client("sqs")
        delivered = 0
        for rule in self.rules.values():
            while rule.tap_url:
                answer = sqs.receive_message(QueueUrl=rule.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
                messages = answer.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    delivered += self.deliver(rule, aws_shape(json.loads(message["Body"])))
                    sqs.delete_message(QueueUrl=rule.tap_url, ReceiptHandle=message["ReceiptHandle"])
        return delivered

    def fire_schedule(self, at: datetime, rule_id: str | None = None) -> int:
        """Deliver the "Scheduled Event" of scheduled rules (all, or ``rule_id``) as of ``at`` (UTC)."""
        fired = 0
        for rule in self.rules.values():
            if rule.schedule and rule_id in (None, rule.logical_id):
                event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                         "source": "aws.events", "account": self.names.account, "region": self.names.region,
                         "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at.tzinfo
                         else at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "resources": [self.names.arn(rule.logical_id)], "detail": {}}
                fired += self.deliver(rule, event)
        return fired

    def redeliver(self, source: str = "aws.s3") -> int:
        """Deliver the last event of ``source`` again, as EventBridge may (it delivers at least once)."""
        for rule in self.rules.values():
            for event in reversed(rule.delivered):
                if event.get("source") == source:
                    return self.deliver(rule, event)
        raise LookupError(f"no event from {source} was delivered yet")

    def deliver(self, rule: Rule, event: dict) -> int:
        rule.delivered.append(event)
        for target in rule.targets:
            payload = target.input if target.input is not None else json.dumps(_select(event, target.input_path))
            service = target.arn.split(":")[2]
            if service == "states":
                answer = self.session.client("stepfunctions").start_execution(
                    stateMachineArn=target.arn, input=payload, name=str(uuid.uuid4()))
                self.executions.append(answer["executionArn"])
            elif service == "sns":
                self.session.client("sns").publish(TopicArn=target.arn, Message=payload)
            else:
                raise NotImplementedError(f"rule {rule.name}: target {target.arn} is not delivered by the local cloud")
        return len(rule.targets)


def aws_shape(event: dict) -> dict:
    """An event as AWS writes it: ISO ``time``; S3 object ``etag`` (moto writes ``eTag``).

    Examples
    --------
    >>> aws_shape({"time": 0, "detail": {"object": {"eTag": "abc"}}})
    {'time': '1970-01-01T00:00:00Z', 'detail': {'object': {'etag': 'abc'}}}
    """
    event = dict(event)
    if isinstance(event.get("time"), int | float):
        event["time"] = datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj = (event.get("detail") or {}).get("object")
    if isinstance(obj, dict) and "eTag" in obj:
        obj = {("etag" if k == "eTag" else k): v for k, v in obj.items()}
        event["detail"] = {**event["detail"], "object": obj}
    return event


def _target(props: dict) -> Target:
    if "InputTransformer" in props:
        raise NotImplementedError("InputTransformer targets are not delivered by the local cloud")
    return Target(props["Arn"], props.get("Input"), props.get("InputPath"))


def _select(event: dict, path: str | None) -> Any:
    if not path or path == "$":
        return event
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value
