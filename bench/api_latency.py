"""Latency benchmark of the HTTP API: the resolver in-process over a lake of 10,000 series.

Requests go through ``app.resolve`` with the API Gateway REST proxy events ``fleetcast serve`` builds
(routing, validation, JSON in and out included; no network). "Warm" is a function that has served
requests before: every shard's current forecasts have been read once (the cost of that first read is
printed too) and the partition listing is fresh. The lake holds generated results
(:mod:`fleetcast.api.sample`: two nightly runs over every shard and an upload run over two shards:
forecasts, backtests, risk flags, runs). Goals (issue 7): p95 <= 50 ms warm for ``GET /v1/risks``
and ``GET /v1/series/{id}/forecast``; ``POST /v1/forecast`` with 2 weeks of 5-minute history <= 1 s
(real history: NAB ``ec2_cpu_utilization_5f5533``, 4,032 points, from ../shared/data).

    .venv/bin/python bench/api_latency.py [--series 10000] [--requests 300] [--lake DIR] [--json OUT]

``--lake DIR`` keeps the generated lake in DIR (reused when it is already there).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.api import services
from fleetcast.api.http import app
from fleetcast.api.local import to_event
from fleetcast.api.sample import series_ids, write_sample_results
from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake

NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab-aws-cloudwatch" / "ec2_cpu_utilization_5f5533.csv"
JSON_HEADERS = [("Content-Type", "application/json")]


def resolve(method: str, path: str, body: bytes = b"") -> tuple[int, float, float]:
    """Status, wall seconds and CPU seconds of one request through the resolver."""
    event = to_event(method, path, JSON_HEADERS if body else [], body)
    wall, cpu = time.perf_counter(), time.process_time()
    response = app.resolve(event, None)
    return response["statusCode"], time.perf_counter() - wall, time.process_time() - cpu


def summary(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1)}


def measure(paths: list[str], warmup: int = 5, body: bytes = b"", method: str = "GET") -> dict:
    for path in paths[:warmup]:
        resolve(method, path, body)
    walls, cpus = [], []
    for path in paths:
        status, wall, cpu = resolve(method, path, body)
        assert status == 200, (path, status)
        walls.append(wall)
        cpus.append(cpu)
    return {**summary(walls), "cpu": summary(cpus)}


def build_lake(root: Path, n_series: int) -> LocalLake:
    lake = LocalLake(root)
    if not lake.files(t.RISK_FLAGS):
        started = time.perf_counter()
        write_sample_results(lake, n_series=n_series)
        print(f"wrote results for {n_series:,} series in {time.perf_counter() - started:.1f} s to {root}")
    return lake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--forecasts", type=int, default=7, help="POST /v1/forecast repetitions per horizon")
    parser.add_argument("--lake", type=Path, help="keep the lake here (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    root = args.lake or Path(tempfile.mkdtemp(prefix="fleetcast-api-bench-")) / "lake"
    lake = build_lake(root, args.series)
    services.configure(lake)  # the deployed default: partition listing reused for 30 s
    rng = np.random.default_rng(0)
    ids = np.array(series_ids(args.series))
    rows = lake.read(t.FORECASTS, {"run_id": "20261122T020000Z-n2", "shard": 0}).height
    figures: dict = {"series": args.series, "forecast_rows_per_shard_file": rows}

    # warm: the API has read every shard's current forecasts once (what a warm function holds)
    first_of_shard = {t.shard_of(s): s for s in ids[::-1]}
    cold = [resolve("GET", f"/v1/series/{s}/forecast")[1] for s in first_of_shard.values()]
    figures["first request per shard (cold read of the shard)"] = summary(cold)
    picks = rng.choice(ids, args.requests)
    figures["GET /v1/series/{id}/forecast"] = measure([f"/v1/series/{s}/forecast" for s in picks])
    figures["GET /v1/series/{id}/forecast?metric=cpu"] = measure(
        [f"/v1/series/{s}/forecast?metric=cpu" for s in picks])
    queries = ["", "?level=very_high", "?level=high&metric=cpu", "?metric=memory&limit=1000",
               "?level=underutilised&limit=20", "?horizon_days=30"]
    figures["GET /v1/risks"] = measure([f"/v1/risks{queries[i % len(queries)]}" for i in range(args.requests)])
    figures["GET /v1/series"] = measure([f"/v1/series?limit=100&offset={100 * (i % 50)}" for i in range(60)])

    history = pl.read_csv(NAB, try_parse_dates=True)
    body = [{"timestamp": f"{ts:%Y-%m-%dT%H:%M:%S}Z", "value": v} for ts, v in history.iter_rows()]
    for horizon in (288, 12):
        raw = json.dumps({"history": body, "horizon": horizon, "freq": "5min"}).encode()
        figures[f"POST /v1/forecast (4,032 points, horizon {horizon})"] = measure(
            ["/v1/forecast"] * args.forecasts, warmup=1, body=raw, method="POST")
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
