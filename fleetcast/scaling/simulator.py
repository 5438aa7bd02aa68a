"""Replay actual load against plans: cost, saving against a static fleet, SLA-violating intervals.

Definitions (one interval = one step of the load series):

- **cost** = server-hours x price; every running server is billed, warming up or not, and in gaps too
  (the fleet keeps running when the load is not logged).
- **SLA-violating interval**: an interval with known load above the *warm* capacity
  (``load > warm_servers * capacity_per_server``). Gaps (unknown load) are neither violations nor
  counted in the share: ``sla_violation_pct = violations / observed intervals``.
- **static_peak**: the fixed fleet a capacity planner would buy for this replay: enough servers to
  carry the replay's highest observed load at the static utilisation (default 70%, the balanced
  and reactive target), i.e. ``ceil(peak / (capacity_per_server * 0.7))``, always warm, never scaled.
  Sizing for peak *with the same headroom the service runs at* is the usual reading; the stricter
  fleet that only just carries the peak at 100% is reported beside it
  (``saving_vs_static_100pct``) so either reading can be read off the same run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from fleetcast.scaling.engine import servers_needed
from fleetcast.scaling.planner import Plan
from fleetcast.scaling.series import LoadSeries

_EPS = 1e-9


@dataclass(frozen=True)
class PolicyResult:
    """One row of the comparison table (the JSON ``policies`` entries)."""

    name: str
    kind: str
    cost: float
    saving_vs_static_pct: float
    sla_violation_pct: float
    sla_violation_intervals: int
    scaling_events: int
    scale_outs: int
    scale_ins: int
    server_hours: float
    mean_servers: float
    max_servers: int
    mean_utilisation_pct: float
    unserved_load_pct: float
    saving_vs_static_100pct: float
    intervals: int
    observed_intervals: int
    gap_intervals: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def static_servers(peak_load: float, capacity_per_server: float, utilisation: float = 0.7) -> int:
    """The static fleet sized for ``peak_load`` at ``utilisation`` (at least one server).

    Examples
    --------
    >>> static_servers(655, 50), static_servers(655, 50, utilisation=1.0)
    (19, 14)
    """
    return max(1, servers_needed(peak_load, capacity_per_server, utilisation))


def static_plan(load: LoadSeries, start: int, capacity_per_server: float,
                utilisation: float = 0.7) -> Plan:
    """The ``static_peak`` plan: a constant fleet sized on the replay's observed peak (hindsight).

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> s = LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("1h"), np.array([9.0, 40, np.nan, 70]))
    >>> static_plan(s, 1, 10.0).servers.tolist()
    [10, 10, 10]
    """
    replay = load.values[start:]
    peak = float(np.nanmax(replay)) if np.isfinite(replay).any() else 0.0
    count = static_servers(peak, capacity_per_server, utilisation)
    servers = np.full(replay.size, count, dtype=np.int64)
    reason = [f"hold: static fleet for the replay's peak {peak:.4g} at {utilisation:.0%}"] * replay.size
    return Plan("static_peak", "static", start, np.full(replay.size, peak), servers, servers.copy(),
                np.full(replay.size, "hold", dtype=object), reason)


def replay(plan: Plan, load: LoadSeries, capacity_per_server: float, price_per_server_hour: float,
           static_cost: float, static_100pct_cost: float) -> PolicyResult:
    """Measure a plan against the load it was made for.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> s = LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("1h"), np.array([10.0, 30, np.nan, 5]))
    >>> p = Plan("p", "reactive", 0, s.values, np.array([2, 2, 3, 1]), np.array([2, 2, 2, 1]),
    ...          np.array(["hold", "hold", "out", "in"], dtype=object), [""] * 4)
    >>> r = replay(p, s, 10.0, 0.5, static_cost=8.0, static_100pct_cost=8.0)
    >>> r.cost, r.saving_vs_static_pct, r.sla_violation_intervals, r.sla_violation_pct
    (4.0, 50.0, 1, 33.333)
    """
    actual = load.values[plan.start: plan.start + plan.servers.size]
    seen = np.isfinite(actual)
    capacity = plan.warm * capacity_per_server
    over = seen & (np.nan_to_num(actual) > capacity + _EPS)
    server_hours = float(plan.servers.sum()) * load.step_hours
    cost = server_hours * price_per_server_hour
    observed = int(seen.sum())
    total_load = float(actual[seen].sum())
    unserved = float(np.maximum(actual[seen] - capacity[seen], 0).sum())
    used_capacity = float(capacity[seen].sum())
    return PolicyResult(
        name=plan.name, kind=plan.kind, cost=round(cost, 4),
        saving_vs_static_pct=_saving(cost, static_cost),
        sla_violation_pct=round(100.0 * float(over.sum()) / observed, 3) if observed else 0.0,
        sla_violation_intervals=int(over.sum()), scaling_events=plan.events,
        scale_outs=int(np.sum(plan.action == "out")), scale_ins=int(np.sum(plan.action == "in")),
        server_hours=round(server_hours, 4), mean_servers=round(float(plan.servers.mean()), 3),
        max_servers=int(plan.servers.max(initial=0)),
        mean_utilisation_pct=round(100.0 * total_load / used_capacity, 2) if used_capacity else 0.0,
        unserved_load_pct=round(100.0 * unserved / total_load, 4) if total_load else 0.0,
        saving_vs_static_100pct=_saving(cost, static_100pct_cost),
        intervals=int(plan.servers.size), observed_intervals=observed,
        gap_intervals=int(plan.servers.size - observed),
    )


def _saving(cost: float, static_cost: float) -> float:
    return round(100.0 * (1.0 - cost / static_cost), 3) + 0.0 if static_cost > 0 else 0.0


def default_capacity(load: LoadSeries, start: int, servers: int = 15) -> float:
    """A capacity per server that makes the static fleet about ``servers`` strong at 100%.

    Derived from the history's peak (before ``start``; the whole series when there is no history),
    rounded to two significant figures.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> default_capacity(LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("1h"),
    ...                             np.array([100.0, 655, 300])), 2)
    44.0
    """
    history = load.values[:start]
    if not np.isfinite(history).any():
        history = load.values
    peak = float(np.nanmax(history)) if np.isfinite(history).any() else 0.0
    if peak <= 0:
        return 1.0
    raw = peak / servers
    digits = 1 - int(math.floor(math.log10(raw)))
    return float(round(raw, digits))
