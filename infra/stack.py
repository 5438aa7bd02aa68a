"""The fleetcast stack: composes the per-domain constructs and does every cross-construct grant."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from fleetcast.lake.tables import Table
from infra.aggregation import AggregationJob
from infra.analytics import Analytics
from infra.api import Api
from infra.catalog import Catalog
from infra.config import Config
from infra.functions import SPECS, FunctionFactory
from infra.monitoring import Monitoring
from infra.nag import GRANT_WILDCARDS, function_versions, s3_findings, suppress
from infra.notifications import Notifications
from infra.pipeline import Pipeline
from infra.quicksight import QuickSight
from infra.storage import QUARANTINE_PREFIX, Storage
from infra.views import VIEWS_DIR


class FleetcastStack(Stack):
    """Everything of DESIGN.md's architecture in one deployable unit."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        core_layer_dir: Path,
        views_dir: Path = VIEWS_DIR,
        tables: dict[str, Table] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(
            scope, construct_id, description=f"fleetcast capacity forecasting ({config.env_name})", **kwargs
        )
        Tags.of(self).add("project", "fleetcast")
        Tags.of(self).add("fleetcast:env", config.env_name)
        storage = Storage(self, "Storage", config=config)
        catalog = Catalog(
            self,
            "Catalog",
            database_name=config.glue_database,
            curated=storage.curated,
            results=storage.results,
            tables=tables,
        )
        notifications = Notifications(self, "Notifications", config=config)
        analytics = Analytics(
            self,
            "Analytics",
            config=config,
            catalog=catalog,
            athena_results=storage.athena_results,
            data_buckets=[storage.curated, storage.results],
            views_dir=views_dir,
        )
        locations = self.to_json_string(catalog.locations)
        factory = FunctionFactory(
            self,
            "Functions",
            config=config,
            core_layer_dir=core_layer_dir,
            environment={
                "POWERTOOLS_SERVICE_NAME": "fleetcast",
                "POWERTOOLS_METRICS_NAMESPACE": "fleetcast",
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "FLEETCAST_ENV": config.env_name,
                "LAKE_DATABASE": config.glue_database,
                "LAKE_TABLE_LOCATIONS": locations,
                "EVENT_BUS_NAME": notifications.bus.event_bus_name,
            },
        )
        validate = factory.create(
            SPECS["validate"],
            environment={
                "RAW_BUCKET": storage.raw.bucket_name,
                "CURATED_BUCKET": storage.curated.bucket_name,
                "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
            },
        )
        forecast = factory.create(SPECS["forecast"], reserved_concurrency=config.forecast_max_concurrency)
        risk_plan = factory.create(SPECS["risk_plan"])
        api_fn = factory.create(
            SPECS["api"],
            reserved_concurrency=config.api_reserved_concurrency,
            environment={
                "ATHENA_WORKGROUP": analytics.workgroup.ref,
                "FORECAST_FUNCTION_NAME": forecast.function_name,
                "RISK_PLAN_FUNCTION_NAME": risk_plan.function_name,
            },
        )
        results_tables = catalog.tables_in("results")

        # validate: reads uploads, quarantines bad ones and records whole-file rejects; never results.
        storage.raw.grant_read(validate)
        storage.curated.grant_put(validate, f"{QUARANTINE_PREFIX}*")
        storage.curated.grant_put(validate, "rejects/*")
        notifications.bus.grant_put_events_to(validate)
        # forecast: observations in, forecasts/backtests out.
        storage.curated.grant_read(forecast)
        storage.results.grant_read_write(forecast)
        catalog.grant_write_partitions(forecast, results_tables)
        # risk_plan: forecasts + observations in, flags/plans/simulations/runs out, risk events.
        storage.curated.grant_read(risk_plan)
        storage.results.grant_read_write(risk_plan)
        catalog.grant_write_partitions(risk_plan, results_tables)
        notifications.bus.grant_put_events_to(risk_plan)
        # api: reads the lake (directly or through Athena), computes ad hoc through the image functions.
        storage.curated.grant_read(api_fn)
        storage.results.grant_read(api_fn)
        catalog.grant_read(api_fn)
        analytics.grant_query(api_fn)
        storage.athena_results.grant_read_write(api_fn)
        forecast.grant_invoke(api_fn)
        risk_plan.grant_invoke(api_fn)
        for fn, findings in (
            (
                validate,
                s3_findings(storage.raw)
                + s3_findings(storage.curated, QUARANTINE_PREFIX)
                + s3_findings(storage.curated, "rejects/"),
            ),
            (forecast, s3_findings(storage.curated) + s3_findings(storage.results)),
            (risk_plan, s3_findings(storage.curated) + s3_findings(storage.results)),
            (
                api_fn,
                s3_findings(storage.curated)
                + s3_findings(storage.results)
                + s3_findings(storage.athena_results)
                + [function_versions(forecast), function_versions(risk_plan)],
            ),
        ):
            suppress(fn.role, "IAM5", GRANT_WILDCARDS, findings=findings)

        job = AggregationJob(
            self,
            "Aggregation",
            config=config,
            raw=storage.raw,
            curated=storage.curated,
            catalog=catalog,
            core_layer_dir=core_layer_dir,
            lake_locations=locations,
        )
        pipeline = Pipeline(
            self,
            "Pipeline",
            config=config,
            raw=storage.raw,
            functions=factory.functions,
            glue_job_name=job.job_name,
            bus=notifications.bus,
            failure_topic=notifications.alarm_topic,
        )
        api = Api(self, "Api", config=config, handler=api_fn)
        Monitoring(
            self,
            "Monitoring",
            config=config,
            topic=notifications.alarm_topic,
            state_machine=pipeline.state_machine,
            functions=factory.functions,
            api=api.rest_api,
            queues={
                "async-failures": factory.async_failures,
                "rule-target-failures": pipeline.rule_dlq,
                "risk-rule-failures": notifications.rule_dlq,
            },
        )
        if config.quicksight_enabled:
            QuickSight(
                self,
                "QuickSight",
                config=config,
                catalog=catalog,
                workgroup=analytics.workgroup.ref,
                views=analytics.views,
                buckets=[storage.curated, storage.results],
                athena_results=storage.athena_results,
            )

        for child in self.node.children:  # CDK's singleton that turns on the raw bucket's EventBridge delivery
            if child.node.id.startswith("BucketNotificationsHandler"):
                suppress(
                    child,
                    "IAM4",
                    "CDK's bucket-notifications custom resource (EventBridge delivery of the "
                    "raw bucket) uses AWSLambdaBasicExecutionRole for its own logs.",
                    findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
                )
        for name, value, description in (
            ("RawBucket", storage.raw.bucket_name, "upload access logs / metrics files here"),
            ("CuratedBucket", storage.curated.bucket_name, "observations, gaps, rejects, quarantine"),
            ("ResultsBucket", storage.results.bucket_name, "forecasts, risk flags, scaling plans, runs"),
            ("AthenaWorkGroup", analytics.workgroup.ref, "query the lake in this Athena workgroup"),
            ("GlueDatabase", config.glue_database, "Glue Data Catalog database of the lake"),
            ("StateMachineArn", pipeline.state_machine.state_machine_arn, "the pipeline"),
            ("EventBusName", notifications.bus.event_bus_name, "fleetcast events (source 'fleetcast')"),
            ("AlarmTopicArn", notifications.alarm_topic.topic_arn, "alarms and failed runs"),
            ("RiskTopicArn", notifications.risk_topic.topic_arn, "CapacityRiskDetected notifications"),
            ("ApiUrl", api.url, "REST API base URL (IAM SigV4 unless apiAuth=apiKey)"),
        ):
            CfnOutput(self, name, value=value, description=description)
