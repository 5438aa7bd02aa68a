"""The simplest entry point: one load series in, forecasts with intervals out.

Scaling policies and the simulator call :func:`forecast_series` with the history they may see at a
decision time; it never looks past the last row it is given.
"""

from __future__ import annotations

import polars as pl

from fleetcast.forecast.engine import fit_forecast
from fleetcast.forecast.model import ModelConfig

COLUMNS = ("ts", "yhat", "lo80", "hi80", "lo95", "hi95")


def forecast_series(history: pl.DataFrame, horizon: int, freq: str, *, config: ModelConfig | None = None,
                    gate: bool = True) -> pl.DataFrame:
    """Forecast one series: ``history[ts, value]`` -> ``frame[ts, yhat, lo80, hi80, lo95, hi95]``.

    ``ts`` are the ``horizon`` steps after the last row of ``history``; null values and missing
    rows in ``history`` are gaps. Raises :class:`~fleetcast.forecast.InsufficientHistory` when
    there is too little history for the horizon (``horizon`` plus two days, or 28 steps when daily).

    Examples
    --------
    >>> import numpy as np
    >>> from datetime import datetime, timedelta
    >>> h = np.arange(24 * 21)
    >>> hist = pl.DataFrame({"ts": [datetime(2024, 3, 1) + timedelta(hours=int(i)) for i in h],
    ...                      "value": 50 + 20 * np.sin(2 * np.pi * h / 24)})
    >>> out = forecast_series(hist, 12, "1h", config=ModelConfig(num_threads=1, n_estimators=30))
    >>> out.columns, out.height
    (['ts', 'yhat', 'lo80', 'hi80', 'lo95', 'hi95'], 12)
    """
    frame = history.select("ts", "value")
    result = fit_forecast(frame, horizon, freq, config=config, gate=gate)
    return result.forecasts.select(COLUMNS)
