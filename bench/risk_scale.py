"""`fleetcast risk` on a big metrics file: wall time and peak memory.

    .venv/bin/python bench/risk_scale.py [--servers 2000] [--days 90]

Writes ``build/bench/fleet-<servers>x<days>.csv`` (wide, hourly cpu/memory/disk_io/network: daily
cycles, growth and noise; ``servers x days x 24`` rows, 4 values each) once, then runs the command
in a fresh process and reports its wall time and peak resident memory (``ru_maxrss`` of the child).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

OUT = Path(__file__).resolve().parents[1] / "build" / "bench"


def write_fleet(path: Path, servers: int, days: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    start = np.datetime64("2025-01-01T00:00", "h")
    with path.open("w") as out:
        out.write("timestamp,server_id,cpu,memory,disk_io,network\n")
        for first in range(0, servers, 100):
            block = []
            for s in range(first, min(first + 100, servers)):
                level = rng.uniform(5, 70, 4)
                growth = rng.normal(0.0, 0.15, 4)
                cycle = np.sin(2 * np.pi * (hours % 24) / 24)[:, None]
                trend = 1 + growth * hours[:, None] / hours.size
                values = level * trend + 10 * cycle + rng.normal(0, 3, (hours.size, 4))
                block.append(pl.DataFrame({
                    "timestamp": (start + hours).astype("datetime64[ms]"), "server_id": f"srv-{s:05d}",
                    **{m: np.clip(values[:, i], 0, 100).round(2) for i, m in
                       enumerate(("cpu", "memory", "disk_io", "network"))}}))
            csv = pl.concat(block).with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(
                include_header=False)
            out.write(csv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / f"fleet-{args.servers}x{args.days}.csv"
    if not source.exists():
        write_fleet(source, args.servers, args.days)
    rows = args.servers * args.days * 24
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fleetcast", "risk", "--input", str(source), "--out",
                    str(OUT / "flags.csv")], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"fleetcast risk: {args.servers} servers x {args.days} days hourly = {rows:,} rows, {rows * 4:,} values "
          f"({source.stat().st_size / 1e6:.0f} MB CSV): {seconds:.1f} s, peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
