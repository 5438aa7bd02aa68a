"""NASA KSC 1995 benchmark: the four protocols of issue 3, next to the reference figures.

Data: ../shared/data/nasa-ksc-1995/nasa_ksc_requests_{5min,1h}.csv. Times are read as local
wall-clock (-04:00) time; a bin counts only if ``logged_seconds`` >= 80 % of it, otherwise it is a
gap (never a zero) and never scored. Train = Jul 1 - Aug 22, test = Aug 23 - Aug 31.

    .venv/bin/python bench/forecast_nasa.py [--strategy direct|recursive] [--protocols da,so,os,h48]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.forecast import ModelConfig, fit_forecast
from fleetcast.forecast.baselines import baseline_forecasts
from fleetcast.forecast.panel import Panel, to_panel

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nasa-ksc-1995"
TEST_START = np.datetime64("1995-08-23T00:00", "us")
TEST_END = np.datetime64("1995-09-01T00:00", "us")
REFERENCE = {  # protocol: (goal, MSTL, plain LightGBM lags, Prophet, weekly seasonal naive)
    "da": ("rolling day-ahead (288 x 5 min, 9 origins)", 55, 60.8, 62.8, 76.3, 87.9),
    "so": ("single origin (2,592 x 5 min)", 68, 74.9, 75.4, 85.3, 83.8),
    "os": ("one step ahead (5 min)", 44, 52.4, 47.1, None, 87.9),
    "h48": ("hourly, 48 h ahead refreshed daily", 510, 566, 988, 800, 801),
}


def load(resolution: str = "5min") -> pl.DataFrame:
    """``ts`` (local wall-clock time), ``value`` (null when under 80 % of the bin was logged)."""
    name, seconds = {"5min": ("nasa_ksc_requests_5min.csv", 300), "1h": ("nasa_ksc_requests_1h.csv", 3600)}[
        resolution]
    raw = pl.read_csv(DATA / name)
    if not raw["timestamp"].str.ends_with("-04:00").all():
        raise SystemExit("expected every NASA timestamp at -04:00")
    return raw.select(
        pl.col("timestamp").str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S").alias("ts"),
        pl.when(pl.col("logged_seconds") >= 0.8 * seconds).then(pl.col("requests")).otherwise(None)
        .cast(pl.Float64).alias("value"),
    )


def rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    ok = ~np.isnan(actual)
    return float(np.sqrt(np.mean((forecast[ok] - actual[ok]) ** 2)))


GATE = True


def rolling(data: pl.DataFrame, horizon: int, config: ModelConfig) -> dict:
    """Refit at each test day's 00:00 on all data before it; score forecasts inside the test period."""
    out = {"yhat": [], "actual": [], "lo80": [], "hi80": [], "lo95": [], "hi95": [], "naive": [], "chosen": [],
           "weight": [], "per_day": []}
    actual = dict(zip(data["ts"].to_list(), data["value"].to_list(), strict=True))
    for day in range(9):
        origin = TEST_START + np.timedelta64(day, "D")
        history = data.filter(pl.col("ts") < origin.item())
        res = fit_forecast(history, horizon, config=config, gate=GATE)
        fc = res.forecasts.filter(pl.col("ts") < TEST_END.item())
        out["chosen"].append(fc["model"][0])
        out["weight"].append(res.model.weight)
        for col in ("yhat", "lo80", "hi80", "lo95", "hi95"):
            out[col].append(fc[col].to_numpy())
        out["actual"].append(np.array([actual.get(t) for t in fc["ts"].to_list()], dtype=np.float64))
        out["per_day"].append(rmse(out["yhat"][-1], out["actual"][-1]))
        panel = to_panel(history)
        naive = baseline_forecasts(panel.values, panel.freq, np.array([0]), panel.last, horizon)["naive_weekly"]
        out["naive"].append(naive[0, : fc.height])
    return {k: (np.concatenate(v) if k not in ("chosen", "weight", "per_day") else v) for k, v in out.items()}


def coverage(r: dict, level: int) -> float:
    ok = ~np.isnan(r["actual"])
    inside = (r["actual"][ok] >= r[f"lo{level}"][ok]) & (r["actual"][ok] <= r[f"hi{level}"][ok])
    return 100.0 * float(inside.mean())


