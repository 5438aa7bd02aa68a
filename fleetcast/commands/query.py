"""``fleetcast query``: Athena-dialect SQL over the lake's tables and views (DuckDB underneath)."""

from __future__ import annotations

import argparse
import sys

import polars as pl

from fleetcast.commands._common import add_lake_option
from fleetcast.errors import FleetcastError
from fleetcast.lake.local import LocalLake
from fleetcast.lake.query import query


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("query", help="run SQL over the lake", description=__doc__)
    parser.add_argument("sql", help="one SQL statement in Athena (Trino) dialect")
    add_lake_option(parser)
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="output format (default: table)")
    parser.add_argument("--max-rows", type=int, default=50, help="rows shown as a table (default: 50)")
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.lake.is_dir():
        raise FleetcastError(f"no lake at {args.lake} (run 'fleetcast ingest' or 'fleetcast demo' first)")
    result = query(LocalLake(args.lake), args.sql)
    if args.format == "csv":
        lists = [name for name, dtype in result.schema.items() if isinstance(dtype, pl.List)]
        result.with_columns(pl.col(lists).cast(pl.List(pl.String)).list.join(";")).write_csv(sys.stdout)
    elif args.format == "json":
        sys.stdout.write(result.write_json())
        sys.stdout.write("\n")
    else:
        with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200,
                       tbl_hide_dataframe_shape=True):
            print(result)
        print(f"({result.height:,} row{'s' if result.height != 1 else ''})")
    return 0
