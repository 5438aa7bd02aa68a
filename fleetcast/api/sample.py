"""Generated results for trying and measuring the API: forecasts, backtests, risk flags and runs.

Rows follow the table schemas of :mod:`fleetcast.lake.tables` and the pipeline's layout (one file per
run, shard and forecast kind), with plausible values: a daily cycle per server, intervals that widen
with the horizon, quality-gate decisions, and risk levels that agree with the predicted P95. Used by
``fleetcast serve --sample-series N``, the API tests and ``bench/api_latency.py``; a lake the pipeline
filled has the same shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from fleetcast.lake import tables as t

METHODS = ("lgbm", "naive_weekly", "naive_daily", "slot_mean")
#: (metric, granularity, steps, file key) of the forecast kinds written per series
KINDS = (("cpu_p95", "5min", 288, "5min-operational"), ("cpu", "1d", 90, "1d-capacity"),
         ("memory", "1d", 90, "1d-capacity"))
THRESHOLDS = {"very_high": 90.0, "high": 80.0, "underutilised": 40.0}


@dataclass(frozen=True)
class SampleRun:
    run_id: str
    trigger: str
    shards: tuple[int, ...] | None = None  # None: every shard (a nightly refresh)


def default_runs(end: datetime) -> tuple[SampleRun, ...]:
    """Two nightly runs over every shard and a later upload run over two shards."""
    night = end.replace(hour=2, minute=0, second=0, microsecond=0)
    return (SampleRun(f"{night - timedelta(days=1):%Y%m%dT%H%M%SZ}-n1", "schedule"),
            SampleRun(f"{night:%Y%m%dT%H%M%SZ}-n2", "schedule"),
            SampleRun(f"{night + timedelta(hours=12):%Y%m%dT%H%M%SZ}-u1", "s3-upload", (3, 11)))


def series_ids(n: int) -> list[str]:
    """``srv-00000`` ... names of the sample servers."""
    return [f"srv-{i:05d}" for i in range(n)]


def write_sample_results(lake, *, n_series: int = 200, end: datetime = datetime(2026, 11, 22),
                         runs: tuple[SampleRun, ...] | None = None, seed: int = 0) -> list[str]:
    """Write sample results for ``n_series`` servers into ``lake``; returns the run ids written.

    Examples
    --------
    >>> import tempfile
    >>> from fleetcast.lake.local import LocalLake
    >>> lake = LocalLake(tempfile.mkdtemp())
    >>> write_sample_results(lake, n_series=20)
    ['20261121T020000Z-n1', '20261122T020000Z-n2', '20261122T140000Z-u1']
    >>> lake.read(t.RISK_FLAGS).filter(pl.col("run_id") == "20261122T020000Z-n2").height
    80
    """
    ids = np.array(series_ids(n_series))
    shards = np.array([t.shard_of(s) for s in ids])
    runs = runs or default_runs(end)
    for k, run in enumerate(runs):
        rng = np.random.default_rng([seed, k])
        origin = datetime.strptime(run.run_id[:16], "%Y%m%dT%H%M%SZ").replace(minute=0)
        for shard in sorted(set(shards.tolist()) if run.shards is None else run.shards):
            members = ids[shards == shard]
            if members.size:
                _write_shard(lake, run.run_id, int(shard), members, origin, rng, seed)
        _write_run(lake, run, n_series if run.shards is None else int(np.isin(shards, run.shards).sum()))
    return [r.run_id for r in runs]


def _profile(series: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series: level (%), daily amplitude (%) and growth per day (%), stable across runs."""
    digest = np.array([int(hashlib.sha256(f"{seed}:{s}".encode()).hexdigest()[:8], 16) for s in series])
    u = (digest % 10_000) / 10_000
    level = 10 + 70 * u
    amplitude = 4 + 10 * ((digest // 10_000) % 100) / 100
    growth = np.where((digest // 1_000_000) % 4 == 0, 0.15, 0.01)
    return level, amplitude, growth


def _write_shard(lake, run_id: str, shard: int, members: np.ndarray, origin: datetime,
                 rng: np.random.Generator, seed: int) -> None:
    level, amplitude, growth = _profile(members, seed)
    frames: dict[str, list[pl.DataFrame]] = {}
    tests: dict[str, list[pl.DataFrame]] = {}
    capacity: dict[str, np.ndarray] = {}
    for metric, granularity, steps, key in KINDS:
        scale = 0.8 if metric == "memory" else 1.0
        version = _version(run_id, key)
        chosen, scores = _gate(members, rng)
        step_s = 300 if granularity == "5min" else 86_400
        h = np.arange(1, steps + 1)
        hours = (h * step_s / 3600.0) % 24
        if granularity == "5min":
            yhat = level[:, None] + amplitude[:, None] * np.sin(2 * np.pi * (hours[None, :] - 8) / 24)
        else:
            yhat = scale * (level + amplitude)[:, None] + growth[:, None] * h[None, :]
        yhat = np.clip(yhat + rng.normal(0, 0.5, yhat.shape), 0, 100)
        width = (2.0 + 0.25 * np.sqrt(h))[None, :] * np.ones((members.size, 1))
        ts = [origin + timedelta(seconds=int(s) * step_s) for s in h]
        n = members.size
        frames.setdefault(key, []).append(pl.DataFrame({
            "series_id": np.repeat(members, steps), "metric": metric, "granularity": granularity,
            "ts": pl.Series(ts * n, dtype=pl.Datetime("us")), "step": np.tile(h, n).astype(np.int32),
            "yhat": yhat.ravel(), "lo80": np.clip(yhat - 1.28 * width, 0, None).ravel(),
            "hi80": (yhat + 1.28 * width).ravel(), "lo95": np.clip(yhat - 1.96 * width, 0, None).ravel(),
            "hi95": (yhat + 1.96 * width).ravel(), "model": np.repeat(chosen, steps), "model_version": version,
        }))
        tests.setdefault(key, []).append(scores.with_columns(metric=pl.lit(metric), granularity=pl.lit(granularity),
                                                             model_version=pl.lit(version)))
        if granularity == "1d":
            capacity[metric] = np.stack([yhat, width], axis=-1)
    partition = {"run_id": run_id, "shard": shard}
    for key, parts in frames.items():
        lake.write(t.FORECASTS, pl.concat(parts), partition=partition, key=key)
        lake.write(t.BACKTESTS, pl.concat(tests[key]), partition=partition, key=key)
    lake.write(t.RISK_FLAGS, _risk_rows(members, level, capacity, origin, _version(run_id, "1d-capacity")),
               partition=partition, key="risk")


def _version(run_id: str, key: str) -> str:
    return "sample-lgbm-direct:" + hashlib.sha256(f"{run_id}/{key}".encode()).hexdigest()[:12]


def _gate(members: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, pl.DataFrame]:
    """Backtest scores of the model and the baselines per series, and the method the gate published."""
    n = members.size
    rmse = np.column_stack([rng.uniform(2, 6, n)] + [rng.uniform(3, 8, n) for _ in METHODS[1:]])
    best_base = 1 + np.argmin(rmse[:, 1:], axis=1)
    use_model = rmse[:, 0] < rmse[np.arange(n), best_base]
    chosen_idx = np.where(use_model, 0, best_base)
    chosen = np.array(METHODS)[chosen_idx]
    rows = []
    for j, method in enumerate(METHODS):
        reason = np.where(use_model, "model rmse beats best baseline", "fallback: model rmse does not beat baseline")
        rows.append(pl.DataFrame({
            "series_id": members, "model": method, "horizon": np.int32(288), "windows": np.int32(20),
            "step": np.int32(288), "n": np.int64(5760), "rmse": rmse[:, j], "mae": 0.8 * rmse[:, j],
            "smape": 4 * rmse[:, j], "mase": rmse[:, j] / 4, "coverage80": rng.uniform(0.76, 0.84, n),
            "coverage95": rng.uniform(0.92, 0.97, n), "width80": 2.6 * rmse[:, j], "width95": 3.9 * rmse[:, j],
            "chosen": chosen_idx == j, "reason": reason,
        }))
    return chosen, pl.concat(rows)


def _risk_rows(members: np.ndarray, level: np.ndarray, capacity: dict[str, np.ndarray], origin: datetime,
               version: str) -> pl.DataFrame:
    frames = []
    for metric, cube in capacity.items():
        yhat, width = cube[..., 0], cube[..., 1]
        average = np.clip(level * (0.8 if metric == "memory" else 1.0), 0, 100)
        for days in (30, 90):
            peak = yhat[:, :days].max(axis=1)
            lvl = np.where(peak > 90, "very_high", np.where(peak > 80, "high",
                           np.where(average < 40, "underutilised", "normal")))
            threshold = np.array([THRESHOLDS.get(v, 80.0) for v in lvl])
            over = yhat[:, :days] > threshold[:, None]
            first = np.where(over.any(axis=1), over.argmax(axis=1) + 1, -1)
            z = (peak - threshold) / width[:, :days].max(axis=1)
            prob = np.clip(0.5 * (1 + np.tanh(0.8 * z)), 0, 1)
            frames.append(pl.DataFrame({
                "series_id": members, "metric": metric, "horizon_days": np.int32(days), "level": lvl,
                "predicted_p95": peak, "breach_probability": prob, "threshold": threshold,
                "first_breach_date": pl.Series([(origin + timedelta(days=int(d))).date() if d > 0 else None
                                                for d in first], dtype=pl.Date),
                "days_to_breach": pl.Series([int(d) if d > 0 else None for d in first], dtype=pl.Int32),
                "recent_p95": np.clip(peak - 3, 0, 100), "average_utilisation": average,
                "model_version": version,
                "reason": [f"{metric} daily P95 forecast peaks at {p:.1f}% within {days} days ({v})"
                           for p, v in zip(peak, lvl, strict=True)],
            }))
    return pl.concat(frames)


def _write_run(lake, run: SampleRun, series: int) -> None:
    started = datetime.strptime(run.run_id[:16], "%Y%m%dT%H%M%SZ")
    row = {"run_id": run.run_id, "trigger": run.trigger, "started_at": started,
           "finished_at": started + timedelta(minutes=7), "status": "succeeded", "inputs": [],
           "lines_read": 0, "lines_rejected": 0, "series": series, "observations": 0, "gaps": 0,
           "model_version": _version(run.run_id, "5min-operational"),
           "message": "sample results (fleetcast.api.sample)"}
    lake.write(t.RUNS, pl.DataFrame([row], schema=pl.Schema(t.RUNS.schema)), key=run.run_id)