def rolling_note(r: dict) -> str:
    return (f"coverage 80% {coverage(r, 80):.1f}, 95% {coverage(r, 95):.1f}; published {set(r['chosen'])}; "
            f"model weight in the blend {min(r['weight']):g}-{max(r['weight']):g}; RMSE from each origin "
            f"(Aug 23-31) {' '.join(f'{e:.0f}' for e in r['per_day'])}")


def one_step(data: pl.DataFrame, config: ModelConfig) -> tuple[float, float, str]:
    """Fit once on the training period, then forecast each test bin from all data before it."""
    train = data.filter(pl.col("ts") < TEST_START.item())
    res = fit_forecast(train, 1, config=config, gate=GATE)
    panel: Panel = to_panel(data)
    start = int((TEST_START - panel.start) // np.timedelta64(300, "s"))
    origins = np.arange(start - 1, panel.length - 1)
    rows = np.zeros(origins.size, dtype=np.int64)
    yhat, _ = res.model.predict(panel, rows, origins, 1)
    naive = baseline_forecasts(panel.values, panel.freq, rows, origins, 1)["naive_weekly"]
    actual = panel.values[0, start:]
    return rmse(yhat[:, 0], actual), rmse(naive[:, 0], actual), res.forecasts["model"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default=ModelConfig.strategy, choices=["direct", "recursive"])
    parser.add_argument("--trend", default=ModelConfig.trend)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--protocols", default="da,so,os,h48")
    parser.add_argument("--no-gate", action="store_true", help="publish the model even where a baseline won")
    parser.add_argument("--set", action="append", help="override a ModelConfig field, e.g. num_leaves=15")
    parser.add_argument("--save", help="write the rolling protocols' forecasts and actuals to this .npz")
    args = parser.parse_args()
    global GATE
    GATE = not args.no_gate
    settings = {"strategy": args.strategy, "trend": args.trend, "num_threads": args.threads}
    for item in args.set or []:
        key, value = item.split("=", 1)
        kind = type(getattr(ModelConfig(), key))
        settings[key] = (value.lower() == "true") if kind is bool else kind(value)
    config = dataclasses.replace(ModelConfig(), **settings)
    saved = {}
    five, hourly = load("5min"), load("1h")
    rows = []
    for key in args.protocols.split(","):
        started = time.perf_counter()
        extra = ""
        if key == "da":
            r = rolling(five, 288, config)
            saved.update({f"da_{k}": v for k, v in r.items() if k not in ("chosen", "weight", "per_day")})
            ours, naive = rmse(r["yhat"], r["actual"]), rmse(r["naive"], r["actual"])
            extra = rolling_note(r)
        elif key == "so":
            train = five.filter(pl.col("ts") < TEST_START.item())
            res = fit_forecast(train, 2592, config=config, gate=GATE)
            actual = five.filter(pl.col("ts") >= TEST_START.item())["value"].to_numpy().astype(np.float64)
            ours = rmse(res.forecasts["yhat"].to_numpy(), actual)
            panel = to_panel(train)
            naive = rmse(baseline_forecasts(panel.values, panel.freq, np.array([0]), panel.last, 2592)[
                "naive_weekly"][0], actual)
            extra = f"published {res.forecasts['model'][0]}; model weight in the blend {res.model.weight:g}"
        elif key == "os":
            ours, naive, chosen = one_step(five, config)
            extra = f"gate on the training backtest chose {chosen}"
        elif key == "h48":
            r = rolling(hourly, 48, config)
            saved.update({f"h48_{k}": v for k, v in r.items() if k not in ("chosen", "weight", "per_day")})
            ours, naive = rmse(r["yhat"], r["actual"]), rmse(r["naive"], r["actual"])
            extra = rolling_note(r)
        rows.append((key, ours, naive, time.perf_counter() - started, extra))
        name, goal, mstl, lgb_ref, prophet, snaive = REFERENCE[key]
        print(f"{name:45s} fleetcast {ours:7.1f}  goal <= {goal:<4}  MSTL {mstl:<6} LightGBM-lags {lgb_ref:<6} "
              f"Prophet {prophet or '-':<6} weekly-naive {snaive} (ours {naive:.1f})  "
              f"[{time.perf_counter() - started:.0f}s] {extra}", flush=True)
    if args.save:
        np.savez(args.save, **saved)


if __name__ == "__main__":
    main()
