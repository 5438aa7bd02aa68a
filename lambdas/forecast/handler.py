"""Lambda `forecast` (container image): forecast one shard of series for a run.

Input ``{"run": {...}, "shard": int}``; returns ``{"shard": int, ...summary}``. Writes ``forecasts``
and ``backtests`` under ``run_id=R/shard=S`` (keyed: a retried or re-run shard replaces its files).
"""

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from fleetcast.lake.s3 import S3Lake
from fleetcast.pipeline.events import ShardTask, to_json
from fleetcast.pipeline.forecast import forecast_shard

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@cache
def lake() -> S3Lake:
    """Built on the first invocation (not at import), then reused by the container."""
    return S3Lake.from_environment()


@logger.inject_lambda_context(correlation_id_path="run.run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    task = ShardTask.from_event(event)
    logger.append_keys(shard=task.shard)
    summary = to_json(forecast_shard(lake(), task.shard, task.run.run_id))
    metrics.add_metric(name="SeriesForecast", unit=MetricUnit.Count, value=int(summary.get("series") or 0))
    return {**summary, "shard": task.shard}
