"""Build a NASA-like access log: real per-minute volume, real request lines.

Timestamps follow ../shared/data/nasa-ksc-1995/nasa_ksc_requests_1min.csv (one line per request,
seconds spread within each minute, unlogged minutes stay empty); each line's host, request, status
and bytes are drawn from the real sample ``access_log_sample.log``. The volume is the two months'
request count in that file: 3,461,610 lines (the raw logs had 3,461,613 lines).

    python bench/nasa_like_log.py OUT.log [--seed 0]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import polars as pl

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nasa-ksc-1995"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_SAMPLE_LINE = re.compile(r'^(\S+) - - \[[^\]]+\] (".*)$')


def build(out: Path, seed: int = 0) -> int:
    """Write the log to ``out`` and return the number of lines written."""
    rng = np.random.default_rng(seed)
    counts = pl.read_csv(DATA / "nasa_ksc_requests_1min.csv").drop_nulls("requests")
    # local wall-clock minute (the file's timestamps are all -04:00)
    minute_starts = counts["timestamp"].str.slice(0, 16).str.to_datetime("%Y-%m-%dT%H:%M")
    n_per_minute = counts["requests"].to_numpy().astype(np.int64)
    total = int(n_per_minute.sum())
    # local wall-clock seconds of every request, sorted within each minute
    base = np.repeat(minute_starts.dt.epoch("s").to_numpy(), n_per_minute)
    secs = base + rng.integers(0, 60, total)
    secs.sort()

    sample = []
    for raw in (DATA / "access_log_sample.log").read_text().splitlines():
        m = _SAMPLE_LINE.match(raw)
        if m:
            sample.append((m.group(1), m.group(2)))
    picks = rng.integers(0, len(sample), total)

    ts = pl.from_epoch(pl.Series("s", secs), time_unit="s")
    text = ts.dt.strftime("%d/%b/%Y:%H:%M:%S -0400")
    hosts = np.array([h for h, _ in sample], dtype=object)[picks]
    rest = np.array([r for _, r in sample], dtype=object)[picks]
    lines = pl.DataFrame({"h": hosts, "t": text, "r": rest}).select(
        pl.concat_str([pl.col("h"), pl.lit(" - - ["), pl.col("t"), pl.lit("] "), pl.col("r")])
    )
    with out.open("w") as fh:
        for chunk in lines.iter_slices(500_000):
            fh.write("\n".join(chunk.to_series().to_list()))
            fh.write("\n")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = build(args.out, args.seed)
    print(f"wrote {n:,} lines to {args.out} ({args.out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
