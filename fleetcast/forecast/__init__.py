"""Forecasting engine: one LightGBM global model, calibrated intervals, backtests and baselines.

Public API:

- :func:`fit_forecast` — forecast a panel of series (long ``series_id, ts, value``) with 80/95 %
  conformal intervals, rolling-origin backtest, baselines and quality gate.
- :func:`forecast_series` — ``(history[ts, value], horizon, freq) -> frame[ts, yhat, lo80, hi80,
  lo95, hi95]``, the callable for scaling policies and simulations.
- :func:`forecast_daily_p95` — capacity planning: daily P95 per series and metric, 30-90 days ahead,
  with growth trends and exceedance probabilities.
"""

from fleetcast.forecast.engine import ForecastResult, InsufficientHistory, fit_forecast
from fleetcast.forecast.frequency import Frequency
from fleetcast.forecast.model import ModelConfig

__all__ = ["ForecastResult", "Frequency", "InsufficientHistory", "ModelConfig", "fit_forecast"]
