"""A synthetic server fleet with known future: utilisation history, its continuation and the truth.

One process generates history and the ``horizon_days`` after it, so forecasts made from the
history can be scored against what "really" happened, and risk flags against
:func:`~fleetcast.generate.truth.compute_truth`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from fleetcast.generate import noise, risk_classes, shapes
from fleetcast.generate.timegrid import as_datetime, local_calendar, step_minutes, time_index
from fleetcast.generate.truth import compute_truth

METRICS = shapes.METRICS
ID_PREFIX = {"web": "web", "database": "db", "batch": "batch"}
REGIONS = (("us-east", -5), ("eu-west", 0), ("eu-central", 1))
# history mean (percent) each archetype's metrics aim at before any class adjustment, and floors
LEVELS = {
    "web": ((45, 62), (45, 65), (8, 25), (20, 45)),
    "database": ((42, 58), (60, 75), (25, 45), (15, 35)),
    "batch": ((15, 30), (30, 50), (10, 25), (5, 15)),
}
IDLE_LEVELS = {"idle": ((8, 30), (8, 35), (0.5, 10), (0.5, 10)),
               "very_idle": ((1, 4.5), (8, 25), (0.3, 3), (0.3, 3))}
FLOORS = ((0.5, 3.0), (5.0, 15.0), (0.2, 2.0), (0.2, 2.0))
NOISE = {"web": (0.05, 0.015, 0.05, 0.05), "database": (0.05, 0.006, 0.05, 0.05),
         "batch": (0.04, 0.03, 0.05, 0.04)}
DAY_NOISE = np.array([0.04, 0.01, 0.04, 0.04])
SPIKES_PER_DAY = (1 / 15, 1 / 60, 1 / 20, 1 / 20)
PHI_PER_HOUR, PHI_PER_DAY = 0.8, 0.6


@dataclass(frozen=True)
class Fleet:
    """A generated fleet.

    Attributes
    ----------
    metrics
        History, wide: ``timestamp`` (UTC, naive), ``server_id``, ``cpu, memory, disk_io, network``
        (percent, 2 decimals), sorted by server then time.
    future
        The ``horizon_days`` after the history, same layout, from the same process.
    truth
        Per server and metric, from :func:`~fleetcast.generate.truth.compute_truth`.
    servers
        Per server: ``server_id, archetype, region, utc_offset_h`` (the local time its cycles
        follow), ``risk_class`` (intended, see :mod:`~fleetcast.generate.risk_classes`; the truth
        is what counts), ``driver_metric`` (the metric carrying that risk, null if none),
        ``growth_per_year`` (load: cpu, disk I/O, network; continuously compounded),
        ``memory_growth_per_year``, ``change_point_days_before_end`` and
        ``growth_per_year_before_change`` (growth changed that many days before the end of history),
        and ``floor_<metric>``, ``scale_<metric>`` (value = floor + scale × shape × growth + noise).
    history_start, history_end
        First timestamp of the history and first timestamp of the future (= end of history).
    """

    metrics: pl.DataFrame
    future: pl.DataFrame
    truth: pl.DataFrame
    servers: pl.DataFrame
    freq: str
    history_start: datetime
    history_end: datetime
    horizon_days: int


def generate_fleet(n_servers: int = 30, start: str | date | datetime = "2024-11-15", days: int = 180,
                   freq: str = "1h", horizon_days: int = 90, seed: int = 0) -> Fleet:
    """Generate a fleet of web, database and batch servers with a known future.

    Parameters
    ----------
    n_servers
        At least 10, so that every risk class (see :mod:`fleetcast.generate.risk_classes`) is present.
    start
        First UTC day of the history (midnight). The default puts month ends in the history and a
        quarter end 45–47 days into the future.
    days
        Days of history (at least 60).
    freq
        ``"5min"``, ``"15min"`` or ``"1h"``.
    horizon_days
        Days of future generated after the history (at least 90: the truth looks 90 days ahead).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same fleet.

    Returns
    -------
    Fleet

    Examples
    --------
    >>> fleet = generate_fleet(n_servers=10, days=60, seed=1)
    >>> fleet.metrics.columns
    ['timestamp', 'server_id', 'cpu', 'memory', 'disk_io', 'network']
    >>> fleet.metrics.height, fleet.future.height
    (14400, 21600)
    >>> fleet.history_end
    datetime.datetime(2025, 1, 14, 0, 0)
    """
    minutes, first = step_minutes(freq), as_datetime(start)
    if first != datetime(first.year, first.month, first.day):
        raise ValueError(f"start must be a midnight (UTC), not {first.isoformat()}")
    if days < 60 or horizon_days < 90:
        raise ValueError("days must be at least 60 and horizon_days at least 90")
    rng = np.random.default_rng(seed)
    servers = _draw_servers(rng, n_servers, days)
    per_day = 1440 // minutes
    values = _simulate(rng, servers, first, days, horizon_days, minutes)
    cut = days * per_day
    stamps = time_index(first, values.shape[2], minutes)
    history = _frame(stamps[:cut], servers["server_id"], values[:, :, :cut])
    future = _frame(stamps[cut:], servers["server_id"], values[:, :, cut:])
    return Fleet(
        metrics=history, future=future, truth=compute_truth(history, future),
        servers=pl.DataFrame({k: v for k, v in servers.items() if k != "_candidates"}), freq=freq,
        history_start=first, history_end=first + timedelta(days=days), horizon_days=horizon_days,
    )


def _draw_servers(rng: np.random.Generator, n_servers: int, days: int) -> dict[str, list]:
    """Class, archetype, name, region and growth of every server, in server-id order."""
    classes = risk_classes.plan(n_servers)
    archetypes: list[str] = []
    for name in risk_classes.CLASSES:
        order = rng.permutation(len(shapes.ARCHETYPES))
        archetypes += [shapes.ARCHETYPES[order[i % 3]] for i in range(classes.count(name))]
    pairs = [(classes[i], archetypes[i]) for i in rng.permutation(n_servers)]
    counters = dict.fromkeys(shapes.ARCHETYPES, 0)
    width = max(2, len(str(n_servers)))
    rows = []
    for risk_class, archetype in pairs:
        counters[archetype] += 1
        region, offset = REGIONS[rng.choice(3, p=(0.5, 0.2, 0.3))]
        candidates = risk_classes.driver_candidates(rng, archetype, risk_class)
        driver = candidates[0] if candidates else None
        growth = rng.uniform(*risk_classes.GROWTH[risk_class])
        change = rng.uniform(30, min(90, days - 10)) if rng.random() < 0.4 else None
        before = growth * rng.uniform(0.0, 0.4)
        if risk_class == "cooling":  # a workload moving away since a month or two
            change, before = rng.uniform(40, 75), rng.uniform(0.0, 0.2)
        memory = {"web": 0.3 * growth, "database": rng.uniform(0.05, 0.25), "batch": rng.uniform(-0.05, 0.1)}
        memory_growth = memory[archetype]
        if driver == "memory":
            memory_growth = rng.uniform(*risk_classes.MEMORY_DRIVER_GROWTH[risk_class])
        rows.append({
            "server_id": f"{ID_PREFIX[archetype]}-{counters[archetype]:0{width}d}", "archetype": archetype,
            "region": region, "utc_offset_h": offset, "risk_class": risk_class, "driver_metric": driver,
            "_candidates": candidates,
            "growth_per_year": round(growth, 4), "memory_growth_per_year": round(memory_growth, 4),
            "change_point_days_before_end": None if change is None else round(change, 1),
            "growth_per_year_before_change": None if change is None else round(before, 4),
        })
    rows.sort(key=lambda row: row["server_id"])
    return {key: [row[key] for row in rows] for key in rows[0]}


def _growth(servers: dict[str, list], days_from_end: np.ndarray) -> np.ndarray:
    """Growth factors ``(servers, metrics, steps)``, 1 at the end of the history."""
    rate = np.array(servers["growth_per_year"])[:, None]
    change = np.array([np.inf if c is None else c for c in servers["change_point_days_before_end"]])[:, None]
    pairs = zip(servers["growth_per_year"], servers["growth_per_year_before_change"], strict=True)
    before = np.array([r if b is None else b for r, b in pairs])
    since = np.maximum(days_from_end[None, :], -change)
    load = np.exp((rate * since + before[:, None] * (days_from_end[None, :] - since)) / 365.25)
    memory = np.exp(np.array(servers["memory_growth_per_year"])[:, None] * days_from_end[None, :] / 365.25)
    return np.stack([load, memory, load, load], axis=1)


def _unscaled(rng: np.random.Generator, servers: dict[str, list], first: datetime, days: int, n_days: int,
              minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Shape x growth with noise: without spikes and with spikes, ``(servers, metrics, steps)`` each."""
    archetype = np.array(servers["archetype"])
    per_day = 1440 // minutes
    n_steps = n_days * per_day
    x = np.empty((len(archetype), len(METRICS), n_steps))
    for kind in shapes.ARCHETYPES:
        rows = np.flatnonzero(archetype == kind)
        cal = local_calendar(first, n_steps, minutes, np.array(servers["utc_offset_h"])[rows])
        x[rows] = shapes.archetype_shapes(kind, cal, shapes.draw_traits(rng, kind, len(rows)))
    groups = np.array([shapes.ARCHETYPES.index(kind) for kind in archetype])
    busy_days = np.repeat(noise.mixed(rng, groups, 1, n_days, PHI_PER_DAY), per_day, axis=2)
    sigma = np.array([NOISE[kind] for kind in archetype])[:, :, None]
    z = noise.mixed(rng, groups, len(METRICS), n_steps, noise.step_phi(PHI_PER_HOUR, minutes))
    x *= 1.0 + DAY_NOISE[None, :, None] * busy_days
    z *= sigma
    x += z
    del z
    np.maximum(x, 0.0, out=x)
    bumps = np.stack([noise.spikes(rng, len(archetype), n_steps, minutes, per_day)
                      for per_day in SPIKES_PER_DAY], axis=1)
    x *= _growth(servers, np.arange(n_steps) * minutes / 1440.0 - days)
    bumps *= _growth(servers, np.arange(n_steps) * minutes / 1440.0 - days)
    bumps += x
    return x, bumps


