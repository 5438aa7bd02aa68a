"""Benchmark: `fleetcast ingest` of a 3.46-million-line NASA-like access log to 5-minute observations.

Builds the log once (bench/nasa_like_log.py: real per-minute volume, real request lines), then
times the CLI end to end in a fresh process per run (imports, parsing, staging, aggregation,
writing the lake) and reads the line accounting back from the lake.

    .venv/bin/python bench/ingest_speed.py [--runs 3] [--granularity 5min] [--input OTHER.log.gz]

Goal on a 2-core machine: <= 4 s wall and <= 2 GB peak memory, every line accounted for.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nasa_like_log import build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "build" / "bench" / "nasa_like.log"


def run_once(log: Path, lake: Path, granularity: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak resident memory (MB) of one
    `fleetcast ingest` process. CPU time varies less than wall time on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fleetcast", "ingest", str(log), "--lake", str(lake),
                    "--granularity", granularity, "--quiet"], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, max(after.ru_maxrss, before.ru_maxrss) / 1024


def accounting(lake: Path) -> dict:
    sql = ("SELECT lines_read, lines_parsed, lines_rejected, records FROM sources")
    out = subprocess.run([sys.executable, "-m", "fleetcast", "query", "--lake", str(lake), "--format",
                          "json", sql], check=True, capture_output=True, text=True)
    row = json.loads(out.stdout)[0]
    obs = subprocess.run([sys.executable, "-m", "fleetcast", "query", "--lake", str(lake), "--format",
                          "json", "SELECT count(*) AS n, sum(value) AS requests FROM observations "
                          "WHERE metric = 'request_count'"], check=True, capture_output=True, text=True)
    row.update(json.loads(obs.stdout)[0])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--granularity", default="5min")
    parser.add_argument("--input", type=Path, default=LOG,
                        help="log to ingest instead of the built one (e.g. a gzip copy of it)")
    args = parser.parse_args()
    if not LOG.exists():
        LOG.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {LOG} …", flush=True)
        build(LOG)
    size_mb = args.input.stat().st_size / 1e6
    load = os.getloadavg()[0]
    walls, cpus, peaks = [], [], []
    for _ in range(args.runs):
        lake = Path(tempfile.mkdtemp(prefix="fleetcast-bench-"))
        try:
            wall, cpu, peak = run_once(args.input, lake, args.granularity)
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
            counts = accounting(lake)
        finally:
            shutil.rmtree(lake, ignore_errors=True)
    ok = counts["lines_parsed"] + counts["lines_rejected"] == counts["lines_read"]
    print(f"input: {args.input.name}, {counts['lines_read']:,} lines, {size_mb:.0f} MB; "
          f"{os.cpu_count()} cores, load average {load:.1f} before the runs")
    print(f"fleetcast ingest -> {args.granularity} observations, {args.runs} run(s): "
          f"wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
          f"CPU median {statistics.median(cpus):.2f} s, peak memory {max(peaks):.0f} MB")
    print(f"accounting: {counts['lines_parsed']:,} parsed + {counts['lines_rejected']:,} rejected = "
          f"{counts['lines_read']:,} read ({'ok' if ok else 'MISMATCH'}); {counts['records']:,} requests; "
          f"{counts['n']:,} request_count bins summing to {counts['requests']:,.0f}")
    print("goal: <= 4 s wall, <= 2048 MB; reference on the same volume: GoAccess ~29 s, "
          "Polars regex pipeline ~2.3 s, DuckDB regex SQL ~12 s")


if __name__ == "__main__":
    main()
