"""``fleetcast ingest``: parse, validate and aggregate inputs into ``observations`` and ``rejects``."""

from __future__ import annotations

import argparse

from fleetcast.commands._common import add_input_options, ingest_options, print_ingest_summary
from fleetcast.lake.local import LocalLake
from fleetcast.pipeline.run import run_pipeline
from fleetcast.progress import Progress


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("ingest", help="parse and aggregate inputs into observations",
                            description=__doc__)
    add_input_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    lake = LocalLake(args.lake)
    result = run_pipeline(list(args.inputs), lake, trigger="cli-ingest", options=ingest_options(args),
                          progress=Progress(enabled=not args.quiet), forecast=False)
    if not args.quiet:
        print_ingest_summary(result.ingest, lake, result.seconds)
        print(f"run {result.run_id}; try: fleetcast query --lake {lake.root} "
              f"\"SELECT series_id, metric, count(*) AS bins FROM observations GROUP BY 1, 2\"")
    return 0
