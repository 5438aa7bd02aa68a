"""fleetcast's events and where they go: EventBridge on AWS, a JSON-lines file locally.

Events (source ``fleetcast``; DESIGN.md's contract):

- ``InputRejected``: an upload could not be used (quarantined, with the reason).
- ``CapacityRiskDetected``: one per new high / very-high risk flag of a run.
- ``PipelineRunSucceeded`` / ``PipelineRunFailed``: published by the state machine on AWS; the models
  are here so local runs can publish the same shapes.

Also here: :class:`RunContext`, the ``run`` object the state machine puts in every task's payload.
This module imports only the standard library (boto3 on first publish), so the zip functions can use it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

EVENT_SOURCE = "fleetcast"
BUS_VAR = "EVENT_BUS_NAME"
FILE_VAR = "FLEETCAST_EVENTS_FILE"
PUT_EVENTS_BATCH = 10  # EventBridge's limit per PutEvents call


@dataclass(frozen=True)
class RunContext:
    """The pipeline run a task belongs to (the state machine's ``$.run``).

    Examples
    --------
    >>> RunContext.from_dict({"run_id": "r1", "trigger": "schedule", "started_at": "2024-05-01T03:00:00Z"}).trigger
    'schedule'
    """

    run_id: str
    trigger: str = "unknown"
    started_at: str | None = None
    execution_arn: str | None = None

    @classmethod
    def from_dict(cls, run: Mapping[str, Any]) -> RunContext:
        if not isinstance(run, Mapping) or not run.get("run_id"):
            raise ValueError(f"task payload has no run.run_id: {run!r}")
        return cls(str(run["run_id"]), str(run.get("trigger") or "unknown"), run.get("started_at"),
                   run.get("execution_arn"))

    def started(self) -> datetime | None:
        """``started_at`` as a naive UTC datetime (the lake's convention), if known."""
        if not self.started_at:
            return None
        stamp = datetime.fromisoformat(self.started_at.replace("Z", "+00:00"))
        return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


@dataclass(frozen=True)
class ShardTask:
    """Payload of the forecast task: ``{"run": {...}, "shard": int}`` (one Distributed Map item).

    Examples
    --------
    >>> ShardTask.from_event({"run": {"run_id": "r1"}, "shard": 7}).shard
    7
    """

    run: RunContext
    shard: int

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ShardTask:
        shard = int(event["shard"])
        if not shard >= 0:
            raise ValueError(f"shard must be >= 0, got {shard}")
        return cls(RunContext.from_dict(event["run"]), shard)


@dataclass(frozen=True)
class FinishTask:
    """Payload of the risk-and-plan task: ``{"run": {...}, "forecast": [per-shard results]}``.

    Each shard result is ``{"shard", "status": "succeeded", "summary": {...}}`` (the state machine only
    gets here when every shard succeeded).
    """

    run: RunContext
    forecast: list[dict]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> FinishTask:
        return cls(RunContext.from_dict(event["run"]), [dict(r) for r in event.get("forecast") or []])

    def shard_summaries(self) -> list[dict]:
        return [r.get("summary") or {} for r in self.forecast if r.get("status", "succeeded") == "succeeded"]


class Event:
    """An event fleetcast publishes: a ``detail_type`` and a JSON ``detail``."""

    detail_type: ClassVar[str]

    def detail(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class InputRejected(Event):
    """An upload fleetcast cannot use; the object was copied to ``quarantine_uri`` with the reason."""

    detail_type: ClassVar[str] = "InputRejected"
    run_id: str
    uri: str
    reason: str
    quarantine_uri: str | None = None
    source_id: str | None = None
    version_id: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class CapacityRiskDetected(Event):
    """A new high / very-high capacity risk: ``metric`` of ``series_id`` predicted over its threshold."""

    detail_type: ClassVar[str] = "CapacityRiskDetected"
    run_id: str
    series_id: str
    metric: str
    risk_level: str  # "high" or "very_high"
    predicted_p95: float | None
    first_breach: str | None  # ISO date of the first day the predicted P95 is over the threshold
    probability: float | None
    threshold: float | None = None


@dataclass(frozen=True)
class PipelineRunSucceeded(Event):
    detail_type: ClassVar[str] = "PipelineRunSucceeded"
    run_id: str
    trigger: str
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineRunFailed(Event):
    detail_type: ClassVar[str] = "PipelineRunFailed"
    run_id: str
    error: str
    cause: str


RISK_LEVELS = ("high", "very_high")


def capacity_risk_events(run_id: str, risks: Iterable[Mapping[str, Any]]) -> list[CapacityRiskDetected]:
    """One ``CapacityRiskDetected`` per high / very-high risk (other levels are ignored).

    ``risks`` are rows with ``series_id, metric, risk_level, predicted_p95, first_breach, probability``
    and optionally ``threshold`` (e.g. ``assess_run``'s ``new_risks``).

    Examples
    --------
    >>> risk = {"series_id": "db-3", "metric": "cpu", "risk_level": "very_high", "predicted_p95": 93.5,
    ...         "first_breach": "2025-03-02", "probability": 0.8}
    >>> [e.series_id for e in capacity_risk_events("r1", [risk, {**risk, "risk_level": "normal"}])]
    ['db-3']
    """
    events = []
    for risk in risks:
        level = str(risk.get("risk_level", "")).lower().replace("-", "_").replace(" ", "_")
        if level not in RISK_LEVELS:
            continue
        events.append(CapacityRiskDetected(
            run_id=run_id, series_id=str(risk["series_id"]), metric=str(risk["metric"]), risk_level=level,
            predicted_p95=_number(risk.get("predicted_p95")), first_breach=_iso(risk.get("first_breach")),
            probability=_number(risk.get("probability")), threshold=_number(risk.get("threshold"))))
    return events


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...


class EventBridgePublisher:
    """Publishes to an EventBridge bus (source ``fleetcast``), 10 entries per call; raises on any failure.

    Examples
    --------
    >>> EventBridgePublisher("fleetcast-bus")
    EventBridgePublisher('fleetcast-bus')
    """

    def __init__(self, bus_name: str, *, boto3_session: Any = None) -> None:
        self.bus_name = bus_name
        self._session = boto3_session
        self._client: Any = None

    def __repr__(self) -> str:
        return f"EventBridgePublisher({self.bus_name!r})"

    def publish(self, events: Sequence[Event]) -> None:
        entries = [{"Source": EVENT_SOURCE, "DetailType": e.detail_type, "Detail": json.dumps(e.detail()),
                    "EventBusName": self.bus_name} for e in events]
        for start in range(0, len(entries), PUT_EVENTS_BATCH):
            answer = self._events().put_events(Entries=entries[start:start + PUT_EVENTS_BATCH])
            if answer.get("FailedEntryCount"):
                failed = [e for e in answer["Entries"] if e.get("ErrorCode")]
                raise RuntimeError(f"EventBridge refused {len(failed)} event(s): {failed[0]}")

    def _events(self) -> Any:
        if self._client is None:
            import boto3

            self._client = (self._session or boto3.Session()).client("events")
        return self._client


class JsonLinesPublisher:
    """Appends events to a file, one JSON object per line (``time, source, detail-type, detail``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> JsonLinesPublisher(path).publish([PipelineRunFailed("r1", "InputRejected", "empty file")])
    >>> json.loads(path.read_text())["detail-type"]
    'PipelineRunFailed'
    """

    _lock = threading.Lock()

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"JsonLinesPublisher({str(self.path)!r})"

    def publish(self, events: Sequence[Event]) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = "".join(json.dumps({"time": now, "source": EVENT_SOURCE, "detail-type": e.detail_type,
                                    "detail": e.detail()}) + "\n" for e in events)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(lines)


def read_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The events a :class:`JsonLinesPublisher` wrote (empty when there is no file)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def publisher_from_environment(environ: Mapping[str, str] = os.environ, *,
                               boto3_session: Any = None) -> EventPublisher:
    """``EVENT_BUS_NAME`` -> EventBridge (deployed); else ``FLEETCAST_EVENTS_FILE`` -> JSON lines (local).

    Examples
    --------
    >>> publisher_from_environment({"EVENT_BUS_NAME": "bus"})
    EventBridgePublisher('bus')
    >>> publisher_from_environment({"FLEETCAST_EVENTS_FILE": "/tmp/events.jsonl"})
    JsonLinesPublisher('/tmp/events.jsonl')
    """
    if environ.get(BUS_VAR):
        return EventBridgePublisher(environ[BUS_VAR], boto3_session=boto3_session)
    if environ.get(FILE_VAR):
        return JsonLinesPublisher(environ[FILE_VAR])
    raise KeyError(f"set {BUS_VAR} (EventBridge) or {FILE_VAR} (a local JSON-lines file) to publish events")


def to_json(value: Any) -> Any:
    """``value`` with numpy scalars, dates and NaN made JSON-safe (what a Lambda may return).

    Examples
    --------
    >>> import numpy as np
    >>> to_json({"n": np.int64(3), "x": [np.float64("nan")], "d": date(2024, 5, 1)})
    {'n': 3, 'x': [None], 'd': '2024-05-01'}
    """
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalar
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else str(value)
