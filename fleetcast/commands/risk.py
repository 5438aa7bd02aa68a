"""``fleetcast risk``: capacity risk flags per server and metric from a metrics file.

Input: long ``timestamp,server_id,metric,value``, wide ``timestamp,server_id,cpu,memory,…`` or a
single ``timestamp,value`` series (CSV or Parquet), as ``fleetcast ingest`` reads them. Output CSV:
one row per server, metric and horizon (``server_id, metric, horizon_days, level, predicted_p95,
breach_probability, first_breach_date, days_to_breach, reason`` and more). Rejected input lines
(negative, > 100 % beyond tolerance, unreadable) go to ``--rejects`` with file, line and reason.

Files of any size: the file is streamed and spilled by server to a temporary directory beside
``--out`` (:mod:`fleetcast.risk.from_file`), so memory grows with the number of servers and metrics,
not with rows (835 MB for 5,000 servers x 4 metrics x 90 days hourly: bench/risk_scale.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import polars as pl

from fleetcast.errors import FleetcastError
from fleetcast.ingest.detect import METRICS, detect
from fleetcast.ingest.metrics import MetricsOptions
from fleetcast.ingest.timestamps import check_timezone
from fleetcast.risk import RiskConfig, assess
from fleetcast.risk.from_file import daily_from_file


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("risk", help="capacity risk flags from a metrics file", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help="metrics file (CSV or Parquet)")
    parser.add_argument("--out", type=Path, required=True, help="flags CSV to write")
    parser.add_argument("--rejects", type=Path, help="CSV of rejected input lines (default: OUT.rejects.csv, "
                        "written only when lines were rejected)")
    parser.add_argument("--horizons", default="30,90", help="days ahead, comma-separated (default: %(default)s)")
    parser.add_argument("--high", type=float, default=80.0, help="high above this daily P95 %% (default: 80)")
    parser.add_argument("--very-high", type=float, default=90.0, help="very high above this %% (default: 90)")
    parser.add_argument("--underutilised", type=float, default=40.0,
                        help="underutilised below this average %% (default: 40)")
    parser.add_argument("--units", choices=("auto", "percent", "fraction"), default="auto",
                        help="values as percent or 0-1 fractions (default: detect)")
    parser.add_argument("--timezone", default="UTC", help="zone of timestamps written without one (default: UTC)")
    parser.add_argument("--server", help="server id for a single 'timestamp,value' file (default: file name)")
    parser.add_argument("--metric", help="metric name for a single 'timestamp,value' file (default: cpu)")
    return parser


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    options = MetricsOptions(units=args.units, timezone=check_timezone(args.timezone), series=args.server,
                             metric=args.metric)
    if not args.out.parent.is_dir():
        raise FleetcastError(f"{args.out}: its folder does not exist")
    if detect(args.input) != METRICS:
        raise FleetcastError(f"{args.input}: an access log, not server metrics; fleetcast risk reads "
                             f"utilisation metrics (CSV or Parquet)")
    with tempfile.TemporaryDirectory(prefix=".fleetcast-risk-", dir=args.out.parent) as work:
        metrics = daily_from_file(args.input, Path(work), options)
        for warning in metrics.warnings:
            print(f"warning: {warning}")
        flags = assess(metrics.daily, config).flags
        if flags.is_empty():
            raise FleetcastError(f"{args.input}: no server metric has a full day of samples to assess")
        out = flags.rename({"series_id": "server_id"})
        _write(out, args.out)
        if metrics.lines_rejected:
            rejects = args.rejects or args.out.with_name(args.out.name + ".rejects.csv")
            _write(metrics.rejects, rejects)
            print(f"{metrics.lines_rejected:,} of {metrics.lines_read:,} input lines rejected: see {rejects}")
    _print_summary(out, args.out)
    return 0


def _config(args: argparse.Namespace) -> RiskConfig:
    try:
        horizons = tuple(int(h) for h in args.horizons.split(","))
        return RiskConfig(very_high=args.very_high, high=args.high, underutilised=args.underutilised,
                          horizons=horizons)
    except ValueError as exc:
        problem = str(exc) if "must" in str(exc) else f"--horizons: expected days like 30,90 (got {args.horizons!r})"
        raise FleetcastError(problem) from None


def _write(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    try:
        frame.sink_csv(path) if isinstance(frame, pl.LazyFrame) else frame.write_csv(path)
    except OSError as exc:
        raise FleetcastError(f"cannot write {path} ({exc.strerror})") from None


def _print_summary(flags: pl.DataFrame, path: Path) -> None:
    counts = flags.group_by("horizon_days", "level").len().sort("horizon_days", "level")
    by_h = {}
    for h, level, n in counts.rows():
        by_h.setdefault(h, []).append(f"{n} {level}")
    for h, parts in sorted(by_h.items()):
        print(f"{h}-day horizon: {', '.join(parts)} (server x metric)")
    worst = flags.filter(pl.col("level").is_in(["very_high", "high"])).sort(
        pl.col("days_to_breach").fill_null(10_000)).unique(["server_id", "metric"], keep="first",
                                                            maintain_order=True).head(5)
    for r in worst.iter_rows(named=True):
        print(f"  {r['server_id']} {r['metric']}: {r['reason']}")
    print(f"flags: {path}")
