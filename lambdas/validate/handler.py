"""Lambda `validate` (zip): is this upload usable? Format, size and schema; quarantine if not.

Input ``{"run": {...}, "event": <S3 Object Created event>}``; returns
``{"source_id", "uri", "kind", "format", "size_bytes"}`` or raises ``InputRejected`` (not retried).
"""

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from fleetcast.pipeline.events import RunContext
from fleetcast.pipeline.validate import InputRejected, Upload, Validator

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@cache
def validator() -> Validator:
    """Built on the first invocation (not at import), then reused by the container."""
    return Validator.from_environment()


@logger.inject_lambda_context(correlation_id_path="run.run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    run, upload = RunContext.from_dict(event["run"]), Upload.from_event(event["event"])
    try:
        accepted = validator().validate(upload, run)
    except InputRejected as rejected:
        logger.warning("upload rejected", extra={"uri": upload.uri, "reason": rejected.problem})
        metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="UploadsAccepted", unit=MetricUnit.Count, value=1)
    return accepted.as_dict()
