"""Fit, backtest, calibrate, gate and forecast: the one call the pipeline, the CLI and the API use.

:func:`fit_forecast` runs, for a panel of series sharing a frequency:

1. a rolling-origin backtest (model trained before the first origin; baselines beside it);
2. conformal calibration of each method's intervals from the backtest residuals;
3. the quality gate (:mod:`fleetcast.forecast.gate`): per series, a baseline's forecast or the model
   averaged with the slot-mean baseline is published instead of the model's when it is significantly
   better on the backtest windows (``gate_metric``, RMSE by default); the decision and its reason are
   recorded;
4. the final model, trained on all the data beside the backtest's models (or the last backtest model
   when the training sample is capped anyway, see ``ModelConfig.refit_final``), forecasting
   ``horizon`` steps after each series' last row (blended with a seasonal decomposition when
   ``ModelConfig.blend`` asks for it). Where the last rows are gaps (data that arrives late), the
   forecast is made from the last value, as many steps further ahead, and so are its intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from fleetcast.forecast.backtest import MODEL, BacktestRun, default_spec, run_backtest, with_averaged
from fleetcast.forecast.backtest_scores import choose_level_power, pooled_scores, score_backtest
from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.conformal import LEVELS, Calibration
from fleetcast.forecast.features import Layout
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.gate import decide
from fleetcast.forecast.model import GlobalModel, ModelConfig
from fleetcast.forecast.panel import Panel, panel_frame, to_panel, usable_series
from fleetcast.forecast.version import model_card, model_version


@dataclass
class ForecastResult:
    """Forecasts with intervals, backtest scores, and the model card that made them.

    ``forecasts``: ``series_id, ts, step, yhat, lo80, hi80, lo95, hi95, model, model_version``.
    ``backtest``: one row per series and method (the model, the baselines, and the model averaged with
    the slot mean) with RMSE, MAE, sMAPE, MASE, coverage and width at 80/95 %, ``chosen`` and ``reason``
    (the quality gate's decision).
    ``model`` is the final fitted model (reusable to forecast from later origins without refitting).
    """

    forecasts: pl.DataFrame
    backtest: pl.DataFrame
    model_card: dict
    skipped: dict[str, str] = field(default_factory=dict)
    model: GlobalModel | None = None
    _panel: Panel | None = None
    _yhat: np.ndarray | None = None
    _scale: np.ndarray | None = None
    _methods: list[str] = field(default_factory=list)
    _calibrations: dict[str, Calibration] = field(default_factory=dict)
    _steps: np.ndarray | None = None  # steps of each forecast after its series' last value

    @property
    def model_version(self) -> str:
        return self.model_card["model_version"]

    def prob_above(self, threshold: float | dict[str, float]) -> pl.DataFrame:
        """P(value > threshold) per series and step, from the calibrated residual distribution.

        ``threshold`` is one number or a ``{series_id: threshold}`` mapping.
        """
        per_series = np.array([threshold.get(s, np.nan) if isinstance(threshold, dict) else threshold
                               for s in self._panel.ids], dtype=np.float64)
        prob = np.full(self._yhat.shape, np.nan)
        for calibration, rows, steps in self._groups():
            prob[rows] = calibration.prob_above(self._yhat[rows], self._scale[rows], rows,
                                                self._panel.last_observed[rows], per_series[rows][:, None], steps)
        return self._long({"prob_above": prob})

    def quantiles(self, probs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pl.DataFrame:
        """Calibrated quantiles of each future value (columns ``q0.05`` ...)."""
        cols = {}
        for q in probs:
            out = np.full(self._yhat.shape, np.nan)
            for calibration, rows, steps in self._groups():
                out[rows] = calibration.quantile(self._yhat[rows], self._scale[rows], rows,
                                                 self._panel.last_observed[rows], q, steps)
            cols[f"q{q:g}"] = _clip_like(out, self._panel)
        return self._long(cols)

    def _groups(self):
        """``(calibration, rows, steps)`` for the series sharing a published method and the steps
        from their last value (later than their last row when it is a gap)."""
        keys = [(m, int(s[0])) for m, s in zip(self._methods, self._steps, strict=True)]
        for key in sorted(set(keys)):
            rows = np.flatnonzero([k == key for k in keys])
            yield self._calibrations[key[0]], rows, self._steps[rows[0]]

    def _long(self, columns: dict[str, np.ndarray]) -> pl.DataFrame:
        rows = np.arange(self._panel.n_series)
        h = self._yhat.shape[1]
        rr = np.repeat(rows, h)
        idx = (self._panel.last[rows][:, None] + np.arange(1, h + 1)[None, :]).ravel()
        return panel_frame(self._panel, rr, idx, {k: v[rows].ravel() for k, v in columns.items()})


def fit_forecast(history: pl.DataFrame | Panel, horizon: int, freq: str | Frequency | None = None, *,
                 config: ModelConfig | None = None, windows: int | None = None, step: int | None = None,
                 gate: bool = True, gate_metric: str = "rmse", snap: bool = False) -> ForecastResult:
    """Forecast ``horizon`` steps after each series' last row, with calibrated 80/95 % intervals.

    Parameters
    ----------
    history
        Long data ``series_id, ts, value`` (``series_id`` optional) at a regular frequency; missing
        rows and null values are gaps. A :class:`Panel` is accepted as well.
    horizon
        Steps to forecast. A series whose last rows are gaps is forecast from its last value, as many
        steps further ahead (left out when they are more than ``horizon``), and the backtest then
        reaches as far for every series.
    freq
        ``1min``, ``5min``, ``15min``, ``1h``, ``1d``...; inferred when None.
    config
        Model settings (strategy, trend handling, LightGBM parameters, threads).
    windows, step
        Backtest layout (default: about 3,000 residuals; origins a day apart, ``horizon`` apart if
        shorter, spread over five horizons beyond a week: see
        :func:`fleetcast.forecast.backtest.default_step`).
    gate
        Publish a baseline, or the model averaged with the slot mean, for series where it is
        significantly better than the model on the backtest (see :mod:`fleetcast.forecast.gate`).
    gate_metric
        ``rmse`` or ``mae``.
    snap
        Floor times that are off the ``freq`` grid (anchored at the first time) onto it, averaging
        values that land in the same bin; otherwise off-grid times are an error.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> hours = np.arange(24 * 28)
    >>> load = 100 + 30 * np.sin(2 * np.pi * hours / 24) + np.random.default_rng(0).normal(0, 3, hours.size)
    >>> history = pl.DataFrame({"ts": [t0 + timedelta(hours=int(h)) for h in hours], "value": load})
    >>> result = fit_forecast(history, horizon=24, freq="1h", config=ModelConfig(num_threads=1,
    ...                       n_estimators=50))
    >>> result.forecasts.columns[:8]
    ['series_id', 'ts', 'step', 'yhat', 'lo80', 'hi80', 'lo95', 'hi95']
    >>> result.forecasts.height, str(result.forecasts["ts"][0])
    (24, '2024-01-29 00:00:00')
    """
    config = config or ModelConfig()
    panel = history if isinstance(history, Panel) else to_panel(history, freq, snap=snap)
    layout = Layout.for_freq(panel.freq)
    panel, skipped = usable_series(panel, horizon, layout)
    # a series whose last rows are gaps is forecast from its last value: `silent` steps more ahead
    silent = panel.last - panel.last_observed
    reach = horizon + int(silent.max())
    spec = default_spec(panel, reach, layout, windows, step)
    run = run_backtest(panel, spec, config, layout, with_final=_refit_needed(panel, config, layout, reach))
    power = choose_level_power(run)
    calibrations = {m: run.calibration(m, power, whole_history=True) for m in run.forecasts}
    scores = score_backtest(run, panel, power)
    methods, reasons = decide(run, scores, panel.ids, gate=gate, metric=gate_metric)

    final = _final_model(run, panel, config, layout, reach)
    rows, origins = np.arange(panel.n_series), panel.last_observed
    steps = silent[:, None] + np.arange(1, horizon + 1)[None, :]
    yhat_model, scale = final.predict(panel, rows, origins, reach)
    baselines = baseline_forecasts(panel.values, panel.freq, rows, origins, reach)
    candidates = with_averaged({MODEL: yhat_model, **baselines})
    yhat = np.vstack([candidates[m][i, steps[i] - 1] for i, m in enumerate(methods)])

    version = model_version(panel, config, layout, horizon)
    card = model_card(version, panel, config, layout, horizon, spec, final, pooled_scores(run, panel, power),
                      methods, calibrations[MODEL], skipped, run.refits,
                      caveats(panel, horizon + silent, layout, calibrations[MODEL].remapped > 0)
                      + _unchecked(scores, panel.n_series) + _silent(silent, panel.freq))
    scores = scores.with_columns(
        chosen=pl.struct("series_id", "model").map_elements(
            lambda r: methods[panel.ids.index(r["series_id"])] == r["model"], return_dtype=pl.Boolean),
        reason=pl.col("series_id").replace_strict(dict(zip(panel.ids, reasons, strict=True)),
                                                  return_dtype=pl.String),
        model_version=pl.lit(version),
    )
    result = ForecastResult(pl.DataFrame(), scores, card, skipped, final, panel, yhat, scale, methods,
                            calibrations, steps)
    result.forecasts = _forecast_frame(result, version)
    return result


def _refit_needed(panel: Panel, config: ModelConfig, layout: Layout, horizon: int) -> bool:
    """Whether the published forecast needs a model trained on all the data (see :func:`_final_model`);
    known before the backtest, so that model is trained beside the backtest's."""
    if config.refit_final not in ("auto", "always"):
        raise ValueError(f"unknown refit_final {config.refit_final!r} (auto or always)")
    return config.refit_final == "always" or not GlobalModel(config, layout, horizon).would_cap(panel)


def _final_model(run: BacktestRun, panel: Panel, config: ModelConfig, layout: Layout, horizon: int) -> GlobalModel:
    """The model that makes the published forecast: trained on all the data, or the last backtest
    model when ``config.refit_final`` is ``auto`` and the training sample is capped at ``max_rows``
    (a large fleet: more data would only be subsampled, so a refit changes little and costs as much as
    the backtest)."""
    if run.final is not None:
        final = run.final
    elif run.model is not None and run.model.capped:
        final = run.model
    else:  # all the data is over the cap, but the backtest's last sample was not
        final = GlobalModel(config, layout, horizon).fit(panel)
    final.weight = run.blend
    return final


def caveats(panel: Panel, horizon: int, layout: Layout, widened: bool = False) -> list[str]:
    """What the backtest cannot vouch for, in words for the user (empty when nothing).

    Forecasts beyond a week (``horizon``: one for all series, or each series' own) from less than a
    year plus the horizon of history: every backtest window
    lies in the same part of the year, so the intervals have not seen how the level moves with the
    seasons. ``widened``: their tails beyond a week were remapped to the spread of the whole history
    (:mod:`fleetcast.forecast.wander`), which covers nominally on average but cannot know a season
    unlike any in the history; otherwise they can be far too narrow late in the horizon (measured in
    the README's forecast table).

    Examples
    --------
    >>> f = Frequency.parse("1d")
    >>> p = Panel(["a", "b"], np.datetime64("2024-01-01"), f, np.ones((2, 600)), np.array([0, 360]),
    ...           np.array([599, 599]))
    >>> print(*caveats(p, 90, Layout.for_freq(f)))  # doctest: +NORMALIZE_WHITESPACE
    1 of 2 series has less than a year plus the horizon of history (240 days, needs 455): the seasons
    after it are unseen, so its intervals beyond the first weeks may be too narrow
    >>> print(*caveats(p, 90, Layout.for_freq(f), widened=True))  # doctest: +NORMALIZE_WHITESPACE
    1 of 2 series has less than a year plus the horizon of history (240 days, needs 455): the seasons
    after it are unseen, so its intervals beyond a week are as wide as its level moved within its
    history, and a season unlike any in it may fall outside them
    >>> caveats(p, 7, Layout.for_freq(f))
    []
    >>> w = Frequency.parse("7d")  # steps longer than a day count as their days
    >>> print(*caveats(Panel(["a"], np.datetime64("2024-01-01"), w, np.ones((1, 60)), np.array([0]),
    ...                      np.array([59])), 12, Layout.for_freq(w)))  # doctest: +ELLIPSIS
    1 of 1 series has less than a year plus the horizon of history (420 days, needs 455): ...
    """
    reach = np.broadcast_to(np.asarray(horizon), panel.last.shape)  # per series: further when its end is late
    if (reach <= layout.week).all():
        return []
    step_days = panel.freq.seconds / 86_400  # weekly data has steps longer than a day
    need = math.ceil(365 / step_days) + reach
    span = panel.last - panel.first + 1
    short = (reach > layout.week) & (span < need)
    if not short.any():
        return []
    n, days, need = int(short.sum()), int(np.median(span[short]) * step_days), int(need[short].max())
    which, its = ("series has", "its") if n == 1 else ("series have", "their")
    median = "" if n == 1 else " at the median"
    consequence = (f"{its} intervals beyond a week are as wide as {its} level moved within {its} history, and a "
                   f"season unlike any in it may fall outside them" if widened else
                   f"{its} intervals beyond the first weeks may be too narrow")
    return [f"{n} of {panel.n_series} {which} less than a year plus the horizon of history ({days} days{median}, needs "
            f"{math.ceil(need * step_days)}): the seasons after it are unseen, so {consequence}"]


def _unchecked(scores: pl.DataFrame, n_series: int) -> list[str]:
    """The caveats for series whose intervals no backtest window could check: a single window, or
    none (a series just long enough, when another one's last rows are gaps and the backtest reaches
    further)."""
    model = scores.filter(pl.col("model") == MODEL)
    one, none = model.filter(pl.col("coverage80").is_nan()).height, n_series - model.height
    out = []
    if one:
        which, its = ("series has", "its") if one == 1 else ("series have", "their")
        out.append(f"{one} of {n_series} {which} history for one backtest window only: {its} intervals are not "
                   f"checked out of sample; they are as wide on both sides as that window's errors, and may be too "
                   f"narrow")
    if none:
        which, its = ("series has", "its") if none == 1 else ("series have", "their")
        out.append(f"{none} of {n_series} {which} no backtest window: {its} intervals are the other series' "
                   f"errors, not checked on {'it' if none == 1 else 'them'}")
    return out


def _silent(silent: np.ndarray, freq: Frequency) -> list[str]:
    """The caveat for series whose last rows are gaps: forecast from their last value, further ahead."""
    n = int((silent > 0).sum())
    if not n:
        return []
    which, its = ("series ends", "its") if n == 1 else ("series end", "their")
    return [f"{n} of {silent.size} {which} with up to {int(silent.max())} steps of {freq.name} without values: "
            f"{its} forecasts are made from {its} last value, as many steps further ahead, and {its} intervals "
            f"are as wide as that far ahead (the backtest of every series reaches as far)"]


def _forecast_frame(result: ForecastResult, version: str) -> pl.DataFrame:
    panel = result._panel
    cols = {"yhat": result._yhat}
    for level in LEVELS:
        lo = np.empty_like(result._yhat)
        hi = np.empty_like(result._yhat)
        for calibration, rows, steps in result._groups():
            lo[rows], hi[rows] = calibration.interval(result._yhat[rows], result._scale[rows], rows,
                                                      panel.last_observed[rows], level, steps)
        cols[f"lo{level}"], cols[f"hi{level}"] = lo, hi
    cols = {k: _clip_like(v, panel) for k, v in cols.items()}
    h = result._yhat.shape[1]
    cols = {"step": np.tile(np.arange(1, h + 1), (panel.n_series, 1)), **cols}
    frame = result._long(cols).with_columns(pl.col("step").cast(pl.Int32))
    model = np.repeat(np.array(result._methods, dtype=object), h).tolist()
    return frame.with_columns(model=pl.Series(model, dtype=pl.String), model_version=pl.lit(version))


def _clip_like(values: np.ndarray, panel: Panel) -> np.ndarray:
    """Never forecast below zero for series that never went below zero (counts, utilisation)."""
    non_negative = ~(np.nanmin(np.where(np.isnan(panel.values), np.inf, panel.values), axis=1) < 0)
    return np.where(non_negative[:, None], np.maximum(values, 0.0), values)
