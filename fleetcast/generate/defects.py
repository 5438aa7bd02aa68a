"""Realistic bad rows for ingestion tests, injected into a metrics frame at known places.

Kinds (one each, on different servers where there are enough, never overlapping):

=====================  ====================================================================
``nan``                one value is NaN (CSV ``NaN``)
``missing_value``      one value is missing (empty CSV field)
``negative``           one value is negative (−0.5 to −5)
``slightly_over_100``  one value is 100.3: within a small tolerance of 100%
``over_100``           one value is 180: out of range
``gap``                a 2-hour hole: every row of one server in ``[timestamp, until)`` dropped
``duplicate``          one row written twice (same server and timestamp, same values), right
                       after the original
=====================  ====================================================================
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import numpy as np
import polars as pl

VALUES = {"nan": float("nan"), "missing_value": None, "negative": None, "slightly_over_100": 100.3,
          "over_100": 180.0}
KINDS = (*VALUES, "gap", "duplicate")
INJECTED_SCHEMA = {"kind": pl.String, "server_id": pl.String, "timestamp": pl.Datetime("us"),
                   "until": pl.Datetime("us"), "metric": pl.String, "value": pl.Float64, "rows": pl.Int64}


class Defects(NamedTuple):
    """A metrics frame with defects, and one row per injected defect.

    ``injected`` columns: ``kind, server_id, timestamp, until`` (end of a gap, exclusive),
    ``metric`` (the column, or the long layout's metric, that was changed), ``value`` (what was
    written) and ``rows`` (rows changed, removed by the gap, or added by the duplicate).
    """

    frame: pl.DataFrame
    injected: pl.DataFrame


def add_defects(frame: pl.DataFrame, seed: int = 0, gap: timedelta = timedelta(hours=2)) -> Defects:
    """Inject one defect of each kind in :data:`KINDS` into a wide or long metrics frame.

    Defects fall in the middle 80% of each chosen server's time span, each kind in its own slice
    of it, so they never overlap. The input frame is not changed.

    Examples
    --------
    >>> from fleetcast.generate import generate_fleet
    >>> fleet = generate_fleet(n_servers=10, days=60, seed=0)
    >>> bad, injected = add_defects(fleet.metrics, seed=1)
    >>> injected["kind"].to_list()
    ['nan', 'missing_value', 'negative', 'slightly_over_100', 'over_100', 'gap', 'duplicate']
    >>> bad.height - fleet.metrics.height   # 2 hours of 1-hour rows dropped, 1 row added
    -1
    """
    rng = np.random.default_rng(seed)
    long = "metric" in frame.columns
    metrics = frame["metric"].unique(maintain_order=True).to_list() if long else frame.columns[2:]
    servers = frame["server_id"].unique().sort().to_list()
    order = rng.permutation(len(servers))
    out = frame.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Float64))
    report = []
    for k, kind in enumerate(KINDS):
        server = servers[order[k % len(servers)]]
        stamps = frame.filter(pl.col("server_id") == server)["timestamp"].unique().sort()
        inner = np.arange(int(len(stamps) * 0.1), int(len(stamps) * 0.9))
        at = stamps[int(rng.choice(np.array_split(inner, len(KINDS))[k]))]
        metric = metrics[int(rng.integers(len(metrics)))]
        here = (pl.col("server_id") == server) & (pl.col("timestamp") == at)
        row = {"kind": kind, "server_id": server, "timestamp": at, "until": None, "metric": metric,
               "value": None, "rows": 1}
        if kind in VALUES:
            value = -round(float(rng.uniform(0.5, 5.0)), 2) if kind == "negative" else VALUES[kind]
            column, cell = ("value", here & (pl.col("metric") == metric)) if long else (metric, here)
            out = out.with_columns(pl.when(cell).then(pl.lit(value, pl.Float64)).otherwise(pl.col(column))
                                   .alias(column))
            row["value"] = value
        elif kind == "gap":
            in_gap = pl.col("timestamp").is_between(at, at + gap, closed="left")
            hole = (pl.col("server_id") == server) & in_gap
            row.update(until=at + gap, metric=None, rows=out.filter(hole).height)
            out = out.filter(~hole)
        else:
            copy = out.filter(here & (pl.col("metric") == metric) if long else here)
            out = pl.concat([out, copy.with_columns(pl.col("_row") + 0.5)]).sort("_row")
            row.update(metric=metric if long else None, rows=copy.height)
        report.append(row)
    return Defects(out.drop("_row"), pl.DataFrame(report, schema=INJECTED_SCHEMA))
