"""Forecast scores over the observed points only (gaps never count).

Examples
--------
>>> y = np.array([10.0, np.nan, 30.0]); f = np.array([12.0, 99.0, 27.0])
>>> s = point_scores(y, f, mase_scale=2.0)
>>> round(s["rmse"], 3), s["mae"], s["mase"], s["n"]
(2.55, 2.5, 1.25, 2)
"""

from __future__ import annotations

import numpy as np

SCORES = ("rmse", "mae", "smape", "mase")


def point_scores(actual: np.ndarray, forecast: np.ndarray, mase_scale: float) -> dict[str, float]:
    """RMSE, MAE, sMAPE (percent, 0-200) and MASE over points where ``actual`` is observed."""
    a = np.asarray(actual, dtype=np.float64).ravel()
    f = np.asarray(forecast, dtype=np.float64).ravel()
    ok = ~np.isnan(a) & ~np.isnan(f)
    if not ok.any():
        return {"rmse": np.nan, "mae": np.nan, "smape": np.nan, "mase": np.nan, "n": 0}
    err = a[ok] - f[ok]
    denom = np.abs(a[ok]) + np.abs(f[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        smape = np.where(denom > 0, 200.0 * np.abs(err) / denom, 0.0)
    mae = float(np.mean(np.abs(err)))
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": mae,
        "smape": float(np.mean(smape)),
        "mase": mae / mase_scale if mase_scale > 0 else np.nan,
        "n": int(ok.sum()),
    }


def interval_scores(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Share of observed points inside ``[lo, hi]`` and the mean width of the interval."""
    a = np.asarray(actual, dtype=np.float64).ravel()
    lo, hi = np.asarray(lo).ravel(), np.asarray(hi).ravel()
    ok = ~np.isnan(a) & ~np.isnan(lo) & ~np.isnan(hi)
    if not ok.any():
        return np.nan, np.nan
    inside = (a[ok] >= lo[ok]) & (a[ok] <= hi[ok])
    return float(inside.mean()), float(np.mean(hi[ok] - lo[ok]))


def mase_scales(values: np.ndarray, cutoff: np.ndarray, period: int) -> np.ndarray:
    """Per series: mean absolute seasonal difference (lag ``period``) of the data up to ``cutoff``.

    Falls back to lag 1 when the series is shorter than two periods; 1.0 when still undefined.
    """
    out = np.ones(values.shape[0])
    for i in range(values.shape[0]):
        y = values[i, : cutoff[i] + 1]
        for lag in (period, 1):
            if y.size > lag:
                d = np.abs(y[lag:] - y[:-lag])
                if np.any(~np.isnan(d)) and np.nanmean(d) > 0:
                    out[i] = float(np.nanmean(d))
                    break
    return out
