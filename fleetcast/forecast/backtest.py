"""Rolling-origin backtests of the model, the baselines and the model averaged with the slot mean.

Windows end at each series' last row: origin ``k`` (of ``K``) is
``last - horizon - (K - 1 - k) * step``. Windows are split into a few chronological groups; each
group's model is trained only on data up to the group's first origin and forecasts every window of
the group from its own origin (data after an origin is never used), so all residuals are out of
sample. Their scores, with interval coverage measured leave-one-window-out, are in
:mod:`fleetcast.forecast.backtest_scores`.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.conformal import Calibration, ErrorScale, studentise
from fleetcast.forecast.decompose import MIN_CYCLES, blend_weight
from fleetcast.forecast.features import Layout
from fleetcast.forecast.metrics import mase_scales
from fleetcast.forecast.model import GlobalModel, ModelConfig
from fleetcast.forecast.panel import Panel, first_origins
from fleetcast.forecast.wander import HistoryErrors, needs_history

MODEL = "lgbm"
AVERAGED = "lgbm_slot_mean"  # the model averaged with the slot-mean baseline (a rival in the quality gate)
TARGET_RESIDUALS = 3000
TARGET_SERIES_WINDOWS = 20
MAX_WINDOWS = 5000
MAX_FOLDS = 10
MAX_CELLS = 250_000
MAX_REFITS = 4
REFIT_SHARE = 0.15
SPAN_HORIZONS = 5


@dataclass(frozen=True)
class BacktestSpec:
    """Rolling-origin layout: ``windows`` forecasts of ``horizon`` steps, origins ``step`` apart.

    Examples
    --------
    >>> BacktestSpec(horizon=288, windows=7, step=288).span
    2016
    """

    horizon: int
    windows: int
    step: int

    @property
    def span(self) -> int:
        return self.horizon + (self.windows - 1) * self.step


def default_spec(panel: Panel, horizon: int, layout: Layout, windows: int | None = None,
                 step: int | None = None) -> BacktestSpec:
    """Windows for about 3,000 residuals and 20 series-windows, using at most 2/3 of the history.

    Errors within one window are correlated (a day's level is off as a whole), so besides enough
    residuals the calibration needs enough separate windows to see the spread of such shocks.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> f = Frequency.parse("5min")
    >>> p = Panel(["a"], np.datetime64("2024-01-01"), f, np.ones((1, 288 * 40)), np.array([0]),
    ...           np.array([288 * 40 - 1]))
    >>> default_spec(p, 288, Layout.for_freq(f))
    BacktestSpec(horizon=288, windows=20, step=288)
    """
    wanted = max(2, math.ceil(max(TARGET_RESIDUALS / horizon, TARGET_SERIES_WINDOWS) / panel.n_series))
    step = step or default_step(horizon, layout, windows or wanted)
    if windows is None:
        span = int(np.median(panel.last - panel.first + 1))
        room = max(0, (2 * span // 3 - horizon) // step + 1)
        windows = int(np.clip(min(wanted, room), 1, MAX_WINDOWS))
    return BacktestSpec(horizon, max(1, windows), step)


def default_step(horizon: int, layout: Layout, windows: int) -> int:
    """Origins a day apart (``horizon`` apart if shorter). Beyond a week ahead, in whole days, far
    enough apart that the ``windows`` span ``SPAN_HORIZONS`` horizons, but at most a horizon apart.

    Windows a day apart overlap almost wholly when the horizon is weeks long and they are few: all
    their residuals then come from the same few months, and the intervals miss the errors of other
    seasons. On 9 real daily series 90 days ahead (34 windows), the 80 % intervals covered 41 % of
    days 31-90 with origins a day apart and 76 % with origins 11 days apart
    (``bench/forecast_generalisation.py --only daily [--step 1]``). 30 days ahead, 100 windows a day
    apart already span four months; four days apart covered about the same (85 % and 87 %) in twice
    the time, so the rule leaves them a day apart.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> [default_step(h, Layout.for_freq(Frequency.parse(f)), w) for h, f, w in
    ...  ((12, "5min", 250), (288, "5min", 20), (2016, "5min", 20), (48, "1h", 63), (720, "1h", 20),
    ...   (720, "1h", 2), (30, "1d", 100), (90, "1d", 34))]
    [12, 288, 288, 24, 144, 720, 1, 11]
    """
    if horizon <= layout.day:
        return max(1, horizon)
    if horizon <= layout.week:
        return layout.day
    spread = (SPAN_HORIZONS - 1) * horizon / max(1, windows - 1)
    return layout.day * min(max(1, round(spread / layout.day)), horizon // layout.day)


@dataclass
class BacktestRun:
    """Forecasts of every method for every (series, window) at the scored ``steps``, with actuals."""

    spec: BacktestSpec
    rows: np.ndarray
    origins: np.ndarray
    window: np.ndarray
    steps: np.ndarray
    actual: np.ndarray
    scale: np.ndarray
    forecasts: dict[str, np.ndarray]
    mase_scale: np.ndarray
    day: int
    refits: int = 1
    blend: float = 1.0
    model: GlobalModel | None = None
    final: GlobalModel | None = None
    week: int = 0
    history: HistoryErrors | None = None
    _studentised: dict = field(default_factory=dict)

    def studentised(self, method: str, level_power: float) -> tuple[np.ndarray, ErrorScale, np.ndarray]:
        key = (method, level_power)
        if key not in self._studentised:
            self._studentised[key] = studentise(
                self.actual, self.forecasts[method], self.scale, self.rows, self.origins, self.steps,
                level_power, max(self.spec.horizon, self.day))
        return self._studentised[key]

    def calibration(self, method: str, level_power: float, mask: np.ndarray | None = None, *,
                    whole_history: bool = False) -> Calibration:
        """Conformal calibration of ``method`` from these residuals (quantiles from ``mask`` rows);
        ``whole_history`` remaps them to the history's spread where measured (:mod:`~fleetcast.forecast.wander`)."""
        u, errors, _ = self.studentised(method, level_power)
        remap = None
        if whole_history and self.history is not None:
            remap = self.history.remap(self.actual, self.forecasts["slot_mean"], self.scale, level_power)
        return Calibration.from_studentised(u if mask is None else u[mask], self.steps, self.spec.horizon,
                                            errors, level_power, self.week, remap,
                                            symmetric=self.windows_scored(mask) < 2)  # ADR 0007

    def windows_scored(self, mask: np.ndarray | None = None) -> int:
        """How many windows (of ``mask`` rows) hold an actual value."""
        scored = np.isfinite(self.actual).any(axis=1) & (True if mask is None else mask)
        return np.unique(self.window[scored]).size


def backtest_origins(panel: Panel, spec: BacktestSpec, layout: Layout
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Series rows, origins and window numbers of all windows with enough history before them."""
    k = np.arange(spec.windows)
    origins = panel.last[:, None] - spec.horizon - (spec.windows - 1 - k)[None, :] * spec.step
    ok = origins >= first_origins(panel, layout)[:, None]
    rows, window = np.nonzero(ok)
    return rows, origins[rows, window], window


def scored_steps(n_windows: int, horizon: int) -> np.ndarray:
    """Horizon steps to score: all of them, or an even subset when windows x steps is very large.

    Examples
    --------
    >>> scored_steps(10, 48).size, scored_steps(2000, 720)[:3].tolist()
    (48, [1, 7, 13])
    """
    stride = max(1, math.ceil(n_windows * horizon / MAX_CELLS))
    return np.arange(1, horizon + 1, stride)


def refit_groups(spec: BacktestSpec, panel: Panel) -> int:
    """How many chronological groups of windows get their own model (1 to ``MAX_REFITS``).

    A single model trained before the first origin is handicapped when the backtest spans a large
    share of the history (it has seen much less data than the final model will), which would make
    the quality gate unfair to it; refitting every group of windows keeps the handicap under ~15 %.
    """
    span = int(np.median(panel.last - panel.first + 1))
    return int(np.clip(round(spec.span / (REFIT_SHARE * max(span, 1))), 1, min(MAX_REFITS, spec.windows)))


def run_backtest(panel: Panel, spec: BacktestSpec, config: ModelConfig, layout: Layout, *,
                 with_final: bool = False) -> BacktestRun:
    """Forecast all windows with the model (refit per chronological group of windows, each trained
    only on data before its first origin) and with the baselines.

    ``with_final`` also trains the model on all the data (``BacktestRun.final``), beside the
    backtest's models (see :func:`fit_models`).
    """
    rows, origins, window = backtest_origins(panel, spec, layout)
    if rows.size == 0:
        raise ValueError("too little history for a backtest")
    steps = scored_steps(rows.size, spec.horizon)
    weeks = np.median(panel.last - panel.first + 1 - spec.horizon) / max(layout.week, 1)
    how = config.blend if weeks >= MIN_CYCLES else "off"  # too short for a weekly profile to blend with
    groups = refit_groups(spec, panel)
    group = window * groups // spec.windows
    cutoffs: list[np.ndarray | None] = []
    selections = [np.flatnonzero(group == g) for g in range(groups)]
    selections = [sel for sel in selections if sel.size]
    for sel in selections:
        cutoff = panel.last.copy()
        np.minimum.at(cutoff, rows[sel], origins[sel])
        cutoffs.append(cutoff)
    models = fit_models(panel, cutoffs + ([None] if with_final else []), config, layout, spec.horizon)
    final = models.pop() if with_final else None
    yhat = np.empty((rows.size, steps.size))
    seasonal = np.empty((rows.size, steps.size)) if how != "off" else None  # only what a blend needs
    scale = np.empty(rows.size)
    for sel, model in zip(selections, models, strict=True):
        yhat[sel], scale[sel] = model.predict_trees(panel, rows[sel], origins[sel], spec.horizon, steps)
        if seasonal is not None:
            seasonal[sel] = model.predict_seasonal(panel, rows[sel], origins[sel], spec.horizon, steps)
    first_cutoff = cutoffs[0]
    actual = panel.values_after(rows, origins, steps)
    weight, blended = _blend(actual, yhat, seasonal, scale, window, how)
    forecasts = with_averaged(
        {MODEL: blended, **baseline_forecasts(panel.values, panel.freq, rows, origins, spec.horizon, steps)})
    period = layout.week if np.median(first_cutoff - panel.first) > 2 * layout.week else layout.day
    history = HistoryErrors.measure(panel, spec.horizon, steps, layout) if needs_history(
        spec.horizon, spec.span, panel, layout) else None
    return BacktestRun(spec, rows, origins, window, steps, actual, scale, forecasts,
                       mase_scales(panel.values, first_cutoff, max(period, 1)), layout.day, groups, weight,
                       models[-1], final, layout.week, history)


def with_averaged(forecasts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``forecasts`` of the model and the baselines, with the model averaged with the slot mean."""
    return {**forecasts, AVERAGED: (forecasts[MODEL] + forecasts["slot_mean"]) / 2}


def fit_models(panel: Panel, cutoffs: list[np.ndarray | None], config: ModelConfig, layout: Layout,
               horizon: int) -> list[GlobalModel]:
    """Models trained on ``panel`` up to each of ``cutoffs`` (per series; None: all the data).

    With single-threaded LightGBM (``config.num_threads == 1``, the default) the models are trained
    side by side, one thread per available core: LightGBM and most of NumPy release the GIL, so two
    cores nearly halve a backtest. Each model is the same as when trained alone.
    """
    def fit(cutoff: np.ndarray | None) -> GlobalModel:
        return GlobalModel(config, layout, horizon).fit(panel, cutoff)

    workers = min(len(cutoffs), available_cores()) if config.num_threads == 1 else 1
    if workers <= 1:
        return [fit(c) for c in cutoffs]
    with ThreadPoolExecutor(workers) as pool:  # the biggest (latest) first: the last to finish is short
        return list(pool.map(fit, cutoffs[::-1]))[::-1]


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _blend(actual: np.ndarray, trees: np.ndarray, seasonal: np.ndarray | None, scale: np.ndarray, window: np.ndarray,
           how: str) -> tuple[float, np.ndarray]:
    """The trees' weight in the blend, and the blended backtest forecasts.

    ``how``: ``equal`` (0.5), ``off`` (1.0), or ``backtest``: the weight chosen on all windows,
    with the backtest's forecasts *cross-fitted* (each fold of windows blended with the weight
    chosen on the other folds), so the residuals that calibrate the intervals and feed the quality
    gate stay out of sample.
    """
    if how == "off":
        return 1.0, trees
    if how == "equal":
        return 0.5, 0.5 * (trees + seasonal)
    if how != "backtest":
        raise ValueError(f"unknown blend {how!r} (equal, backtest or off)")
    n_folds = min(MAX_FOLDS, int(window.max()) + 1)
    fold = window % n_folds
    out = np.empty_like(trees)
    for f in range(n_folds):
        held = fold == f
        train = ~held if n_folds > 1 else held
        w = blend_weight(actual[train], trees[train], seasonal[train], scale[train])
        out[held] = w * trees[held] + (1 - w) * seasonal[held]
    return blend_weight(actual, trees, seasonal, scale), out
