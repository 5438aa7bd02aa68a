"""LocalCloud: the deployed system on this machine - moto, the synthesized stack, the real handlers.

Usage::

    with LocalCloud() as cloud:                      # synthesizes the CDK app (about 15 s)
        cloud.upload("access.log")                   # into the raw bucket: S3 -> EventBridge
        (execution,) = cloud.run_until_idle()        # rules deliver, the state machine runs
        execution["status"], cloud.events("CapacityRiskDetected")
        cloud.lake().read(tables.FORECASTS)          # what the functions wrote to S3

Everything is in process: moto in-process mocks (no ports), the state machine executed by moto's
interpreter from the definition CDK synthesized, Lambda tasks run by the real handler modules,
the Glue job by the local engine. The shims and why each exists: :mod:`fleetcast.localcloud`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from fleetcast.localcloud import provision as prov
from fleetcast.localcloud.dispatcher import EventDispatcher
from fleetcast.localcloud.template import REGION, LocalNames, synthesize

OBSERVER_PREFIX = "localcloud-observe-"
_REMOVED_VARS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


class LocalCloud:
    """The stack of ``template`` (default: synthesized now) running in moto, with the shims installed.

    Parameters
    ----------
    template
        A synthesized template (``synthesize()`` or ``load_template("cdk.out/...")``).
    retry_scale
        Factor applied to every Step Functions retry wait (1.0 = real time).
    lambda_concurrency
        How many Lambda invocations run at once in this process.
    """

    def __init__(self, template: dict | None = None, *, retry_scale: float = 0.01, lambda_concurrency: int = 2,
                 region: str = REGION) -> None:
        self.names = LocalNames(template if template is not None else synthesize(), region=region)
        self.retry_scale, self.lambda_concurrency = retry_scale, lambda_concurrency
        self.outputs = {k: self.names.resolve(v["Value"]) for k, v in self.names.template.get("Outputs", {}).items()}
        self._stack: contextlib.ExitStack | None = None
        self._observed: list[dict] = []
        self._notified: dict[str, list[str]] = {}
        self._reported = 0  # executions already returned by run_until_idle

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        import boto3
        from moto import mock_aws

        from fleetcast.localcloud.glue import GlueJobs, aggregation_job
        from fleetcast.localcloud.lambdas import HandlerRef, LambdaRuntime
        from fleetcast.localcloud.stepfunctions import glue_sync_without_callback, iso_start_time, scaled_retry_waits

        stack = contextlib.ExitStack()
        try:
            stack.enter_context(mock.patch.dict(os.environ, self.environment(), clear=False))
            for var in _REMOVED_VARS:
                os.environ.pop(var, None)
            stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
            stack.enter_context(iso_start_time())
            stack.enter_context(glue_sync_without_callback())
            stack.enter_context(scaled_retry_waits(self.retry_scale))
            self.lambdas = stack.enter_context(LambdaRuntime(max_concurrency=self.lambda_concurrency).installed())
            self.glue = stack.enter_context(GlueJobs().installed())
            self.session = boto3.Session(region_name=self.names.region)
            self.provisioned = prov.provision(self.names, self.session)
            for function in self.names.of_type("AWS::Lambda::Function"):
                ref = HandlerRef.from_function(self.names.resolve(function.properties))
                if ref:
                    self.lambdas.register(self.names.name(function.logical_id), ref)
            for job in self.names.of_type("AWS::Glue::Job"):
                self.glue.register(self.names.name(job.logical_id), aggregation_job(self.session))
            self.dispatcher = EventDispatcher(self.names, self.session)
            self.dispatcher.install()
            self._observe()
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """What the process needs while the cloud runs: fake credentials, region, the functions' variables."""
        return {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud",
                "AWS_DEFAULT_REGION": self.names.region, "AWS_REGION": self.names.region,
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
                **prov.function_environment(self.names)}

    # -- using it ---------------------------------------------------------------------------------

    @property
    def raw_bucket(self) -> str:
        return self.outputs["RawBucket"]

    def upload(self, data: str | os.PathLike | bytes, key: str | None = None) -> dict[str, str]:
        """Put a file (or bytes) into the raw bucket; returns ``{"key", "version_id", "etag"}``."""
        if isinstance(data, bytes):
            body, key = data, key or "upload.bin"
        else:
            body, key = Path(data).read_bytes(), key or Path(data).name
        answer = self.session.client("s3").put_object(Bucket=self.raw_bucket, Key=key, Body=body)
        return {"key": key, "version_id": answer.get("VersionId"), "etag": answer["ETag"].strip('"')}

    def fire_schedule(self, at: datetime) -> int:
        """The nightly rule fires at ``at`` (what EventBridge Scheduler does on AWS)."""
        return self.dispatcher.fire_schedule(at)

    def run_until_idle(self, timeout: float = 300.0) -> list[dict]:
        """Deliver events and wait for executions until nothing moves; returns the executions started."""
        deadline = time.monotonic() + timeout
        seen, self._reported = self._reported, len(self.dispatcher.executions)
        while True:
            pumped = self.dispatcher.pump()
            running = [arn for arn in self.dispatcher.executions if self.describe(arn)["status"] == "RUNNING"]
            if not pumped and not running:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"still running after {timeout:.0f} s: {running}")
            time.sleep(0.05 if pumped else 0.2)
        self._collect()
        self._reported = len(self.dispatcher.executions)
        return [self.describe(arn) for arn in self.dispatcher.executions[seen:]]

    def describe(self, execution_arn: str) -> dict:
        answer = self.session.client("stepfunctions").describe_execution(executionArn=execution_arn)
        for key in ("input", "output"):
            if isinstance(answer.get(key), str):
                answer[key] = json.loads(answer[key])
        return answer

    def history(self, execution_arn: str) -> list[dict]:
        client = self.session.client("stepfunctions")
        return client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]

    def events(self, detail_type: str | None = None) -> list[dict]:
        """Events published on fleetcast's bus so far (all, or of one detail type)."""
        self._collect()
        return [e for e in self._observed if detail_type in (None, e.get("detail-type"))]

    def notifications(self, topic_output: str = "AlarmTopicArn") -> list[str]:
        """Messages published to an SNS topic, named by its stack output (AlarmTopicArn, RiskTopicArn)."""
        self._collect()
        return list(self._notified.get(self.outputs[topic_output], []))

    def lake(self) -> Any:
        """The lake as the functions see it (S3 + Glue catalog of this cloud)."""
        from fleetcast.lake.s3 import S3Lake

        return S3Lake.from_environment(boto3_session=self.session)

    # -- observation taps (not part of the stack) -------------------------------------------------

    def _observe(self) -> None:
        events, sqs, sns = (self.session.client(s) for s in ("events", "sqs", "sns"))
        self._taps: dict[str, str] = {}
        for bus in self.names.of_type("AWS::Events::EventBus"):
            name = self.names.name(bus.logical_id)
            url, arn = _queue(sqs, f"{OBSERVER_PREFIX}{name}"[:80])
            events.put_rule(Name=f"{OBSERVER_PREFIX}{name}"[:64], EventBusName=name,
                            EventPattern=json.dumps({"source": ["fleetcast"]}))
            events.put_targets(Rule=f"{OBSERVER_PREFIX}{name}"[:64], EventBusName=name,
                               Targets=[{"Id": "observe", "Arn": arn}])
            self._taps[url] = "events"
        for topic in self.names.of_type("AWS::SNS::Topic"):
            topic_arn = self.names.ref(topic.logical_id)
            url, arn = _queue(sqs, f"{OBSERVER_PREFIX}{self.names.name(topic.logical_id)}"[:80])
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
            self._taps[url] = topic_arn

    def _collect(self) -> None:
        sqs = self.session.client("sqs")
        for url, kind in self._taps.items():
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                for message in messages:
                    if kind == "events":
                        self._observed.append(json.loads(message["Body"]))
                    else:
                        self._notified.setdefault(kind, []).append(message["Body"])
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn
