"""Write generated server metrics as a user would export them: CSV or Parquet, wide or long.

CSV timestamps are ISO 8601 UTC with a ``Z`` (``2024-11-15T00:00:00Z``); Parquet keeps them as
naive UTC timestamps (microseconds). Missing values are empty CSV fields, NaN is written ``NaN``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

WIDE_KEYS = ("timestamp", "server_id")
LONG_COLUMNS = ("timestamp", "server_id", "metric", "value")
CSV_TIME = "%Y-%m-%dT%H:%M:%SZ"


def to_long(frame: pl.DataFrame) -> pl.DataFrame:
    """Long layout ``timestamp, server_id, metric, value`` of a wide metrics frame.

    Rows are ordered by server, metric, then time (and keep their order within that).

    Examples
    --------
    >>> from datetime import datetime
    >>> wide = pl.DataFrame({"timestamp": [datetime(2025, 1, 1)], "server_id": ["db-01"],
    ...                      "cpu": [12.5], "memory": [70.0]})
    >>> to_long(wide).select("metric", "value").rows()
    [('cpu', 12.5), ('memory', 70.0)]
    """
    if "metric" in frame.columns:
        return frame.select(LONG_COLUMNS)
    metrics = [c for c in frame.columns if c not in WIDE_KEYS]
    long = frame.unpivot(index=list(WIDE_KEYS), on=metrics, variable_name="metric", value_name="value")
    order = pl.col("metric").cast(pl.Enum(metrics))
    return long.sort("server_id", order, "timestamp", maintain_order=True).select(LONG_COLUMNS)


def write_metrics(frame: pl.DataFrame, path: str | Path, layout: str = "wide",
                  format: str | None = None) -> Path:
    """Write a metrics frame to ``path`` and return the path.

    Parameters
    ----------
    frame
        Wide (``timestamp, server_id, cpu, …``) or long (``timestamp, server_id, metric, value``).
    path
        Destination; parent folders are created.
    layout
        ``"wide"`` or ``"long"``. A wide frame can be written either way, a long one only long.
    format
        ``"csv"`` or ``"parquet"``; by default from the suffix (``.parquet`` / ``.pq``, else CSV).

    Examples
    --------
    >>> import tempfile
    >>> from datetime import datetime
    >>> wide = pl.DataFrame({"timestamp": [datetime(2025, 1, 1)], "server_id": ["db-01"], "cpu": [12.5]})
    >>> out = write_metrics(wide, Path(tempfile.mkdtemp()) / "m.csv", layout="long")
    >>> print(out.read_text(), end="")
    timestamp,server_id,metric,value
    2025-01-01T00:00:00Z,db-01,cpu,12.5
    """
    path = Path(path)
    fmt = format or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    if layout not in ("wide", "long") or fmt not in ("csv", "parquet"):
        raise ValueError(f"layout must be wide or long and format csv or parquet, not {layout!r}/{fmt!r}")
    if layout == "wide" and "metric" in frame.columns:
        raise ValueError("a long frame can only be written in the long layout")
    out = to_long(frame) if layout == "long" else frame
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        out.write_parquet(path, compression="zstd", statistics=True)
    else:
        out.with_columns(pl.col("timestamp").dt.strftime(CSV_TIME)).write_csv(path)
    return path
