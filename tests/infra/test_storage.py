"""Buckets: secure by default, access-logged, lifecycle rules, EventBridge on raw."""

from aws_cdk.assertions import Template


def _bucket(synth, prefix: str) -> dict:
    (bucket,) = [r for k, r in synth.of_type("AWS::S3::Bucket").items() if k.startswith(prefix)]
    return bucket["Properties"]


def test_every_bucket_blocks_public_access_encrypts_and_denies_plain_http(synth):
    # Given the synthesized default stack
    template = Template.from_json(synth.template)
    buckets = synth.of_type("AWS::S3::Bucket")
    # Then raw, curated, results, Athena results and the access-log bucket exist ...
    assert {k.split("Storage")[1][:6] for k in buckets} >= {"Raw7E3", "Curate", "Result", "Athena", "Access"}
    for props in (b["Properties"] for b in buckets.values()):
        # ... each with all public access blocked and server-side encryption
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert (
            props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
                "SSEAlgorithm"
            ]
            == "AES256"
        )
    # And every bucket policy denies requests without TLS (and TLS below 1.2)
    template.resource_count_is("AWS::S3::BucketPolicy", 5)
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        conditions = [
            s.get("Condition", {}) for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_data_buckets_log_access_to_the_log_bucket(synth):
    for prefix in ("StorageRaw", "StorageCurated", "StorageResults", "StorageAthenaResults"):
        logging = _bucket(synth, prefix)["LoggingConfiguration"]
        assert logging["DestinationBucketName"]["Ref"].startswith("StorageAccessLogs")
        assert logging["LogFilePrefix"] == prefix.removeprefix("Storage").lower() + "/"
    assert "LoggingConfiguration" not in _bucket(synth, "StorageAccessLogs")


def test_raw_bucket_is_versioned_sends_events_and_expires_replaced_versions(synth):
    raw = _bucket(synth, "StorageRaw")
    assert raw["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in raw["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-replaced-uploads"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    # EventBridge delivery is switched on by CDK's bucket-notifications custom resource
    (notification,) = synth.of_type("Custom::S3BucketNotifications").values()
    assert notification["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}


def test_lifecycles_expire_temporary_data(synth):
    curated = {r["Id"]: r for r in _bucket(synth, "StorageCurated")["LifecycleConfiguration"]["Rules"]}
    assert curated["expire-quarantine"]["Prefix"] == "quarantine/"
    assert curated["expire-glue-temp"]["ExpirationInDays"] == 7
    athena = {r["Id"]: r for r in _bucket(synth, "StorageAthenaResults")["LifecycleConfiguration"]["Rules"]}
    assert athena["expire-query-results"]["ExpirationInDays"] == 30


def test_data_is_retained_by_default_and_destroyable_on_request(synth):
    # Given cdk.json's default retainData=true: buckets survive `cdk destroy`
    assert {b["DeletionPolicy"] for b in synth.of_type("AWS::S3::Bucket").values()} == {"Retain"}
