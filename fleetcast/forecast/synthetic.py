"""Seeded synthetic load series with known structure and noise, for tests and benchmarks.

Each series is ``level * (1 + growth * days) * daily_profile * weekly_factor + noise``: a daily cycle
(busy days, quiet nights), quieter weekends, optional linear growth and Gaussian noise of a known
standard deviation (relative to the level). The noise-free signal is returned as well, so tests can
check interval coverage against the true noise.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from fleetcast.forecast.frequency import Frequency


def generate_fleet(n_series: int, days: int, freq: str = "1h", *, seed: int = 0, noise: float = 0.05,
                   growth: float = 0.0, start: datetime = datetime(2024, 1, 1), future_days: int = 0
                   ) -> pl.DataFrame:
    """Long frame ``series_id, ts, value, signal`` (``signal`` = the noise-free load).

    Parameters
    ----------
    noise
        Standard deviation of the Gaussian noise, as a share of each series' level.
    growth
        Linear growth per day, as a share of the starting level (0.002 = +0.2 % of it a day).
    future_days
        Extra days generated after ``days`` (for checking forecasts against the truth).

    Examples
    --------
    >>> df = generate_fleet(2, 7, "1h", seed=1)
    >>> df.shape, df["series_id"].unique().sort().to_list()
    ((336, 4), ['s0000', 's0001'])
    """
    step = Frequency.parse(freq)
    rng = np.random.default_rng(seed)
    n_steps = (days + future_days) * step.day if step.sub_daily else days + future_days
    k = np.arange(n_steps)
    day_pos = (k % step.day) / step.day if step.sub_daily else np.zeros(n_steps)
    weekday = ((k // step.day if step.sub_daily else k) + start.weekday()) % 7
    level = np.exp(rng.normal(np.log(100), 1.0, n_series))
    amp = rng.uniform(0.3, 0.6, n_series)
    phase = rng.uniform(0.0, 0.15, n_series)
    weekend = rng.uniform(0.5, 0.9, n_series)
    profile = 1 + amp[:, None] * np.sin(2 * np.pi * (day_pos[None, :] - 0.25 - phase[:, None]))
    weekly = np.where(weekday[None, :] >= 5, weekend[:, None], 1.0)
    days_elapsed = k * step.seconds / 86_400
    signal = level[:, None] * (1 + growth * days_elapsed[None, :]) * profile * weekly
    value = signal + rng.normal(0.0, 1.0, signal.shape) * noise * level[:, None]
    ts = np.datetime64(start, "us") + k * np.timedelta64(step.seconds, "s")
    return pl.DataFrame({
        "series_id": np.repeat([f"s{i:04d}" for i in range(n_series)], n_steps),
        "ts": pl.Series(np.tile(ts, n_series)).cast(pl.Datetime("us")),
        "value": value.ravel(),
        "signal": signal.ravel(),
    })
