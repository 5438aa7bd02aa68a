"""``fleetcast demo``: the whole pipeline locally on generated data, explained as it goes."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from fleetcast.demo import make_inputs
from fleetcast.lake.local import LocalLake
from fleetcast.lake.query import query
from fleetcast.pipeline.run import EVENTS_FILE, run_pipeline
from fleetcast.progress import Progress
from fleetcast.report import build_report


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("demo", help="run the pipeline on generated sample data", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("fleetcast-demo"),
                        help="folder for the inputs, the lake and the report (default: %(default)s)")
    parser.add_argument("--servers", type=int, default=30, help="servers in the fleet (default: 30)")
    parser.add_argument("--days", type=int, default=180, help="days of metric history (default: 180)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    progress = Progress()
    print(f"fleetcast demo: generating {args.servers} servers × {args.days} days of hourly metrics and a "
          f"week of a web shop's access log (seed {args.seed})")
    lake_dir = args.out / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    with progress.step("generating inputs"):
        inputs = make_inputs(args.out / "inputs", servers=args.servers, days=args.days, seed=args.seed)
    for path in (inputs.metrics, inputs.access_log):
        print(f"  {path} ({path.stat().st_size / 1e6:.1f} MB)")
    lake = LocalLake(lake_dir)
    result = run_pipeline([inputs.metrics, inputs.access_log], lake, trigger="demo", progress=progress)
    _explain(lake, inputs, result)
    _explain_results(lake, result)
    report = args.out / "report.html"
    report.write_text(build_report(lake, result.run_id), encoding="utf-8")
    print(f"report: {report} (open it in a browser; it works offline)")
    print(f"done in {time.perf_counter() - start:.1f} s; lake: {lake.root}")
    print(f"try: .venv/bin/fleetcast query --lake {lake.root} \"SELECT series_id, max(value) AS worst_p95 "
          f"FROM observations WHERE metric = 'cpu_p95' AND granularity = '1d' GROUP BY 1 ORDER BY 2 DESC "
          f"LIMIT 5\"")
    return 0


def _explain(lake: LocalLake, inputs, result) -> None:
    ingest = result.ingest
    for s in ingest.sources:
        print(f"ingested {s.path.name}: {s.lines_read:,} lines, {s.lines_parsed:,} parsed, "
              f"{s.lines_rejected:,} rejected; {len(s.series)} series")
    print(f"observations: {ingest.observations:,} rows for {ingest.series} series "
          f"({', '.join(_per_granularity(lake))})")
    reasons = query(lake, "SELECT reason, count(*) AS n FROM rejects GROUP BY 1 ORDER BY 2 DESC LIMIT 4")
    if reasons.height:
        print(f"rejects ({inputs.defects} bad values were planted): "
              + "; ".join(f"{n}× {r}" for r, n in reasons.rows()))
    outage = query(lake, "SELECT start, \"end\" FROM gaps WHERE kind = 'unlogged' ORDER BY seconds DESC LIMIT 1")
    if outage.height and inputs.log.outage:
        found, planted = outage.row(0), inputs.log.outage
        print(f"outage found in the access log: {found[0]:%a %H:%M:%S} → {found[1]:%H:%M:%S} UTC "
              f"(planted {planted[0]:%a %H:%M:%S} → {planted[1]:%H:%M:%S}); no zeros were recorded for it")
    print(f"gaps recorded: {ingest.gaps}")


def _explain_results(lake: LocalLake, result) -> None:
    run = f"run_id = '{result.run_id}'"
    forecasts = query(lake, f"SELECT granularity, count(DISTINCT series_id || metric) AS series, count(*) AS n "
                            f"FROM forecasts WHERE {run} GROUP BY 1 ORDER BY 1")
    print("forecasts: " + "; ".join(f"{n:,} rows for {k} series at {g}" for g, k, n in forecasts.rows()))
    levels = query(lake, f"SELECT level, count(*) AS n FROM risk_flags WHERE {run} AND horizon_days = 30 "
                         "GROUP BY 1 ORDER BY 2 DESC")
    print("risk flags, 30 days (server x metric): " + ", ".join(f"{n} {lvl}" for lvl, n in levels.rows()))
    worst = query(lake, f"SELECT series_id, metric, reason FROM risk_flags WHERE {run} AND horizon_days = 30 "
                        "AND level IN ('very_high', 'high') ORDER BY days_to_breach NULLS LAST LIMIT 3")
    for server, metric, reason in worst.rows():
        print(f"  {server} {metric}: {reason}")
    sims = query(lake, f"SELECT policy, saving_vs_static_pct, sla_violation_pct, scaling_events FROM simulations "
                       f"WHERE {run} AND kind <> 'reactive-matched' ORDER BY cost")
    if sims.height:
        print("scaling policies on the web shop's last week (saving vs static peak, SLA-violating intervals):")
        for policy, saving, sla, events in sims.rows():
            print(f"  {policy:<14} {saving:6.1f}%  {sla:6.3f}%  {events} scaling events")
    print(f"capacity risk events: {result.events} new (written to {lake.root / EVENTS_FILE})")


def _per_granularity(lake: LocalLake) -> list[str]:
    counts = query(lake, "SELECT granularity, count(*) FROM observations GROUP BY 1")
    order = ["1min", "5min", "15min", "1h", "1d"]
    rows = sorted(counts.rows(), key=lambda r: order.index(r[0]))
    return [f"{g} {n:,}" for g, n in rows]
