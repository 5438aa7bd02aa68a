"""Lambda `risk_plan` (same container image as forecast): risk flags, scaling plans, simulations of a run.

Input ``{"run": {...}, "forecast": [per-shard results]}``; publishes ``CapacityRiskDetected`` for new
high / very-high risks, records the run in ``runs`` and returns a summary (counts).
"""

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from fleetcast.lake.s3 import S3Lake
from fleetcast.pipeline.events import EventPublisher, FinishTask, publisher_from_environment
from fleetcast.pipeline.finish import finish_run

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@cache
def adapters() -> tuple[S3Lake, EventPublisher]:
    """Built on the first invocation (not at import), then reused by the container."""
    return S3Lake.from_environment(), publisher_from_environment()


@logger.inject_lambda_context(correlation_id_path="run.run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    lake, publisher = adapters()
    summary = finish_run(lake, FinishTask.from_event(event), publisher=publisher)
    metrics.add_metric(name="CapacityRisks", unit=MetricUnit.Count, value=summary["capacity_risk_events"])
    return summary
