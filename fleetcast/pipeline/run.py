"""The local pipeline: the stages a run goes through, recorded in ``runs`` whatever the outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fleetcast.errors import FleetcastError
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.ingest import IngestOptions, IngestResult, ingest
from fleetcast.pipeline.runs import RunRecord, new_run_id
from fleetcast.progress import QUIET, Progress


@dataclass(frozen=True)
class RunResult:
    run_id: str
    ingest: IngestResult
    seconds: float


def run_pipeline(paths: list[Path], lake: LocalLake, *, trigger: str, options: IngestOptions = IngestOptions(),
                 progress: Progress = QUIET, run_id: str | None = None) -> RunResult:
    """Ingest ``paths`` into ``lake`` (parse, validate, aggregate) and record the run.

    A run that fails on the user's input is recorded as failed, with the reason, and nothing else
    is written.
    """
    start = time.perf_counter()
    record = RunRecord(run_id or new_run_id(), trigger, [str(p) for p in paths])
    try:
        result = ingest(paths, lake, record.run_id, options, progress)
    except FleetcastError as exc:
        record.finish(lake, "failed", str(exc))
        raise
    record.lines_read = sum(s.lines_read for s in result.sources)
    record.lines_rejected = sum(s.lines_rejected for s in result.sources)
    record.series, record.observations, record.gaps = result.series, result.observations, result.gaps
    record.finish(lake, "succeeded", f"ingested {len(result.sources)} input(s)")
    return RunResult(record.run_id, result, time.perf_counter() - start)
