"""Do the defaults work beyond NASA? Real CloudWatch series and synthetic series with known noise.

- NAB realAWSCloudwatch (../shared/data/nab-aws-cloudwatch, 5-min, 14 days each): for every series,
  forecast each of the last three days from all data before it (refit each day), day-ahead
  (288 steps). Scores: RMSE relative to the weekly/daily seasonal naive and slot mean, MASE,
  80/95 % coverage. The quality gate's published forecast and the model alone are both reported.
- Synthetic: 50 hourly series, 60 days, daily and weekly cycles, Gaussian noise of 10 % of the
  level (known), forecast 48 h; RMSE against the noise floor (the RMSE of the true signal) and
  interval coverage of the actual values.

    .venv/bin/python bench/forecast_generalisation.py [--strategy direct|recursive] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.forecast import InsufficientHistory, ModelConfig, fit_forecast
from fleetcast.forecast.baselines import BASELINES
from fleetcast.forecast.synthetic import generate_fleet

NAB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab-aws-cloudwatch"


def _coverage(frame: pl.DataFrame, level: int) -> float:
    ok = frame["actual"].is_not_null()
    f = frame.filter(ok)
    return float(((f["actual"] >= f[f"lo{level}"]) & (f["actual"] <= f[f"hi{level}"])).mean())


def nab(config: ModelConfig) -> pl.DataFrame:
    """Day-ahead over the last three days of every NAB CloudWatch series."""
    rows = []
    for path in sorted(NAB.glob("*.csv")):
        data = pl.read_csv(path).select(pl.col("timestamp").str.to_datetime().alias("ts"), "value")
        step = data["ts"].diff().drop_nulls().min()
        last = data["ts"].max()
        frames = []
        for day in (3, 2, 1):
            origin = last - timedelta(days=day)
            history = data.filter(pl.col("ts") <= origin)
            try:
                res = fit_forecast(history, 288, "5min", config=config, snap=True)
            except InsufficientHistory:
                continue
            model_only = fit_forecast(history, 288, "5min", config=config, gate=False, snap=True) if (
                res.forecasts["model"][0] != "lgbm") else res
            fc = res.forecasts.with_columns(model_yhat=model_only.forecasts["yhat"])
            scores = {r["model"]: r for r in res.backtest.iter_rows(named=True)}
            base = _baseline_forecasts(history, step)
            fc = fc.join(data.rename({"value": "actual"}), on="ts", how="left").with_columns(
                **{b: pl.Series(base[b]) for b in BASELINES})
            frames.append(fc.with_columns(mase_scale=pl.lit(scores["lgbm"]["mae"] / scores["lgbm"]["mase"])))
        if not frames:
            print(f"{path.stem}: too short for a day-ahead backtest of three days, skipped")
            continue
        fc = pl.concat(frames).filter(pl.col("actual").is_not_null())
        rmse = {c: float(np.sqrt(((fc[c] - fc["actual"]) ** 2).mean())) for c in ("yhat", "model_yhat", *BASELINES)}
        best = min(BASELINES, key=rmse.get)
        rows.append({
            "series": path.stem, "published_rmse": rmse["yhat"], "model_rmse": rmse["model_yhat"],
            "best_baseline": best, "baseline_rmse": rmse[best],
            "published_vs_best": rmse["yhat"] / rmse[best], "model_vs_best": rmse["model_yhat"] / rmse[best],
            "mase": float((fc["yhat"] - fc["actual"]).abs().mean() / fc["mase_scale"].mean()),
            "coverage80": _coverage(fc, 80), "coverage95": _coverage(fc, 95),
            "published": ",".join(sorted(set(fc["model"]))),
        })
    return pl.DataFrame(rows)


def _baseline_forecasts(history: pl.DataFrame, step) -> dict[str, np.ndarray]:
    from fleetcast.forecast.baselines import baseline_forecasts
    from fleetcast.forecast.panel import to_panel

    panel = to_panel(history, "5min", snap=True)
    return {k: v[0] for k, v in baseline_forecasts(panel.values, panel.freq, np.array([0]), panel.last, 288).items()}


def synthetic(config: ModelConfig) -> dict:
    data = generate_fleet(50, 60, "1h", seed=42, noise=0.10, future_days=2)
    cut = datetime(2024, 1, 1) + timedelta(days=60)
    res = fit_forecast(data.filter(pl.col("ts") < cut).select("series_id", "ts", "value"), 48, "1h", config=config)
    got = res.forecasts.join(data.filter(pl.col("ts") >= cut), on=["series_id", "ts"])
    scale = got.group_by("series_id").agg(pl.col("signal").mean().alias("level"))
    got = got.join(scale, on="series_id").with_columns(
        ((pl.col("yhat") - pl.col("value")) / pl.col("level")).alias("err"),
        ((pl.col("signal") - pl.col("value")) / pl.col("level")).alias("floor"))
    cov = {lv: float(((got["value"] >= got[f"lo{lv}"]) & (got["value"] <= got[f"hi{lv}"])).mean()) for lv in (80, 95)}
    return {"relative_rmse": float(np.sqrt((got["err"] ** 2).mean())),
            "noise_floor": float(np.sqrt((got["floor"] ** 2).mean())),
            "coverage80": cov[80], "coverage95": cov[95],
            "published": res.model_card["quality_gate"]["published"]}


def config_from(args: argparse.Namespace) -> ModelConfig:
    settings = {"strategy": args.strategy, "num_threads": args.threads}
    for item in args.set or []:
        key, value = item.split("=", 1)
        kind = type(getattr(ModelConfig(), key))
        settings[key] = (value.lower() == "true") if kind is bool else kind(value)
    return dataclasses.replace(ModelConfig(), **settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default=ModelConfig.strategy, choices=["direct", "recursive"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", help="override a ModelConfig field, e.g. num_leaves=15")
    parser.add_argument("--only", choices=["nab", "synthetic"])
    args = parser.parse_args()
    config = config_from(args)
    pl.Config.set_tbl_rows(40).set_tbl_cols(12).set_tbl_width_chars(200).set_float_precision(3)
    if args.only != "synthetic":
        started = time.perf_counter()
        table = nab(config)
        print(table)
        print(f"NAB day-ahead: published/best-baseline RMSE median {table['published_vs_best'].median():.3f} "
              f"(model alone {table['model_vs_best'].median():.3f}); published better than the best baseline on "
              f"{int((table['published_vs_best'] < 1).sum())}/{table.height} series; mean coverage 80% "
              f"{table['coverage80'].mean():.3f}, 95% {table['coverage95'].mean():.3f} "
              f"[{time.perf_counter() - started:.0f}s]", flush=True)
    if args.only != "nab":
        started = time.perf_counter()
        syn = synthetic(config)
        print(f"synthetic (50 x hourly, 10% noise, 48 h): relative RMSE {syn['relative_rmse']:.4f} vs noise floor "
              f"{syn['noise_floor']:.4f}; coverage 80% {syn['coverage80']:.3f}, 95% {syn['coverage95']:.3f}; "
              f"published {syn['published']} [{time.perf_counter() - started:.0f}s]")


if __name__ == "__main__":
    main()
