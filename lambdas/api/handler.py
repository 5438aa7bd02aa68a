"""Lambda `api` (the forecast container image, CMD ``api.handler.handler``): API Gateway proxy events to
the fleetcast HTTP resolver (routes in infra/api.py).

Thin on purpose: ``fleetcast.api.http.app`` (a Powertools APIGatewayRestResolver) owns the routes; the
lake comes from ``LAKE_TABLE_LOCATIONS`` on the first request that reads it.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths

from fleetcast.api.http import app

logger, tracer, metrics = Logger(), Tracer(), Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
