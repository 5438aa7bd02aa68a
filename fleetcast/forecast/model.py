"""One LightGBM model for a whole panel of series, forecasting any horizon directly or recursively.

Strategies (measured against each other in ``bench/forecast_strategies.py``):

- ``direct``: one model whose rows are (target ``t``, origin ``o``) pairs with the horizon ``t - o``
  as a feature; every step of a forecast comes from features known at the origin, so errors do not
  feed back into later steps. Training samples several horizons per target time.
- ``recursive``: a one-step model applied step after step, each forecast written back into the
  history that the next step's features read.

Targets are divided by the local scale at the origin and, where a series grows, a linear trend is
removed first (see :mod:`fleetcast.forecast.trend`) and added back to the forecast. One-off bursts
are capped before the model learns from them (:func:`fleetcast.forecast.features.guard_spikes`).
Optionally the published forecast blends the trees with a seasonal decomposition
(``ModelConfig.blend``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np

from fleetcast.forecast.decompose import seasonal_forecasts
from fleetcast.forecast.features import History, Layout, build_features
from fleetcast.forecast.panel import Panel
from fleetcast.forecast.trend import estimate_slopes

STRATEGIES = ("direct", "recursive")
MAX_MEMBERS = 5


@dataclass(frozen=True)
class ModelConfig:
    """Settings of the global model; defaults are the measured choice (see the bench scripts).

    ``num_threads`` defaults to 1: the models are small, and LightGBM's OpenMP threads slow down
    badly (5-10x measured) on shared or oversubscribed cores; 0 means LightGBM's default (all cores).
    ``blend``: ``off`` (trees alone), ``backtest`` (trees weighted by backtest accuracy, at least one
    half) or ``equal``, see :mod:`fleetcast.forecast.decompose`. Off by default: on NASA the blend
    changed RMSE by -2 % to +0.4 % (engine v2) but its intervals covered less (80 %: 77.3 % instead
    of 78.7 %; hourly 72.5 % instead of 77.9 %), and the scaling policies plan on those intervals.
    ``refit_final``: ``auto`` reuses the last backtest model when its training sample was already
    capped at ``max_rows`` (big fleets), ``always`` refits on all the data. ``ensemble_rows``: a
    training sample smaller than this is drawn and learnt again with other seeds, up to
    ``MAX_MEMBERS`` boosters in all, and their forecasts averaged: on a few thousand rows the trees
    move with the seed alone (NASA hourly, 48 h ahead: RMSE 526-576 over five seeds, 537-544 averaged);
    0 trains one booster.

    Examples
    --------
    >>> ModelConfig(num_threads=1).lgb_params()["num_threads"]
    1
    """

    strategy: str = "direct"
    trend: str = "auto"
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_rows: int = 300_000
    refit_final: str = "auto"
    horizons_per_target: int = 8
    fold_weeks: bool = True
    linear_tree: bool = False
    max_bin: int = 255
    blend: str = "off"
    num_threads: int = 1
    seed: int = 0
    ensemble_rows: int = 60_000

    def lgb_params(self) -> dict:
        return {
            "objective": "l2", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf, "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction, "bagging_freq": 1, "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads, "seed": self.seed, "deterministic": True,
            "force_row_wise": True, "verbose": -1, "linear_tree": self.linear_tree,
        }

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GlobalModel:
    """A fitted global model: its boosters, the per-series trend and what it was trained on."""

    config: ModelConfig
    layout: Layout
    horizon: int
    boosters: list[lgb.Booster] = field(default_factory=list)
    slopes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ref: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_rows: int = 0
    capped: bool = False
    weight: float = 1.0

    @property
    def feature_names(self) -> list[str]:
        return self.layout.names()

    @property
    def trained_horizon(self) -> int:
        """Longest horizon the direct model is trained for: a week at most when folding."""
        if self.config.fold_weeks and self.config.strategy == "direct":
            return min(self.horizon, self.layout.week)
        return self.horizon

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, panel: Panel, cutoff: np.ndarray | None = None) -> GlobalModel:
        """Train on ``panel`` using, per series, only data up to ``cutoff[i]`` (default: all)."""
        if self.config.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.config.strategy!r}; use one of {STRATEGIES}")
        cutoff = panel.last.copy() if cutoff is None else np.asarray(cutoff, dtype=np.int64)
        self.slopes = estimate_slopes(panel.guarded, cutoff, panel.freq, self.config.trend)
        self.ref = cutoff.copy()
        values = self._detrended(panel.guarded, cutoff)
        hist = History(values, self.layout, panel.start, panel.freq)
        self.boosters = [self._fit_member(hist, panel.first, cutoff, self.config.seed)]
        # Small samples vary with the seed: more boosters on other samples, averaged (n_rows: per booster)
        members = min(MAX_MEMBERS, max(1, self.config.ensemble_rows // max(self.n_rows, 1)))
        self.boosters += [self._fit_member(hist, panel.first, cutoff, self.config.seed + k) for k in range(1, members)]
        return self

    def _fit_member(self, hist: History, first: np.ndarray, cutoff: np.ndarray, seed: int) -> lgb.Booster:
        """One booster on its own sample of training rows, drawn with ``seed``."""
        rows, t, o = self._training_rows(hist.y, first, cutoff, seed)
        # A target after nothing but zeros has no scale to be read against (it would be divided by 1).
        known = (hist.window_sum(hist.cabs, rows, o, hist.length) > 0) | (hist.y[rows, t] == 0)
        rows, t, o = rows[known], t[known], o[known]
        if rows.size == 0:
            raise ValueError("too little history to train on")
        X, scale = build_features(hist, rows, t, o)
        data = lgb.Dataset(X, hist.y[rows, t] / scale, feature_name=self.feature_names, free_raw_data=True,
                           params={"max_bin": self.config.max_bin, "verbose": -1})
        self.n_rows = int(rows.size)
        return lgb.train({**self.config.lgb_params(), "seed": seed}, data, num_boost_round=self.config.n_estimators)

    def would_cap(self, panel: Panel) -> bool:
        """Whether training on all of ``panel`` would exceed ``max_rows`` training rows."""
        targets = self._targets(panel.values, panel.first, panel.last)[0].size
        return targets * self._per_target() > self.config.max_rows

    def _per_target(self) -> int:
        cfg = self.config
        return 1 if cfg.strategy == "recursive" else max(1, min(cfg.horizons_per_target, self.trained_horizon))

    def _targets(self, values: np.ndarray, first: np.ndarray, cutoff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(series, time) of observed targets up to ``cutoff`` with at least a day of history."""
        cols = np.arange(values.shape[1])
        warm = first[:, None] + self.layout.day
        return np.nonzero((~np.isnan(values)) & (cols[None, :] <= cutoff[:, None]) & (cols[None, :] > warm))

    def _training_rows(self, values: np.ndarray, first: np.ndarray, cutoff: np.ndarray, seed: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample (series, target, origin) rows: observed targets with at least a day of history."""
        cfg = self.config
        rng = np.random.default_rng(seed)
        warm = first[:, None] + self.layout.day
        rows, t = self._targets(values, first, cutoff)
        per_target = self._per_target()
        self.capped = rows.size * per_target > cfg.max_rows
        if self.capped:
            keep = rng.choice(rows.size, size=max(1, cfg.max_rows // per_target), replace=False)
            keep.sort()
            rows, t = rows[keep], t[keep]
        if cfg.strategy == "recursive":
            return rows, t, t - 1
        rows, t = np.repeat(rows, per_target), np.repeat(t, per_target)
        h = sample_horizons(rng, self.trained_horizon, rows.size)
        h = np.minimum(h, t - warm[rows, 0])
        return rows, t, t - np.maximum(h, 1)

    # -- forecasting ---------------------------------------------------------------------------
    def predict(self, panel: Panel, rows: np.ndarray, origins: np.ndarray, horizon: int,
                steps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts ``len(rows) x len(steps)`` from ``origins`` (data after an origin is not used).

        ``steps`` are the horizon steps wanted (default ``1..horizon``). Returns the forecasts (the
        trees' blended with the seasonal decomposition at ``weight``) and the local scale at each
        origin (used to normalise residuals).
        """
        yhat, scale = self.predict_trees(panel, rows, origins, horizon, steps)
        if self.weight < 1.0:
            yhat = self.weight * yhat + (1.0 - self.weight) * self.predict_seasonal(
                panel, rows, origins, horizon, steps)
        return yhat, scale

    def predict_seasonal(self, panel: Panel, rows: np.ndarray, origins: np.ndarray, horizon: int,
                         steps: np.ndarray | None = None) -> np.ndarray:
        """The seasonal decomposition's forecasts (plus this model's trend, where it has one)."""
        steps = np.arange(1, horizon + 1) if steps is None else np.asarray(steps)
        out = seasonal_forecasts(panel.values, panel.freq, rows, origins, horizon, steps)
        return out + self.slopes[np.asarray(rows), None] * steps[None, :]

    def predict_trees(self, panel: Panel, rows: np.ndarray, origins: np.ndarray, horizon: int,
                      steps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The LightGBM forecasts alone (see :meth:`predict`)."""
        rows, origins = np.asarray(rows), np.asarray(origins)
        steps = np.arange(1, horizon + 1) if steps is None else np.asarray(steps)
        values = self._detrended(panel.guarded, self.ref)
        if self.config.strategy == "recursive" and horizon > 1:
            z = self._predict_recursive(panel, values, rows, origins, horizon)[:, steps - 1]
        else:
            hist = History(values, self.layout, panel.start, panel.freq,
                           extra=max(0, int(origins.max()) + horizon + 1 - panel.length))
            z = self._predict_direct(hist, rows, origins, steps)
        t = origins[:, None] + steps[None, :]
        yhat = z + self.slopes[rows, None] * (t - self.ref[rows, None])
        return yhat, panel.scale_at(rows, origins)

    def _predict_recursive(self, panel: Panel, values: np.ndarray, rows: np.ndarray, origins: np.ndarray,
                           horizon: int) -> np.ndarray:
        out = np.empty((rows.size, horizon))
        for group in _disjoint_groups(rows):
            sub = values[rows[group]].copy()
            cols = np.arange(sub.shape[1])
            sub[cols[None, :] > origins[group, None]] = np.nan
            extra = max(0, int(origins[group].max()) + horizon + 1 - panel.length)
            hist = History(sub, self.layout, panel.start, panel.freq, extra=extra)
            local = np.arange(group.size)
            for k in range(1, horizon + 1):
                t = origins[group] + k
                X, scale = build_features(hist, local, t, t - 1)
                step = self._score(X) * scale
                hist.set(local, t, step)
                out[group, k - 1] = step
        return out

    def _predict_direct(self, hist: History, rows: np.ndarray, origins: np.ndarray, steps: np.ndarray
                        ) -> np.ndarray:
        """Direct forecasts ``len(rows) x len(steps)``, each distinct feature row predicted once.

        Steps beyond the trained horizon share their features with the folded step (see
        :meth:`_folded_steps`) except for the month/quarter-end of the real target time, so features
        are built for the distinct folded steps only and the booster sees each distinct row once.
        """
        folded = self._folded_steps(steps)
        uniq, inverse = np.unique(folded, return_inverse=True)
        oo = np.repeat(origins, uniq.size)
        X, scale = build_features(hist, np.repeat(rows, uniq.size), oo + np.tile(uniq, rows.size), oo)
        base = (np.arange(rows.size)[:, None] * uniq.size + inverse[None, :]).ravel()
        t = (origins[:, None] + steps[None, :]).ravel()
        month_end, quarter_end = hist.calendar[-2:, np.minimum(t, hist.length - 1)].astype(np.int64)
        keys, where = np.unique((base * 4 + month_end) * 4 + quarter_end, return_inverse=True)
        rows_x = keys // 16
        X = X[rows_x]
        X[:, -2], X[:, -1] = (keys // 4) % 4, keys % 4  # month/quarter end of the real target time
        z = self._score(X) * scale[rows_x]
        return z[where].reshape(rows.size, steps.size)

    def _score(self, X: np.ndarray) -> np.ndarray:
        """The boosters' mean prediction (scaled units)."""
        return np.mean([b.predict(X, num_threads=self.config.num_threads) for b in self.boosters], axis=0)

    def _folded_steps(self, steps: np.ndarray) -> np.ndarray:
        """Steps beyond the trained horizon map to the same weekly slot within it.

        The forecast for ``o + h`` with ``h`` beyond a week is that of the same slot of the week
        ``o + ((h - 1) mod week) + 1`` (plus the trend, added later): a periodic extension, instead
        of a model learnt from the few, old rows with very long horizons.
        """
        limit = self.trained_horizon
        if limit >= self.horizon:
            return steps
        return np.where(steps > limit, (steps - 1) % self.layout.week + 1, steps)

    def _detrended(self, values: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if not np.any(self.slopes):
            return values
        cols = np.arange(values.shape[1])
        return values - self.slopes[:, None] * (cols[None, :] - ref[:, None])


def sample_horizons(rng: np.random.Generator, horizon: int, size: int) -> np.ndarray:
    """Horizons for training rows: half uniform on 1..H, half log-uniform (short steps matter most).

    Examples
    --------
    >>> h = sample_horizons(np.random.default_rng(0), 288, 10_000)
    >>> int(h.min()), int(h.max()), bool(np.median(h) < 144)
    (1, 288, True)
    """
    uniform = rng.integers(1, horizon + 1, size)
    log_u = np.floor(np.exp(rng.uniform(0, np.log(horizon + 1), size))).astype(np.int64)
    pick = rng.random(size) < 0.5
    return np.clip(np.where(pick, uniform, log_u), 1, horizon)


def _disjoint_groups(rows: np.ndarray) -> list[np.ndarray]:
    """Split positions so that each group holds every series at most once (k-th window of each)."""
    order = np.argsort(rows, kind="stable")
    rank = np.empty(rows.size, dtype=np.int64)
    sorted_rows = rows[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_rows)) + 1]
    counts = np.diff(np.r_[starts, rows.size])
    rank[order] = np.arange(rows.size) - np.repeat(starts, counts)
    return [np.flatnonzero(rank == r) for r in range(int(rank.max()) + 1)] if rows.size else []
