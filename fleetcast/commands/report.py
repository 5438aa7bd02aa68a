"""``fleetcast report``: a self-contained HTML report of a lake's latest run (opens offline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleetcast.commands._common import add_lake_option
from fleetcast.errors import FleetcastError
from fleetcast.lake.local import LocalLake
from fleetcast.report import build_report


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("report", help="HTML report of the latest run", description=__doc__)
    add_lake_option(parser)
    parser.add_argument("--out", type=Path, default=Path("fleetcast-report.html"),
                        help="HTML file to write (default: %(default)s)")
    parser.add_argument("--run", help="run id (default: the latest successful run)")
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.lake.is_dir():
        raise FleetcastError(f"--lake {args.lake}: no such directory")
    html = build_report(LocalLake(args.lake), args.run)
    try:
        args.out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise FleetcastError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    print(f"report: {args.out} ({len(html) / 1e3:.0f} kB)")
    return 0
