"""One run, one table: every policy replayed over the same load, with static peak and reactive.

:func:`simulate` is what the CLI, the benchmark and the pipeline call. Forecasts are made once per
refresh and shared by every predictive policy with the same metric delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import polars as pl

from fleetcast.errors import FleetcastError
from fleetcast.scaling.baseline import SeasonalBaseline
from fleetcast.scaling.planner import ForecastBook, Forecaster, Plan, forecast_book, plan
from fleetcast.scaling.policy import PREDICTIVE_PRESETS, PRESETS, ScalingPolicy
from fleetcast.scaling.series import LoadSeries
from fleetcast.scaling.simulator import PolicyResult, replay, static_plan, static_servers

MIN_HISTORY_SECONDS = 86_400
MATCH_TARGETS = tuple(round(0.30 + 0.05 * k, 2) for k in range(14))  # 30% .. 95%


@dataclass(frozen=True)
class Simulation:
    """The outcome of :func:`simulate`: one result and one plan per policy (static and reactive included)."""

    load: LoadSeries
    start: int
    capacity_per_server: float
    price_per_server_hour: float
    static_utilisation: float
    static_servers: int
    forecaster: str
    reforecast_every: int
    policies: dict[str, ScalingPolicy]
    plans: dict[str, Plan]
    results: list[PolicyResult] = field(default_factory=list)

    def table(self) -> pl.DataFrame:
        """One row per policy: static_peak, the policies as given, reactive, then reactive@<policy>."""
        return pl.DataFrame([r.as_dict() for r in self.results])

    def summary(self) -> dict[str, object]:
        """The replay's settings, for the JSON output and the table's header."""
        times = self.load.times(np.array([self.start, len(self.load) - 1]))
        return {
            "start": str(times[0].astype("datetime64[s]")), "end": str(times[1].astype("datetime64[s]")),
            "freq": self.load.freq.name, "intervals": len(self.load) - self.start,
            "history_intervals": self.start,
            "capacity_per_server": self.capacity_per_server,
            "price_per_server_hour": self.price_per_server_hour,
            "static_servers": self.static_servers,
            "static_sizing": (f"ceil(replay peak / (capacity_per_server * {self.static_utilisation})): "
                              f"the replay's observed peak at {self.static_utilisation:.0%} utilisation"),
            "sla_violation": "interval with known load above warm capacity; share of observed intervals",
            "gaps": "billed (the fleet keeps running), never violations, left out of the share",
            "forecaster": self.forecaster, "reforecast_every_intervals": self.reforecast_every,
        }

    def to_json(self) -> dict[str, object]:
        settings = {name: p.to_dict() for name, p in self.policies.items()}
        settings["static_peak"] = {"servers": self.static_servers, "utilisation": self.static_utilisation}
        return {"policies": [{**r.as_dict(), "settings": settings.get(r.name)} for r in self.results],
                "replay": self.summary()}

    def plan_rows(self, series_id: str, run_id: str) -> pl.DataFrame:
        """Rows of the ``scaling_plans`` table: one per policy and replayed interval."""
        frames = []
        times = self.load.times(np.arange(self.start, len(self.load)))
        actual = self.load.values[self.start:]
        for name, p in self.plans.items():
            capacity = p.warm * self.capacity_per_server
            frames.append(pl.DataFrame({
                "series_id": series_id, "policy": name, "ts": times, "servers": p.servers,
                "warm_servers": p.warm, "capacity": capacity.astype(float),
                "action": p.action.astype(str), "reason": p.reason,
                "planned_load": pl.Series(p.demand, dtype=pl.Float64, nan_to_null=True),
                "load": pl.Series(actual, dtype=pl.Float64, nan_to_null=True),
                "sla_violation": np.nan_to_num(actual) > capacity + 1e-9,
                "run_id": run_id,
            }).with_columns(sla_violation=pl.when(pl.col("load").is_not_null()).then("sla_violation")))
        return pl.concat(frames)

    def simulation_rows(self, series_id: str, run_id: str) -> pl.DataFrame:
        """Rows of the ``simulations`` table: one per policy."""
        s = self.summary()
        times = self.load.times(np.array([self.start, len(self.load) - 1])).tolist()
        extra = {"series_id": series_id, "start": times[0], "end": times[1], "freq": s["freq"],
                 "capacity_per_server": self.capacity_per_server,
                 "price_per_server_hour": self.price_per_server_hour,
                 "static_servers": self.static_servers, "forecaster": self.forecaster, "run_id": run_id}
        rows = []
        for r in self.results:
            p = self.policies.get(r.name)
            row = r.as_dict()
            rows.append({**extra, "policy": row.pop("name"), **row,
                         "target_utilisation": p.target_utilisation if p else self.static_utilisation,
                         "quantile": p.quantile if p and p.kind == "predictive" else None})
        return pl.DataFrame(rows)


def resolve_policies(names: list[str] | None = None,
                     custom: list[ScalingPolicy] | None = None) -> list[ScalingPolicy]:
    """The policies of a run: the named presets/custom ones (all predictive presets and the custom
    ones when ``names`` is empty), plus the ``reactive`` preset unless a custom policy named
    ``reactive`` replaces it.

    Examples
    --------
    >>> [p.name for p in resolve_policies(["aggressive"])]
    ['aggressive', 'reactive']
    """
    custom = list(custom or [])
    known = {**PRESETS, **{p.name: p for p in custom}}
    if "static_peak" in known:
        raise FleetcastError("'static_peak' is reserved for the static fleet; rename that policy")
    wanted = [n for n in (names or [*PREDICTIVE_PRESETS, *(p.name for p in custom)]) if n != "static_peak"]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise FleetcastError(f"unknown policy {unknown[0]!r} (known: static_peak, {', '.join(known)})")
    chosen = [known[n] for n in dict.fromkeys(wanted)]
    return _with_reactive(chosen)


def _with_reactive(chosen: list[ScalingPolicy]) -> list[ScalingPolicy]:
    """``chosen`` with a reactive policy named ``reactive`` (the preset unless one is given)."""
    named = [p for p in chosen if p.name == "reactive"]
    if named and named[0].kind != "reactive":
        raise FleetcastError("the policy named 'reactive' must have kind 'reactive'")
    return chosen if named else [*chosen, PRESETS["reactive"]]
    return chosen


def simulate(load: LoadSeries, *, start: int | datetime | np.datetime64, capacity_per_server: float,
             policies: list[ScalingPolicy] | None = None, price_per_server_hour: float = 1.0,
             forecaster: Forecaster | None = None, reforecast_every: int | None = None,
             static_utilisation: float = 0.7, match_reactive: bool = True) -> Simulation:
    """Replay ``load`` from ``start`` under every policy, static peak and reactive included.

    Parameters
    ----------
    load
        The whole series; data before ``start`` is history only.
    start
        First replayed interval (grid position or time).
    capacity_per_server
        Load one server carries at 100% (same unit as the load per interval).
    policies
        Defaults to the three predictive presets; the ``reactive`` preset is added unless a
        policy named ``reactive`` is given.
    forecaster
        ``forecaster(history, horizon, freq)``; :class:`SeasonalBaseline` when None.
    reforecast_every
        Intervals between forecasts (default: one hour's worth, at least one interval).
    static_utilisation
        Utilisation at which the static fleet carries the replay's peak.
    match_reactive
        Also add, per predictive policy, ``reactive@<name>``: the reactive policy at the cheapest
        target (30-95%) with no more SLA-violating intervals (an equal-SLA yardstick, in hindsight).

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> day = np.r_[np.full(8, 20.0), np.full(12, 90.0), np.full(4, 40.0)]
    >>> s = LoadSeries(np.datetime64("2024-01-01"), Frequency.parse("1h"), np.tile(day, 14))
    >>> sim = simulate(s, start=24 * 7, capacity_per_server=10.0)
    >>> {r.name: r.sla_violation_intervals for r in sim.results if r.kind != "reactive-matched"}
    {'static_peak': 0, 'conservative': 0, 'balanced': 0, 'aggressive': 0, 'reactive': 3}
    """
    if capacity_per_server <= 0 or not np.isfinite(capacity_per_server):
        raise FleetcastError(f"capacity per server must be a positive number (got {capacity_per_server})")
    if price_per_server_hour < 0 or not np.isfinite(price_per_server_hour):
        raise FleetcastError(f"price per server-hour must be >= 0 (got {price_per_server_hour})")
    first = start if isinstance(start, int | np.integer) else load.index_of(start)
    if not 0 <= first < len(load):
        raise FleetcastError("the replay start is not inside the load series")
    chosen = policies if policies is not None else resolve_policies()
    chosen = _with_reactive(chosen)
    predictive = [p for p in chosen if p.kind == "predictive"]
    if predictive and first * load.freq.seconds < MIN_HISTORY_SECONDS:
        raise FleetcastError("predictive policies need at least one day of history before the replay "
                             f"start (got {first} intervals of {load.freq.name})")
    forecaster = forecaster or SeasonalBaseline()
    every = reforecast_every or load.freq.steps(3600)
    books: dict[int, ForecastBook] = {}
    for delay in sorted({p.metric_delay for p in predictive}):
        lead = max(p.warmup for p in predictive if p.metric_delay == delay)
        books[delay] = forecast_book(load, first, forecaster, every=every, lead=lead, delay=delay)
    static = static_plan(load, first, capacity_per_server, static_utilisation)
    plans = {"static_peak": static}
    for p in chosen:
        plans[p.name] = plan(p, load, first, capacity_per_server, books.get(p.metric_delay))
    step = load.step_hours * price_per_server_hour
    static_cost = float(static.servers.sum()) * step
    peak = float(static.demand[0]) if static.demand.size else 0.0
    full_cost = static_servers(peak, capacity_per_server, 1.0) * static.servers.size * step
    def measure(p: Plan) -> PolicyResult:
        return replay(p, load, capacity_per_server, price_per_server_hour, static_cost, full_cost)

    results = [measure(p) for p in plans.values()]
    settings = {p.name: p for p in chosen}
    if match_reactive and predictive:
        base = next(p for p in chosen if p.name == "reactive")
        for name, policy, p, result in _matched_reactive(base, predictive, results, load, first,
                                                          capacity_per_server, measure):
            plans[name], settings[name] = p, policy
            results.append(result)
    return Simulation(load, first, capacity_per_server, price_per_server_hour, static_utilisation,
                      int(static.servers[0]) if static.servers.size else 0,
                      getattr(forecaster, "name", getattr(forecaster, "__name__", "forecaster")),
                      every, settings, plans, results)


def _matched_reactive(base: ScalingPolicy, predictive: list[ScalingPolicy], results: list[PolicyResult],
                      load: LoadSeries, start: int, capacity: float, measure):
    """For each predictive policy, the cheapest target of ``base`` (30-95%) with no more
    SLA-violating intervals; the fewest-violation target when none is as good. Chosen in hindsight:
    a yardstick for "what would reactive scaling cost at the same SLA", not a deployable policy."""
    tried = []
    for target in MATCH_TARGETS:
        policy = base.with_(target_utilisation=target)
        p = plan(policy, load, start, capacity)
        tried.append((policy, p, measure(p)))
    by_name = {r.name: r for r in results}
    for pred in predictive:
        bar = by_name[pred.name].sla_violation_intervals
        good = [t for t in tried if t[2].sla_violation_intervals <= bar]
        pool = good or [t for t in tried if t[2].sla_violation_intervals
                        == min(x[2].sla_violation_intervals for x in tried)]
        policy, p, result = min(pool, key=lambda t: t[2].cost)
        name = f"{base.name}@{pred.name}"
        policy = policy.with_(name=name)
        p = replace(p, name=name, kind="reactive-matched")
        yield name, policy, p, replace(result, name=name, kind="reactive-matched")
