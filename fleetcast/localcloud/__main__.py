"""Try the deployed event flow on this machine: ``python -m fleetcast.localcloud FILE... [--refresh]``.

Synthesizes the CDK app (or reads ``--template``), starts the local cloud, puts each file into the raw
bucket (one run each, in order), optionally fires the nightly schedule, then prints every execution,
the events fleetcast published and the rows in each table. Nothing leaves the process.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from fleetcast.lake import tables as t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleetcast.localcloud", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="access logs or metrics files to upload")
    parser.add_argument("--refresh", action="store_true", help="fire the nightly schedule after the uploads")
    parser.add_argument("--template", type=Path, help="a synthesized template (default: synthesize now)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    from fleetcast.localcloud import LocalCloud
    from fleetcast.localcloud.template import load_template, synthesize

    print("synthesizing the stack..." if not args.template else f"reading {args.template}", flush=True)
    template = load_template(args.template) if args.template else synthesize()
    with LocalCloud(template) as cloud:
        executions = []
        for path in args.files:
            cloud.upload(path, key=f"incoming/{path.name}")
            executions += _report(cloud.run_until_idle(), f"upload {path.name}")
        if args.refresh:
            cloud.fire_schedule(datetime.now(UTC))
            executions += _report(cloud.run_until_idle(), "nightly refresh")
        events = Counter(e["detail-type"] for e in cloud.events())
        print("events:", ", ".join(f"{n} x {k}" for k, n in sorted(events.items())) or "none")
        lake = cloud.lake()
        print("rows:", ", ".join(f"{name} {lake.read(table).height}" for name, table in t.TABLES.items()))
    return 0 if all(e["status"] == "SUCCEEDED" for e in executions) else 1


def _report(executions: list[dict], what: str) -> list[dict]:
    for execution in executions:
        output = execution.get("output") or {}
        run = (output.get("run") or {}).get("run_id", "?")
        detail = execution.get("error") or ""
        print(f"{what}: {execution['status']} run {run} {detail}".rstrip(), flush=True)
    return executions


if __name__ == "__main__":
    sys.exit(main())
