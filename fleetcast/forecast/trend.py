"""Linear growth per series, estimated from cycle-free block means, so forecasts can extrapolate it.

Trees cannot extrapolate: a model trained on ``y`` never predicts above what it has seen. The
forecaster therefore removes a per-series linear trend before modelling and adds it back to the
forecast. The slope is fitted by least squares on the means of whole weeks (or days when there are
fewer than four weeks), which removes the daily and weekly cycles; with ``mode="auto"`` it is kept
only when it is clearly significant *and* it would have forecast the most recent blocks better than
the flat level did (a small backtest on the block means), so a past level change (a busy month, a
one-off launch) is not mistaken for growth that will go on.
"""

from __future__ import annotations

import numpy as np

from fleetcast.forecast.frequency import Frequency

MIN_BLOCKS = 4
MAX_BLOCKS = 52
AUTO_T_STAT = 3.0


def estimate_slopes(values: np.ndarray, cutoff: np.ndarray, freq: Frequency, mode: str = "auto"
                    ) -> np.ndarray:
    """Per-series slope (value units per step) from data up to ``cutoff[i]``; 0 where there is none.

    Parameters
    ----------
    values
        ``n x T`` panel values (NaN gaps).
    cutoff
        Last index each series may use.
    mode
        ``"auto"`` (keep slopes with |t| >= 3), ``"linear"`` (always keep), ``"none"`` (all zero).

    Examples
    --------
    >>> f = Frequency.parse("1d")
    >>> rng = np.random.default_rng(0)
    >>> y = 100 + 0.5 * np.arange(120) + rng.normal(0, 2, 120)
    >>> float(np.round(estimate_slopes(y[None, :], np.array([119]), f)[0], 1))
    0.5
    """
    if mode not in ("auto", "linear", "none"):
        raise ValueError(f"unknown trend mode {mode!r} (auto, linear or none)")
    slopes = np.zeros(values.shape[0])
    if mode == "none":
        return slopes
    for i in range(values.shape[0]):
        centre, means, _ = _block_means(values[i, : cutoff[i] + 1], freq)
        if means.size < MIN_BLOCKS:
            continue
        slope, t_stat = _slope(centre, means)
        if mode == "linear" or (abs(t_stat) >= AUTO_T_STAT and _trend_beats_flat(centre, means)):
            slopes[i] = slope
    return slopes


def _trend_beats_flat(centre: np.ndarray, means: np.ndarray) -> bool:
    """Would a line fitted on earlier blocks have predicted the last quarter of blocks better than
    carrying the last fitted block's level forward?"""
    hold = max(2, means.size // 4)
    if means.size - hold < 3:
        return True
    slope, _ = _slope(centre[:-hold], means[:-hold])
    fitted_last = means[:-hold].mean() + slope * (centre[-hold - 1] - centre[:-hold].mean())
    trend = fitted_last + slope * (centre[-hold:] - centre[-hold - 1])
    flat = means[-hold - 1]
    return float(np.mean(np.abs(means[-hold:] - trend))) < float(np.mean(np.abs(means[-hold:] - flat)))


def _block_means(y: np.ndarray, freq: Frequency) -> tuple[np.ndarray, np.ndarray, int]:
    """Centres (steps) and means of whole weeks (days when under four weeks) ending at the last value;
    blocks less than half observed are left out."""
    empty = np.zeros(0)
    first = np.flatnonzero(~np.isnan(y))
    if first.size == 0:
        return empty, empty, 0
    y = y[first[0]:]
    block = freq.week if y.size >= MIN_BLOCKS * freq.week else freq.day
    n_blocks = min(MAX_BLOCKS, y.size // block)
    if block < 2 or n_blocks < MIN_BLOCKS:
        return empty, empty, block
    tail = y[y.size - n_blocks * block:].reshape(n_blocks, block)
    keep = (~np.isnan(tail)).sum(axis=1) >= block / 2
    means = np.nanmean(tail[keep], axis=1) if keep.any() else empty
    return (np.arange(n_blocks)[keep] + 0.5) * block, means, block


def _slope(centre: np.ndarray, means: np.ndarray) -> tuple[float, float]:
    """Least-squares slope (per step) of the block means and its t statistic."""
    if means.size < MIN_BLOCKS - 1:
        return np.nan, 0.0
    x = centre - centre.mean()
    sxx = float(x @ x)
    slope = float(x @ (means - means.mean())) / sxx
    resid = means - means.mean() - slope * x
    dof = max(1, means.size - 2)
    se = np.sqrt(float(resid @ resid) / dof / sxx)
    return slope, (abs(slope) / se if se > 0 else np.inf)
