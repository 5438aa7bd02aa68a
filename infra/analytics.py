"""Athena: a workgroup with enforced, encrypted result location, and the lake's views deployed from SQL files.

Views are created by a custom resource that runs ``CREATE OR REPLACE VIEW`` through this workgroup.
Chosen over Glue tables of type VIRTUAL_VIEW because a Glue view must carry its column names and
Presto types (base64 ``/* Presto View */`` text) computed at synth by a second type checker that can
drift from Athena's; Athena derives them itself, validates the SQL against the catalog, and a bad view
fails ``cdk deploy`` with Athena's message. A saved (named) query per view shows its definition in the
Athena console. Adding ``fleetcast/lake/views/<name>.sql`` is all it takes to deploy a new view.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.catalog import Catalog
from infra.config import Config
from infra.nag import GRANT_WILDCARDS, PYTHON_RUNTIME, function_versions, resource_finding, s3_findings, suppress
from infra.views import VIEWS_DIR, View, load_views

HANDLER_DIR = Path(__file__).resolve().parent / "views_handler"
RESULTS_PREFIX = "results/"


class Analytics(Construct):
    """Athena workgroup + the lake's views + a named query per view."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        catalog: Catalog,
        athena_results: s3.IBucket,
        data_buckets: list[s3.IBucket],
        views_dir: Path = VIEWS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=config.prefix,
            state="ENABLED",
            recursive_delete_option=True,
            description="fleetcast: queries over the lake (Glue database and views)",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=config.athena_bytes_scanned_cutoff_mb * 1024 * 1024,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{athena_results.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        if config.retain_data:
            self.workgroup.apply_removal_policy(RemovalPolicy.RETAIN)
        self.views: list[View] = load_views(views_dir)
        self.named_queries = {
            view.name: athena.CfnNamedQuery(
                self,
                f"Query-{view.name}",
                name=f"view {view.name}",
                database=catalog.database_name,
                work_group=self.workgroup.ref,
                query_string=view.sql,
                description=f"Definition of the view {view.name} (fleetcast/lake/views/{view.name}.sql)",
            )
            for view in self.views
        }
        self.views_resource = self._views_resource(catalog, athena_results, data_buckets)

    def grant_query(self, grantee: iam.IGrantable) -> None:
        """Run queries in this workgroup (data and catalog access are granted separately)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            resource_arns=[self.workgroup_arn],
            actions=[
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
        )

    @property
    def workgroup_arn(self) -> str:
        return Stack.of(self).format_arn(service="athena", resource="workgroup", resource_name=self.workgroup.ref)

    def _views_resource(
        self, catalog: Catalog, athena_results: s3.IBucket, data_buckets: list[s3.IBucket]
    ) -> CustomResource:
        log_group = logs.LogGroup(
            self, "ViewsLoaderLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        role = iam.Role(self, "ViewsLoaderRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        handler = lambda_.Function(
            self,
            "ViewsLoader",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.on_event",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__"]),
            role=role,
            log_group=log_group,
            timeout=Duration.minutes(10),
            memory_size=256,
            description="Creates the lake's Athena views on deploy (custom resource)",
        )
        self.grant_query(role)
        catalog.grant_read(role)
        database = catalog.database_arn()
        view_tables = Stack.of(self).format_arn(
            service="glue", resource="table", resource_name=f"{catalog.database_name}/*"
        )
        iam.Grant.add_to_principal(
            grantee=role,
            resource_arns=[catalog.catalog_arn(), database, view_tables],
            actions=["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable", "glue:GetTable"],
        )
        athena_results.grant_read_write(role)
        for bucket in data_buckets:
            bucket.grant_read(role)
        provider = cr.Provider(self, "ViewsProvider", on_event_handler=handler)
        resource = CustomResource(
            self,
            "Views",
            service_token=provider.service_token,
            resource_type="Custom::AthenaViews",
            properties={
                "Database": catalog.database_name,
                "WorkGroup": self.workgroup.ref,
                "Views": [{"Name": v.name, "Sql": v.sql} for v in self.views],
            },
        )
        for table in catalog.cfn_tables.values():
            resource.node.add_dependency(table)
        suppress(handler, "L1", PYTHON_RUNTIME)
        suppress(
            role,
            "IAM5",
            GRANT_WILDCARDS + " Views are Glue tables whose names come from files, so "
            "the loader may create/replace any table of the fleetcast database (not other databases).",
            findings=[
                resource_finding(self, view_tables),
                *s3_findings(athena_results),
                *(f for bucket in data_buckets for f in s3_findings(bucket)),
            ],
        )
        suppress(
            provider,
            "IAM4",
            "CDK's custom-resource Provider framework function uses AWSLambdaBasicExecutionRole for its own logs.",
            findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        )
        suppress(
            provider,
            "IAM5",
            "CDK's Provider framework may invoke any version of the views loader function (<function arn>:*).",
            findings=[function_versions(handler)],
        )
        suppress(provider, "L1", "The Provider framework function's runtime is chosen by CDK itself.")
        return resource
