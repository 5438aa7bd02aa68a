"""Run ids and the ``runs`` table: one row per pipeline run."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261123T153000Z-4f2a9c``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class RunRecord:
    """What a run did; written to ``runs`` when it ends (successfully or not)."""

    run_id: str
    trigger: str
    inputs: list[str]
    started_at: datetime = field(default_factory=utcnow)
    lines_read: int = 0
    lines_rejected: int = 0
    series: int = 0
    observations: int = 0
    gaps: int = 0
    model_version: str | None = None

    def finish(self, lake: LocalLake, status: str, message: str) -> None:
        row = {
            "run_id": self.run_id, "trigger": self.trigger, "started_at": self.started_at,
            "finished_at": utcnow(), "status": status, "inputs": self.inputs,
            "lines_read": self.lines_read, "lines_rejected": self.lines_rejected, "series": self.series,
            "observations": self.observations, "gaps": self.gaps, "model_version": self.model_version,
            "message": message,
        }
        lake.write(t.RUNS, pl.DataFrame([row], schema=pl.Schema(t.RUNS.schema)), key=self.run_id)


def not_forecast_note(series: Collection[str], named: int = 5) -> str:
    """The part of a run's message about the series too short to forecast, naming the first
    ``named`` of them ('' when there were none).

    Examples
    --------
    >>> not_forecast_note(["web-2", "web-1"]), not_forecast_note([])
    ('; 2 series too short to forecast: web-1, web-2', '')
    >>> not_forecast_note([f"db-{i}" for i in range(8)], named=3)
    '; 8 series too short to forecast: db-0, db-1, db-2 and 5 more'
    """
    ids = sorted(series)
    if not ids:
        return ""
    more = f" and {len(ids) - named} more" if len(ids) > named else ""
    return f"; {len(ids)} series too short to forecast: {', '.join(ids[:named])}{more}"
