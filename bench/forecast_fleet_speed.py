"""Speed benchmark: 1,000 hourly series x 180 days, fit + 30-day forecast with 80/95 % intervals.

Runs fleetcast (backtest + conformal intervals + quality gate + final model) and, side by side,
mlforecast with the same LightGBM parameters and the closest equivalent features (lags 1-3, a day,
two days, a week, two weeks; rolling mean/std over 2/6/24 h; EW means; same slot over 4 weeks;
hour, day of week; per-series scaling), recursive 720-step forecasts and conformal intervals
(``PredictionIntervals(n_windows=2, h=720)``). Each side runs in its own process so wall time and
peak memory (max RSS) are measured separately. The fleet is generated 30 days longer than the
history, so the published intervals are also scored on the actual next 30 days. Goals (issue 3):
fleetcast <= 60 s and <= 4 GB, and time ratio fleetcast / mlforecast <= 1.0.

    .venv/bin/python bench/forecast_fleet_speed.py [--series 1000] [--days 180] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import timedelta

import numpy as np
import polars as pl

from fleetcast.forecast.model import ModelConfig
from fleetcast.forecast.synthetic import generate_fleet

HORIZON = 720


def run_fleetcast(data: pl.DataFrame, threads: int, future: pl.DataFrame) -> dict:
    from fleetcast.forecast import fit_forecast

    config = ModelConfig(num_threads=threads)
    started = time.perf_counter()
    result = fit_forecast(data, HORIZON, "1h", config=config)
    elapsed = time.perf_counter() - started
    card = result.model_card
    got = result.forecasts.join(future, on=["series_id", "ts"])
    actual = {f"coverage{lv}": float(((got["value"] >= got[f"lo{lv}"]) & (got["value"] <= got[f"hi{lv}"])).mean())
              for lv in (80, 95)}
    return {"seconds": elapsed, "rows": result.forecasts.height, "actual": actual,
            "published": card["quality_gate"]["published"], "backtest": card["backtest"]["scores"]["lgbm"]}


def run_mlforecast(data: pl.DataFrame, threads: int) -> dict:
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import (
        ExponentiallyWeightedMean,
        RollingMean,
        RollingStd,
        SeasonalRollingMean,
    )
    from mlforecast.target_transforms import LocalStandardScaler
    from mlforecast.utils import PredictionIntervals

    cfg = ModelConfig(num_threads=threads)
    params = {k: v for k, v in cfg.lgb_params().items() if k not in ("objective", "verbose")}
    model = lgb.LGBMRegressor(n_estimators=cfg.n_estimators, verbosity=-1, **params)
    frame = data.rename({"series_id": "unique_id", "ts": "ds", "value": "y"}).to_pandas()
    fcst = MLForecast(
        models={"lgbm": model}, freq="1h", lags=[1, 2, 3, 24, 48, 168, 336],
        lag_transforms={1: [RollingMean(2), RollingMean(6), RollingMean(24), RollingStd(2), RollingStd(24),
                            ExponentiallyWeightedMean(alpha=2 / 3), ExponentiallyWeightedMean(alpha=2 / 25)],
                        168: [SeasonalRollingMean(season_length=168, window_size=4)]},
        date_features=["hour", "dayofweek"], target_transforms=[LocalStandardScaler()], num_threads=threads,
    )
    started = time.perf_counter()
    fcst.fit(frame, prediction_intervals=PredictionIntervals(n_windows=2, h=HORIZON), max_horizon=None)
    out = fcst.predict(HORIZON, level=[80, 95])
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rows": len(out)}


def child(which: str, n_series: int, days: int, threads: int) -> None:
    data = generate_fleet(n_series, days, "1h", seed=0, growth=0.001, future_days=HORIZON // 24).select(
        "series_id", "ts", "value")
    cut = data["ts"].min() + timedelta(days=days)
    history, future = data.filter(pl.col("ts") < cut), data.filter(pl.col("ts") >= cut)
    out = run_fleetcast(history, threads, future) if which == "fleetcast" else run_mlforecast(history, threads)
    out["max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(json.dumps(out))


def measure(which: str, args: argparse.Namespace) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", which, "--series", str(args.series), "--days", str(args.days),
         "--threads", str(args.threads)], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{which} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", choices=["fleetcast", "mlforecast"])
    parser.add_argument("--skip-mlforecast", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.series, args.days, args.threads)
        return
    ours = measure("fleetcast", args)
    print(f"fleetcast : {ours['seconds']:6.1f} s, max RSS {ours['max_rss_gb']:.2f} GB, {ours['rows']:,} forecast rows "
          f"(goal <= 60 s, <= 4 GB); published {ours['published']}; backtest lgbm "
          f"RMSE {ours['backtest']['rmse']:.2f} MASE {ours['backtest']['mase']:.3f} "
          f"coverage80 {ours['backtest']['coverage80']:.3f} coverage95 {ours['backtest']['coverage95']:.3f}; "
          f"published intervals' coverage of the actual next 30 days {ours['actual']['coverage80']:.3f} / "
          f"{ours['actual']['coverage95']:.3f}", flush=True)
    if args.skip_mlforecast:
        return
    theirs = measure("mlforecast", args)
    print(f"mlforecast: {theirs['seconds']:6.1f} s, max RSS {theirs['max_rss_gb']:.2f} GB, {theirs['rows']:,} rows")
    print(f"time ratio fleetcast / mlforecast = {ours['seconds'] / theirs['seconds']:.2f} (goal <= 1.0)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
