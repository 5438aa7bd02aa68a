"""Forecasting engine: one LightGBM global model, calibrated intervals, backtests and baselines.

Public API:

- :func:`fit_forecast` — forecast a panel of series (long ``series_id, ts, value``) with 80/95 %
  conformal intervals, rolling-origin backtest, baselines and quality gate.
- :func:`forecast_series` — ``(history[ts, value], horizon, freq) -> frame[ts, yhat, lo80, hi80,
  lo95, hi95]``, the callable for scaling policies and simulations.

Capacity planning (daily P95 per server and metric, 30/90 days, with growth) lives in
:mod:`fleetcast.risk.outlook`: a trend + weekly model measured better at threshold crossings than
this engine at daily frequency (see that module).
"""

from importlib import import_module

_EXPORTS = {"ForecastResult": "engine", "InsufficientHistory": "panel", "fit_forecast": "engine",
            "Frequency": "frequency", "ModelConfig": "model"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import the engine (LightGBM) on first use, so ``fleetcast.forecast.frequency`` stays cheap."""
    if name in _EXPORTS:
        return getattr(import_module(f"fleetcast.forecast.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'fleetcast.forecast' has no attribute {name!r}")
