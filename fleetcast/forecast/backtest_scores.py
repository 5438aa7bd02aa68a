"""Backtest scores: per series and pooled, with interval coverage measured leave-one-window-out.

The intervals of window ``k`` are calibrated on the other windows only (windows are dealt into at
most ``MAX_FOLDS`` folds), so coverage is out of sample; the residual normalisation is chosen by the
same leave-one-window-out intervals (:func:`choose_level_power`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fleetcast.forecast.backtest import MAX_FOLDS, MODEL, BacktestRun
from fleetcast.forecast.conformal import LEVELS
from fleetcast.forecast.metrics import interval_scores, point_scores
from fleetcast.forecast.panel import Panel


def score_backtest(run: BacktestRun, panel: Panel, level_power: float, mask: np.ndarray | None = None
                   ) -> pl.DataFrame:
    """Per series and method: RMSE, MAE, sMAPE, MASE, interval coverage and width (vectorised).

    Coverage is leave-one-window-out (NaN when a single window holds every residual). ``mask`` restricts
    the scores to some backtest rows (windows). ``windows`` counts the series' scored windows (those
    with history enough before them and an observed target), which may be fewer than asked for.
    """
    keep = np.ones(run.rows.size, dtype=bool) if mask is None else mask
    series = np.unique(run.rows[keep])
    frames = []
    for method, yhat in run.forecasts.items():
        sums = _row_sums(run.actual, yhat, _lowo_intervals(run, method, level_power))
        per = {k: np.bincount(run.rows[keep], weights=v[keep], minlength=panel.n_series)[series]
               for k, v in sums.items()}
        n = per.pop("n")
        windows = np.bincount(run.rows[keep], weights=sums["n"][keep] > 0, minlength=panel.n_series)[series]
        with np.errstate(invalid="ignore", divide="ignore"):
            cols = {"rmse": np.sqrt(per["se"] / n), "mae": per["ae"] / n, "smape": per["smape"] / n,
                    "mase": per["ae"] / n / run.mase_scale[series]}
            for level in LEVELS:  # over the points with an interval (none when no other window was scored)
                cols[f"coverage{level}"] = per[f"in{level}"] / per[f"m{level}"]
                cols[f"width{level}"] = per[f"w{level}"] / per[f"m{level}"]
        frames.append(pl.DataFrame({
            "series_id": [panel.ids[i] for i in series], "model": method, "n": n.astype(np.int64), **cols,
            "windows": windows.astype(np.int64)}))
    return pl.concat(frames).with_columns(
        pl.lit(run.spec.horizon).alias("horizon"), pl.lit(run.spec.step).alias("step"))


def _row_sums(actual: np.ndarray, yhat: np.ndarray, intervals: dict) -> dict[str, np.ndarray]:
    ok = ~np.isnan(actual) & ~np.isnan(yhat)
    err = np.where(ok, actual - yhat, 0.0)
    denom = np.abs(actual) + np.abs(yhat)
    with np.errstate(invalid="ignore", divide="ignore"):
        smape = np.where(ok & (denom > 0), 200.0 * np.abs(err) / denom, 0.0)
    out = {"n": ok.sum(axis=1).astype(float), "se": (err**2).sum(axis=1), "ae": np.abs(err).sum(axis=1),
           "smape": smape.sum(axis=1)}
    for level, (lo, hi) in intervals.items():
        has = ok & ~np.isnan(lo) & ~np.isnan(hi)
        out[f"m{level}"] = has.sum(axis=1).astype(float)
        out[f"in{level}"] = (has & (actual >= lo) & (actual <= hi)).sum(axis=1).astype(float)
        out[f"w{level}"] = np.where(has, hi - lo, 0.0).sum(axis=1)
    return out


def pooled_scores(run: BacktestRun, panel: Panel, level_power: float) -> dict[str, dict[str, float]]:
    """The same scores over all series at once (MASE on per-series scaled errors)."""
    out = {}
    for method, yhat in run.forecasts.items():
        scaled = run.mase_scale[run.rows][:, None]
        rec = point_scores(run.actual, yhat, 1.0)
        rec["mase"] = point_scores(run.actual / scaled, yhat / scaled, 1.0)["mae"]
        for level, (lo, hi) in _lowo_intervals(run, method, level_power).items():
            rec[f"coverage{level}"], rec[f"width{level}"] = interval_scores(run.actual, lo, hi)
        out[method] = rec
    return out


def _lowo_intervals(run: BacktestRun, method: str, level_power: float) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    key = ("lowo", method, level_power)
    if key in run._studentised:
        return run._studentised[key]
    shape = run.actual.shape
    out = {level: (np.full(shape, np.nan), np.full(shape, np.nan)) for level in LEVELS}
    if run.windows_scored() < 2:  # nothing to check the intervals on out of sample
        run._studentised[key] = out
        return out
    n_folds = min(MAX_FOLDS, int(run.window.max()) + 1)
    fold = run.window % n_folds
    factor = run.studentised(method, level_power)[2]
    for w in range(n_folds):
        held = fold == w
        if not held.any():
            continue
        cal = run.calibration(method, level_power, ~held)
        for level in LEVELS:
            lo, hi = cal.interval(run.forecasts[method][held], run.scale[held], run.rows[held],
                                  run.origins[held], level, run.steps, factor[held])
            out[level][0][held], out[level][1][held] = lo, hi
    run._studentised[key] = out
    return out


def choose_level_power(run: BacktestRun, candidates: tuple[float, ...] = (0.0, 0.5, 1.0)) -> float:
    """The residual normalisation (see :func:`~fleetcast.forecast.conformal.sigma`) whose
    leave-one-window-out 80/95 % intervals have the best mean interval score for the model.

    All candidates are calibrated on average; the interval score (width plus ``2/alpha`` times
    any miss) prefers the one whose widths follow where the errors really are, e.g. ``p = 0`` for
    noise of constant size, ``p = 0.5`` for count-like noise, ``p = 1`` for multiplicative noise.
    With a single window nothing is out of sample to choose on: the answer is the first, ``p = 0``,
    whose widths do not narrow where the forecast is low (the forecast may be what is wrong there).
    """
    if run.windows_scored() < 2:
        return candidates[0]
    scaled = run.mase_scale[run.rows][:, None]
    best, best_score = candidates[0], np.inf
    for p in candidates:
        total = 0.0
        for level, (lo, hi) in _lowo_intervals(run, MODEL, p).items():
            alpha = 1 - level / 100
            y = run.actual
            score = (hi - lo) + 2 / alpha * (np.maximum(lo - y, 0) + np.maximum(y - hi, 0))
            ratio = score / scaled
            total += float(np.nanmean(ratio)) if np.isfinite(ratio).any() else 0.0
        if total < best_score:
            best, best_score = p, total
    return best
