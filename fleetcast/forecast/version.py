"""Model versions and model cards: every forecast row names the model that made it.

A model version is ``lgbm-<strategy>-v<N>:<12 hex>``, the hex digits being a SHA-256 over the
training data (series ids, grid, values), the feature list, the parameters and the horizon: the same
data and settings always give the same version, and any change gives a new one. The model card
records the same ingredients in readable form together with the backtest scores.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import numpy as np

from fleetcast.forecast.backtest import BacktestSpec
from fleetcast.forecast.conformal import Calibration
from fleetcast.forecast.features import Layout
from fleetcast.forecast.model import GlobalModel, ModelConfig
from fleetcast.forecast.panel import Panel, as_datetime

ENGINE_VERSION = 9  # 9: one burst does not raise a series' error level, and a series whose last rows
# are gaps is forecast from its last value; 8: one backtest window gives symmetric tails; 7: tails
# beyond a week from under a year of windows take the history's spread


def data_fingerprint(panel: Panel) -> str:
    """SHA-256 (16 hex digits) of the panel's ids, grid and values."""
    digest = hashlib.sha256()
    for part in panel.fingerprint_parts():
        digest.update(part)
    return digest.hexdigest()[:16]


def model_version(panel: Panel, config: ModelConfig, layout: Layout, horizon: int) -> str:
    """The version string written on every forecast row.

    Examples
    --------
    >>> from fleetcast.forecast.frequency import Frequency
    >>> f = Frequency.parse("1h")
    >>> p = Panel(["a"], np.datetime64("2024-01-01"), f, np.ones((1, 48)), np.array([0]), np.array([47]))
    >>> v = model_version(p, ModelConfig(), Layout.for_freq(f), 24)
    >>> v.startswith(f"lgbm-direct-v{ENGINE_VERSION}:"), v == model_version(p, ModelConfig(), Layout.for_freq(f), 24)
    (True, True)
    """
    settings = {k: v for k, v in config.as_dict().items() if k != "num_threads"}
    recipe = json.dumps({"config": settings, "features": layout.names(), "horizon": horizon,
                         "freq": panel.freq.name, "engine": ENGINE_VERSION}, sort_keys=True)
    digest = hashlib.sha256((data_fingerprint(panel) + recipe).encode()).hexdigest()[:12]
    return f"lgbm-{config.strategy}-v{ENGINE_VERSION}:{digest}"


def model_card(version: str, panel: Panel, config: ModelConfig, layout: Layout, horizon: int, spec: BacktestSpec,
               model: GlobalModel, scores: dict, methods: list[str], calibration: Calibration,
               skipped: dict[str, str], refits: int = 1, caveats: list[str] | None = None) -> dict:
    """A JSON-ready description of the model, its data and how it scored, and what the backtest cannot
    vouch for (``caveats``, in words). ``horizon`` is the forecast's as asked; the backtest (``spec``)
    and the model reach further when some series' last rows are gaps."""
    published = {m: methods.count(m) for m in sorted(set(methods))}
    return {
        "model_version": version,
        "created_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "engine": f"fleetcast.forecast v{ENGINE_VERSION} (LightGBM global model)",
        "data": {
            "fingerprint": data_fingerprint(panel),
            "series": panel.n_series,
            "freq": panel.freq.name,
            "start": as_datetime(panel.times(np.array([panel.first.min()]))[0]).isoformat(),
            "end": as_datetime(panel.times(np.array([panel.last.max()]))[0]).isoformat(),
            "observed_values": int(np.sum(~np.isnan(panel.values))),
            "gap_values": int(np.sum(np.isnan(panel.values))),
            "skipped_series": skipped,
        },
        "horizon": horizon,
        "strategy": config.strategy,
        "features": layout.names(),
        "params": {**config.as_dict(), **{k: v for k, v in config.lgb_params().items() if k != "verbose"}},
        "training_rows": model.n_rows,
        "boosters": len(model.boosters),  # each learnt its own sample of training_rows, averaged
        "training_ends_steps_before_last": int(np.median(panel.last - model.ref)) if model.ref.size else 0,
        "series_with_trend": int(np.count_nonzero(model.slopes)),
        "blend": {"model_weight": model.weight,
                  "other": "seasonal decomposition (fleetcast.forecast.decompose), weight chosen on the backtest"},
        "backtest": {"horizon": spec.horizon, "windows": spec.windows, "step": spec.step,
                     "refits": refits, "scores": _rounded(scores)},
        "quality_gate": {"published": published},
        "intervals": {"method": "split conformal, rolling-origin residuals per horizon bucket, normalised "
                                "by local level and predicted level, per-series error factor; no bucket's "
                                "tails narrower than at the same time of an earlier week; beyond a week, where "
                                "the backtest's windows cover under a year, tails remapped to the spread of the "
                                "slot mean's errors over the whole history; symmetric tails when a single "
                                "backtest window holds every residual",
                      "residual_quantiles": calibration.quantile_table()},
        "caveats": caveats or [],
    }


def _rounded(obj):
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, float | np.floating):
        return None if not np.isfinite(obj) else round(float(obj), 4)
    return obj


def card_json(card: dict) -> str:
    return json.dumps(card, indent=2, sort_keys=False, default=str)
