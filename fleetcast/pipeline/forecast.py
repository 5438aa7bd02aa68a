"""Pipeline stage ``forecast``: one shard of series per call (a Distributed Map item on AWS).

For the shard's series it writes, under ``run_id=R/shard=S`` (files keyed by purpose, so a retried
shard replaces its own files and nothing else):

- operational forecasts and backtests (``forecasts``/``backtests``): each access-log series'
  ``request_count`` a day ahead at 5-minute bins, each server metric's hourly mean two days ahead;
- capacity forecasts (daily P95, 90 days) and ``risk_flags`` per server, metric and horizon.

``lake`` is a :class:`~fleetcast.lake.local.LocalLake` or an :class:`~fleetcast.lake.s3.S3Lake`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from fleetcast.forecast import InsufficientHistory, fit_forecast
from fleetcast.forecast.lake_io import write_results
from fleetcast.lake.tables import FORECASTS, OBSERVATIONS, RISK_FLAGS, shard_of
from fleetcast.risk import RiskConfig, assess, daily_stats, finest_means

SEP = "\x1f"
DEFAULT_RISK = RiskConfig()
SUB_DAILY = ("1min", "5min", "15min", "1h")  # the capacity outlook uses each server metric's finest


@dataclass(frozen=True)
class Operational:
    """One operational forecast: which observations, how much history, how far ahead."""

    purpose: str
    granularity: str
    metrics: pl.Expr
    history_days: int
    horizon: int


OPERATIONAL = (
    Operational("requests", "5min", pl.col("metric") == "request_count", 28, 288),
    Operational("servers", "1h", pl.col("metric").str.ends_with("_mean"), 28, 48),
)


def forecast_shard(lake: Any, shard: int, run_id: str, *, risk: RiskConfig = DEFAULT_RISK) -> dict[str, Any]:
    """Forecast one shard's series and flag their capacity risks; returns a summary for the run.

    Examples
    --------
    >>> forecast_shard(LocalLake("fleetcast-demo/lake"), 5, "20240101T000000-demo")  # doctest: +SKIP
    {'shards': [5], 'series': 3, 'observations': 52344, 'forecasts': 1284, 'risk_flags': 24, ...}
    """
    return {**forecast_shards(lake, [shard], run_id, risk=risk), "shard": shard}


def forecast_shards(lake: Any, shards: list[int], run_id: str, *,
                    risk: RiskConfig = DEFAULT_RISK) -> dict[str, Any]:
    """Like :func:`forecast_shard` for several shards with one model per kind of series (the local
    pipeline forecasts every shard in one call: one global model learns from the whole fleet).
    Files are still written per shard, so the lake looks the same either way."""
    observations = pl.concat([lake.read(OBSERVATIONS, {"granularity": g, "shard": s})
                              for g in SUB_DAILY for s in shards], how="vertical_relaxed")
    summary: dict[str, Any] = {"shards": list(shards), "series": observations["series_id"].n_unique(),
                               "observations": observations.height, "forecasts": 0, "skipped": {}}
    versions = []
    for op in OPERATIONAL:
        try:
            result = _operational(observations, op)
        except InsufficientHistory as exc:  # every series of this kind is too short: say which, and why
            summary["skipped"].update(_readable(exc.skipped))
            continue
        if result is None:
            continue
        write_results(lake, result, run_id, metric="", granularity=op.granularity, purpose=op.purpose)
        summary["forecasts"] += result.forecasts.height
        summary["skipped"].update(_readable(result.skipped))
        versions.append(result.model_version)
    capacity = assess(daily_stats(finest_means(observations)), risk)
    _write_by_shard(lake, RISK_FLAGS, capacity.flags, run_id, shards, key="part")
    if capacity.forecasts.height:
        frame = capacity.forecasts.with_columns(granularity=pl.lit("1d"), metric=pl.col("metric") + "_daily_p95")
        _write_by_shard(lake, FORECASTS, frame, run_id, shards, key="1d-capacity")
        summary["forecasts"] += frame.height
        versions += frame["model_version"].unique().to_list()
    flags = capacity.flags
    summary["risk_flags"] = flags.height
    summary["at_risk"] = flags.filter(pl.col("level").is_in(["high", "very_high"]))["series_id"].n_unique()
    summary["model_version"] = ",".join(sorted(set(versions))) or None
    return summary


def _readable(skipped: dict[str, str]) -> dict[str, str]:
    """Skipped series named ``server/metric``."""
    return {k.replace(SEP, "/"): v for k, v in skipped.items()}


def _write_by_shard(lake: Any, table, frame: pl.DataFrame, run_id: str, shards: list[int], key: str) -> None:
    """One file per shard (an empty shard gets an empty file: a re-run replaces what it had)."""
    frame = frame.with_columns(pl.col("series_id").map_elements(shard_of, return_dtype=pl.Int32).alias("_shard"))
    for shard in shards:
        part = frame.filter(pl.col("_shard") == shard).drop("_shard")
        lake.write(table, part, partition={"run_id": run_id, "shard": shard}, key=key)


def _operational(observations: pl.DataFrame, op: Operational):
    """Fit one operational forecast on each series' last ``history_days``; None without series of this
    kind (:class:`InsufficientHistory` when they are all too short)."""
    log_ids = observations.filter(pl.col("metric") == "request_count")["series_id"].unique()
    logs = pl.col("series_id").is_in(log_ids.implode())
    kind = logs if op.purpose == "requests" else ~logs
    chosen = observations.filter((pl.col("granularity") == op.granularity) & op.metrics & kind)
    if chosen.is_empty():
        return None
    since = pl.col("ts").max().over("series_id", "metric") - timedelta(days=op.history_days)
    history = chosen.filter(pl.col("ts") >= since).select(
        (pl.col("series_id") + SEP + pl.col("metric")).alias("series_id"), "ts", "value")
    return fit_forecast(history, op.horizon, op.granularity)
