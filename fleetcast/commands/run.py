"""``fleetcast run``: the whole pipeline on your files (access logs or metrics, detected)."""

from __future__ import annotations

import argparse
import sys

from fleetcast.commands._common import add_input_options, ingest_options, print_ingest_summary
from fleetcast.forecast.panel import list_reasons
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.run import run_pipeline
from fleetcast.progress import Progress


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("run", help="run the whole pipeline on your files", description=__doc__)
    add_input_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    lake = LocalLake(args.lake)
    result = run_pipeline(list(args.inputs), lake, trigger="cli-run", options=ingest_options(args),
                          progress=Progress(enabled=not args.quiet))
    if not args.quiet:
        print_ingest_summary(result.ingest, lake, result.seconds)
        print(f"run {result.run_id}")
    if result.not_forecast:
        print(f"note: not forecast, {len(result.not_forecast)} series: {list_reasons(result.not_forecast)}",
              file=sys.stderr)
    return 0
