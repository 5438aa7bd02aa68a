"""What late data costs a forecast: NASA 5-min, day ahead, with the last values before each origin missing.

Monitoring data often arrives late: the last minutes of a log are not shipped yet, a metric pipeline
lags. Rows are then present with empty values at the end of the history. The engine forecasts such a
series from its last value, as many steps further ahead (and calibrates its intervals that far
ahead). This script repeats the rolling day-ahead protocol of ``bench/forecast_nasa.py`` (refit at
each test day's 00:00 on all data before it, Aug 23 - 31) with the last 0, 1, 12, 144 and 288 bins
before each origin made gaps, and prints RMSE and the coverage of the 80 / 95 % intervals.

    .venv/bin/python bench/forecast_late_data.py
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl
from forecast_nasa import TEST_END, TEST_START, load

from fleetcast.forecast import ModelConfig, fit_forecast

MISSING = (0, 1, 12, 144, 288)


def day_ahead(data: pl.DataFrame, missing: int) -> dict[str, np.ndarray]:
    """Forecasts, intervals and actual values of the 9 test days, the last ``missing`` bins before
    each origin blanked."""
    actual = dict(zip(data["ts"].to_list(), data["value"].to_list(), strict=True))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("yhat", "lo80", "hi80", "lo95", "hi95", "actual")}
    for day in range(9):
        origin = (TEST_START + np.timedelta64(day, "D")).item()
        history = data.filter(pl.col("ts") < origin)
        history = history.with_columns(value=pl.when(pl.int_range(pl.len()) < history.height - missing)
                                       .then(pl.col("value")))
        fc = fit_forecast(history, 288, config=ModelConfig()).forecasts.filter(pl.col("ts") < TEST_END.item())
        for col in ("yhat", "lo80", "hi80", "lo95", "hi95"):
            parts[col].append(fc[col].to_numpy())
        parts["actual"].append(np.array([actual.get(t) for t in fc["ts"].to_list()], dtype=np.float64))
    return {k: np.concatenate(v) for k, v in parts.items()}


def main() -> None:
    data = load("5min")
    print(f"{'bins missing':>12}  {'RMSE':>6}  {'cov80':>6}  {'cov95':>6}")
    for missing in MISSING:
        started = time.perf_counter()
        r = day_ahead(data, missing)
        ok = ~np.isnan(r["actual"])
        a = r["actual"][ok]
        rmse = float(np.sqrt(np.mean((r["yhat"][ok] - a) ** 2)))
        cover = [100 * float(np.mean((a >= r[f"lo{lv}"][ok]) & (a <= r[f"hi{lv}"][ok]))) for lv in (80, 95)]
        print(f"{missing:>12}  {rmse:6.1f}  {cover[0]:5.1f}%  {cover[1]:5.1f}%  [{time.perf_counter() - started:.0f}s]",
              flush=True)


if __name__ == "__main__":
    main()
