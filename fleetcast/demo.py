"""The demo: generate a fleet's metrics and a web service's access log, then run the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fleetcast.generate import Fleet, LogTruth, add_defects, generate_access_log, generate_fleet, write_metrics


@dataclass(frozen=True)
class DemoInputs:
    metrics: Path
    access_log: Path
    fleet: Fleet
    log: LogTruth
    defects: int


def make_inputs(folder: Path, *, servers: int = 30, days: int = 180, seed: int = 0) -> DemoInputs:
    """Write the demo's inputs: fleet metrics (wide CSV with a few bad rows) and a gzip access log."""
    folder.mkdir(parents=True, exist_ok=True)
    fleet = generate_fleet(n_servers=servers, days=days, seed=seed)
    damaged, injected = add_defects(fleet.metrics, seed=seed)
    metrics = write_metrics(damaged, folder / "fleet-metrics.csv")
    log = generate_access_log(folder / "shop-access.log.gz", seed=seed, gzip=True)
    return DemoInputs(metrics, log.path, fleet, log, injected.height)
