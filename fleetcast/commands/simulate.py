"""``fleetcast simulate``: replay a load series under scaling policies; cost and SLA per policy.

Input: a CSV with ``timestamp,value`` (the load per interval, e.g. requests per 5 minutes); missing
rows and empty values are gaps. Data before ``--start`` is history only; every decision uses only
data before its own time. Times with an offset are converted to UTC; a ``--start`` without an
offset is read in the input's offset.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from fleetcast.errors import FleetcastError, InputError
from fleetcast.scaling import (
    PRESETS,
    LoadSeries,
    Simulation,
    default_capacity,
    load_policy_file,
    resolve_policies,
    simulate,
)

DEFAULT_PRICE = 0.10
DEFAULT_HISTORY_DAYS = 7
_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("simulate", help="compare scaling policies on a load series (cost, SLA)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, type=Path, help="CSV with timestamp,value")
    parser.add_argument("--out", help="write the JSON result here ('-' for stdout); "
                                      "without it a table is printed")
    parser.add_argument("--start", help="first replayed time (default: 7 days before the end when at "
                                        "least 7 days of history precede that, else the middle)")
    parser.add_argument("--policy", nargs="+", action="extend", metavar="NAME",
                        help=f"policies to compare (default: all predictive presets and those in "
                             f"--policy-file; presets: {', '.join(PRESETS)}). static_peak and reactive "
                             "are always included")
    parser.add_argument("--capacity-per-server", type=float, metavar="X",
                        help="load one server carries at 100%% per interval (default: the history's "
                             "peak / 15, printed)")
    parser.add_argument("--price-per-server-hour", type=float, default=DEFAULT_PRICE, metavar="P",
                        help="price of one server for one hour (default: %(default)s)")
    parser.add_argument("--policy-file", type=Path, metavar="JSON",
                        help="custom policies: an object, a list, or {\"policies\": [...]}")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.out and args.out != "-" and not Path(args.out).parent.is_dir():
        raise FleetcastError(f"--out: directory {Path(args.out).parent} does not exist")
    load, offset = read_load_csv(args.input)
    start = _start_index(load, args.start, offset)
    custom = load_policy_file(args.policy_file) if args.policy_file else []
    policies = resolve_policies(args.policy, custom)
    capacity = args.capacity_per_server
    chosen = capacity is None
    if chosen:
        capacity = default_capacity(load, start)
    sim = simulate(load, start=start, capacity_per_server=capacity, policies=policies,
                   price_per_server_hour=args.price_per_server_hour)
    notes = [f"capacity per server: {capacity:g} per {load.freq.name}"
             + (" (chosen: history peak / 15; set --capacity-per-server)" if chosen else "")]
    if args.out == "-":
        json.dump(sim.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        print("\n".join(notes), file=sys.stderr)
        return 0
    if args.out:
        _write_json(Path(args.out), sim)
        notes.append(f"wrote {args.out}")
    print(render_table(sim))
    print("\n".join(notes))
    return 0


def read_load_csv(path: Path) -> tuple[LoadSeries, timedelta | None]:
    """The load series of a ``timestamp,value`` CSV and the UTC offset its times were written in."""
    where = str(path)
    if not path.is_file():
        raise InputError("no such file", path=where)
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({str(exc).splitlines()[0]})", path=where) from None
    columns = {c.strip().lower(): c for c in frame.columns}
    if "timestamp" not in columns or "value" not in columns:
        raise InputError(f"needs columns timestamp,value (found {','.join(frame.columns) or 'none'})",
                         path=where)
    if frame.height == 0:
        raise InputError("no rows", path=where)
    if "series_id" in columns and frame[columns["series_id"]].n_unique() > 1:
        raise InputError("holds several series_id values; simulate one series at a time", path=where)
    text = frame[columns["timestamp"]].str.strip_chars()
    ts = text.str.to_datetime(strict=False, time_zone="UTC")
    bad = (ts.is_null() & text.is_not_null()).arg_true()
    if bad.len() or text.null_count():
        row = int(bad[0]) if bad.len() else int(text.is_null().arg_true()[0])
        raise InputError(f"cannot read timestamp {text[row]!r}", path=where, line=row + 2,
                         field="timestamp")
    raw = frame[columns["value"]].str.strip_chars()
    value = raw.cast(pl.Float64, strict=False)
    bad = (value.is_null() & raw.is_not_null() & (raw != "")).arg_true()
    if bad.len():
        row = int(bad[0])
        raise InputError(f"value {raw[row]!r} is not a number", path=where, line=row + 2, field="value")
    wrong = (value.is_nan() | value.is_infinite() | (value < 0)).fill_null(False).arg_true()
    if wrong.len():
        row = int(wrong[0])
        raise InputError(f"load must be a finite number >= 0 (got {raw[row]})", path=where,
                         line=row + 2, field="value")
    naive = ts.dt.replace_time_zone(None)
    dupes = naive.is_duplicated().arg_true()
    if dupes.len():
        row = int(dupes[-1])
        raise InputError(f"timestamp {text[row]} appears more than once", path=where, line=row + 2,
                         field="timestamp")
    try:
        series = LoadSeries.from_frame(pl.DataFrame({"ts": naive, "value": value}))
    except FleetcastError as exc:
        raise InputError(exc.problem, path=where) from None
    return series, _offset_of(text[0])


def _offset_of(text: str) -> timedelta | None:
    match = _OFFSET.search(text)
    if not match:
        return None
    if match.group(1) == "Z":
        return timedelta(0)
    digits = match.group(1).replace(":", "")
    sign = -1 if digits[0] == "-" else 1
    return sign * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))


def _start_index(load: LoadSeries, start: str | None, offset: timedelta | None) -> int:
    if start is None:
        history = load.freq.steps(DEFAULT_HISTORY_DAYS * 86_400)
        last_week = len(load) - history
        return last_week if last_week >= history else len(load) // 2
    text = start.strip()
    parsed = pl.Series([text]).str.to_datetime(strict=False, time_zone="UTC")[0]
    if parsed is None:
        raise FleetcastError(f"--start: cannot read {start!r} as a time (e.g. 1995-08-23 or "
                             "1995-08-23T00:00:00-04:00)")
    when = parsed.replace(tzinfo=None)
    if _OFFSET.search(text) is None and offset is not None:
        when = when - offset
    index = load.index_of(np.datetime64(when, "us"))
    if index >= len(load):
        raise FleetcastError(f"--start {start} is after the last timestamp of the input")
    return index


def _write_json(path: Path, sim: Simulation) -> None:
    try:
        path.write_text(json.dumps(sim.to_json(), indent=2) + "\n")
    except OSError as exc:
        raise FleetcastError(f"--out: cannot write {path} ({exc.strerror})") from None


def render_table(sim: Simulation) -> str:
    """A short human table: one line per policy."""
    s = sim.summary()
    head = (f"replay {s['start']} .. {s['end']} UTC ({s['intervals']} x {s['freq']}, "
            f"{s['history_intervals']} intervals of history); static fleet {s['static_servers']} servers "
            f"(peak at {sim.static_utilisation:.0%}); forecaster {s['forecaster']}")
    lines = [head, f"{'policy':<24}{'cost':>11}{'saving %':>10}{'SLA viol %':>12}{'viol':>6}"
                   f"{'events':>8}{'mean srv':>10}{'util %':>8}"]
    for r in sim.results:
        lines.append(f"{r.name:<24}{r.cost:>11,.2f}{r.saving_vs_static_pct:>10.1f}"
                     f"{r.sla_violation_pct:>12.3f}{r.sla_violation_intervals:>6}{r.scaling_events:>8}"
                     f"{r.mean_servers:>10.2f}{r.mean_utilisation_pct:>8.1f}")
    gaps = sim.results[0].gap_intervals if sim.results else 0
    if gaps:
        lines.append(f"{gaps} replayed intervals are gaps: billed, never violations, not in the share")
    return "\n".join(lines)
