"""Step Functions ``pipeline`` and the EventBridge rules that start it.

State (the JSON every state sees), built up as the run goes::

    event     the trigger: an S3 "Object Created" event, or {"mode": "refresh", ...}
    run       {run_id, execution_arn, started_at, trigger}; run_id is deterministic (ADR 0002):
              upload-<md5 of bucket/key/etag> for an upload (a re-delivered event, or the same bytes
              uploaded again to the same key, is the same run and overwrites its own rows),
              refresh-<UTC date> for the schedule (one refresh run per day)
    shards    [0, 1, ..., N_SHARDS - 1]: the Distributed Map's items
    source    validate's answer: {source_id, uri, kind, format, size_bytes}          (uploads only)
    aggregate the Glue run: {job_run_id, state}                                     (uploads only)
    forecast  one item per shard: {shard, status: "succeeded", summary} or
              {shard, status: "failed", error, cause}; if any failed, the run fails with
              ForecastShardsFailed and the whole list (which shard, which error, why) as cause
    plan      {summary: risk_plan's answer}

Contracts with the handlers (the runtime issue implements them):
- validate(event={"run", "event"}) -> {"source_id", "uri", "kind", "format", "size_bytes"}; raises an
  error named ``InputRejected`` for unusable input (after quarantining it and publishing the
  InputRejected event); that error is not retried.
- forecast(event={"run", "shard"}) -> {"shard", ...summary}; an exception is retried, then recorded
  for that shard; the run fails afterwards, naming every failed shard with its error.
- risk_plan(event={"run", "forecast"}) -> summary dict (counts; publishes CapacityRiskDetected).
Every failure ends in a ``PipelineRunFailed`` event, an SNS notification and a failed execution.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from fleetcast.lake.tables import N_SHARDS
from infra.config import Config
from infra.nag import XRAY, function_versions, resource_finding, suppress
from infra.retries import lambda_retries, service_retries

EVENT_SOURCE = "fleetcast"
NOT_RETRIED = ["InputRejected"]
J = sfn.JsonPath


class Pipeline(Construct):
    """The state machine, the S3-upload rule and the nightly refresh schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        raw: s3.IBucket,
        functions: dict[str, lambda_.IFunction],
        glue_job_name: str,
        bus: events.IEventBus,
        failure_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._bus = bus
        self._topic = failure_topic
        failed = self._failure_chain()
        upload = (
            self._start("Start upload run", "s3-upload")
            .next(self._validate(functions["validate"], failed))
            .next(self._aggregate(glue_job_name, failed))
        )
        refresh = self._start("Start refresh run", "schedule")
        forecast = self._forecast_map(functions["forecast"], failed)
        upload.next(forecast)
        refresh.next(forecast)
        forecast.next(self._after_forecast(functions["risk_plan"], failed))
        unknown = sfn.Pass(
            self,
            "Unknown trigger",
            parameters={
                "event": J.entire_payload,
                "run": {**self._run_fields("unknown"), "run_id": J.string_at("$$.Execution.Name")},
                "error": {
                    "Error": "UnknownTrigger",
                    "Cause": 'input is neither an S3 Object Created event nor {"mode": "refresh"}',
                },
            },
        ).next(failed)
        route = (
            sfn.Choice(self, "Which trigger?")
            .when(sfn.Condition.is_present("$.detail.object.key"), upload)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.mode"), sfn.Condition.string_equals("$.mode", "refresh")
                ),
                refresh,
            )
            .otherwise(unknown)
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            log_group_name=f"/aws/vendedlogs/states/{config.prefix}-pipeline",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="fleetcast pipeline: validate -> aggregate -> forecast shards -> risk and plan",
            definition_body=sfn.DefinitionBody.from_chainable(route),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.minutes(config.pipeline_timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
            resource_name=Fn.select(6, Fn.split(":", self.state_machine.state_machine_arn)),
        )
        suppress(
            self.state_machine,
            "IAM5",
            "Generated by CDK for the Lambda and Distributed Map "
            "integrations: any version of the three pipeline functions (':*') and the map's own "
            "child executions of this state machine. " + XRAY + " CloudWatch Logs delivery actions "
            "have no resource-level permissions either.",
            findings=[
                *(function_versions(functions[name]) for name in ("validate", "forecast", "risk_plan")),
                "Resource::*",
                resource_finding(self, f"{executions}:*"),
                resource_finding(self, f"{executions}/*:*"),
            ],
        )
        self.rule_dlq = sqs.Queue(
            self,
            "RuleTargetFailures",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        suppress(self.rule_dlq, "SQS3", "This queue is the dead-letter queue of the EventBridge rule targets.")
        self.upload_rule = events.Rule(
            self,
            "OnUpload",
            description="raw bucket Object Created -> pipeline",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"], detail={"bucket": {"name": [raw.bucket_name]}}
            ),
            targets=[self._target(None)],
        )
        self.refresh_rule = events.Rule(
            self,
            "NightlyRefresh",
            description="re-forecast every series with the newest data",
            schedule=events.Schedule.expression(config.refresh_schedule),
            targets=[self._target(events.RuleTargetInput.from_object({"mode": "refresh", "trigger": "schedule"}))],
        )

    def _target(self, payload: events.RuleTargetInput | None) -> targets.SfnStateMachine:
        return targets.SfnStateMachine(
            self.state_machine,
            input=payload,
            dead_letter_queue=self.rule_dlq,
            retry_attempts=8,
            max_event_age=Duration.hours(2),
        )

    # -- states -----------------------------------------------------------------------------------

    def _start(self, name: str, trigger: str) -> sfn.Pass:
        return sfn.Pass(
            self,
            name,
            parameters={
                "event": J.entire_payload,
                "run": {**self._run_fields(trigger), "run_id": _run_id(trigger)},
                "shards": list(range(N_SHARDS)),
            },
        )

    @staticmethod
    def _run_fields(trigger: str) -> dict:
        return {
            "execution_arn": J.string_at("$$.Execution.Id"),
            "started_at": J.string_at("$$.Execution.StartTime"),
            "trigger": trigger,
        }

    def _validate(self, fn: lambda_.IFunction, failed: sfn.IChainable) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            "Validate",
            lambda_function=fn,
            retry_on_service_exceptions=False,
            payload=sfn.TaskInput.from_object({"run": J.object_at("$.run"), "event": J.object_at("$.event")}),
            result_selector={
                **{key: J.string_at(f"$.Payload.{key}") for key in ("source_id", "uri", "kind", "format")},
                "size_bytes": J.number_at("$.Payload.size_bytes"),
            },
            result_path="$.source",
        )
        return lambda_retries(task, not_retried=NOT_RETRIED).add_catch(failed, result_path="$.error")

    def _aggregate(self, job_name: str, failed: sfn.IChainable) -> tasks.GlueStartJobRun:
        args = {
            "--run_id": J.string_at("$.run.run_id"),
            "--source_id": J.string_at("$.source.source_id"),
            "--source_uri": J.string_at("$.source.uri"),
            "--kind": J.string_at("$.source.kind"),
            "--format": J.string_at("$.source.format"),
        }
        task = tasks.GlueStartJobRun(
            self,
            "Aggregate",
            glue_job_name=job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object(args),
            task_timeout=sfn.Timeout.duration(Duration.minutes(self._config.glue_timeout_minutes + 15)),
            result_selector={"job_run_id": J.string_at("$.Id"), "state": J.string_at("$.JobRunState")},
            result_path="$.aggregate",
        )
        # One run at a time by default (a run rewrites whole shard partitions): wait for the slot.
        task.add_retry(
            errors=["Glue.ConcurrentRunsExceededException"],
            interval=Duration.seconds(60),
            max_attempts=12,
            backoff_rate=1.5,
            max_delay=Duration.minutes(10),
            jitter_strategy=sfn.JitterType.FULL,
        )
        task.add_retry(errors=["States.ALL"], interval=Duration.seconds(30), max_attempts=1, backoff_rate=2)
        return task.add_catch(failed, result_path="$.error")

    def _forecast_map(self, fn: lambda_.IFunction, failed: sfn.IChainable) -> sfn.DistributedMap:
        shard = tasks.LambdaInvoke(
            self,
            "Forecast shard",
            lambda_function=fn,
            retry_on_service_exceptions=False,
            payload=sfn.TaskInput.from_object({"run": J.object_at("$.run"), "shard": J.number_at("$.shard")}),
            result_selector={
                "shard": J.number_at("$.Payload.shard"),
                "status": "succeeded",
                "summary": J.object_at("$.Payload"),
            },
        )
        record = sfn.Pass(
            self,
            "Record shard failure",
            parameters={
                "shard": J.number_at("$.shard"),
                "status": "failed",
                "error": J.string_at("$.error.Error"),
                "cause": J.string_at("$.error.Cause"),
            },
        )
        lambda_retries(shard).add_catch(record, result_path="$.error")
        fan_out = sfn.DistributedMap(
            self,
            "Forecast shards",
            items_path="$.shards",
            item_selector={"shard": J.number_at("$$.Map.Item.Value"), "run": J.object_at("$.run")},
            max_concurrency=self._config.forecast_max_concurrency,
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path="$.forecast",
        )
        fan_out.item_processor(shard)
        fan_out.add_retry(errors=["States.ALL"], interval=Duration.seconds(10), max_attempts=1, backoff_rate=2)
        fan_out.add_catch(failed, result_path="$.error")
        return fan_out

    def _after_forecast(self, risk_plan: lambda_.IFunction, failed: sfn.IChainable) -> sfn.IChainable:
        check = sfn.Pass(
            self,
            "Check shards",
            result_path="$.check",
            parameters={"any_failed": J.array_contains(J.list_at("$.forecast[*].status"), "failed")},
        )
        shards_failed = sfn.Pass(
            self,
            "Shards failed",
            result_path="$.error",
            parameters={"Error": "ForecastShardsFailed", "Cause": J.json_to_string(J.list_at("$.forecast"))},
        )
        plan = tasks.LambdaInvoke(
            self,
            "Risk and plan",
            lambda_function=risk_plan,
            retry_on_service_exceptions=False,
            payload=sfn.TaskInput.from_object({"run": J.object_at("$.run"), "forecast": J.list_at("$.forecast")}),
            result_selector={"summary": J.object_at("$.Payload")},
            result_path="$.plan",
        )
        lambda_retries(plan).add_catch(failed, result_path="$.error")
        succeeded = self._put_event(
            "Publish PipelineRunSucceeded",
            "PipelineRunSucceeded",
            {
                "run_id": J.string_at("$.run.run_id"),
                "trigger": J.string_at("$.run.trigger"),
                "execution_arn": J.string_at("$.run.execution_arn"),
                "started_at": J.string_at("$.run.started_at"),
                "plan": J.object_at("$.plan.summary"),
            },
        )
        plan.next(succeeded).next(sfn.Succeed(self, "Run succeeded"))
        return check.next(
            sfn.Choice(self, "Any shard failed?")
            .when(sfn.Condition.boolean_equals("$.check.any_failed", True), shards_failed.next(failed))
            .otherwise(plan)
        )

    def _failure_chain(self) -> sfn.IChainable:
        publish = self._put_event(
            "Publish PipelineRunFailed",
            "PipelineRunFailed",
            {
                "run_id": J.string_at("$.run.run_id"),
                "execution_arn": J.string_at("$$.Execution.Id"),
                "error": J.string_at("$.error.Error"),
                "cause": J.string_at("$.error.Cause"),
            },
        )
        notify = tasks.SnsPublish(
            self,
            "Notify failure",
            topic=self._topic,
            subject="fleetcast pipeline run failed",
            message=sfn.TaskInput.from_text(
                J.format(
                    "fleetcast run {} failed: {}: {}",
                    J.string_at("$.run.run_id"),
                    J.string_at("$.error.Error"),
                    J.string_at("$.error.Cause"),
                )
            ),
            result_path=J.DISCARD,
        )
        service_retries(notify)
        fail = sfn.Fail(self, "Run failed", error_path="$.error.Error", cause_path="$.error.Cause")
        return publish.next(notify).next(fail)

    def _put_event(self, name: str, detail_type: str, detail: dict) -> tasks.EventBridgePutEvents:
        task = tasks.EventBridgePutEvents(
            self,
            name,
            entries=[
                tasks.EventBridgePutEventsEntry(
                    detail=sfn.TaskInput.from_object(detail),
                    detail_type=detail_type,
                    source=EVENT_SOURCE,
                    event_bus=self._bus,
                )
            ],
            result_path=J.DISCARD,
        )
        return service_retries(task)


def _run_id(trigger: str) -> str:
    """Deterministic run ids (ADR 0002): the same upload (bucket, key, content ETag) or the same UTC day's
    refresh is the same run, so a re-delivered event overwrites that run's keyed files, never adds rows."""
    if trigger == "s3-upload":
        upload = J.format(
            "{}/{}/{}",
            J.string_at("$.detail.bucket.name"),
            J.string_at("$.detail.object.key"),
            J.string_at("$.detail.object.etag"),
        )
        return J.format("upload-{}", J.hash(upload, "MD5"))
    day = J.array_get_item(J.string_split(J.string_at("$$.Execution.StartTime"), "T"), 0)
    return J.format("refresh-{}", day)
