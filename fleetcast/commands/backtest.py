"""``fleetcast backtest``: rolling-origin backtest of the model against the baselines."""

from __future__ import annotations

import argparse
import sys

import polars as pl

from fleetcast.commands.forecast import add_model_arguments, check_output, config_from, positive_int
from fleetcast.errors import FleetcastError
from fleetcast.forecast.backtest import default_spec, run_backtest
from fleetcast.forecast.backtest_scores import choose_level_power, pooled_scores, score_backtest
from fleetcast.forecast.baselines import BASELINES
from fleetcast.forecast.csvio import input_notes, panel_from_csv, rounded
from fleetcast.forecast.features import Layout

COLUMNS = ("rmse", "mae", "smape", "mase", "coverage80", "coverage95", "width80", "width95")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "backtest", help="rolling-origin backtest of the forecaster vs seasonal-naive baselines",
        description="Forecast WINDOWS rolling origins STEP apart, each HORIZON steps ahead, with the LightGBM "
                    "model (trained before the first origin) and the baselines; print their scores.")
    add_model_arguments(parser)
    parser.add_argument("--windows", type=positive_int, help="number of origins (default: automatic)")
    parser.add_argument("--step", type=positive_int, help="steps between origins (default: a day; the horizon if "
                        "shorter; beyond a week, whole days spreading the windows over five horizons)")
    parser.add_argument("--out", help="also write per-series scores to this CSV ('-': to stdout, the table to "
                                      "stderr)")
    return parser


def run(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    panel, _, skipped = panel_from_csv(args.input, args.freq, args.horizon)
    for note in input_notes(panel, skipped):
        print(f"note: {note}", file=sys.stderr)
    layout = Layout.for_freq(panel.freq)
    spec = default_spec(panel, args.horizon, layout, args.windows, args.step)
    try:
        backtest = run_backtest(panel, spec, config_from(args), layout)
    except ValueError as exc:
        raise FleetcastError(f"{exc} (try fewer --windows or a smaller --step)", where=args.input) from None
    power = choose_level_power(backtest)
    pooled = pooled_scores(backtest, panel, power)
    table = sys.stderr if args.out == "-" else sys.stdout
    scored = backtest.windows_scored()  # windows without history before them or values in them are left out
    asked = "" if scored == spec.windows else f" (of {spec.windows} asked for)"
    print(f"backtest: {panel.n_series} series at {panel.freq.name}, {scored} window{'s' * (scored != 1)}{asked} x "
          f"{spec.horizon} steps, origins {spec.step} steps apart", file=table)
    print(f"{'model':14s}" + "".join(f"{c:>12s}" for c in COLUMNS), file=table)
    best = min(BASELINES, key=lambda m: pooled[m]["rmse"])
    for method, scores in pooled.items():
        print(f"{method:14s}" + "".join(f"{_fmt(scores[c]):>12s}" for c in COLUMNS), file=table)
    verdict = ("beats" if pooled["lgbm"]["rmse"] < pooled[best]["rmse"] else
               "ties with" if pooled["lgbm"]["rmse"] == pooled[best]["rmse"] else "does NOT beat")
    print(f"lgbm {verdict} the best baseline ({best}) on RMSE", file=table)
    if scored < 2:
        print("coverage: not measured; intervals are checked on windows they were not fitted to, and there "
              "is only one", file=table)
    if args.out:
        try:
            scores = score_backtest(backtest, panel, power)
            scores.with_columns(rounded(c) for c, kind in scores.schema.items() if kind == pl.Float64).write_csv(
                sys.stdout if args.out == "-" else args.out)
        except OSError as exc:
            raise FleetcastError(f"cannot write output: {exc.strerror or exc}", where=args.out) from None
        print(f"wrote per-series scores to {'stdout' if args.out == '-' else args.out}", file=table)
    return 0


def _fmt(x: float) -> str:
    return "-" if x is None or x != x else f"{x:.4g}"

