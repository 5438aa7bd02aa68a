"""The ``fleetcast`` command line.

Each sub-command lives in its own module under :mod:`fleetcast.commands` and provides
``add_parser(subparsers)`` and ``run(args) -> int``. Only the module of the command being run is
imported, so ``fleetcast query`` does not pay for LightGBM. User mistakes raise
:class:`~fleetcast.errors.FleetcastError` and end as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from fleetcast.errors import FleetcastError

COMMANDS = {
    "demo": "the whole pipeline locally on generated sample data",
    "run": "the whole pipeline on your files (access logs or metrics)",
    "ingest": "parse, validate and aggregate inputs into observations",
    "query": "Athena-dialect SQL over the lake",
    "forecast": "forecast a series from a CSV, with 80/95% intervals",
    "backtest": "score the forecaster against baselines on a CSV",
    "risk": "capacity risk flags per server and metric from a metrics file",
    "simulate": "compare scaling policies on a load series (cost, SLA)",
    "report": "self-contained HTML report of a lake's latest run",
    "serve": "serve the HTTP API locally (forecasts, risks, plans, cost reports)",
}


def _top_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<10} {text}" for name, text in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="fleetcast", usage="fleetcast COMMAND [options]",
        description="Capacity forecasting and autoscaling recommendations for web services and fleets.",
        epilog=f"commands:\n{listing}\n\n'fleetcast COMMAND --help' tells more.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``, importing only the chosen command's module."""
    command = _top_parser().parse_args(argv[:1]).command
    module = importlib.import_module(f"fleetcast.commands.{command}")
    parser = argparse.ArgumentParser(prog="fleetcast")
    module.add_parser(parser.add_subparsers(dest="command", required=True)).set_defaults(run=module.run)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0 if argv else 2
    args = parse(argv)
    try:
        return int(args.run(args) or 0)
    except FleetcastError as exc:
        print(f"fleetcast {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the machine's problem, not a bug: disk full, permissions, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"fleetcast {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fleetcast {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
