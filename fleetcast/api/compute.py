"""Ad-hoc work on posted data: forecasts, backtests, scaling plans and cost reports.

Each function takes a validated request model, calls the domain (:mod:`fleetcast.forecast`,
:mod:`fleetcast.scaling`) and returns a JSON-ready dict. Whatever the domain rejects becomes a
field-level :class:`~fleetcast.api.errors.BadRequest`; sizes over the stated limits are
:class:`~fleetcast.api.errors.PayloadTooLarge`. The forecasting engine (LightGBM) is imported here,
on first use, never when the API module loads.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from fleetcast.api import limits
from fleetcast.api.errors import BadRequest, PayloadTooLarge
from fleetcast.api.models import (
    BacktestRequest,
    CostReportRequest,
    ForecastRequest,
    HistoryPoint,
    LoadPoint,
    PlanRequest,
    PolicySpec,
)
from fleetcast.api.results import json_rows
from fleetcast.errors import FleetcastError
from fleetcast.forecast.baselines import BASELINES

#: The forecaster's settings for requests: about 12x less CPU than the pipeline's defaults, with the
#: same backtest, calibration and quality gate. On 4 real 2-week NAB series (horizons 12 and 288) the
#: model's backtest RMSE relative to the best baseline and its 80% coverage stayed within ~1-2% of
#: 25 or 300 (the default) trees (bench/api_latency.py measures the request time). 63 histogram
#: bins instead of 255 save a little time and gave the same backtest RMSE on NAB 5f5533.
API_MODEL = {"num_threads": 1, "n_estimators": 18, "learning_rate": 0.24, "num_leaves": 15,
             "max_rows": 15_000, "horizons_per_target": 3, "max_bin": 63, "ensemble_rows": 0}
MAX_GRID_CELLS = 4 * limits.MAX_HISTORY_POINTS
DEFAULT_SERIES = "series"
_POLICY_FIELD = re.compile(r"field '([a-z_0-9]+)'")
HISTORY_DAYS = 7


@contextmanager
def domain_errors(field: str):
    """Turn what the domain rejects (its errors name the problem) into a 400 at ``field``."""
    try:
        yield
    except (FleetcastError, ValueError, OverflowError) as exc:
        problem = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
        raise BadRequest(problem.splitlines()[0][:500], field=field) from None


# -- history -------------------------------------------------------------------------------------
def history_frame(points: list[HistoryPoint], freq: str | None) -> pl.DataFrame:
    """``series_id, ts, value`` of posted history, checked for size, duplicates and grid extent."""
    if len(points) > limits.MAX_HISTORY_POINTS:
        raise PayloadTooLarge(f"{len(points):,} history rows; at most {limits.MAX_HISTORY_POINTS:,} per request",
                              field="body.history")
    frame = pl.DataFrame({
        "series_id": [p.series_id or DEFAULT_SERIES for p in points],
        "ts": pl.Series([p.timestamp for p in points], dtype=pl.Datetime("us")),
        "value": pl.Series([p.value for p in points], dtype=pl.Float64),
    })
    n_series = frame["series_id"].n_unique()
    if n_series > limits.MAX_SERIES:
        raise PayloadTooLarge(f"{n_series} series; at most {limits.MAX_SERIES} per request", field="body.history")
    _check_unique(frame, "body.history")
    _check_grid(frame, freq, n_series, "body.history")
    return frame


def _check_unique(frame: pl.DataFrame, field: str) -> None:
    dup = frame.select(pl.struct("series_id", "ts").is_duplicated()).to_series()
    if dup.any():
        i = int(dup.arg_true()[-1])
        raise BadRequest(f"timestamp {frame['ts'][i]:%Y-%m-%dT%H:%M:%S} appears more than once"
                         + (f" for series {frame['series_id'][i]!r}" if frame["series_id"][i] != DEFAULT_SERIES
                            else ""), field=f"{field}[{i}].timestamp")


def _check_grid(frame: pl.DataFrame, freq: str | None, n_series: int, field: str) -> None:
    """Refuse histories whose time grid would be mostly empty (e.g. two points years apart)."""
    seconds = frame["ts"].dt.epoch("s")
    if freq:
        with domain_errors("body.freq"):
            from fleetcast.forecast.frequency import Frequency

            step = Frequency.parse(freq).seconds
    else:
        diffs = (frame.with_columns(seconds.alias("s")).sort("series_id", "s")
                 .select(pl.col("s").diff().over("series_id")).to_series().drop_nulls())
        diffs = diffs.filter(diffs > 0)
        if diffs.len() == 0:
            raise BadRequest("cannot infer the step from one timestamp per series; give 'freq'", field=field)
        step = int(diffs.min())
    cells = n_series * ((int(seconds.max()) - int(seconds.min())) // step + 1)
    if cells > MAX_GRID_CELLS:
        raise BadRequest(f"the timestamps span {cells:,} steps of {step} s (series x steps); at most "
                         f"{MAX_GRID_CELLS:,}: most of that would be gaps", field=field)


def _iso(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return json_rows(frame)


# -- forecasting ---------------------------------------------------------------------------------
def forecast(req: ForecastRequest) -> dict[str, Any]:
    """Forecast the posted history ``horizon`` steps ahead with 80/95% intervals."""
    result = _fit(req, req.horizon)
    rows = result.forecasts.select("series_id", pl.col("ts").alias("timestamp"), "step", "yhat", "lo80", "hi80",
                                   "lo95", "hi95", "model")
    gate = result.backtest.filter(pl.col("chosen")).select("series_id", pl.col("model").alias("published"),
                                                           "reason").sort("series_id")
    card = result.model_card
    return {"model_version": result.model_version, "engine": card["engine"], "freq": card["data"]["freq"],
            "horizon": req.horizon, "forecast": _iso(rows), "quality_gate": gate.to_dicts(),
            "backtest": card["backtest"]["scores"], "skipped": result.skipped, "caveats": card["caveats"]}


def backtest(req: BacktestRequest) -> dict[str, Any]:
    """Rolling-origin backtest of the model against the seasonal baselines on the posted history."""
    result = _fit(req, req.horizon, windows=req.windows, step=req.step)
    card = result.model_card
    pooled = card["backtest"]["scores"]
    baselines = {m: s["rmse"] for m, s in pooled.items() if m in BASELINES and s.get("rmse") is not None}
    best = min(baselines, key=baselines.get) if baselines else "none"
    model_rmse = pooled.get("lgbm", {}).get("rmse")
    scores = result.backtest.select("series_id", "model", "n", "rmse", "mae", "smape", "mase", "coverage80",
                                    "coverage95", "width80", "width95", "chosen", "reason").sort("series_id", "model")
    return {"model_version": result.model_version, "freq": card["data"]["freq"], "horizon": req.horizon,
            "windows": card["backtest"]["windows"], "step": card["backtest"]["step"], "pooled": pooled,
            "best_baseline": best,
            "model_beats_best_baseline": bool(model_rmse is not None and best in baselines
                                              and model_rmse < baselines[best]),
            "scores": _iso(scores), "skipped": result.skipped}


def _fit(req: ForecastRequest, horizon: int, **backtest: int | None):
    history = history_frame(req.history, req.freq)
    from fleetcast.forecast import ModelConfig, fit_forecast  # LightGBM: loaded on first use only

    with domain_errors("body.history"):
        return fit_forecast(history, horizon, req.freq, config=ModelConfig(**API_MODEL), **backtest)


# -- scaling -------------------------------------------------------------------------------------
def load_series(points: list[LoadPoint], freq: str | None, field: str = "body.load"):
    """The posted load as a :class:`~fleetcast.scaling.LoadSeries` (gaps kept)."""
    if len(points) > limits.MAX_LOAD_POINTS:
        raise PayloadTooLarge(f"{len(points):,} load rows; at most {limits.MAX_LOAD_POINTS:,} per request",
                              field=field)
    frame = pl.DataFrame({"series_id": DEFAULT_SERIES,
                          "ts": pl.Series([p.timestamp for p in points], dtype=pl.Datetime("us")),
                          "value": pl.Series([p.value for p in points], dtype=pl.Float64)})
    _check_unique(frame, field)
    _check_grid(frame, freq, 1, field)
    from fleetcast.scaling import LoadSeries

    with domain_errors(field):
        return LoadSeries.from_frame(frame.drop("series_id"), freq)


def _policy(ref: str | PolicySpec, field: str):
    from fleetcast.scaling import PRESETS, policy_from_dict

    if isinstance(ref, str):
        return PRESETS[ref]
    try:
        return policy_from_dict(ref.as_spec())
    except ValueError as exc:  # PolicyError names the field: "field 'scale_in_threshold' must be ..."
        problem = str(exc).splitlines()[0][:500]
        named = _POLICY_FIELD.search(problem)
        raise BadRequest(problem, field=f"{field}.{named.group(1)}" if named else field) from None


def _start(load, start, field: str = "body.start") -> int:
    if start is None:
        history = load.freq.steps(HISTORY_DAYS * 86_400)
        last_week = len(load) - history
        return last_week if last_week >= history else len(load) // 2
    index = load.index_of(np.datetime64(start, "us"))
    if index >= len(load):
        raise BadRequest("the replay start is after the last load timestamp", field=field)
    return index


def scaling_plan(req: PlanRequest) -> dict[str, Any]:
    """Servers and actions per interval for one policy, over observed load or a forecast."""
    if req.forecast is not None:
        return _forecast_plan(req)
    from fleetcast.scaling import default_capacity, simulate

    load = load_series(req.load, req.freq)
    policy = _policy(req.policy, "body.policy")
    start = _start(load, req.start)
    if len(load) - start > limits.MAX_PLAN_INTERVALS:
        raise PayloadTooLarge(f"the replay has {len(load) - start:,} intervals; a plan returns at most "
                              f"{limits.MAX_PLAN_INTERVALS:,} (give a later 'start')", field="body.start")
    capacity = req.capacity_per_server or default_capacity(load, start)
    with domain_errors("body"):
        sim = simulate(load, start=start, capacity_per_server=capacity, policies=[policy],
                       price_per_server_hour=req.price_per_server_hour, match_reactive=False)
    rows = sim.plan_rows(DEFAULT_SERIES, "api").filter(pl.col("policy") == policy.name)
    intervals = rows.select(pl.col("ts").alias("timestamp"), "servers", "warm_servers", "action", "reason",
                            "planned_load", "load", "sla_violation")
    summary = next(r.as_dict() for r in sim.results if r.name == policy.name)
    return {"mode": "replay", "policy": policy.to_dict(), "freq": load.freq.name, "capacity_per_server": capacity,
            "summary": {**summary, "replay": sim.summary()}, "intervals": _iso(intervals)}


def _forecast_plan(req: PlanRequest) -> dict[str, Any]:
    from fleetcast.scaling import LoadSeries, decide, default_capacity, servers_needed, warm_servers

    policy = _policy(req.policy, "body.policy")
    if policy.kind == "reactive":
        raise BadRequest("a reactive policy follows observed load: post 'load' to replay it",
                         field="body.policy")
    points = req.forecast
    if len(points) > limits.MAX_PLAN_INTERVALS:
        raise PayloadTooLarge(f"{len(points):,} forecast rows; a plan returns at most "
                              f"{limits.MAX_PLAN_INTERVALS:,}", field="body.forecast")
    if len({p.series_id for p in points}) > 1:
        raise BadRequest("the forecast holds several series_id values; plan one series at a time",
                         field="body.forecast")
    frame = pl.DataFrame({"series_id": DEFAULT_SERIES,
                          "ts": pl.Series([p.timestamp for p in points], dtype=pl.Datetime("us")),
                          "value": [p.yhat for p in points],
                          "q": [_quantile(p, policy.quantile) for p in points]})
    _check_unique(frame, "body.forecast")
    _check_grid(frame, req.freq, 1, "body.forecast")
    with domain_errors("body.forecast"):
        grid = LoadSeries.from_frame(frame.select("ts", pl.col("q").alias("value")), req.freq)
    demand = _ahead_max(grid.values, policy.warmup)
    capacity = req.capacity_per_server or default_capacity(grid, len(grid))
    first = demand[np.isfinite(demand)]
    initial = req.current_servers if req.current_servers is not None else (
        servers_needed(float(first[0]), capacity, policy.target_utilisation) if first.size else policy.min_servers)
    made = decide(policy, demand, capacity, initial)
    warm = warm_servers(made.servers, policy.warmup, initial)
    hours = float(made.servers.sum()) * grid.step_hours
    intervals = pl.DataFrame({"timestamp": grid.times(), "servers": made.servers, "warm_servers": warm,
                              "action": made.action.astype(str), "reason": made.reason,
                              "planned_load": pl.Series(demand, nan_to_null=True)})
    summary = {"intervals": len(grid), "initial_servers": int(initial), "server_hours": round(hours, 4),
               "cost": round(hours * req.price_per_server_hour, 4),
               "mean_servers": round(float(made.servers.mean()), 3),
               "max_servers": int(made.servers.max()), "scale_outs": int(np.sum(made.action == "out")),
               "scale_ins": int(np.sum(made.action == "in")), "planned_on": policy.quantile}
    return {"mode": "forecast", "policy": policy.to_dict(), "freq": grid.freq.name, "capacity_per_server": capacity,
            "summary": summary, "intervals": _iso(intervals)}


def _quantile(point, column: str) -> float:
    value = getattr(point, column)
    return point.yhat if value is None else value


def _ahead_max(values: np.ndarray, warmup: int) -> np.ndarray:
    """``max(values[t .. t + warmup])`` over what is known (NaN where nothing is)."""
    padded = np.concatenate([values, np.full(warmup, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, warmup + 1)
    known = np.isfinite(windows)
    peaks = np.where(known, windows, -np.inf).max(axis=1)
    return np.where(known.any(axis=1), peaks, np.nan)


def cost_report(req: CostReportRequest) -> dict[str, Any]:
    """Cost, saving vs static, SLA violations and scaling events of each policy over the load."""
    from fleetcast.scaling import default_capacity, resolve_policies, simulate

    load = load_series(req.load, req.freq)
    custom = [_policy(p, f"body.policies[{i}]") for i, p in enumerate(req.policies or []) if not isinstance(p, str)]
    names = [p if isinstance(p, str) else p.name for p in req.policies] if req.policies else None
    with domain_errors("body.policies"):
        policies = resolve_policies(names, custom)
    start = _start(load, req.start)
    chosen = req.capacity_per_server is None
    capacity = default_capacity(load, start) if chosen else req.capacity_per_server
    with domain_errors("body"):
        sim = simulate(load, start=start, capacity_per_server=capacity, policies=policies,
                       price_per_server_hour=req.price_per_server_hour)
    notes = [f"capacity per server: {capacity:g} per {load.freq.name}"
             + (" (chosen: history peak / 15; set capacity_per_server)" if chosen else "")]
    return {**sim.to_json(), "notes": notes}
