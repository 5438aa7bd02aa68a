"""The aggregation step: a Glue 5.0 PySpark job whose script comes from ``glue_jobs/``.

The job gets the ``fleetcast`` package through ``--extra-py-files`` (the core layer folder, zipped by
CDK as an asset: pure Python, so zip imports work). Step Functions starts it and waits for the run
(``glue:startJobRun.sync``); the job itself never retries (the state machine does, with backoff).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.catalog import Catalog
from infra.config import Config
from infra.nag import GRANT_WILDCARDS, resource_finding, s3_findings, suppress
from infra.storage import GLUE_TEMP_PREFIX

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "glue_jobs" / "aggregate.py"


class AggregationJob(Construct):
    """Glue job ``aggregate``: raw upload -> staging + observations/gaps/rejects/sources (curated)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        raw: s3.IBucket,
        curated: s3.IBucket,
        catalog: Catalog,
        core_layer_dir: Path,
        lake_locations: str,
    ) -> None:
        super().__init__(scope, construct_id)
        script = s3_assets.Asset(self, "Script", path=str(SCRIPT))
        package = s3_assets.Asset(self, "Package", path=str(core_layer_dir / "python"))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description="fleetcast aggregation Glue job",
        )
        script.grant_read(self.role)
        package.grant_read(self.role)
        raw.grant_read(self.role)
        curated.grant_read_write(self.role)
        catalog.grant_write_partitions(self.role, catalog.tables_in("curated"))
        stack = Stack.of(self)
        # No grant_* exists for Glue's own log groups and metrics: the statements Glue documents, scoped.
        glue_logs = stack.format_arn(
            service="logs", resource="log-group", resource_name="/aws-glue/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], resources=[glue_logs]
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
            )
        )
        suppress(
            self.role,
            "IAM5",
            GRANT_WILDCARDS + " The job reads its script and package from the CDK "
            "assets bucket. Glue writes its logs to /aws-glue/* log groups it names itself; "
            "PutMetricData has no resource type (limited to the Glue namespace).",
            findings=[
                *s3_findings(raw),
                *s3_findings(curated),
                "Resource::*",
                resource_finding(self, script.bucket.arn_for_objects("*")),
                resource_finding(self, glue_logs),
            ],
        )
        self.job = glue.CfnJob(
            self,
            "Job",
            description="fleetcast: parse + bin an upload into observations (1min..1d) per shard",
            role=self.role.role_arn,
            glue_version="5.0",
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            worker_type=config.glue_worker_type,
            number_of_workers=config.glue_workers,
            timeout=config.glue_timeout_minutes,
            max_retries=0,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(
                max_concurrent_runs=config.glue_max_concurrent_runs
            ),
            default_arguments={
                "--job-language": "python",
                "--extra-py-files": package.s3_object_url,
                "--enable-glue-datacatalog": "true",
                "--enable-metrics": "true",
                "--enable-observability-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--job-bookmark-option": "job-bookmark-disable",
                "--TempDir": f"s3://{curated.bucket_name}/{GLUE_TEMP_PREFIX}",
                "--raw_bucket": raw.bucket_name,
                "--curated_bucket": curated.bucket_name,
                "--database": catalog.database_name,
                "--lake_locations": lake_locations,
                "--account_id": Aws.ACCOUNT_ID,
            },
        )
        suppress(
            self.job,
            "GL1",
            "Glue job logs go to CloudWatch Logs, which encrypts them at rest; a "
            "security configuration with a customer key adds a key policy per log group for no "
            "gain here (the logs hold counts and file names, no payloads).",
        )
        suppress(
            self.job,
            "GL3",
            "Job bookmarks are disabled (--job-bookmark-option "
            "job-bookmark-disable): idempotency comes from source-keyed staging files (ADR 0001).",
        )

    @property
    def job_name(self) -> str:
        return self.job.ref
