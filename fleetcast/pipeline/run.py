"""The local pipeline: the stages a run goes through, recorded in ``runs`` whatever the outcome.

ingest (parse, validate, aggregate) → forecast (every shard with observations) → risk and plans
→ events. The same stage functions run on AWS, one Lambda invocation per shard; locally events
are appended to ``<lake>/events.jsonl`` (the EventBridge bus's stand-in).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from fleetcast.errors import FleetcastError
from fleetcast.lake.local import LocalLake
from fleetcast.lake.tables import OBSERVATIONS
from fleetcast.pipeline.events import JsonLinesPublisher, capacity_risk_events
from fleetcast.pipeline.ingest import IngestOptions, IngestResult, ingest
from fleetcast.pipeline.runs import RunRecord, new_run_id, not_forecast_note
from fleetcast.progress import QUIET, Progress

EVENTS_FILE = "events.jsonl"


@dataclass(frozen=True)
class RunResult:
    run_id: str
    ingest: IngestResult | None
    seconds: float
    events: int = 0  # new CapacityRiskDetected events
    not_forecast: dict[str, str] = field(default_factory=dict)  # series (server/metric) left out, and why


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
    events, not_forecast = 0, {}
    if forecast:
        events, not_forecast = _forecast_and_plan(lake, record, progress)
    else:
        record.series, record.observations = (result.series, result.observations) if result else (0, 0)
    record.finish(lake, "succeeded", f"ingested {len(paths)} input(s); {events} new capacity risk(s)"
                                     f"{not_forecast_note(not_forecast)}")
    return RunResult(record.run_id, result, time.perf_counter() - start, events, not_forecast)


def _forecast_and_plan(lake: LocalLake, record: RunRecord, progress: Progress) -> tuple[int, dict[str, str]]:
    """Forecast every shard at once (one model per kind of series), then risk and plans; the number of
    new events, and the series not forecast with why."""
    from fleetcast.pipeline.forecast import forecast_shards  # LightGBM: only when forecasting
    from fleetcast.pipeline.risk_plan import assess_run

    present = sorted(int(s) for s in lake.scan(OBSERVATIONS).select("shard").unique().collect()["shard"])
    with progress.step(f"forecasting {len(present)} shard(s): operational and capacity forecasts, risk flags"):
        summary = forecast_shards(lake, present, record.run_id)
    with progress.step("risk flags, scaling plans and simulations"):
        plan = assess_run(lake, record.run_id)
    events = capacity_risk_events(record.run_id, plan["new_risks"])
    JsonLinesPublisher(lake.root / EVENTS_FILE).publish(events)
    record.series, record.observations = summary["series"], summary["observations"]
    record.model_version = summary["model_version"]
    return len(events), summary["skipped"]
