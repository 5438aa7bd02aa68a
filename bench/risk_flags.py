"""Risk-flag accuracy: the generated fleet against its ground truth, and the NAB CloudWatch servers.

    .venv/bin/python bench/risk_flags.py [--servers 100] [--seed 0]

Generated fleet: ``servers`` servers x 180 days of hourly cpu/memory/disk_io/network, and the
generator's truth of which server metrics' daily P95 crosses 80 % within the next 30 days.
Precision/recall/F1 of fleetcast's 30-day high-or-worse flags, next to the simple rule "flag if last
month's worst daily P95 was over 80 %". NAB: the expected level of the named real EC2 CPU series.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import polars as pl

from fleetcast.generate import generate_fleet
from fleetcast.ingest.metrics import MetricsOptions, read_metrics
from fleetcast.risk import assess, daily_stats

NAB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab-aws-cloudwatch"
NAB_EXPECTED = {"825cc2": "high or worse", "24ae8d": "underutilised", "c6585a": "underutilised",
                "53ea38": "underutilised", "5f5533": "not high"}


def scores(predicted: pl.Series, actual: pl.Series) -> tuple[float, float, float]:
    tp = int((predicted & actual).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(actual.sum()), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def fleet(servers: int, seed: int) -> None:
    fleet = generate_fleet(n_servers=servers, days=180, seed=seed)
    long = fleet.metrics.unpivot(index=["timestamp", "server_id"], variable_name="metric").select(
        pl.col("server_id").alias("series_id"), "metric", pl.col("timestamp").alias("ts"), "value")
    started = time.perf_counter()
    flags = assess(daily_stats(long)).flags
    seconds = time.perf_counter() - started
    joined = fleet.truth.join(flags.filter(pl.col("horizon_days") == 30).rename({"series_id": "server_id"}),
                              on=["server_id", "metric"])
    ours = joined["level"].is_in(["high", "very_high"])
    rule = joined["history_max_p95_30d"] > 80
    truth = joined["crosses_80_within_30d"]
    print(f"generated fleet: {servers} servers x 4 metrics, {int(truth.sum())} cross 80% within 30 days; "
          f"assessed in {seconds:.1f} s")
    for name, predicted in (("fleetcast (30-day high or very_high)", ours), ("rule: last month's worst P95 > 80%",
                                                                           rule)):
        p, r, f = scores(predicted, truth)
        print(f"  {name:40s} precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}")
    under = joined["level"] == "underutilised"
    p, r, f = scores(under, joined["underutilised"])
    print(f"  {'underutilised (average < 40%)':40s} precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}")


def nab() -> None:
    for suffix, expected in NAB_EXPECTED.items():
        path = NAB / f"ec2_cpu_utilization_{suffix}.csv"
        samples = read_metrics(path, MetricsOptions(series=suffix, metric="cpu")).samples
        flag = assess(daily_stats(samples.select("series_id", "metric", "ts", "value"))).flags.filter(
            pl.col("horizon_days") == 30).row(0, named=True)
        high = flag["level"] in ("high", "very_high")
        ok = {"high or worse": high, "underutilised": flag["level"] == "underutilised", "not high": not high}[expected]
        print(f"NAB {suffix}: {flag['level']:13s} expected {expected:14s} {'ok' if ok else 'MISSED'}  {flag['reason']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fleet(args.servers, args.seed)
    nab()
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
