"""Options and output shared by the sub-commands that read inputs into a lake."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fleetcast.aggregate.bins import DEFAULT_GRANULARITIES, parse_granularities
from fleetcast.ingest.metrics import MetricsOptions
from fleetcast.ingest.timestamps import check_timezone
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.ingest import IngestOptions, IngestResult

DEFAULT_LAKE = "fleetcast-lake"


def add_lake_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", type=Path, default=Path(os.environ.get("FLEETCAST_LAKE", DEFAULT_LAKE)),
                        help=f"lake directory (default: $FLEETCAST_LAKE or ./{DEFAULT_LAKE})")


def add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                        help="access logs (Common/Combined, plain or .gz) or metrics files (CSV/Parquet)")
    add_lake_option(parser)
    parser.add_argument("--granularity", default=",".join(DEFAULT_GRANULARITIES),
                        help="bin widths, comma-separated (default: %(default)s)")
    parser.add_argument("--series", help="series name for access logs (default: from the file name)")
    parser.add_argument("--units", choices=("auto", "percent", "fraction"), default="auto",
                        help="utilisation metrics as percent or 0-1 fractions (default: detect)")
    parser.add_argument("--timezone", default="UTC",
                        help="zone of metric timestamps written without one (default: UTC)")
    parser.add_argument("--metric", help="metric name for single-series 'timestamp,value' files")
    parser.add_argument("--quiet", action="store_true", help="print only errors")


def ingest_options(args: argparse.Namespace) -> IngestOptions:
    metrics = MetricsOptions(units=args.units, timezone=check_timezone(args.timezone),
                             series=args.series, metric=args.metric)
    return IngestOptions(parse_granularities(args.granularity), args.series, metrics)


def print_ingest_summary(result: IngestResult, lake: LocalLake, elapsed: float) -> None:
    for s in result.sources:
        repaired = f" ({s.lines_repaired:,} rejoined from split lines)" if s.lines_repaired else ""
        print(f"{s.path}: {s.kind.replace('_', ' ')} ({s.format}), {s.lines_read:,} lines: "
              f"{s.lines_parsed:,} parsed{repaired}, {s.lines_rejected:,} rejected; "
              f"series {', '.join(s.series[:5])}{' …' if len(s.series) > 5 else ''}")
        for warning in s.warnings:
            print(f"  warning: {warning}")
    read = sum(s.lines_read for s in result.sources)
    rejected = sum(s.lines_rejected for s in result.sources)
    print(f"{read:,} lines read, {rejected:,} rejected; {result.series} series in the shards updated; "
          f"{result.observations:,} observation rows; {result.gaps} gaps; {elapsed:.1f} s")
    print(f"lake: {lake.root}")
