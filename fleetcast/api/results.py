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
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
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

    def __init__(self, lake: Any, *, ttl_seconds: float = 30.0, cache_mb: float = 512.0,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] = utcnow) -> None:
        self.lake = lake
        self.ttl = ttl_seconds
        self._clock = clock
        self._now = now
        self._index: dict[str, tuple[float, dict[int, list[str]]]] = {}
        self._frames: dict[tuple, Any] = {}
        self._shards = ShardCache(cache_mb)

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
        current = tuple((shard, ids[0]) for shard, ids in index.items())
        # frames derived from runs that are no longer current go; the others stay warm
        self._frames = {k: v for k, v in self._frames.items() if k[0] != table.name or k[-1] == current}
        return index

    def current(self, table: t.Table) -> dict[int, str]:
        """The newest run of each shard."""
        return {shard: ids[0] for shard, ids in self.runs_by_shard(table).items()}

    def _current_frame(self, table: t.Table, columns: tuple[str, ...]) -> pl.DataFrame:
        """The current rows of ``table`` over all shards (with ``run_id``), kept while they are current."""
        def build(current: dict[int, str]) -> pl.DataFrame:
            parts = [self.lake.scan(table, {"run_id": run, "shard": shard}).select(*columns, "run_id")
                     for shard, run in current.items()]
            return pl.concat([p.collect() for p in parts]) if parts else \
                pl.DataFrame(schema=pl.Schema(table.full_schema)).select(*columns, "run_id")

        return self._derived(table, columns, build)

    def _derived(self, table: t.Table, name: Any, build: Callable[[dict[int, str]], Any]) -> Any:
        """``build(current runs)``, kept until a shard of ``table`` gets a newer run."""
        current = self.current(table)
        key = (table.name, name, tuple(sorted(current.items())))
        if key not in self._frames:
            self._frames[key] = build(current)
        return self._frames[key]

    # -- endpoints -------------------------------------------------------------------------------
    def series(self, *, metric: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Series with current forecasts: their metrics, granularities and published methods."""
        def build(_: dict[int, str]) -> pl.DataFrame:
            frame = self._current_frame(t.BACKTESTS, ("series_id", "metric", "granularity", "model", "chosen"))
            if metric:
                frame = frame.filter(pl.col("metric") == metric)
            return (frame.group_by("series_id").agg(
                pl.col("metric").unique().sort().alias("metrics"),
                pl.col("granularity").unique().sort().alias("granularities"),
                pl.col("model").filter(pl.col("chosen")).unique().sort().alias("published"),
                pl.col("run_id").max()).sort("series_id"))

        listing = self._derived(t.BACKTESTS, ("listing", metric), build)
        page = listing.slice(offset, limit)
        return {"total": listing.height, "limit": limit, "offset": offset, "series": rows_json(page)}

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
        for k, run in enumerate(runs):
            if k == 0 and not run_id:  # the current run of the shard: answered from memory once read
                rows = self._shards.rows(series_id, (shard, run), lambda run=run: self.lake.scan(
                    t.FORECASTS, {"run_id": run, "shard": shard}).collect()).filter(keep)
            else:
                rows = self.lake.scan(t.FORECASTS, {"run_id": run, "shard": shard}).filter(keep).collect()
            if rows.height:
                return {"series_id": series_id, "run_id": run, "forecasts": _forecast_groups(rows)}
        return None

    def risks(self, *, level: str | None = None, metric: str | None = None, series_id: str | None = None,
              horizon_days: int | None = None, limit: int = 100) -> dict[str, Any]:
        """Current risk flags, most severe first (``level`` None: every level but normal)."""
        ranked, counts = self._ranked_risks()
        keep = pl.col("level") == level if level else pl.col("level") != "normal"
        if metric:
            keep &= pl.col("metric") == metric
        if series_id:
            keep &= pl.col("series_id") == series_id
        if horizon_days is not None:
            keep &= pl.col("horizon_days") == horizon_days
        chosen = ranked.filter(keep)  # filtering keeps the order
        return {"total": chosen.height, "counts": counts, "flags": rows_json(chosen.head(limit))}

    def _ranked_risks(self) -> tuple[pl.DataFrame, dict[str, int]]:
        """Current risk flags most severe first, and the count per level."""
        def build(_: dict[int, str]) -> tuple[pl.DataFrame, dict[str, int]]:
            frame = self._current_frame(t.RISK_FLAGS, tuple(t.RISK_FLAGS.column_names))
            ranked = frame.sort(
                [pl.col("level").replace_strict(_SEVERITY, default=9, return_dtype=pl.Int8),
                 pl.col("breach_probability").fill_nan(None), pl.col("days_to_breach"), "series_id", "metric",
                 "horizon_days"],
                descending=[False, True, False, False, False, False], nulls_last=True)
            return ranked, {k: int(v) for k, v in sorted(frame.group_by("level").len().iter_rows())}

        return self._derived(t.RISK_FLAGS, "ranked", build)

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


class ShardCache:
    """The current forecasts of the shards read so far, by series, within ``cache_mb`` (least recently
    used shards go first). Keys are ``(shard, run_id)``; a shard is read once per run, later requests
    for any of its series are answered from memory, and a newer run of a shard replaces the older.

    Examples
    --------
    >>> cache = ShardCache(cache_mb=1)
    >>> frame = pl.DataFrame({"series_id": ["a", "b", "a"], "yhat": [1.0, 2.0, 3.0]})
    >>> cache.rows("a", (0, "r1"), lambda: frame)["yhat"].to_list()
    [1.0, 3.0]
    >>> cache.rows("zz", (0, "r1"), lambda: 1 / 0).height  # read once: the loader is not called again
    0
    """

    def __init__(self, cache_mb: float) -> None:
        self.budget = cache_mb * 1e6
        self._shards: OrderedDict[tuple, tuple[pl.DataFrame, dict[str, np.ndarray], float]] = OrderedDict()

    def rows(self, series_id: str, key: tuple, load: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        if key in self._shards:
            self._shards.move_to_end(key)
        else:
            for stale in [k for k in self._shards if k[0] == key[0]]:  # an older run of the shard
                del self._shards[stale]
            frame = load()
            positions = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("i"), "series_id") \
                .group_by("series_id").agg("i")
            where = {sid: np.asarray(i) for sid, i in positions.iter_rows()}
            self._shards[key] = (frame, where, frame.estimated_size())
            while len(self._shards) > 1 and sum(s[2] for s in self._shards.values()) > self.budget:
                self._shards.popitem(last=False)
        frame, where, _ = self._shards[key]
        rows = where.get(series_id)
        return frame[rows] if rows is not None else frame.clear()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _forecast_groups(rows: pl.DataFrame) -> list[dict[str, Any]]:
    groups = []
    for (metric, granularity, model, version), part in rows.sort("metric", "granularity", "step").group_by(
            "metric", "granularity", "model", "model_version", maintain_order=True):
        points = rows_json(part.select(pl.col("ts").alias("timestamp"), "step", "yhat", "lo80", "hi80", "lo95",
                                       "hi95"))
        groups.append({"metric": metric, "granularity": granularity, "model": model, "model_version": version,
                       "points": points})
    return groups


def json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times as UTC ISO 8601 with ``Z``, dates ISO, NaN and infinities as null.

    Examples
    --------
    >>> from datetime import datetime
    >>> json_rows(pl.DataFrame({"ts": [datetime(2024, 1, 1, 5)], "x": [float("nan")]}))
    [{'ts': '2024-01-01T05:00:00Z', 'x': None}]
    """
    return _jsonable(frame).to_dicts()


class RawJson(str):
    """JSON text already serialised, to be spliced into a response as it is (see :func:`rows_json`)."""


def rows_json(frame: pl.DataFrame) -> RawJson:
    """The rows of :func:`json_rows` as a JSON array, serialised by polars (several times faster).

    Examples
    --------
    >>> from datetime import date
    >>> rows_json(pl.DataFrame({"d": [date(2024, 1, 2)], "x": [float("inf")], "n": [3]}))
    '[{"d":"2024-01-02","x":null,"n":3}]'
    """
    return RawJson(_jsonable(frame).write_json())


def _jsonable(frame: pl.DataFrame) -> pl.DataFrame:
    fixes = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Datetime:
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif dtype == pl.Date:
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype.is_float():
            fixes.append(pl.when(pl.col(name).is_finite()).then(pl.col(name)).alias(name))
    return frame.with_columns(fixes) if fixes else frame
