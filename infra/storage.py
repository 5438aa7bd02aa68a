"""Buckets: raw uploads, the curated and results halves of the lake, Athena results, access logs.

Why four data buckets: each stage's IAM boundary is a bucket (validate reads raw but never results;
the api reads the lake but writes nothing), lifecycles differ (raw is versioned and kept, Athena
results expire in days), and S3 events of the raw bucket must not fire for the lake's own writes.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import Config
from infra.nag import suppress

#: Where validate moves unusable uploads (curated bucket, so it never re-triggers the pipeline).
QUARANTINE_PREFIX = "quarantine/"
GLUE_TEMP_PREFIX = "glue-temp/"


class Storage(Construct):
    """The buckets, secure by default: no public access, TLS only, encrypted, access-logged."""

    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.access_logs = self._bucket(
            "AccessLogs",
            logs=False,
            lifecycle=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(365))],
        )
        suppress(
            self.access_logs,
            "S1",
            "This bucket is the server access log target of the other buckets; logging it into itself would loop.",
        )
        self.raw = self._bucket(
            "Raw",
            versioned=True,
            event_bridge=True,
            lifecycle=[
                s3.LifecycleRule(
                    id="raw-to-infrequent-access",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=Duration.days(30)
                        )
                    ],
                ),
                s3.LifecycleRule(id="expire-replaced-uploads", noncurrent_version_expiration=Duration.days(30)),
            ],
        )
        self.curated = self._bucket(
            "Curated",
            lifecycle=[
                s3.LifecycleRule(id="expire-quarantine", prefix=QUARANTINE_PREFIX, expiration=Duration.days(90)),
                s3.LifecycleRule(id="expire-glue-temp", prefix=GLUE_TEMP_PREFIX, expiration=Duration.days(7)),
            ],
        )
        self.results = self._bucket("Results")
        self.athena_results = self._bucket(
            "AthenaResults",
            lifecycle=[
                s3.LifecycleRule(id="expire-query-results", expiration=Duration.days(30)),
            ],
        )

    def _bucket(
        self,
        name: str,
        *,
        versioned: bool = False,
        event_bridge: bool = False,
        logs: bool = True,
        lifecycle: list[s3.LifecycleRule] | None = None,
    ) -> s3.Bucket:
        retain = self._config.retain_data
        rules = [
            s3.LifecycleRule(id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1))
        ]
        return s3.Bucket(
            self,
            name,
            versioned=versioned,
            event_bridge_enabled=event_bridge,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=self.access_logs if logs else None,
            server_access_logs_prefix=f"{name.lower()}/" if logs else None,
            lifecycle_rules=rules + (lifecycle or []),
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            auto_delete_objects=not retain,
        )
