"""Deployment settings, read from CDK context (``cdk.json`` or ``-c key=value``).

Every key is optional; the defaults below are the documented ones. Values given with ``-c`` arrive as
strings and are parsed here, so ``-c reservedConcurrency=false`` and ``"reservedConcurrency": false``
in ``cdk.json`` mean the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from constructs import Node


class ConfigError(ValueError):
    """A context value that cannot be used (one line, names the key)."""


@dataclass(frozen=True)
class Config:
    """Settings of one deployment of fleetcast.

    Examples
    --------
    >>> Config.from_mapping({"envName": "prod", "forecastMaxConcurrency": "8"}).forecast_max_concurrency
    8
    >>> Config.from_mapping({}).quicksight_enabled
    False
    """

    env_name: str = "dev"
    glue_database: str = "fleetcast"
    refresh_schedule: str = "cron(0 3 * * ? *)"
    retain_data: bool = True
    alarm_email: str = ""
    # Lambda
    log_level: str = "INFO"
    log_retention_days: int = 30
    reserved_concurrency: bool = True
    api_reserved_concurrency: int = 10
    forecast_max_concurrency: int = 16
    powertools_version: str = "3.37.0"
    sdk_pandas_version: str = "3.16.0"
    # Glue
    glue_workers: int = 2
    glue_worker_type: str = "G.1X"
    glue_timeout_minutes: int = 60
    glue_max_concurrent_runs: int = 1
    # Step Functions
    pipeline_timeout_minutes: int = 180
    # API
    api_auth: str = "iam"  # "iam" or "apiKey"
    api_throttle_rate: int = 20
    api_throttle_burst: int = 40
    api_quota_per_day: int = 10000
    # Analytics
    athena_bytes_scanned_cutoff_mb: int = 10240
    quicksight_principal_arn: str = ""
    quicksight_service_role: str = "aws-quicksight-service-role-v0"
    # Alarms
    lambda_error_threshold: int = 1
    failed_executions_threshold: int = 1
    dlq_depth_threshold: int = 1
    api_5xx_threshold: int = 5

    @property
    def quicksight_enabled(self) -> bool:
        return bool(self.quicksight_principal_arn)

    @property
    def prefix(self) -> str:
        """Name prefix for the few resources that need a name (Athena workgroup, QuickSight ids)."""
        return f"fleetcast-{self.env_name}"

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Config:
        kwargs = {}
        for f in fields(cls):
            key = _camel(f.name)
            if key in values and values[key] is not None:
                kwargs[f.name] = _parse(key, values[key], f.default)
        config = cls(**kwargs)
        config.validate()
        return config

    @classmethod
    def from_node(cls, node: Node) -> Config:
        """Read every known key from the construct tree's context."""
        return cls.from_mapping({_camel(f.name): node.try_get_context(_camel(f.name)) for f in fields(cls)})

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", self.env_name):
            raise ConfigError(f"envName {self.env_name!r}: use 1-20 lower-case letters, digits or '-'")
        if not re.fullmatch(r"[a-z0-9_]{1,255}", self.glue_database):
            raise ConfigError(f"glueDatabase {self.glue_database!r}: lower-case letters, digits, '_'")
        if self.api_auth not in ("iam", "apiKey"):
            raise ConfigError(f"apiAuth {self.api_auth!r}: use 'iam' (default) or 'apiKey'")
        if not re.fullmatch(r"(cron|rate)\(.+\)", self.refresh_schedule):
            raise ConfigError(f"refreshSchedule {self.refresh_schedule!r}: use cron(...) or rate(...)")
        if self.quicksight_principal_arn and not self.quicksight_principal_arn.startswith("arn:"):
            raise ConfigError("quicksightPrincipalArn must be an ARN (arn:aws:quicksight:...:user/...)")
        if not 1 <= self.forecast_max_concurrency <= 1000:
            raise ConfigError("forecastMaxConcurrency must be between 1 and 1000")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _parse(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a whole number, got {value!r}") from None
    return str(value)
