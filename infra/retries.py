"""Retry policies of the pipeline's Step Functions tasks."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]


def lambda_retries(task: tasks.LambdaInvoke, *, not_retried: list[str] = ()) -> tasks.LambdaInvoke:
    """Transient Lambda errors: up to 6 tries with exponential backoff; any other error: 2 more tries."""
    if not_retried:
        task.add_retry(errors=list(not_retried), max_attempts=0)
    task.add_retry(
        errors=LAMBDA_TRANSIENT,
        interval=Duration.seconds(2),
        max_attempts=6,
        backoff_rate=2,
        max_delay=Duration.seconds(60),
        jitter_strategy=sfn.JitterType.FULL,
    )
    task.add_retry(
        errors=["States.ALL"],
        interval=Duration.seconds(5),
        max_attempts=2,
        backoff_rate=3,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


def service_retries(task: sfn.TaskStateBase) -> sfn.TaskStateBase:
    """AWS service calls (Glue, EventBridge, SNS): up to 3 more tries with exponential backoff."""
    task.add_retry(
        errors=["States.ALL"],
        interval=Duration.seconds(1),
        max_attempts=3,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task
