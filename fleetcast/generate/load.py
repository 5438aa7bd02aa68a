"""A request-count series for the scaling simulator and the forecasting demos."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.generate import noise, traffic
from fleetcast.generate.timegrid import as_datetime, step_minutes, time_index


def generate_load_series(start: str | date | datetime = "2025-01-06", days: int = 56, freq: str = "5min",
                         mean_rate_per_min: float = 200.0, growth_per_year: float = 0.3, seed: int = 0,
                         utc_offset: str = "-0500", n_bursts: int | None = None,
                         path: str | Path | None = None) -> pl.DataFrame:
    """Requests per interval with daily and weekly cycles, growth, noise and flash-crowd bursts.

    Parameters
    ----------
    start
        First UTC instant (a date means midnight UTC).
    days
        Length in days.
    freq
        ``"5min"``, ``"15min"`` or ``"1h"``.
    mean_rate_per_min
        Mean requests per minute over the first week, bursts not counted.
    growth_per_year
        Exponential growth of the rate (0.3 = +30% a year, continuously compounded).
    seed
        Seed of ``numpy.random.default_rng``.
    utc_offset
        Local time the cycles follow (``+hhmm`` / ``-hhmm``).
    n_bursts
        Flash crowds (default one a week, at least one).
    path
        When given, also written there as CSV ``timestamp,value`` (ISO 8601 ``Z`` timestamps).

    Returns
    -------
    polars.DataFrame
        ``timestamp`` (naive UTC, the start of each interval) and ``value`` (requests, Int64).

    Examples
    --------
    >>> load = generate_load_series(days=14, seed=1)
    >>> load.height, load.columns
    (4032, ['timestamp', 'value'])
    >>> 150 * 5 < load["value"].mean() < 260 * 5
    True
    """
    minutes, first = step_minutes(freq), as_datetime(start)
    rng = np.random.default_rng(seed)
    n_steps, n_min = days * 1440 // minutes, days * 1440
    week = traffic.minute_of_week(first, n_min, 1, traffic.parse_offset(utc_offset))
    bursts = traffic.draw_bursts(rng, n_min, max(1, round(days / 7)) if n_bursts is None else n_bursts)
    growth = np.exp(growth_per_year * np.arange(n_min) / 1440 / 365.25)
    rate = mean_rate_per_min * traffic.weekly_profile()[week] * growth
    rate *= traffic.burst_multiplier(n_min, bursts)
    per_step = rate[: n_steps * minutes].reshape(n_steps, minutes).sum(axis=1)
    wobble = np.exp(0.08 * noise.ar1(rng, 1, n_steps, noise.step_phi(0.7, minutes))[0] - 0.0032)
    frame = pl.DataFrame({"timestamp": pl.Series(time_index(first, n_steps, minutes)),
                          "value": rng.poisson(per_step * wobble).astype(np.int64)})
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(path)
    return frame
