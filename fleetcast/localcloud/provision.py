"""Create the stack's resources in moto from the resolved template (what CloudFormation would create).

Created: buckets (versioning, EventBridge notifications of the raw bucket from CDK's
``Custom::S3BucketNotifications``), event buses, SNS topics, SQS queues, the Glue database, tables
and job, the Lambda functions (with their environment; code is never run by moto - see
:mod:`~fleetcast.localcloud.lambdas`) and the state machine with its definition as synthesized.
Rules are the dispatcher's (:mod:`~fleetcast.localcloud.dispatcher`). Not created: IAM policies
(moto does not enforce them; ``tests/infra`` checks least privilege on the template), KMS keys,
alarms, dashboards, the API and Athena (moto's Athena returns canned results: the lake is queried
locally through DuckDB instead).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fleetcast.localcloud.template import LocalNames

ROLE = "localcloud-role"
_GLUE_JOB_KEYS = ("Command", "DefaultArguments", "ExecutionProperty", "GlueVersion", "MaxRetries", "Timeout",
                  "WorkerType", "NumberOfWorkers", "Description")


def provision(names: LocalNames, session: Any) -> dict[str, Any]:
    """Create everything the pipeline touches; returns ``{"role_arn", "state_machines": [...]}``."""
    role_arn = session.client("iam").create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    create_buckets(names, session)
    for bus in names.of_type("AWS::Events::EventBus"):
        session.client("events").create_event_bus(Name=names.name(bus.logical_id))
    for topic in names.of_type("AWS::SNS::Topic"):
        session.client("sns").create_topic(Name=names.name(topic.logical_id))
    for queue in names.of_type("AWS::SQS::Queue"):
        session.client("sqs").create_queue(QueueName=names.name(queue.logical_id))
    create_catalog(names, session)
    create_glue_jobs(names, session, role_arn)
    create_functions(names, session, role_arn)
    return {"role_arn": role_arn, "state_machines": create_state_machines(names, session, role_arn)}


def create_buckets(names: LocalNames, session: Any) -> None:
    s3 = session.client("s3")
    for bucket in names.of_type("AWS::S3::Bucket"):
        name = names.name(bucket.logical_id)
        s3.create_bucket(Bucket=name)
        if (bucket.properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for notification in names.of_type("Custom::S3BucketNotifications"):
        props = names.resolve(notification.properties)
        if "EventBridgeConfiguration" in props.get("NotificationConfiguration", {}):
            s3.put_bucket_notification_configuration(
                Bucket=props["BucketName"], NotificationConfiguration={"EventBridgeConfiguration": {}})


def create_catalog(names: LocalNames, session: Any) -> None:
    """The Glue database and its tables exactly as the template declares them (columns, partitions)."""
    glue = session.client("glue")
    for database in names.of_type("AWS::Glue::Database"):
        glue.create_database(DatabaseInput=names.resolve(database.properties["DatabaseInput"]))
    for table in names.of_type("AWS::Glue::Table"):
        props = names.resolve(table.properties)
        glue.create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])


def create_glue_jobs(names: LocalNames, session: Any, role_arn: str) -> None:
    glue = session.client("glue")
    for job in names.of_type("AWS::Glue::Job"):
        props = names.resolve(job.properties)
        glue.create_job(Name=names.name(job.logical_id), Role=role_arn,
                        **{k: props[k] for k in _GLUE_JOB_KEYS if k in props})


def create_functions(names: LocalNames, session: Any, role_arn: str) -> None:
    client = session.client("lambda")
    for function in names.of_type("AWS::Lambda::Function"):
        props = names.resolve(function.properties)
        common = {"FunctionName": names.name(function.logical_id), "Role": role_arn,
                  "Timeout": int(props.get("Timeout", 3)), "MemorySize": int(props.get("MemorySize", 128)),
                  "Environment": {"Variables": (props.get("Environment") or {}).get("Variables", {})}}
        if props.get("PackageType") == "Image":
            image = f"{names.account}.dkr.ecr.{names.region}.amazonaws.com/fleetcast:local"
            client.create_function(PackageType="Image", Code={"ImageUri": image},
                                   ImageConfig=props.get("ImageConfig", {}), **common)
        else:
            client.create_function(Runtime=props.get("Runtime", "python3.12"), Handler=props.get("Handler", "index.h"),
                                   Code={"ZipFile": _empty_zip()}, **common)


def create_state_machines(names: LocalNames, session: Any, role_arn: str) -> list[str]:
    sfn = session.client("stepfunctions")
    arns = []
    for machine in names.of_type("AWS::StepFunctions::StateMachine"):
        definition = names.resolve(machine.properties["DefinitionString"])
        json.loads(definition)  # a resolution mistake shows here, not as a failed execution
        arns.append(sfn.create_state_machine(
            name=names.name(machine.logical_id), definition=definition, roleArn=role_arn,
            type=machine.properties.get("StateMachineType", "STANDARD"))["stateMachineArn"])
    return arns


def function_environment(names: LocalNames) -> dict[str, str]:
    """The union of fleetcast functions' environments (handlers run in one process; they must agree)."""
    merged: dict[str, str] = {}
    for function in names.of_type("AWS::Lambda::Function"):
        variables = (names.resolve(function.properties.get("Environment") or {})).get("Variables") or {}
        if "POWERTOOLS_METRICS_FUNCTION_NAME" not in variables:
            continue  # not a fleetcast handler (CDK custom resources)
        for key, value in variables.items():
            if key == "POWERTOOLS_METRICS_FUNCTION_NAME":
                continue
            if merged.get(key, value) != value:
                raise ValueError(f"functions disagree on {key} ({merged[key]!r} vs {value!r}): "
                                 f"they cannot share one process")
            merged[key] = str(value)
    return merged


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "# the local cloud runs lambdas/<function>/ in process\n")
    return buffer.getvalue()


#: Glue (Hive) types of the registry's Arrow types, as ``infra/catalog.py`` declares them (spelled out
#: here: importing ``infra`` loads the CDK, seconds of start-up).
GLUE_TYPES = {"string": "string", "bool": "boolean", "int32": "int", "int64": "bigint", "double": "double",
              "date32[day]": "date", "timestamp[us]": "timestamp", "list<item: string>": "array<string>"}


def registry_catalog(session: Any, database: str, bucket: str) -> dict[str, str]:
    """A Glue database with every registry table at ``s3://<bucket>/<table>/`` (without synthesizing the
    stack: for unit tests and benchmarks). Returns the table locations (``LAKE_TABLE_LOCATIONS``).

    Examples
    --------
    >>> registry_catalog(boto3.Session(), "fleetcast", "my-lake")["runs"]  # doctest: +SKIP
    's3://my-lake/runs/'
    """
    from fleetcast.lake.tables import TABLES

    glue = session.client("glue")
    glue.create_database(DatabaseInput={"Name": database})
    locations = {}
    for table in TABLES.values():
        locations[table.name] = f"s3://{bucket}/{table.name}/"
        glue.create_table(DatabaseName=database, TableInput={
            "Name": table.name,
            "PartitionKeys": [{"Name": c.name, "Type": GLUE_TYPES[str(c.type)]} for c in table.partitions],
            "StorageDescriptor": {"Columns": [{"Name": c.name, "Type": GLUE_TYPES[str(c.type)]} for c in table.columns],
                                  "Location": locations[table.name]}})
    return locations