def _daily_p95(y: np.ndarray, per_day: int) -> np.ndarray:
    return np.percentile(y.reshape(*y.shape[:2], -1, per_day), 95, axis=-1)


def _simulate(rng: np.random.Generator, servers: dict[str, list], first: datetime, days: int,
              horizon_days: int, minutes: int) -> np.ndarray:
    """Utilisation percent ``(servers, metrics, steps)`` over history and future, 2 decimals."""
    per_day, n_days = 1440 // minutes, days + horizon_days
    base, full = _unscaled(rng, servers, first, days, n_days, minutes)
    q_base, q_full = _daily_p95(base, per_day), _daily_p95(full, per_day)
    del base
    history_mean = full[:, :, :days * per_day].mean(axis=2)
    floors = np.empty(history_mean.shape)
    scales = np.empty(history_mean.shape)
    for s, kind in enumerate(servers["archetype"]):
        risk_class = servers["risk_class"][s]
        levels = IDLE_LEVELS.get(risk_class, LEVELS[kind])
        targets = [rng.uniform(*levels[m]) for m in range(len(METRICS))]
        floors[s] = [min(rng.uniform(*FLOORS[m]), 0.5 * targets[m]) for m in range(len(METRICS))]
        cap = 50.0 if risk_class in ("idle", "very_idle") else rng.uniform(*risk_classes.NORMAL_CAP)
        for m in range(len(METRICS)):
            natural = (targets[m] - floors[s, m]) / history_mean[s, m]
            scales[s, m] = risk_classes.capped_scale(natural, q_full[s, m], floors[s, m], cap)
        tried = {}
        for name in servers["_candidates"][s]:  # the first metric whose noise allows the class
            m = METRICS.index(name)
            tried[m], ok = risk_classes.driver_scale(risk_class, q_base[s, m], q_full[s, m], floors[s, m],
                                                     days, rng)
            if ok:
                break
        if tried:
            m = next(reversed(tried)) if ok else next(iter(tried))  # else the nearest on the first choice
            scales[s, m], servers["driver_metric"][s] = tried[m], METRICS[m]
    for m, metric in enumerate(METRICS):
        servers[f"floor_{metric}"] = np.round(floors[:, m], 3).tolist()
        servers[f"scale_{metric}"] = np.round(scales[:, m], 3).tolist()
    values = np.clip(floors[:, :, None] + scales[:, :, None] * full, 0.0, 100.0)
    _add_incidents(rng, values, servers["risk_class"], days, per_day)
    return np.round(values, 2)


def _add_incidents(rng: np.random.Generator, values: np.ndarray, classes: list[str], days: int,
                   per_day: int) -> None:
    """One 4–8 hour cpu incident (84–95%) in the last month of history of each ``incident`` server."""
    cpu = METRICS.index("cpu")
    for s in (i for i, name in enumerate(classes) if name == "incident"):
        day = days - int(rng.integers(3, 28))
        begin = day * per_day + int(rng.uniform(2, 14) * per_day / 24)
        end = begin + max(2, int(rng.uniform(4, 8) * per_day / 24))
        level = rng.uniform(84, 95) + rng.normal(0, 1.5, end - begin)
        values[s, cpu, begin:end] = np.clip(np.maximum(values[s, cpu, begin:end], level), 0, 100)


def _frame(stamps: np.ndarray, server_ids: list[str], values: np.ndarray) -> pl.DataFrame:
    n_servers, _, n_steps = values.shape
    columns = {"timestamp": pl.Series(np.tile(stamps, n_servers)),
               "server_id": pl.Series(server_ids, dtype=pl.String).gather(
                   np.repeat(np.arange(n_servers), n_steps))}
    columns.update({metric: values[:, m, :].ravel() for m, metric in enumerate(METRICS)})
    return pl.DataFrame(columns)
