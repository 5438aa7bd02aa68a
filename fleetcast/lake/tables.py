"""The lake's tables: names, columns, partitions. One definition for the local lake, S3 + Glue and docs.

Layout (same on disk and on S3)::

    <lake>/<table>/<partition>=<value>/.../<key>.parquet

All timestamps are UTC, stored without a zone (Parquet ``TIMESTAMP``, Athena ``timestamp``).
Partition columns are not stored inside the files; readers add them from the path (Hive style).

A *key* names the file inside its partition, which makes writes idempotent: writing the same key
again replaces the file. Derived tables keyed ``part`` are rewritten a whole partition at a time.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import pyarrow as pa

N_SHARDS = 16
TS = pa.timestamp("us")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    partitions: tuple[Column, ...] = ()
    internal: bool = False

    @property
    def schema(self) -> pa.Schema:
        """Columns stored in the files (without partition columns)."""
        return pa.schema([(c.name, c.type) for c in self.columns])

    @property
    def full_schema(self) -> pa.Schema:
        """Columns as a query sees them (files plus partition columns)."""
        return pa.schema([(c.name, c.type) for c in (*self.columns, *self.partitions)])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def shard_of(series_id: str) -> int:
    """The shard a series belongs to: stable across runs, machines and versions.

    Examples
    --------
    >>> shard_of("web-01")
    5
    """
    return zlib.crc32(series_id.encode("utf-8")) % N_SHARDS


RUN_ID = Column("run_id", pa.string(), "the pipeline run that wrote the row")
SHARD = Column("shard", pa.int32(), f"crc32(series_id) mod {N_SHARDS}: the unit of parallel work")
SERIES_ID = Column("series_id", pa.string(), "a web service (logs) or a server (metrics)")

OBSERVATIONS = Table(
    "observations",
    "Aggregated load per series, metric and time bin; unlogged spans have no rows (never zeros).",
    (
        SERIES_ID,
        Column("metric", pa.string(), "e.g. request_count, error_rate_5xx, cpu_p95, memory_max"),
        Column("ts", TS, "start of the bin (UTC)"),
        Column("value", pa.float64(), "the metric's value over the bin"),
        Column("coverage", pa.float64(), "share of the bin that was logged/sampled (0-1)"),
        RUN_ID,
    ),
    (Column("granularity", pa.string(), "bin width: 1min, 5min, 15min, 1h or 1d"), SHARD),
)

GAPS = Table(
    "gaps",
    "Spans with no data inside a series' history (unlogged time, outages, missing samples).",
    (
        SERIES_ID,
        Column("metric", pa.string(), "metric the gap is in; null when the whole series is silent"),
        Column("kind", pa.string(), "unlogged (access logs) or missing_samples (metrics)"),
        Column("start", TS, "first missing instant (UTC)"),
        Column("end", TS, "first instant with data again (UTC)"),
        Column("seconds", pa.float64(), "length of the gap"),
        Column("expected", pa.float64(), "requests the surrounding rate predicts for the span (logs)"),
        RUN_ID,
    ),
    (SHARD,),
)

REJECTS = Table(
    "rejects",
    "Every input line (or file) not used, with the reason; file-keyed by source_id.",
    (
        Column("source_id", pa.string(), "content fingerprint of the input file"),
        Column("file", pa.string(), "path or URI of the input"),
        Column("line", pa.int64(), "1-based line number (row number for Parquet); null for the whole file"),
        Column("field", pa.string(), "offending field, when one is to blame"),
        Column("reason", pa.string(), "why the line was not used"),
        Column("raw", pa.string(), "the line as read, truncated to 500 characters"),
        RUN_ID,
    ),
)

SOURCES = Table(
    "sources",
    "One row per ingested input file with its line accounting; file-keyed by source_id.",
    (
        Column("source_id", pa.string(), "sha256 of the file's bytes (first 16 hex digits)"),
        Column("uri", pa.string(), "where the file was read from"),
        Column("kind", pa.string(), "access_log or metrics"),
        Column("format", pa.string(), "clf, combined, csv-long, csv-wide, parquet-long, parquet-wide"),
        Column("size_bytes", pa.int64(), "size of the file as stored"),
        Column("lines_read", pa.int64(), "lines (or rows) read"),
        Column("lines_parsed", pa.int64(), "lines used (including lines repaired by joining)"),
        Column("lines_rejected", pa.int64(), "lines in rejects; parsed + rejected = read"),
        Column("lines_repaired", pa.int64(), "lines split by a stray line break and joined back"),
        Column("records", pa.int64(), "requests (logs) or samples (metrics) extracted"),
        Column("first_ts", TS, "earliest timestamp in the file (UTC)"),
        Column("last_ts", TS, "latest timestamp in the file (UTC)"),
        Column("series", pa.list_(pa.string()), "series the file contributes to"),
        RUN_ID,
    ),
)

RUNS = Table(
    "runs",
    "One row per pipeline run: trigger, inputs, counts, status; file-keyed by run_id.",
    (
        RUN_ID,
        Column("trigger", pa.string(), "cli-ingest, cli-run, demo, s3-upload, schedule, api"),
        Column("started_at", TS, "UTC"),
        Column("finished_at", TS, "UTC"),
        Column("status", pa.string(), "succeeded or failed"),
        Column("inputs", pa.list_(pa.string()), "input files or objects"),
        Column("lines_read", pa.int64(), "over all inputs"),
        Column("lines_rejected", pa.int64(), "over all inputs"),
        Column("series", pa.int64(), "series whose observations were (re)computed"),
        Column("observations", pa.int64(), "observation rows written"),
        Column("gaps", pa.int64(), "gaps found in those series"),
        Column("model_version", pa.string(), "forecasting model used, when the run forecast"),
        Column("message", pa.string(), "what happened, in a sentence"),
    ),
)

# Staging: what each input file contributed, so observations can be recomputed exactly when a file
# is re-delivered (replaced, not added) or when two files share a bin (rotated logs).
LOG_BINS = Table(
    "log_bins",
    "Per input file, per series: mergeable request counts per base bin (staging).",
    (
        SERIES_ID,
        Column("ts", TS, "start of the base bin (UTC)"),
        Column("requests", pa.int64(), "requests in the bin"),
        Column("bytes_sum", pa.int64(), "bytes sent (lines with '-' count as none)"),
        Column("bytes_n", pa.int64(), "requests with a byte count"),
        Column("status_2xx", pa.int64(), "requests answered 2xx"),
        Column("status_3xx", pa.int64(), "requests answered 3xx"),
        Column("status_4xx", pa.int64(), "requests answered 4xx"),
        Column("status_5xx", pa.int64(), "requests answered 5xx"),
        Column("first_seen", TS, "first request in the bin"),
        Column("last_seen", TS, "last request in the bin"),
        Column("hosts", pa.list_(pa.string()), "distinct client hosts in the bin"),
    ),
    (SHARD,),
    internal=True,
)

METRIC_SAMPLES = Table(
    "metric_samples",
    "Per input file: validated server metric samples (staging).",
    (
        SERIES_ID,
        Column("metric", pa.string(), "cpu, memory, disk_io, network, ... (percent metrics in 0-100)"),
        Column("ts", TS, "sample time (UTC)"),
        Column("value", pa.float64(), "sample value"),
    ),
    (SHARD,),
    internal=True,
)

TABLES: dict[str, Table] = {
    t.name: t for t in (OBSERVATIONS, GAPS, REJECTS, SOURCES, RUNS, LOG_BINS, METRIC_SAMPLES)
}

# Run-scoped outputs (scaling, forecasting, risk): partitioned by run and shard, so re-running a run
# replaces its files and old runs can be expired by prefix.
SCALING_PLANS = Table(
    "scaling_plans",
    "Servers per policy and interval over a replay: the plan, what served, and why.",
    (
        SERIES_ID,
        Column("policy", pa.string(), "static_peak, a preset (conservative, balanced, aggressive), "
               "reactive, reactive@<preset> (reactive at the same SLA) or a custom policy"),
        Column("ts", TS, "start of the interval (UTC)"),
        Column("servers", pa.int64(), "servers running (and billed) in the interval"),
        Column("warm_servers", pa.int64(), "servers past their warm-up: the ones that serve"),
        Column("capacity", pa.float64(), "warm_servers x capacity per server"),
        Column("action", pa.string(), "out, in or hold (decided at the start of the interval)"),
        Column("reason", pa.string(), "the decision in words: load planned for, servers needed, "
               "and what held it back (hysteresis, cooldown, bounds)"),
        Column("planned_load", pa.float64(), "load the policy sized for (forecast quantile or observed); "
               "null when it knew nothing"),
        Column("load", pa.float64(), "actual load in the interval; null in a gap"),
        Column("sla_violation", pa.bool_(), "load above capacity; null in a gap"),
    ),
    (RUN_ID, SHARD),
)

SIMULATIONS = Table(
    "simulations",
    "Cost and SLA per policy for one replay of a series (one run, one table).",
    (
        SERIES_ID,
        Column("policy", pa.string(), "as in scaling_plans"),
        Column("kind", pa.string(), "static, predictive, reactive or reactive-matched"),
        Column("start", TS, "first replayed interval (UTC)"),
        Column("end", TS, "last replayed interval (UTC)"),
        Column("freq", pa.string(), "interval length, e.g. 5min"),
        Column("capacity_per_server", pa.float64(), "load one server carries per interval at 100%"),
        Column("price_per_server_hour", pa.float64(), "price of one server for one hour"),
        Column("static_servers", pa.int64(), "size of the static_peak fleet: ceil(peak / (capacity x 0.7))"),
        Column("target_utilisation", pa.float64(), "the policy's target (static: its sizing utilisation)"),
        Column("quantile", pa.string(), "forecast column a predictive policy plans on (yhat, hi80, hi95)"),
        Column("cost", pa.float64(), "server-hours x price (warming servers and gaps are billed)"),
        Column("saving_vs_static_pct", pa.float64(), "100 x (1 - cost / static_peak cost)"),
        Column("saving_vs_static_100pct", pa.float64(), "saving against a static fleet that carries "
               "the peak at 100% (ceil(peak / capacity)): the stricter reading"),
        Column("sla_violation_pct", pa.float64(), "violating intervals / observed intervals x 100"),
        Column("sla_violation_intervals", pa.int64(), "intervals with load above warm capacity"),
        Column("unserved_load_pct", pa.float64(), "load above capacity / total load x 100"),
        Column("scaling_events", pa.int64(), "scale-outs + scale-ins"),
        Column("scale_outs", pa.int64(), "decisions that added servers"),
        Column("scale_ins", pa.int64(), "decisions that removed servers"),
        Column("server_hours", pa.float64(), "servers x interval hours, summed"),
        Column("mean_servers", pa.float64(), "average servers running"),
        Column("max_servers", pa.int64(), "most servers running at once"),
        Column("mean_utilisation_pct", pa.float64(), "observed load / warm capacity x 100"),
        Column("intervals", pa.int64(), "replayed intervals"),
        Column("observed_intervals", pa.int64(), "replayed intervals with known load"),
        Column("gap_intervals", pa.int64(), "replayed intervals without load (billed, never violations)"),
        Column("forecaster", pa.string(), "forecaster the predictive policies used"),
    ),
    (RUN_ID, SHARD),
)

TABLES.update({t.name: t for t in (SCALING_PLANS, SIMULATIONS)})

MODEL_VERSION = Column("model_version", pa.string(),
                       "model that made the row: lgbm-<strategy>-v<N>:<hash of data, features, params>")

FORECASTS = Table(
    "forecasts",
    "Forecasts with 80/95% intervals per series, metric and future time bin; one file per run, shard "
    "and forecast kind (<granularity>-<purpose>), so re-running a run replaces its files.",
    (
        SERIES_ID,
        Column("metric", pa.string(), "metric forecast (request_count, cpu_p95...; daily_p95 of it for capacity)"),
        Column("granularity", pa.string(), "bin width of the forecast: 1min, 5min, 15min, 1h or 1d"),
        Column("ts", TS, "start of the forecast bin (UTC)"),
        Column("step", pa.int32(), "steps after the last observed bin (1 = the next bin)"),
        Column("yhat", pa.float64(), "point forecast"),
        Column("lo80", pa.float64(), "lower bound of the 80% prediction interval"),
        Column("hi80", pa.float64(), "upper bound of the 80% prediction interval"),
        Column("lo95", pa.float64(), "lower bound of the 95% prediction interval"),
        Column("hi95", pa.float64(), "upper bound of the 95% prediction interval"),
        Column("model", pa.string(), "method published: lgbm, lgbm_slot_mean (lgbm averaged with "
               "slot_mean), or the baseline the quality gate fell back to"),
        MODEL_VERSION,
    ),
    (RUN_ID, SHARD),
)

BACKTESTS = Table(
    "backtests",
    "Rolling-origin backtest scores per series and method (model, baselines, and the model averaged "
    "with the slot mean) with the quality gate's decision; one file per run, shard and forecast kind.",
    (
        SERIES_ID,
        Column("metric", pa.string(), "metric backtested"),
        Column("granularity", pa.string(), "bin width"),
        Column("model", pa.string(), "lgbm, naive_weekly, naive_daily, slot_mean or lgbm_slot_mean (lgbm "
               "averaged with slot_mean)"),
        MODEL_VERSION,
        Column("horizon", pa.int32(), "steps forecast from each origin"),
        Column("windows", pa.int32(), "rolling origins scored for this series (fewer than asked where "
               "history was short)"),
        Column("step", pa.int32(), "steps between origins"),
        Column("n", pa.int64(), "observed points scored (gaps never count)"),
        Column("rmse", pa.float64(), "root mean squared error"),
        Column("mae", pa.float64(), "mean absolute error"),
        Column("smape", pa.float64(), "symmetric MAPE, percent (0-200)"),
        Column("mase", pa.float64(), "MAE over the in-sample seasonal-naive MAE"),
        Column("coverage80", pa.float64(), "share of points inside the 80% interval (leave-one-window-out; "
               "NaN when no other window was scored)"),
        Column("coverage95", pa.float64(), "share of points inside the 95% interval (leave-one-window-out; "
               "NaN when no other window was scored)"),
        Column("width80", pa.float64(), "mean width of the 80% interval"),
        Column("width95", pa.float64(), "mean width of the 95% interval"),
        Column("chosen", pa.bool_(), "this method's forecast was published for the series"),
        Column("reason", pa.string(), "the quality gate's decision in words"),
    ),
    (RUN_ID, SHARD),
)

TABLES.update({t.name: t for t in (FORECASTS, BACKTESTS)})

RISK_FLAGS = Table(
    "risk_flags",
    "Capacity risk per server, metric and horizon from the daily-P95 forecast: very_high (predicted P95 "
    "over 90%), high (over 80%), underutilised (average under 40%) or normal.",
    (
        SERIES_ID,
        Column("metric", pa.string(), "utilisation metric: cpu, memory, disk_io, network, ..."),
        Column("horizon_days", pa.int32(), "days ahead the flag looks (30 or 90 by default)"),
        Column("level", pa.string(), "very_high, high, underutilised or normal"),
        Column("predicted_p95", pa.float64(), "highest forecast daily P95 within the horizon (percent)"),
        Column("breach_probability", pa.float64(), "probability that some day's P95 exceeds the level's "
               "threshold within the horizon (from the daily-P95 outlook's prediction spread); for normal and "
               "underutilised, of exceeding the high threshold"),
        Column("threshold", pa.float64(), "utilisation the level is about (90 very_high, 80 high, 40 underutilised)"),
        Column("first_breach_date", pa.date32(), "first day the forecast P95 exceeds the threshold"),
        Column("days_to_breach", pa.int32(), "days from the end of history to the first breach"),
        Column("recent_p95", pa.float64(), "worst daily P95 of the last 30 days of history"),
        Column("average_utilisation", pa.float64(), "mean utilisation over the last 30 days of history"),
        MODEL_VERSION,
        Column("reason", pa.string(), "the flag in one sentence a person can read"),
    ),
    (RUN_ID, SHARD),
)

TABLES.update({t.name: t for t in (RISK_FLAGS,)})
