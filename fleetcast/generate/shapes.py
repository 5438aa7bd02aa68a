"""Noise-free load shapes of the three server archetypes, per metric, in relative units.

A shape is about 0–1.3: 1 is the archetype's ordinary daily peak. The fleet generator multiplies it
by a growth curve and a scale, adds noise and a floor, and so turns it into utilisation percent.

- ``web``: strong daily cycle (trough before dawn, peak mid-afternoon local time) and quieter
  weekends; network follows the requests, memory (caches) a little.
- ``database``: steadier; memory high and nearly flat, cpu with a mild daily cycle and month-end
  reporting queries, disk I/O with a nightly backup window.
- ``batch``: nightly job window; month-end runs last longer and work harder, quarter-end runs more
  so; little load during the day.
"""

from __future__ import annotations

import numpy as np

from fleetcast.generate.timegrid import LocalCalendar

ARCHETYPES = ("web", "database", "batch")
METRICS = ("cpu", "memory", "disk_io", "network")


def diurnal(hour: np.ndarray, trough_h: np.ndarray, sharpness: float = 1.5) -> np.ndarray:
    """A 0–1 daily curve: 0 at ``trough_h``, 1 twelve hours later, sharper peaks for larger ``sharpness``.

    Examples
    --------
    >>> diurnal(np.array([4.0, 16.0]), np.array(4.0)).round(3).tolist()
    [0.0, 1.0]
    """
    return ((1.0 - np.cos(2.0 * np.pi * (hour - trough_h) / 24.0)) / 2.0) ** sharpness


def _column(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)[:, None]


def draw_traits(rng: np.random.Generator, archetype: str, n: int) -> dict[str, np.ndarray]:
    """Per-server shape parameters (phase, weekend level, job window) for ``n`` servers.

    Examples
    --------
    >>> traits = draw_traits(np.random.default_rng(0), "batch", 2)
    >>> sorted(traits)
    ['job_start_h', 'trough_h', 'weekend']
    """
    weekend = {"web": (0.6, 0.8), "database": (0.8, 0.92), "batch": (0.95, 1.1)}[archetype]
    return {
        "trough_h": rng.uniform(3.0, 5.5, n),
        "weekend": rng.uniform(*weekend, n),
        "job_start_h": rng.uniform(0.0, 2.0, n),
    }


def web(cal: LocalCalendar, traits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Shapes of web servers: request-driven, strong daily and weekly cycles.

    Examples
    --------
    >>> from datetime import datetime
    >>> from fleetcast.generate.timegrid import local_calendar
    >>> cal = local_calendar(datetime(2025, 3, 3), 24, 60, np.array([0]))
    >>> traits = {"trough_h": np.array([4.0]), "weekend": np.array([0.6])}
    >>> cpu = web(cal, traits)["cpu"][0]
    >>> round(float(cpu.max() / cpu.min()), 1)   # Monday peak over trough
    2.9
    """
    weekend = np.where(cal.weekday >= 5, _column(traits["weekend"]), 1.0)
    load = diurnal(cal.hour, _column(traits["trough_h"]), sharpness=1.0) * weekend
    return {
        "cpu": 0.35 + 0.65 * load,
        "memory": 0.80 + 0.20 * load,
        "disk_io": 0.35 + 0.45 * load,
        "network": 0.10 + 0.90 * load,
    }


def database(cal: LocalCalendar, traits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Shapes of database servers: steady, memory-heavy, nightly backups, month-end reports.

    Examples
    --------
    >>> from datetime import datetime
    >>> from fleetcast.generate.timegrid import local_calendar
    >>> cal = local_calendar(datetime(2025, 3, 3), 24, 60, np.array([0]))
    >>> traits = {"trough_h": np.array([4.0]), "weekend": np.array([0.9]), "job_start_h": np.array([1.0])}
    >>> shapes = database(cal, traits)
    >>> round(float(shapes["memory"][0].min()), 2), round(float(shapes["disk_io"][0][2]), 2)   # 02:00 backup
    (0.96, 0.97)
    """
    weekend = np.where(cal.weekday >= 5, _column(traits["weekend"]), 1.0)
    load = diurnal(cal.hour, _column(traits["trough_h"]), sharpness=1.0) * weekend
    since_backup = np.mod(cal.hour - _column(traits["job_start_h"]), 24.0)
    backup = (since_backup < 2.0).astype(float)
    reports = np.where(cal.month_end, 1.12, 1.0)
    return {
        "cpu": (0.55 + 0.45 * load) * reports,
        "memory": 0.96 + 0.04 * load,
        "disk_io": 0.40 + 0.35 * load + 0.55 * backup,
        "network": 0.45 + 0.55 * load,
    }


def batch(cal: LocalCalendar, traits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Shapes of batch servers: nightly job window, longer and harder at month and quarter end.

    The window opens at a per-server local hour between 00:00 and 02:00 and lasts 4.5 hours on an
    ordinary night (level 1.0), 8 hours at month end (1.15) and 12 hours at quarter end (1.3).

    Examples
    --------
    >>> from datetime import datetime
    >>> from fleetcast.generate.timegrid import local_calendar
    >>> cal = local_calendar(datetime(2025, 3, 28), 96, 60, np.array([0]))   # Mar 28-31
    >>> traits = {"trough_h": np.array([4.0]), "weekend": np.array([1.0]), "job_start_h": np.array([1.0])}
    >>> cpu = batch(cal, traits)["cpu"][0].reshape(4, 24)
    >>> (cpu > 0.8).sum(axis=1).tolist()   # busy hours: ordinary night, then quarter end
    [4, 11, 11, 11]
    """
    quarter, month = cal.quarter_end, cal.month_end
    hours = np.where(quarter, 12.0, np.where(month, 8.0, 4.5))
    level = np.where(quarter, 1.3, np.where(month, 1.15, 1.0))
    level = level * np.where(cal.weekday >= 5, _column(traits["weekend"]), 1.0)
    since = cal.hour - _column(traits["job_start_h"])
    ramp = np.clip(since / 0.5, 0.0, 1.0) * np.clip((hours - since) / 0.5, 0.0, 1.0)
    jobs = level * ramp * (since >= 0)
    day = diurnal(cal.hour, _column(traits["trough_h"]))
    return {
        "cpu": 0.08 + 0.10 * day + 0.90 * jobs,
        "memory": 0.35 + 0.10 * day + 0.55 * jobs,
        "disk_io": 0.08 + 0.90 * jobs,
        "network": 0.06 + 0.10 * day + 0.60 * jobs,
    }


SHAPES = {"web": web, "database": database, "batch": batch}


def archetype_shapes(archetype: str, cal: LocalCalendar, traits: dict[str, np.ndarray]) -> np.ndarray:
    """Shapes of ``archetype`` as one array ``(servers, len(METRICS), steps)`` in :data:`METRICS` order.

    Examples
    --------
    >>> from datetime import datetime
    >>> from fleetcast.generate.timegrid import local_calendar
    >>> cal = local_calendar(datetime(2025, 3, 3), 48, 60, np.array([0, 1]))
    >>> archetype_shapes("web", cal, draw_traits(np.random.default_rng(0), "web", 2)).shape
    (2, 4, 48)
    """
    shapes = SHAPES[archetype](cal, traits)
    return np.stack([shapes[m] for m in METRICS], axis=1)
