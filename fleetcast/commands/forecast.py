"""``fleetcast forecast``: forecast a CSV series (or several) with 80/95 % intervals."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from fleetcast.errors import FleetcastError
from fleetcast.forecast.csvio import input_notes, panel_from_csv, write_forecasts
from fleetcast.forecast.engine import fit_forecast
from fleetcast.forecast.model import ModelConfig
from fleetcast.forecast.version import card_json


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "forecast", help="forecast a CSV of timestamp,value[,series_id] with intervals",
        description="Forecast the N steps after the last input timestamp of each series. Input: CSV with "
                    "timestamp,value[,series_id]; empty values and missing rows are gaps, never zeros. "
                    "Output: series_id,timestamp,yhat,lo80,hi80,lo95,hi95.")
    add_model_arguments(parser)
    parser.add_argument("--out", required=True, help="where to write the forecast CSV ('-' for stdout)")
    parser.add_argument("--model-card", help="also write the model card (JSON) to this file")
    parser.add_argument("--no-gate", action="store_true",
                        help="always publish the model, even where a baseline beat it on the backtest")
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``forecast`` and ``backtest``."""
    parser.add_argument("--input", required=True,
                        help="CSV (plain or gzip) with timestamp,value[,series_id]")
    parser.add_argument("--horizon", type=positive_int, required=True, help="steps to forecast")
    parser.add_argument("--freq", help="series frequency (1min, 5min, 15min, 1h, 1d); inferred if omitted")
    parser.add_argument("--strategy", choices=["direct", "recursive"], default=ModelConfig.strategy,
                        help="multi-step strategy (default: %(default)s)")
    parser.add_argument("--threads", type=whole_number, default=ModelConfig.num_threads,
                        help="LightGBM threads (default %(default)s; 0 = all cores)")


def whole_number(text: str, least: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}")
    return value


def positive_int(text: str) -> int:
    return whole_number(text, 1)


def config_from(args: argparse.Namespace) -> ModelConfig:
    return dataclasses.replace(ModelConfig(), strategy=args.strategy, num_threads=args.threads)


def check_output(path: str | None, flag: str, *, stdout: bool = True) -> None:
    """Fail before the work, not after it, when ``path`` cannot be a new file ('-' is stdout if allowed)."""
    if path is None or path == "-" and stdout:
        return
    if path == "-":
        raise FleetcastError(f"{flag}: give a file name ('-' would be a file named '-')")
    if Path(path).is_dir():
        raise FleetcastError(f"{flag} {path} is a directory; give a file name")
    if not Path(path).parent.is_dir():
        raise FleetcastError(f"{flag}: directory {Path(path).parent} does not exist")


def run(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    check_output(args.model_card, "--model-card", stdout=False)
    panel, style, skipped = panel_from_csv(args.input, args.freq, args.horizon)
    result = fit_forecast(panel, args.horizon, config=config_from(args), gate=not args.no_gate)
    to_stdout = args.out == "-"
    try:
        write_forecasts(result.forecasts, style, sys.stdout if to_stdout else args.out)
        if args.model_card:
            Path(args.model_card).write_text(card_json(result.model_card) + "\n")
    except OSError as exc:
        raise FleetcastError(f"cannot write output: {exc.strerror or exc}", where=str(exc.filename or args.out)
                             ) from None
    published = result.model_card["quality_gate"]["published"]
    print(f"wrote {result.forecasts.height} rows ({panel.n_series} series x {args.horizon} steps at "
          f"{panel.freq.name}) to {'stdout' if to_stdout else args.out}; model {result.model_version}; "
          f"published {published}", file=sys.stderr if to_stdout else sys.stdout)
    for caveat in [*input_notes(panel, skipped), *result.model_card["caveats"]]:
        print(f"note: {caveat}", file=sys.stderr)
    return 0
