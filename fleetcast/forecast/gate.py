"""The quality gate: per series, publish the model only if the backtest does not show a baseline is better.

The evidence is the rolling-origin backtest, all windows: for each series the best baseline (lowest
``metric`` over the windows) is compared with the model window by window. The model falls back to
that baseline when the baseline's mean loss per window is lower *and* the paired difference is
significant (one-sided t test over the windows at ``ALPHA``). Picking the best of three baselines on
the same windows favours the baselines by chance alone, and with few windows one bad day decides a
plain comparison; the paired test keeps such noise from replacing a better model (measured on NASA:
a plain comparison over the recent half of the windows published a baseline 40 % worse than the
model on the test days).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from fleetcast.forecast.backtest import MODEL, BacktestRun
from fleetcast.forecast.baselines import BASELINES

ALPHA = 0.10
LOSSES = {"rmse": "squared", "mae": "absolute"}


def window_losses(run: BacktestRun, n_series: int, metric: str = "rmse") -> dict[str, np.ndarray]:
    """Per method: mean loss of each (series, window), ``n_series x windows`` (NaN when not scored).

    Examples
    --------
    >>> from fleetcast.forecast.backtest import BacktestSpec
    >>> run = BacktestRun(BacktestSpec(2, 2, 2), np.array([0, 0]), np.array([5, 7]), np.array([0, 1]),
    ...                   np.array([1, 2]), np.array([[1.0, 3.0], [2.0, np.nan]]), np.ones(2),
    ...                   {"lgbm": np.array([[2.0, 3.0], [2.0, 9.0]])}, np.ones(1), 24)
    >>> window_losses(run, 1)["lgbm"].tolist()
    [[0.5, 0.0]]
    """
    if metric not in LOSSES:
        raise ValueError(f"unknown gate metric {metric!r}; use one of {sorted(LOSSES)}")
    cell = run.rows * run.spec.windows + run.window
    out = {}
    for method, yhat in run.forecasts.items():
        err = run.actual - yhat
        ok = ~np.isnan(err)
        loss = np.where(ok, err**2 if LOSSES[metric] == "squared" else np.abs(err), 0.0)
        total = np.bincount(cell, loss.sum(axis=1), minlength=n_series * run.spec.windows)
        count = np.bincount(cell, ok.sum(axis=1), minlength=n_series * run.spec.windows)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[method] = np.where(count > 0, total / np.maximum(count, 1), np.nan).reshape(n_series, -1)
    return out


def baseline_is_better(diff: np.ndarray, alpha: float = ALPHA) -> bool:
    """One-sided paired t test: is the mean of ``diff`` (model loss - baseline loss) above zero?

    Examples
    --------
    >>> baseline_is_better(np.array([1.0, 2.0, 1.5, 2.5, 1.0])), baseline_is_better(np.array([5.0, -4, 3, -2]))
    (True, False)
    """
    d = diff[np.isfinite(diff)]
    if d.size == 0 or d.mean() <= 0:
        return False
    if d.size < 2 or d.std(ddof=1) == 0:
        return True
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    return bool(t > _t_critical(d.size - 1, alpha))


def _t_critical(dof: int, alpha: float) -> float:
    """Upper ``alpha`` quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy.stats import t as student_t

    return float(student_t.ppf(1 - alpha, dof))


def decide(run: BacktestRun, scores: pl.DataFrame, ids: list[str], *, gate: bool = True,
           metric: str = "rmse") -> tuple[list[str], list[str]]:
    """Per series: the method to publish and why, from the backtest ``run`` and its ``scores`` table."""
    table = {(r["series_id"], r["model"]): r[metric] for r in scores.iter_rows(named=True)}
    losses = window_losses(run, len(ids), metric) if gate else {}
    methods, reasons = [], []
    test = f"paired t test over the windows, {ALPHA:.0%}"
    for i, sid in enumerate(ids):
        model = table.get((sid, MODEL), np.nan)
        base = {b: table.get((sid, b), np.nan) for b in BASELINES}
        best = min(base, key=lambda b: np.inf if np.isnan(base[b]) else base[b])
        ref = f"best baseline {best} {base[best]:.4g} over {run.spec.windows} backtest windows"
        if not gate:
            methods.append(MODEL)
            reasons.append("quality gate off")
        elif np.isnan(model) or np.isnan(base[best]) or model < base[best]:
            methods.append(MODEL)
            reasons.append(f"model {metric} {model:.4g} beats {ref}")
        elif not baseline_is_better(losses[MODEL][i] - losses[best][i]):
            methods.append(MODEL)
            reasons.append(f"model {metric} {model:.4g} is not significantly worse than {ref} ({test})")
        else:
            methods.append(best)
            reasons.append(f"fallback: model {metric} {model:.4g} is significantly worse than {ref} ({test})")
    return methods, reasons
