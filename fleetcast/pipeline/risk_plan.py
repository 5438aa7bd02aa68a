"""Pipeline stage ``risk-and-plan``: after every shard is forecast, plan and price each web service.

``assess_run`` reads the run's ``risk_flags`` (written per shard by the forecast stage) and names
the *new* high / very-high risks: series and metrics at risk now that were not at that level or
worse in the previous run. It replays each access-log series' last week of 5-minute
``request_count`` under the scaling presets, reactive and static peak (:func:`fleetcast.scaling.simulate`)
and writes ``scaling_plans`` and ``simulations`` for the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from fleetcast.lake.tables import OBSERVATIONS, RISK_FLAGS
from fleetcast.scaling import LoadSeries, Simulation, default_capacity, simulate, write_simulations

AT_RISK = {"high": 1, "very_high": 2}
REPLAY_DAYS = 7
PRICE_PER_SERVER_HOUR = 0.10


def assess_run(lake: Any, run_id: str) -> dict[str, Any]:
    """Plans and simulations for the run; its flag counts and new risks (for ``CapacityRiskDetected``).

    Examples
    --------
    >>> assess_run(LocalLake("fleetcast-demo/lake"), "20240101T000000-demo")  # doctest: +SKIP
    {'risk_flags': 240, 'at_risk': 7, 'new_risks': [...], 'scaling_plans': 14112, 'simulations': 8}
    """
    flags = lake.read(RISK_FLAGS, {"run_id": run_id})
    written = write_simulations(lake, run_id, _simulations(lake))
    at_risk = _worst(flags)
    previous = _previous_run(lake, run_id)
    before = _worst(lake.read(RISK_FLAGS, {"run_id": previous})) if previous else {}
    new = [row for key, (rank, row) in sorted(at_risk.items()) if before.get(key, (0,))[0] < rank]
    return {"risk_flags": flags.height, "at_risk": len(at_risk), "previous_run": previous,
            "new_risks": [_event_row(r) for r in new], **written}


def _worst(flags: pl.DataFrame) -> dict[tuple[str, str], tuple[int, dict]]:
    """Per series and metric at risk: the worst level over the horizons (the nearest breach on ties)."""
    worst: dict[tuple[str, str], tuple[int, dict]] = {}
    for row in flags.filter(pl.col("level").is_in(list(AT_RISK))).sort("horizon_days").iter_rows(named=True):
        key, rank = (row["series_id"], row["metric"]), AT_RISK[row["level"]]
        if key not in worst or worst[key][0] < rank:
            worst[key] = (rank, row)
    return worst


def _previous_run(lake: Any, run_id: str) -> str | None:
    runs = lake.read(RISK_FLAGS).select("run_id").unique()["run_id"].to_list()
    earlier = sorted(r for r in runs if r < run_id)
    return earlier[-1] if earlier else None


def _event_row(row: dict) -> dict[str, Any]:
    return {"series_id": row["series_id"], "metric": row["metric"], "risk_level": row["level"],
            "predicted_p95": row["predicted_p95"], "first_breach": row["first_breach_date"],
            "probability": row["breach_probability"], "threshold": row["threshold"],
            "horizon_days": row["horizon_days"]}


def _simulations(lake: Any) -> dict[str, Simulation]:
    """Replay each access-log series' last week (at least a day of history before it)."""
    requests = lake.scan(OBSERVATIONS, {"granularity": "5min"}).filter(
        pl.col("metric") == "request_count").select("series_id", "ts", "value").collect()
    sims = {}
    for (series_id,), frame in requests.sort("ts").group_by("series_id"):
        load = LoadSeries.from_frame(frame.select("ts", "value"), "5min")
        replay = load.freq.steps(REPLAY_DAYS * 86_400)
        start = len(load) - replay if len(load) >= 2 * replay else len(load) // 2
        if start * load.freq.seconds < 86_400 or not np.isfinite(load.values[start:]).any():
            continue
        sims[series_id] = simulate(load, start=start, capacity_per_server=default_capacity(load, start),
                                   price_per_server_hour=PRICE_PER_SERVER_HOUR)
    return sims
