"""Split-conformal prediction intervals from rolling-origin residuals, per horizon step, adaptive.

Residuals ``y - yhat`` from out-of-sample backtest windows are *normalised* before their quantiles
are taken, so intervals widen and narrow with the series:

    sigma = scale_at_origin ** (1 - p) * max(|yhat|, 0.05 * scale) ** p * error_factor

- ``scale_at_origin`` (mean |y| over the week before the origin, bursts capped as the model reads them:
  :func:`fleetcast.forecast.features.guard_spikes`) follows level shifts;
- ``|yhat| ** p`` makes intervals wider at busy hours than at night (count-like noise, ``p = 0.5``);
- the *error factor* is each series' own recent error level (recency-weighted RMS of its normalised
  residuals realised before the origin, shrunk towards the fleet's), so noisy and quiet series
  sharing a model keep their own widths, and intervals widen after surprises (adaptive). A run of
  large errors raises it; one burst does not: each squared residual counts at most ``BURST_CAP``
  times its series' median (a glitch of 1,000 times a NASA bin had doubled the next day's intervals).

The residuals of window ``k`` are studentised by the error factor known at *its* origin, exactly as
a forecast is at its own origin, so the quantiles stay calibrated for the adaptive widths.

Quantiles are taken per bucket of horizon steps (each bucket holding enough residuals), with the
finite-sample conformal correction, separately for the lower and upper tail (asymmetric intervals).
Beyond a week, a bucket's tails are never narrower than those of the buckets a whole number of weeks
before it (its *ancestors*): uncertainty does not shrink from one week to the same time of a later
week, and where few windows span the long horizons their residuals come from one stretch of time and
understate it (measured on daily series 90 days ahead: docs/adr/0005). Within a week the tails may
differ: the backtest's origins share a time of day, so a bucket is also a time of day (and of the
week), and errors at busy hours and at night, or on weekdays and at weekends, differ.

Where the backtest's windows cover less than a year, the published intervals' residuals beyond a
week are remapped to the spread the level showed over the whole history (:mod:`fleetcast.forecast.wander`).
Where a single window holds every residual, which way its errors leaned is one draw, not a lasting
skew: the tails are made symmetric (on a real network series the window's lopsided tails put 6 % of
the next day in the 80 % interval; docs/adr/0007).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Remap = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]

LEVELS = (80, 95)
MIN_PER_BUCKET = 150
PRIOR_WEIGHT = 50.0
BURST_CAP = 100.0  # a squared residual over 100x the median: |z| over 6.7 sigma for Gaussian errors


@dataclass
class ErrorScale:
    """Each series' recent error level: recency-weighted RMS of its normalised backtest residuals.

    Only residuals already realised at the query time count (their target time ``t <= at``), with
    weight ``exp(-(at - t) / decay)``, plus ``PRIOR_WEIGHT`` pseudo-residuals at the fleet's mean
    square, so intervals widen after a run of large errors and narrow again after calm ones. Squares
    are capped at ``BURST_CAP`` times the series' median (of its non-zero squares), so that a one-off
    burst (or a glitch in the data) is one large error, not a recent error level of thousands.
    """

    series: np.ndarray
    t: np.ndarray
    z2: np.ndarray
    prior: float
    decay: float

    @classmethod
    def from_residuals(cls, z: np.ndarray, rows: np.ndarray, origins: np.ndarray, steps: np.ndarray,
                       decay: float) -> ErrorScale:
        t = origins[:, None] + steps[None, :]
        ok = np.isfinite(z)
        series = np.broadcast_to(rows[:, None], z.shape)[ok]
        order = np.lexsort((t[ok], series))
        with np.errstate(over="ignore"):
            z2 = _capped(np.square(z[ok])[order], series[order])
        prior = float(z2.mean()) if z2.size and z2.mean() > 0 else 1.0
        return cls(series[order], t[ok][order], z2, prior, float(max(decay, 1.0)))

    def at(self, rows: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The error factor of series ``rows`` at times ``at`` (same length)."""
        rows, at = np.asarray(rows), np.asarray(at, dtype=np.float64)
        out = np.full(rows.shape, np.sqrt(self.prior))
        bounds = np.searchsorted(self.series, np.arange(int(rows.max(initial=-1)) + 2))
        for i in np.unique(rows):
            t = self.t[bounds[i]:bounds[i + 1]]
            if t.size == 0:
                continue
            z2 = self.z2[bounds[i]:bounds[i + 1]]
            where = np.flatnonzero(rows == i)
            for chunk in np.array_split(where, max(1, where.size * t.size // 2_000_000 + 1)):
                age = at[chunk][:, None] - t[None, :]
                w = np.where(age >= 0, np.exp(-np.maximum(age, 0) / self.decay), 0.0)
                num = w @ z2 + PRIOR_WEIGHT * self.prior
                out[chunk] = np.sqrt(num / (w.sum(axis=1) + PRIOR_WEIGHT))
        return np.maximum(out, 1e-6)


@dataclass
class Calibration:
    """Normalised residual distributions per horizon bucket, and each series' running error level.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> yhat = np.full((50, 4), 100.0); y = yhat + rng.normal(0, 10, yhat.shape)
    >>> origins = np.arange(50) * 4
    >>> cal = Calibration.fit(y, yhat, np.full(50, 100.0), np.zeros(50, int), origins, level_power=0.0)
    >>> cal.horizon, len(cal.residuals)
    (4, 1)
    >>> lo, hi = cal.interval(np.full((1, 4), 100.0), np.array([100.0]), np.array([0]), np.array([200]), 80)
    >>> bool(85 < lo[0, 0] < 90 and 110 < hi[0, 0] < 115)
    True
    """

    horizon: int
    bucket_of_step: np.ndarray
    residuals: list[np.ndarray]
    errors: ErrorScale
    level_power: float
    ancestors: np.ndarray | None = None
    remapped: int = 0
    counts: list[int] = field(default_factory=list)  # residuals measured per bucket (mirroring and remapping add more)

    @classmethod
    def fit(cls, actual: np.ndarray, yhat: np.ndarray, scale: np.ndarray, rows: np.ndarray,
            origins: np.ndarray, *, steps: np.ndarray | None = None, horizon: int | None = None,
            level_power: float = 0.5, decay: float | None = None, week: int = 0) -> Calibration:
        """Calibrate from backtest forecasts ``yhat`` (windows x steps) of series ``rows`` vs ``actual``.

        ``steps`` are the horizon steps of the columns (default ``1..yhat.shape[1]``); ``week`` the
        steps in a week (see :meth:`from_studentised`).
        """
        steps = np.arange(1, yhat.shape[1] + 1) if steps is None else np.asarray(steps)
        horizon = horizon or int(steps.max())
        u, errors, _ = studentise(actual, yhat, scale, rows, origins, steps, level_power, decay or horizon)
        return cls.from_studentised(u, steps, horizon, errors, level_power, week)

    @classmethod
    def from_studentised(cls, u: np.ndarray, steps: np.ndarray, horizon: int, errors: ErrorScale,
                         level_power: float, week: int = 0, remap: Remap | None = None,
                         symmetric: bool = False) -> Calibration:
        """Quantiles of already studentised residuals ``u`` (rows x steps) per horizon bucket.

        ``week`` is the number of steps in a week (0: no bucket inherits another's tails).
        ``remap(columns, residuals)`` may replace a bucket's residuals (sorted), given which columns
        of ``u`` it holds (see :func:`fleetcast.forecast.wander.mapped_residuals`); ``remapped``
        counts the buckets it replaced. ``symmetric`` mirrors every bucket's residuals, so both
        tails take the spread of their absolute values.
        """
        col_bucket = _buckets(np.sum(np.isfinite(u), axis=0))
        residuals = [_finite(u[:, col_bucket == b]) for b in range(int(col_bucket.max()) + 1)]
        counts = [r.size for r in residuals]
        residuals = [np.sort(np.concatenate([-np.abs(r), np.abs(r)]) if symmetric else r) for r in residuals]
        mapped = [None if remap is None else remap(col_bucket == b, r) for b, r in enumerate(residuals)]
        residuals = [r if m is None else m for r, m in zip(residuals, mapped, strict=True)]
        nearest = np.clip(np.searchsorted(steps, np.arange(1, horizon + 1)), 0, steps.size - 1)
        bucket_of_step = col_bucket[nearest]
        return cls(horizon, bucket_of_step, residuals, errors, level_power,
                   _ancestors(bucket_of_step, len(residuals), week), sum(m is not None for m in mapped), counts)

    def _sigma(self, yhat: np.ndarray, scale: np.ndarray, rows: np.ndarray, origins: np.ndarray,
               factor: np.ndarray | None) -> np.ndarray:
        factor = self.errors.at(rows, origins) if factor is None else factor
        return sigma(yhat, scale[:, None], self.level_power) * factor[:, None]

    def _bucket(self, ncols: int, steps: np.ndarray | None) -> np.ndarray:
        steps = np.arange(1, ncols + 1) if steps is None else np.asarray(steps)
        return self.bucket_of_step[np.clip(steps, 1, self.horizon) - 1]

    def quantile(self, yhat: np.ndarray, scale: np.ndarray, rows: np.ndarray, origins: np.ndarray,
                 q: float, steps: np.ndarray | None = None, factor: np.ndarray | None = None) -> np.ndarray:
        """The calibrated ``q`` quantile (0 < q < 1) of the value at each forecast step.

        ``yhat`` is ``len(rows) x len(steps)`` (steps default to ``1..``); ``factor`` is the error
        factor of each row when already known.
        """
        zq = self._bucket_quantiles(q)
        return yhat + zq[self._bucket(yhat.shape[1], steps)][None, :] * self._sigma(
            yhat, scale, rows, origins, factor)

    def _bucket_quantiles(self, q: float) -> np.ndarray:
        """Each bucket's ``q`` quantile, no nearer the centre than its ancestors'."""
        zq = np.array([_conformal_quantile(r, q) for r in self.residuals])
        if self.ancestors is None:
            return zq
        spread = np.where(self.ancestors, zq[None, :], np.nan)
        return np.nanmax(spread, axis=1) if q >= 0.5 else np.nanmin(spread, axis=1)

    def interval(self, yhat: np.ndarray, scale: np.ndarray, rows: np.ndarray, origins: np.ndarray,
                 level: float, steps: np.ndarray | None = None, factor: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the central ``level`` % interval."""
        factor = self.errors.at(rows, origins) if factor is None else factor
        tail = (1 - level / 100) / 2
        return (self.quantile(yhat, scale, rows, origins, tail, steps, factor),
                self.quantile(yhat, scale, rows, origins, 1 - tail, steps, factor))

    def prob_above(self, yhat: np.ndarray, scale: np.ndarray, rows: np.ndarray, origins: np.ndarray,
                   threshold, steps: np.ndarray | None = None) -> np.ndarray:
        """P(value > threshold) at each step, from the empirical residual distribution."""
        z = (np.asarray(threshold, dtype=np.float64) - yhat) / self._sigma(yhat, scale, rows, origins, None)
        z = np.broadcast_to(z, yhat.shape)
        out = np.full(yhat.shape, np.nan)
        buckets = self._bucket(yhat.shape[1], steps)
        for b in range(len(self.residuals)):
            cols = buckets == b
            if not cols.any():
                continue
            family = np.flatnonzero(self.ancestors[b]) if self.ancestors is not None else [b]
            family = [a for a in family if self.residuals[a].size]
            if not family:
                continue
            probs = np.array([_tail_above(self.residuals[a], z[:, cols]) for a in family])
            # the wider tail on either side, as in the quantiles: above the forecast the most likely
            # to exceed, below it the least
            out[:, cols] = np.where(z[:, cols] > 0, np.nanmax(probs, axis=0), np.nanmin(probs, axis=0))
        return np.where(np.isnan(z), np.nan, out)

    def quantile_table(self, probs=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)) -> dict:
        """The normalised residual quantiles per horizon bucket (for the model card and risk code)."""
        steps = np.arange(1, self.horizon + 1)
        table = np.array([self._bucket_quantiles(p) for p in probs])
        return {
            "level_power": self.level_power,
            "probs": list(probs),
            "buckets": [
                {"first_step": int(steps[self.bucket_of_step == b].min()),
                 "last_step": int(steps[self.bucket_of_step == b].max()),
                 "n": self.counts[b],
                 "quantiles": [round(float(table[j, b]), 4) for j in range(len(probs))]}
                for b in range(len(self.residuals))
            ],
        }


def studentise(actual: np.ndarray, yhat: np.ndarray, scale: np.ndarray, rows: np.ndarray,
               origins: np.ndarray, steps: np.ndarray, level_power: float, decay: float
               ) -> tuple[np.ndarray, ErrorScale, np.ndarray]:
    """Residuals divided by ``sigma`` and by the error factor known at their own origin.

    Returns the studentised residuals, the error scale and each row's error factor.
    """
    z = (actual - yhat) / sigma(yhat, scale[:, None], level_power)
    errors = ErrorScale.from_residuals(z, rows, origins, steps, decay)
    factor = errors.at(rows, origins)
    return z / factor[:, None], errors, factor


def sigma(yhat: np.ndarray, scale: np.ndarray, level_power: float) -> np.ndarray:
    """Residual normaliser ``scale**(1-p) * max(|yhat|, 0.05*scale)**p`` (positive)."""
    level = np.maximum(np.abs(yhat), 0.05 * scale)
    level = np.where(np.isfinite(level), level, scale)
    return np.maximum(scale ** (1 - level_power) * level**level_power, 1e-12)


def _capped(z2: np.ndarray, series: np.ndarray) -> np.ndarray:
    """Squares ``z2`` (grouped by ``series``) capped at ``BURST_CAP`` times the median of their
    series' non-zero squares (an idle series' forecasts are often exact: zeros say nothing of its
    errors' size).

    Examples
    --------
    >>> z2, series = np.array([1, 2, 3, 1e6, 0, 0, 0, 4, 5, 1e6]), np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> _capped(z2, series).tolist()
    [1.0, 2.0, 3.0, 250.0, 0.0, 0.0, 0.0, 4.0, 5.0, 500.0]
    """
    out = z2.copy()
    bounds = np.flatnonzero(np.diff(series)) + 1
    for part in np.split(np.arange(z2.size), bounds):
        errors = z2[part][z2[part] > 0]
        if errors.size:
            out[part] = np.minimum(z2[part], BURST_CAP * float(np.median(errors)))
    return out


def _conformal_quantile(sorted_res: np.ndarray, q: float) -> float:
    """Empirical quantile with the split-conformal finite-sample correction (outward)."""
    n = sorted_res.size
    if n == 0:
        return np.nan
    k = int(np.ceil((n + 1) * q)) - 1 if q >= 0.5 else int(np.floor((n + 1) * q)) - 1
    return float(sorted_res[min(max(k, 0), n - 1)])  # not np.clip: this runs thousands of times


def _tail_above(sorted_res: np.ndarray, z: np.ndarray) -> np.ndarray:
    """P(residual > z) from (non-empty) sorted residuals."""
    above = sorted_res.size - np.searchsorted(sorted_res, z, side="right")
    return (above + 0.5) / (sorted_res.size + 1.0)


def _ancestors(bucket_of_step: np.ndarray, n_buckets: int, cycle: int) -> np.ndarray | None:
    """``A[b, a]``: bucket ``a`` holds a step a whole number of ``cycle`` steps before one of bucket
    ``b``'s (every bucket is its own ancestor). None when the horizon is a cycle or less.

    Examples
    --------
    >>> _ancestors(np.array([0, 0, 1, 1, 2, 2]), 3, 2).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    >>> _ancestors(np.array([0, 1, 1, 2]), 3, 4) is None
    True
    """
    if cycle <= 0 or cycle >= bucket_of_step.size:
        return None
    a = np.eye(n_buckets, dtype=bool)
    for step in range(cycle, bucket_of_step.size):  # buckets follow the steps, so parents come first
        child, parent = bucket_of_step[step], bucket_of_step[step - cycle]
        a[child] |= a[parent]
    return a


def _finite(a: np.ndarray) -> np.ndarray:
    a = a.ravel()
    return a[np.isfinite(a)]


def _buckets(counts: np.ndarray) -> np.ndarray:
    """Group consecutive horizon steps so each group holds at least ``MIN_PER_BUCKET`` residuals."""
    bucket = np.zeros(counts.size, dtype=np.int64)
    current = filled = consumed = 0
    total = int(counts.sum())
    for step, c in enumerate(counts):
        if filled >= MIN_PER_BUCKET and total - consumed >= MIN_PER_BUCKET:
            current, filled = current + 1, 0
        bucket[step] = current
        filled += int(c)
        consumed += int(c)
    return bucket
