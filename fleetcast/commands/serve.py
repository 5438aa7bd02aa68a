"""``fleetcast serve``: the HTTP API on this machine, answered by the same resolver as on AWS."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleetcast.commands._common import add_lake_option
from fleetcast.errors import FleetcastError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve", help="serve the HTTP API locally over a lake",
        description="Serve the HTTP API (forecasts, risks, scaling plans, cost reports) over a lake directory. "
                    "The same handler answers behind API Gateway; Swagger UI is at /swagger.")
    add_lake_option(parser)
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default: %(default)s; 0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--sample-series", type=int, metavar="N", default=0,
                        help="first write generated results for N servers into the lake (to try the API "
                             "before the pipeline has forecast anything)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def run(args: argparse.Namespace) -> int:
    from fleetcast.api import services
    from fleetcast.api.local import make_server
    from fleetcast.lake.local import LocalLake

    lake_dir = Path(args.lake)
    if args.sample_series < 0:
        raise FleetcastError("--sample-series must be 0 or more")
    if not (0 <= args.port <= 65535):
        raise FleetcastError(f"--port {args.port}: use 0-65535")
    if args.sample_series:
        from fleetcast.api.sample import write_sample_results

        lake_dir.mkdir(parents=True, exist_ok=True)
        runs = write_sample_results(LocalLake(lake_dir), n_series=args.sample_series)
        print(f"wrote sample results for {args.sample_series} servers (runs {', '.join(runs)}) to {lake_dir}")
    elif not lake_dir.is_dir():
        raise FleetcastError(f"no lake at {lake_dir} (fill one with 'fleetcast run', or pass --sample-series N)")
    services.configure(LocalLake(lake_dir), ttl_seconds=2.0)
    server = make_server(args.host, args.port, quiet=args.quiet)
    host, port = server.server_address[:2]
    print(f"fleetcast API on http://{host}:{port} (Swagger UI: http://{host}:{port}/swagger); "
          f"lake {lake_dir}; Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
