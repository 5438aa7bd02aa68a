"""The last stage of a pipeline run on AWS: assess risk and plans, announce new risks, record the run.

``assess_run`` (:mod:`fleetcast.pipeline.risk_plan`) writes ``risk_flags``, ``scaling_plans`` and
``simulations`` for the run and answers a summary whose ``new_risks`` lists the run's new high /
very-high flags; each becomes one ``CapacityRiskDetected`` event. The run's row in ``runs`` is then
written (keyed by run id, so finishing a run again replaces it). The answer goes into the state
machine's output and the ``PipelineRunSucceeded`` event, so the risk list itself is replaced by counts.

Expected of the stages' summaries (keys that are missing count as 0 / unknown):

- forecast shard summary: ``series``, ``observations``, ``gaps``, ``model_version``;
- ``assess_run`` summary: ``new_risks`` (rows with ``series_id, metric, risk_level, predicted_p95,
  first_breach, probability``, optionally ``threshold``), anything else JSON-serializable.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fleetcast.lake import tables as t
from fleetcast.pipeline.events import EventPublisher, FinishTask, capacity_risk_events, to_json
from fleetcast.pipeline.risk_plan import assess_run
from fleetcast.pipeline.runs import RunRecord, not_forecast_note, utcnow


def finish_run(lake: Any, task: FinishTask, *, publisher: EventPublisher) -> dict[str, Any]:
    """Assess the run, publish ``CapacityRiskDetected`` for its new high risks, write its ``runs`` row.

    Examples
    --------
    >>> finish_run(lake, FinishTask.from_event(payload), publisher=publisher)  # doctest: +SKIP
    {'risk_flags': 12, ..., 'capacity_risk_events': 1}
    """
    summary = dict(assess_run(lake, task.run.run_id))
    events = capacity_risk_events(task.run.run_id, summary.pop("new_risks", None) or [])
    publisher.publish(events)
    record = run_record(lake, task)
    skipped = [sid for s in task.shard_summaries() for sid in (s.get("skipped") or {})]
    record.finish(lake, "succeeded", f"forecast {record.series} series; {len(events)} new capacity risk(s)"
                                     f"{not_forecast_note(skipped)}")
    return to_json({**summary, "capacity_risk_events": len(events)})


def run_record(lake: Any, task: FinishTask) -> RunRecord:
    """The run's ``runs`` row so far: inputs and line counts from ``sources``, series from the shards."""
    run = task.run
    record = RunRecord(run.run_id, run.trigger, [], started_at=run.started() or utcnow())
    sources = lake.read(t.SOURCES).filter(pl.col("run_id") == run.run_id)
    record.inputs = sorted(sources["uri"].to_list())
    record.lines_read = int(sources["lines_read"].sum())
    record.lines_rejected = int(sources["lines_rejected"].sum())
    shards = task.shard_summaries()
    record.series = sum(int(s.get("series") or 0) for s in shards)
    record.observations = sum(int(s.get("observations") or 0) for s in shards)
    record.gaps = sum(int(s.get("gaps") or 0) for s in shards)
    versions = sorted({str(s["model_version"]) for s in shards if s.get("model_version")})
    record.model_version = ",".join(versions) or None
    return record
