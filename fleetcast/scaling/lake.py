"""Write simulations to the lake's ``scaling_plans`` and ``simulations`` tables."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from fleetcast.lake.local import LocalLake
from fleetcast.lake.tables import SCALING_PLANS, SIMULATIONS, shard_of
from fleetcast.scaling.compare import Simulation


def write_simulations(lake: LocalLake, run_id: str, simulations: Mapping[str, Simulation]) -> dict[str, int]:
    """Write every series' plans and results; one file per table, run and shard.

    Give all series of a run in one call: re-running the run replaces each shard's file (a shard's
    series are written together). Returns the rows written per table.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from fleetcast.forecast.frequency import Frequency
    >>> from fleetcast.scaling import LoadSeries, simulate
    >>> s = LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("1h"), np.tile([10.0, 30.0], 48))
    >>> sim = simulate(s, start=48, capacity_per_server=10.0, policies=[], match_reactive=False)
    >>> write_simulations(LocalLake(tempfile.mkdtemp()), "run-1", {"web": sim})
    {'scaling_plans': 96, 'simulations': 2}
    """
    by_shard: dict[int, list[str]] = {}
    for series_id in simulations:
        by_shard.setdefault(shard_of(series_id), []).append(series_id)
    written = {SCALING_PLANS.name: 0, SIMULATIONS.name: 0}
    for shard, ids in sorted(by_shard.items()):
        plans = pl.concat([simulations[i].plan_rows(i, run_id) for i in ids])
        results = pl.concat([simulations[i].simulation_rows(i, run_id) for i in ids], how="diagonal_relaxed")
        partition = {"run_id": run_id, "shard": shard}
        lake.write(SCALING_PLANS, plans, partition=partition)
        lake.write(SIMULATIONS, results, partition=partition)
        written[SCALING_PLANS.name] += plans.height
        written[SIMULATIONS.name] += results.height
    return written
