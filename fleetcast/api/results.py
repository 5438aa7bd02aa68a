"""What the pipeline wrote, read for the API: series, their latest forecasts, open risks, runs, models.

"Latest" is per shard: a run recomputes whole shards (the unit of recomputation, ADR 0001), so the
current results of a shard are those of the newest run that wrote that shard (run ids sort by
time). A nightly run refreshes every shard; an upload's run only the shards it touched.

The lake is anything with :class:`~fleetcast.lake.local.LocalLake`'s ``files``, ``scan`` and
``read`` (a local directory or S3). The list of partitions is reused for ``ttl_seconds`` and the
frames derived from it with it, so a warm API answers from memory and sees a new run within
``ttl_seconds``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from fleetcast.lake import tables as t

_PARTITION = re.compile(r"run_id=([^/]+)/shard=(-?\d+)/")
_SEVERITY = {"very_high": 0, "high": 1, "underutilised": 2, "normal": 3}
RESULT_TABLES = (t.FORECASTS, t.BACKTESTS, t.RISK_FLAGS, t.SCALING_PLANS, t.SIMULATIONS)
SCORES = ("rmse", "mae", "smape", "mase", "coverage80", "coverage95")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Results:
    """Reads results from ``lake``; every method returns JSON-ready dicts (or None when absent).

    Examples
    --------
    >>> import tempfile
    >>> from fleetcast.lake.local import LocalLake
    >>> from fleetcast.api.sample import write_sample_results
    >>> lake = LocalLake(tempfile.mkdtemp())
    >>> _ = write_sample_results(lake, n_series=20)
    >>> r = Results(lake)
    >>> r.series_forecast("srv-00003")["run_id"]
    '20261122T020000Z-n2'
    >>> r.risks(limit=1)["counts"]
    {'high': 9, 'normal': 29, 'underutilised': 42}
    """

    def __init__(self, lake: Any, *, ttl_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.lake = lake
        self.ttl = ttl_seconds
        self._clock = clock
        self._now = now
        self._index: dict[str, tuple[float, dict[int, list[str]]]] = {}
        self._frames: dict[tuple, pl.DataFrame] = {}

    # -- partitions ------------------------------------------------------------------------------
    def runs_by_shard(self, table: t.Table) -> dict[int, list[str]]:
        """``{shard: [run ids, newest first]}`` of a run-scoped table (reused for ``ttl`` seconds)."""
        cached = self._index.get(table.name)
        if cached and self._clock() < cached[0]:
            return cached[1]
        found: dict[int, set[str]] = {}
        for path in self.lake.files(table):
            match = _PARTITION.search(str(path).replace("\\", "/"))
            if match:
                found.setdefault(int(match.group(2)), set()).add(match.group(1))
        index = {shard: sorted(ids, reverse=True) for shard, ids in sorted(found.items())}
        self._index[table.name] = (self._clock() + self.ttl, index)
        self._frames = {k: v for k, v in self._frames.items() if k[0] != table.name}
        return index

    def current(self, table: t.Table) -> dict[int, str]:
        """The newest run of each shard."""
        return {shard: ids[0] for shard, ids in self.runs_by_shard(table).items()}

    def _current_frame(self, table: t.Table, columns: tuple[str, ...]) -> pl.DataFrame:
        """The current rows of ``table`` over all shards (with ``run_id``), kept until the index expires."""
        current = self.current(table)
        key = (table.name, columns, tuple(sorted(current.items())))
        if key not in self._frames:
            parts = [self.lake.scan(table, {"run_id": run, "shard": shard}).select(*columns, "run_id")
                     for shard, run in current.items()]
            self._frames[key] = pl.concat([p.collect() for p in parts]) if parts else \
                pl.DataFrame(schema=pl.Schema(table.full_schema)).select(*columns, "run_id")
        return self._frames[key]

    # -- endpoints -------------------------------------------------------------------------------
    def series(self, *, metric: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Series with current forecasts: their metrics, granularities and published methods."""
        frame = self._current_frame(t.BACKTESTS, ("series_id", "metric", "granularity", "model", "chosen"))
        if metric:
            frame = frame.filter(pl.col("metric") == metric)
        listing = (frame.group_by("series_id").agg(
            pl.col("metric").unique().sort().alias("metrics"),
            pl.col("granularity").unique().sort().alias("granularities"),
            pl.col("model").filter(pl.col("chosen")).unique().sort().alias("published"),
            pl.col("run_id").max()).sort("series_id"))
        page = listing.slice(offset, limit)
        return {"total": listing.height, "limit": limit, "offset": offset, "series": page.to_dicts()}

    def series_forecast(self, series_id: str, *, metric: str | None = None, granularity: str | None = None,
                        run_id: str | None = None, max_runs: int = 10) -> dict[str, Any] | None:
        """The newest forecast of one series (from ``run_id`` when given); None when there is none."""
        shard = t.shard_of(series_id)
        runs = [run_id] if run_id else self.runs_by_shard(t.FORECASTS).get(shard, [])[:max_runs]
        keep = pl.col("series_id") == series_id
        if metric:
            keep &= pl.col("metric") == metric
        if granularity:
            keep &= pl.col("granularity") == granularity
        for run in runs:
            rows = self.lake.scan(t.FORECASTS, {"run_id": run, "shard": shard}).filter(keep).collect()
            if rows.height:
                return {"series_id": series_id, "run_id": run, "forecasts": _forecast_groups(rows)}
        return None

    def risks(self, *, level: str | None = None, metric: str | None = None, series_id: str | None = None,
              horizon_days: int | None = None, limit: int = 100) -> dict[str, Any]:
        """Current risk flags, most severe first (``level`` None: every level but normal)."""
        frame = self._current_frame(t.RISK_FLAGS, tuple(t.RISK_FLAGS.column_names))
        keep = pl.col("level") == level if level else pl.col("level") != "normal"
        if metric:
            keep &= pl.col("metric") == metric
        if series_id:
            keep &= pl.col("series_id") == series_id
        if horizon_days is not None:
            keep &= pl.col("horizon_days") == horizon_days
        chosen = frame.filter(keep)
        top = chosen.sort(
            [pl.col("level").replace_strict(_SEVERITY, default=9, return_dtype=pl.Int8),
             pl.col("breach_probability").fill_nan(None), pl.col("days_to_breach"), "series_id", "metric",
             "horizon_days"],
            descending=[False, True, False, False, False, False], nulls_last=True).head(limit)
        counts = dict(frame.group_by("level").len().iter_rows())
        return {"total": chosen.height, "counts": {k: int(v) for k, v in sorted(counts.items())},
                "flags": json_rows(top)}

    def run(self, run_id: str) -> dict[str, Any] | None:
        """What one run was and wrote; None when the lake knows nothing of it."""
        found = self.lake.scan(t.RUNS).filter(pl.col("run_id") == run_id).collect()
        outputs, series, versions, levels = {}, set(), set(), {}
        for table in RESULT_TABLES:
            part = self.lake.scan(table, {"run_id": run_id})
            cols = part.collect_schema().names()
            rows = part.select([c for c in ("series_id", "model_version", "level") if c in cols]).collect()
            outputs[table.name] = rows.height
            series.update(rows["series_id"].unique().to_list())
            if "model_version" in cols:
                versions.update(v for v in rows["model_version"].unique().to_list() if v)
            if table is t.RISK_FLAGS:
                levels = {k: int(v) for k, v in sorted(rows.group_by("level").len().iter_rows())}
        if found.height == 0 and not any(outputs.values()):
            return None
        record = json_rows(found.head(1))[0] if found.height else None
        return {"run_id": run_id, "run": record, "outputs": outputs, "series": len(series),
                "model_versions": sorted(versions), "risk_levels": levels}

    def models(self, *, run_id: str | None = None, limit: int = 5) -> dict[str, Any]:
        """Model versions of the newest ``limit`` runs (or of ``run_id``) with their backtest scores."""
        runs = [run_id] if run_id else sorted({r for ids in self.runs_by_shard(t.BACKTESTS).values() for r in ids},
                                              reverse=True)[:limit]
        out = []
        for run in runs:
            rows = self.lake.scan(t.BACKTESTS, {"run_id": run}).collect()
            for (version,), group in rows.group_by("model_version", maintain_order=True):
                scores = group.group_by("model").agg(pl.col(c).mean() for c in SCORES).sort("model")
                published = group.filter(pl.col("chosen")).group_by("model").len().sort("model")
                out.append({
                    "model_version": version, "run_id": run,
                    "metrics": sorted(group["metric"].unique().to_list()),
                    "granularities": sorted(group["granularity"].unique().to_list()),
                    "series": group["series_id"].n_unique(),
                    "published": {m: int(n) for m, n in published.iter_rows()},
                    "backtest": {r.pop("model"): r for r in json_rows(scores)},
                })
        return {"models": out}

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(lake reachable, checks)``: the lake, the latest run and its age, the model version."""
        try:
            latest = self.lake.scan(t.RUNS).sort("started_at", descending=True, nulls_last=True).head(1).collect()
            results = sorted({r for ids in self.runs_by_shard(t.FORECASTS).values() for r in ids})
        except Exception as exc:  # noqa: BLE001 (any failure to read is "unreachable", reported)
            return False, {"lake": {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}}
        checks: dict[str, dict[str, Any]] = {"lake": {"ok": True}}
        run = json_rows(latest)[0] if latest.height else None
        if run:
            when = latest["finished_at"][0] or latest["started_at"][0]
            age = (self._now() - when).total_seconds() if when else None
            checks["latest_run"] = {"run_id": run["run_id"], "status": run["status"], "trigger": run["trigger"],
                                    "finished_at": run["finished_at"], "age_seconds": _round(age)}
        else:
            checks["latest_run"] = {"run_id": None, "message": "no run recorded yet"}
        checks["results"] = {"latest_run_with_forecasts": results[-1] if results else None,
                             "runs_with_forecasts": len(results)}
        checks["model"] = {"model_version": run.get("model_version") if run else None}
        if not checks["model"]["model_version"] and results:
            versions = self.lake.scan(t.BACKTESTS, {"run_id": results[-1]}).select("model_version").unique()
            checks["model"]["model_version"] = next(iter(sorted(versions.collect().to_series().to_list())), None)
        return True, checks


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _forecast_groups(rows: pl.DataFrame) -> list[dict[str, Any]]:
    groups = []
    for (metric, granularity, model, version), part in rows.sort("metric", "granularity", "step").group_by(
            "metric", "granularity", "model", "model_version", maintain_order=True):
        points = json_rows(part.select(pl.col("ts").alias("timestamp"), "step", "yhat", "lo80", "hi80", "lo95",
                                       "hi95"))
        groups.append({"metric": metric, "granularity": granularity, "model": model, "model_version": version,
                       "points": points})
    return groups


def json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times as UTC ISO 8601 with ``Z``, dates ISO, NaN as null.

    Examples
    --------
    >>> from datetime import datetime
    >>> json_rows(pl.DataFrame({"ts": [datetime(2024, 1, 1, 5)], "x": [float("nan")]}))
    [{'ts': '2024-01-01T05:00:00Z', 'x': None}]
    """
    fixes = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Datetime:
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif dtype == pl.Date:
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype.is_float():
            fixes.append(pl.col(name).fill_nan(None))
    return (frame.with_columns(fixes) if fixes else frame).to_dicts()
