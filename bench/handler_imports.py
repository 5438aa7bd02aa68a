"""Cold import and warm invocation time of each Lambda handler (``lambdas/<function>/handler.py``).

Cold import: the handler module loaded in a fresh Python process (what a new Lambda container pays
before its first event, interpreter start-up excluded), ``--repeat`` processes per handler, median
and max. Goal (issue 6): the api handler imports in <= 1.5 s.

Warm invocation: in one more fresh process per handler, an in-process moto world (S3, Glue catalog,
EventBridge) with the environment the stack gives the functions, inputs prepared by the local pipeline;
the handler is invoked once (the container's first event, building its adapters), then ``--calls``
times more (median and max of those). Events:

- validate: the NASA access-log excerpt (1,880 lines, 200 KB) uploaded to the raw bucket;
- forecast: the shard of a real EC2 CPU series (NAB ``ec2_cpu_utilization_825cc2``, 14 days, 5 min);
- risk_plan: that run's risk flags and plans (after the forecast above);
- api: ``GET /health`` (reads the ``runs`` table from S3).

    .venv/bin/python bench/handler_imports.py [--repeat 5] [--calls 3] [--only api] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HANDLERS = ("validate", "forecast", "risk_plan", "api")
API_GOAL_S = 1.5
LAMBDA_ENV = {"POWERTOOLS_SERVICE_NAME": "fleetcast", "POWERTOOLS_METRICS_NAMESPACE": "fleetcast",
              "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}

COLD = """
import importlib.util, sys, time
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - start)
"""


def cold_import(folder: str, repeat: int) -> dict:
    """Seconds to import ``lambdas/<folder>/handler.py`` in ``repeat`` fresh processes."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), **LAMBDA_ENV}
    seconds = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", COLD, str(REPO / "lambdas" / folder / "handler.py")],
                             capture_output=True, text=True, env=env, check=True, cwd=REPO)
        seconds.append(float(out.stdout.strip().splitlines()[-1]))
    return {"median_ms": round(1000 * statistics.median(seconds)), "max_ms": round(1000 * max(seconds)),
            "runs": len(seconds)}


def warm_invocation(folder: str, calls: int) -> dict:
    """First and warm invocation times of one handler, measured in a fresh process (see ``_warm``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **LAMBDA_ENV}
    out = subprocess.run([sys.executable, __file__, "--_warm", folder, "--calls", str(calls)],
                         capture_output=True, text=True, env=env, check=False, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{folder}: warm invocation failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _warm(folder: str, calls: int) -> dict:
    """In this process: moto, the functions' environment, inputs; invoke the handler 1 + ``calls`` times."""
    from moto import mock_aws

    with mock_aws():
        event = _prepare(folder)
        from fleetcast.localcloud.lambdas import HandlerRef, LambdaContext, _load

        handler = _load(HandlerRef(folder).path(), f"bench_{folder}").handler
        context = LambdaContext(folder, f"arn:aws:lambda:us-east-1:123456789012:function:{folder}")
        timings = []
        for _ in range(1 + calls):
            start = time.perf_counter()
            answer = handler(event, context)
            timings.append(time.perf_counter() - start)
        if folder == "api":
            assert answer["statusCode"] == 200, answer
    warm = timings[1:]
    return {"first_ms": round(1000 * timings[0]), "warm_median_ms": round(1000 * statistics.median(warm)),
            "warm_max_ms": round(1000 * max(warm)), "calls": len(warm)}


def _prepare(folder: str) -> dict:
    """The moto resources and environment of a deployed function, and the event it gets."""
    import boto3

    from fleetcast.lake.s3 import S3Lake
    from fleetcast.lake.tables import shard_of
    from fleetcast.localcloud.provision import registry_catalog
    from fleetcast.pipeline.ingest import ingest

    data = REPO.parent / "shared" / "data"
    session = boto3.Session(region_name="us-east-1")
    s3 = session.client("s3")
    for bucket in ("bench-raw", "bench-lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="bench-raw", VersioningConfiguration={"Status": "Enabled"})
    locations = registry_catalog(session, "fleetcast", "bench-lake")
    os.environ.update({"LAKE_TABLE_LOCATIONS": json.dumps(locations),
                       "LAKE_DATABASE": "fleetcast", "CURATED_BUCKET": "bench-lake",
                       "QUARANTINE_PREFIX": "quarantine/", "FLEETCAST_EVENTS_FILE": os.devnull})
    run = {"run_id": "bench-run", "trigger": "schedule", "started_at": "2024-05-02T03:00:00.000Z"}
    if folder == "validate":
        body = (data / "nasa-ksc-1995" / "access_log_sample.log").read_bytes()
        version = s3.put_object(Bucket="bench-raw", Key="logs/nasa.log", Body=body)["VersionId"]
        return {"run": run, "event": {"detail-type": "Object Created", "source": "aws.s3", "detail": {
            "bucket": {"name": "bench-raw"}, "object": {"key": "logs/nasa.log", "size": len(body),
                                                        "version-id": version}}}}
    if folder == "api":
        from fleetcast.api.local import to_event

        return to_event("GET", "/health", [], b"")
    series = data / "nab-aws-cloudwatch" / "ec2_cpu_utilization_825cc2.csv"
    lake = S3Lake.from_environment(boto3_session=session)
    ingest([series], lake, "bench-upload")
    shard = shard_of(series.stem)
    if folder == "forecast":
        return {"run": run, "shard": shard}
    from fleetcast.pipeline.forecast import forecast_shard

    summary = forecast_shard(lake, shard, run["run_id"])
    return {"run": run, "forecast": [{"shard": shard, "status": "succeeded", "summary": summary}]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per cold import")
    parser.add_argument("--calls", type=int, default=3, help="warm invocations per handler")
    parser.add_argument("--only", choices=HANDLERS, action="append", help="measure these handlers only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--_warm", choices=HANDLERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._warm:
        print(json.dumps(_warm(args._warm, args.calls)))
        return 0
    results = {}
    for folder in args.only or HANDLERS:
        results[folder] = {"cold_import": cold_import(folder, args.repeat),
                           "invocation": warm_invocation(folder, args.calls)}
        cold, warm = results[folder]["cold_import"], results[folder]["invocation"]
        print(f"{folder:10s} cold import {cold['median_ms']:6d} ms (max {cold['max_ms']:6d}, {cold['runs']} runs)   "
              f"first call {warm['first_ms']:6d} ms   warm call {warm['warm_median_ms']:6d} ms "
              f"(max {warm['warm_max_ms']}, {warm['calls']} calls)", flush=True)
    if "api" in results:
        seconds = results["api"]["cold_import"]["median_ms"] / 1000
        verdict = "meets" if seconds <= API_GOAL_S else "MISSES"
        print(f"api handler cold import {seconds:.2f} s: {verdict} the {API_GOAL_S} s goal")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
