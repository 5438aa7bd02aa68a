"""The Lambda functions, all made by one factory so defaults live in one place.

Packaging, decided by size (function + layers must stay under 250 MB unzipped):

- zip (validate, api): handler folder + the core layer (``fleetcast``, pure Python) + the managed
  Powertools and AWS SDK for pandas layers (pandas, numpy, pyarrow, awswrangler). Handlers of zip
  functions must not import polars, duckdb or lightgbm (not in any layer).
- image (forecast, risk_plan): one container image (``lambdas/forecast/Dockerfile``) with the full
  domain dependency set (LightGBM + polars + pandas + pyarrow, far over 250 MB); the two functions
  differ only in CMD. The image is built by ``cdk deploy``/``cdk-assets``, never by synth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Fn, IgnoreMode, RemovalPolicy, Stack, Token
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Config
from infra.nag import PYTHON_RUNTIME, XRAY, suppress
from layers.managed import ManagedLayer

REPO = Path(__file__).resolve().parent.parent
IMAGE_DOCKERFILE = "lambdas/forecast/Dockerfile"
#: Docker build context is the repository; only these paths are sent (Docker ignore syntax).
IMAGE_CONTEXT = ["*", "!fleetcast", "!lambdas", "!requirements.txt", "**/__pycache__", "**/*.pyc", "**/*.so"]


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions: everything else is the factory's default."""

    name: str  # folder under lambdas/
    description: str
    memory_mb: int
    timeout_s: int
    packaging: str = "zip"  # "zip" or "image"
    handler: str = "handler.handler"  # zip: module.function in the folder; image: CMD

    @property
    def image_cmd(self) -> str:
        return f"{self.name}.handler.handler"


SPECS: dict[str, FunctionSpec] = {
    s.name: s
    for s in (
        FunctionSpec(
            "validate",
            "Detect the format of an upload, check size and schema, quarantine bad input",
            memory_mb=1024,
            timeout_s=120,
        ),
        FunctionSpec(
            "forecast",
            "Forecast one shard of series (LightGBM + intervals + backtest)",
            memory_mb=4096,
            timeout_s=900,
            packaging="image",
        ),
        FunctionSpec(
            "risk_plan",
            "Risk flags, scaling plans and cost/SLA simulation for a run",
            memory_mb=2048,
            timeout_s=600,
            packaging="image",
        ),
        # api: reads the lake with polars/pyarrow and fits LightGBM for ad-hoc forecasts, which with
        # pandas exceed the 250 MB zip limit; it runs from the forecast image with its own CMD
        # (api.handler.handler). 2 GB buys ~1.2 vCPU: a 2-week 5-minute forecast in about a second.
        FunctionSpec(
            "api",
            "HTTP API behind API Gateway (Powertools resolver)",
            memory_mb=2048,
            timeout_s=29,
            packaging="image",
        ),
    )
}


class FunctionFactory(Construct):
    """Builds functions with fleetcast's defaults: Python 3.12 x86_64, X-Ray, Powertools environment,
    own log group with retention, own role (no managed policies), async failures to one SQS queue."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, core_layer_dir: Path, environment: dict[str, str]
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._environment = environment
        self.async_failures = sqs.Queue(
            self,
            "AsyncFailures",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        suppress(
            self.async_failures,
            "SQS3",
            "This queue is the on-failure destination of the functions' "
            "asynchronous invocations (a dead-letter queue itself).",
        )
        self.core_layer = lambda_.LayerVersion(
            self,
            "CoreLayer",
            code=lambda_.Code.from_asset(str(core_layer_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="fleetcast package + pure-Python dependencies (layers/build.py)",
        )
        region = Stack.of(self).region
        concrete_region = None if Token.is_unresolved(region) else region
        self.managed_layers = {
            layer.name: lambda_.LayerVersion.from_layer_version_arn(
                self, f"Managed-{layer.name}", _layer_arn(layer, concrete_region)
            )
            for layer in (
                ManagedLayer("powertools", config.powertools_version),
                ManagedLayer("sdk-pandas", config.sdk_pandas_version),
            )
        }
        self.functions: dict[str, lambda_.Function] = {}

    def create(
        self, spec: FunctionSpec, *, environment: dict[str, str] | None = None, reserved_concurrency: int | None = None
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{spec.name}-logs",
            retention=_retention(self._config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{spec.name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"fleetcast {spec.name} function",
        )
        log_group.grant_write(role)
        common = dict(
            function_name=None,
            description=spec.description,
            role=role,
            log_group=log_group,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            architecture=lambda_.Architecture.X86_64,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**self._environment, "POWERTOOLS_METRICS_FUNCTION_NAME": spec.name, **(environment or {})},
            reserved_concurrent_executions=reserved_concurrency if self._config.reserved_concurrency else None,
            on_failure=destinations.SqsDestination(self.async_failures),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        if spec.packaging == "image":
            # Same directory, Dockerfile, context and platform -> same asset hash: one image, built
            # and pushed once by `cdk deploy`; synth only fingerprints the context (no Docker).
            code = lambda_.DockerImageCode.from_image_asset(
                str(REPO),
                file=IMAGE_DOCKERFILE,
                exclude=IMAGE_CONTEXT,
                ignore_mode=IgnoreMode.DOCKER,
                platform=ecr_assets.Platform.LINUX_AMD64,
                cmd=[spec.image_cmd],
            )
            fn = lambda_.DockerImageFunction(self, spec.name, code=code, **common)
        else:
            fn = lambda_.Function(
                self,
                spec.name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=spec.handler,
                code=lambda_.Code.from_asset(str(REPO / "lambdas" / spec.name), exclude=["__pycache__", "*.pyc"]),
                layers=[self.core_layer, *self.managed_layers.values()],
                **common,
            )
            suppress(fn, "L1", PYTHON_RUNTIME)
        suppress(role, "IAM5", XRAY, findings=["Resource::*"])
        self.functions[spec.name] = fn
        return fn


def _layer_arn(layer: ManagedLayer, region: str | None) -> str:
    reference = layer.arn_reference(region=region)
    return Fn.sub(reference) if "${" in reference else reference


RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1827: "FIVE_YEARS",
    3653: "TEN_YEARS",
}


def _retention(days: int) -> logs.RetentionDays:
    if days not in RETENTION:
        raise ValueError(f"logRetentionDays {days}: use one of {sorted(RETENTION)}")
    return getattr(logs.RetentionDays, RETENTION[days])
