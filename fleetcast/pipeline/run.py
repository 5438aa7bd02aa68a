"""The local pipeline: the stages a run goes through, recorded in ``runs`` whatever the outcome.

ingest (parse, validate, aggregate) → forecast (every shard with observations) → risk and plans
→ events. The same stage functions run on AWS, one Lambda invocation per shard; locally events
are appended to ``<lake>/events.jsonl`` (the EventBridge bus's stand-in).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetcast.errors import FleetcastError
from fleetcast.lake.local import LocalLake
from fleetcast.lake.tables import OBSERVATIONS
from fleetcast.pipeline.events import JsonLinesPublisher, capacity_risk_events
from fleetcast.pipeline.ingest import IngestOptions, IngestResult, ingest
from fleetcast.pipeline.runs import RunRecord, new_run_id
from fleetcast.progress import QUIET, Progress

EVENTS_FILE = "events.jsonl"


@dataclass(frozen=True)
class RunResult:
    run_id: str
    ingest: IngestResult | None
    seconds: float
    shards: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    events: int = 0


def run_pipeline(paths: list[Path], lake: LocalLake, *, trigger: str, options: IngestOptions = IngestOptions(),
                 progress: Progress = QUIET, run_id: str | None = None, forecast: bool = True) -> RunResult:
    """Ingest ``paths`` into ``lake``, then forecast, flag and plan everything in it; record the run.

    With no ``paths`` the run only refreshes forecasts (the nightly schedule). A run that fails on
    the user's input is recorded as failed, with the reason, and nothing else is written.
    """
    start = time.perf_counter()
    record = RunRecord(run_id or new_run_id(), trigger, [str(p) for p in paths])
    result = None
    if paths:
        try:
            result = ingest(paths, lake, record.run_id, options, progress)
        except FleetcastError as exc:
            record.finish(lake, "failed", str(exc))
            raise
        record.lines_read = sum(s.lines_read for s in result.sources)
        record.lines_rejected = sum(s.lines_rejected for s in result.sources)
        record.gaps = result.gaps
    shards, plan, events = [], {}, 0
    if forecast:
        shards, plan, events = _forecast_and_plan(lake, record, progress)
    else:
        record.series, record.observations = (result.series, result.observations) if result else (0, 0)
    record.finish(lake, "succeeded", f"ingested {len(paths)} input(s); {events} new capacity risk(s)")
    return RunResult(record.run_id, result, time.perf_counter() - start, shards, plan, events)


def _forecast_and_plan(lake: LocalLake, record: RunRecord, progress: Progress):
    from fleetcast.pipeline.forecast import forecast_shards  # LightGBM: only when forecasting
    from fleetcast.pipeline.risk_plan import assess_run

    present = sorted(int(s) for s in lake.scan(OBSERVATIONS).select("shard").unique().collect()["shard"])
    with progress.step(f"forecasting {len(present)} shard(s): operational and capacity forecasts, risk flags"):
        shards = [forecast_shards(lake, present, record.run_id)]
    with progress.step("risk flags, scaling plans and simulations"):
        plan = assess_run(lake, record.run_id)
    events = capacity_risk_events(record.run_id, plan.pop("new_risks"))
    JsonLinesPublisher(lake.root / EVENTS_FILE).publish(events)
    record.series = sum(s["series"] for s in shards)
    record.observations = sum(s["observations"] for s in shards)
    versions = sorted({v for s in shards if s.get("model_version") for v in s["model_version"].split(",")})
    record.model_version = ",".join(versions) or None
    return shards, plan, len(events)
