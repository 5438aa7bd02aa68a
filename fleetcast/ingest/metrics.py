"""Read per-server utilisation metrics (CSV or Parquet, long or wide) into validated samples.

Layouts:
- long: ``timestamp, server_id, metric, value``
- wide: ``timestamp, server_id, cpu, memory, disk_io, network, ...``
- single series: ``timestamp, value`` (server and metric from options or the file name)

Percent metrics are stored in 0-100. Values slightly above 100 (within ``tolerance``) are clipped to
100; negative, non-numeric, NaN and far-above-100 values are rejected with their reason, as are
lines with an unreadable timestamp or an empty server id, and repeated samples (the last is kept).
A line counts as parsed when at least one of its values is used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from fleetcast.errors import InputError
from fleetcast.ingest import columns as cols
from fleetcast.ingest.detect import csv_separator
from fleetcast.ingest.reader import open_binary
from fleetcast.ingest.timestamps import parse_timestamps

RAW_TEXT_LIMIT = 500
REJECT_SCHEMA = {"line": pl.Int64, "field": pl.String, "reason": pl.String, "raw": pl.String}


@dataclass(frozen=True)
class MetricsOptions:
    units: str = "auto"  # auto | percent | fraction
    timezone: str = "UTC"  # zone of timestamps written without one
    tolerance: float = 5.0  # percent points above 100 that are clipped rather than rejected
    series: str | None = None  # server id for single-series files
    metric: str | None = None  # metric name for single-series files


@dataclass(frozen=True)
class MetricsFile:
    source_id: str
    format: str
    samples: pl.DataFrame  # series_id, metric, ts, value
    rejects: pl.DataFrame  # line, field, reason, raw
    lines_read: int
    lines_rejected: int
    warnings: list[str] = field(default_factory=list)

    @property
    def lines_parsed(self) -> int:
        return self.lines_read - self.lines_rejected

    @property
    def first_ts(self) -> datetime | None:
        return self.samples["ts"].min()  # type: ignore[return-value]

    @property
    def last_ts(self) -> datetime | None:
        return self.samples["ts"].max()  # type: ignore[return-value]


def read_metrics(path: Path, options: MetricsOptions = MetricsOptions()) -> MetricsFile:
    """Read and validate a metrics file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("timestamp,server_id,cpu,memory\\n2024-01-01T00:00:00Z,web-1,55,101\\n"
    ...                  "2024-01-01T00:05:00Z,web-1,-3,180\\n")
    >>> m = read_metrics(p)
    >>> m.samples.select("metric", "value").rows(), m.lines_read, m.lines_rejected
    ([('cpu', 55.0), ('memory', 100.0)], 2, 1)
    >>> m.rejects.select("line", "field", "reason").rows()[0]
    (3, 'cpu', 'negative value -3')
    """
    raw, kind, decimal_comma = _read_table(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    long, layout = _to_long(raw, path, options)
    if decimal_comma:  # semicolon-separated files (European spreadsheets) write 5,5 for 5.5
        long = long.with_columns(pl.col("value_raw").str.replace(",", ".", literal=True))
    long = long.with_columns(ts=parse_timestamps(long["ts_raw"], options.timezone))
    long, warnings = _to_percent(long, path, options)
    checked = long.with_columns(reason=_reason(options.tolerance))
    checked = _reject_duplicates(checked)
    used = checked.filter(pl.col("reason").is_null())
    samples = used.select(
        pl.col("server").alias("series_id"), "metric", "ts",
        pl.when(pl.col("percent")).then(pl.col("value").clip(upper_bound=100.0))
        .otherwise(pl.col("value")).alias("value"),
    ).sort("series_id", "metric", "ts")
    lines_used = used["line"].unique()
    rejects = _rejects(checked.filter(pl.col("reason").is_not_null()), raw)
    lines_read = raw.height
    lines_rejected = lines_read - lines_used.len()
    if samples.height == 0:
        first = rejects.head(1)
        detail = f" (line {first['line'][0]}: {first['reason'][0]})" if first.height else ""
        raise InputError(f"no usable metric value in the file{detail}", path=str(path))
    return MetricsFile(digest, f"{kind}-{layout}", samples, rejects, lines_read, lines_rejected, warnings)


def _read_table(path: Path) -> tuple[pl.DataFrame, str, bool]:
    with open_binary(path) as fh:
        data = fh.read()
    where = str(path)
    if data.startswith(b"PAR1"):
        try:
            return pl.read_parquet(data), "parquet", False
        except Exception as exc:  # polars raises several error types for broken Parquet
            raise InputError(f"unreadable Parquet file ({exc})", path=where) from None
    header = data[:4096].split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")
    separator = csv_separator(header)
    names = [name.strip() for name in header.split(separator)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"column(s) {', '.join(repeated)} appear more than once in the header", path=where)
    try:
        frame = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy", separator=separator)
    except pl.exceptions.NoDataError:
        raise InputError("file is empty", path=where) from None
    except pl.exceptions.ComputeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"not a well-formed CSV file ({first})", path=where) from None
    if frame.height == 0:
        raise InputError("file has a header but no data rows", path=where)
    return frame, "csv", separator == ";"


def _to_long(raw: pl.DataFrame, path: Path, options: MetricsOptions) -> tuple[pl.DataFrame, str]:
    where = str(path)
    names = raw.columns
    ts_col = cols.find_column(names, cols.TIMESTAMP_NAMES)
    if ts_col is None:
        raise InputError(f"no timestamp column (expected one of {', '.join(cols.TIMESTAMP_NAMES)}); "
                         f"columns are: {', '.join(names)}", path=where)
    server_col = cols.find_column(names, cols.SERVER_NAMES)
    framed = raw.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    metric_col, value_col = cols.find_column(names, ("metric", "metric_name")), cols.find_column(
        names, ("value", "val"))
    if metric_col and value_col and server_col:
        long = framed.select("line", pl.col(ts_col).alias("ts_raw"), pl.col(server_col).alias("server"),
                             pl.col(metric_col).alias("column"), pl.col(value_col).cast(pl.String)
                             .alias("value_raw"))
        return long, "long"
    if server_col is None:
        others = [c for c in names if c != ts_col]
        if value_col is None or len(others) != 1:
            raise InputError(f"no server column (expected one of {', '.join(cols.SERVER_NAMES)}), and "
                             f"not a single 'timestamp,value' series; columns are: {', '.join(names)}",
                             path=where)
        server = options.series or _stem(path)
        metric = options.metric or _metric_from_stem(path)
        long = framed.select("line", pl.col(ts_col).alias("ts_raw"), pl.lit(server).alias("server"),
                             pl.lit(metric).alias("column"), pl.col(value_col).cast(pl.String)
                             .alias("value_raw"))
        return long, "single"
    value_cols = [c for c in names if c not in (ts_col, server_col)]
    unknown = [c for c in value_cols if cols.metric_name(c) is None]
    if unknown or not value_cols:
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else "no metric columns"
        raise InputError(f"{what}: {cols.known_metrics_hint()}", path=where)
    long = framed.select(
        "line", pl.col(ts_col).alias("ts_raw"), pl.col(server_col).cast(pl.String).alias("server"),
        *[pl.col(c).cast(pl.String) for c in value_cols],
    ).unpivot(index=["line", "ts_raw", "server"], variable_name="column", value_name="value_raw")
    return long, "wide"


def _to_percent(long: pl.DataFrame, path: Path, options: MetricsOptions) -> tuple[pl.DataFrame, list[str]]:
    names = {c: cols.metric_name(c) or (cols.normalise(c), False) for c in long["column"].unique()}
    mapping = pl.DataFrame({"column": list(names), "metric": [v[0] for v in names.values()],
                            "percent": [v[1] for v in names.values()]})
    long = long.join(mapping, on="column", how="left").with_columns(
        value=pl.col("value_raw").str.strip_chars().cast(pl.Float64, strict=False))
    percent_values = long.filter(pl.col("percent") & pl.col("value").is_finite())["value"]
    warnings = []
    fraction = options.units == "fraction"
    if options.units == "auto" and percent_values.len() and percent_values.min() >= 0 \
            and percent_values.max() <= 1.0:  # type: ignore[operator]
        fraction = True
        warnings.append(f"{path}: every utilisation value is between 0 and 1: read as fractions and "
                        f"scaled to percent (pass --units percent if they are already percent)")
    if fraction:
        long = long.with_columns(value=pl.when(pl.col("percent")).then(pl.col("value") * 100)
                                 .otherwise(pl.col("value")))
    return long, warnings


def _reason(tolerance: float) -> pl.Expr:
    raw = pl.col("value_raw").str.strip_chars()
    value = pl.col("value")
    return (
        pl.when(pl.col("ts").is_null()).then(pl.format("timestamp '{}' not understood",
                                                       pl.col("ts_raw").cast(pl.String)))
        .when(pl.col("server").is_null() | (pl.col("server").str.strip_chars() == ""))
        .then(pl.lit("empty server id"))
        .when(raw.is_null() | (raw == "")).then(pl.lit("empty value"))
        .when(value.is_null()).then(pl.format("not a number: '{}'", raw.str.slice(0, 40)))
        .when(value.is_nan()).then(pl.lit("value is NaN"))
        .when(value.is_infinite()).then(pl.lit("value is infinite"))
        .when(value < 0).then(pl.format("negative value {}", raw))
        .when(pl.col("percent") & (value > 100 + tolerance))
        .then(pl.format("value {} is above 100% (more than {} points over)", raw, pl.lit(tolerance)))
    )


def _reject_duplicates(checked: pl.DataFrame) -> pl.DataFrame:
    key = ["server", "metric", "ts"]
    ok = pl.col("reason").is_null()
    last_line = pl.col("line").filter(ok).max().over(key)
    return checked.with_columns(
        reason=pl.when(ok & (pl.col("line") != last_line))
        .then(pl.format("repeated sample for this server, metric and time (line {} kept)", last_line))
        .otherwise(pl.col("reason"))
    )


def _rejects(bad: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    whole_line = pl.col("reason").str.starts_with("timestamp") | (pl.col("reason") == "empty server id")
    per_line = bad.filter(whole_line).unique("line", keep="first")
    per_value = bad.filter(~whole_line)
    text = raw.with_row_index("line", offset=2).select(
        pl.col("line").cast(pl.Int64),
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in raw.columns], separator=",")
        .str.slice(0, RAW_TEXT_LIMIT).alias("raw"))
    rows = pl.concat([
        per_line.select("line", pl.lit(None, pl.String).alias("field"), "reason"),
        per_value.select("line", pl.col("column").alias("field"), "reason"),
    ])
    return rows.join(text, on="line", how="left").sort("line", "field").select(list(REJECT_SCHEMA))


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return name


def _metric_from_stem(path: Path) -> str:
    """``ec2_cpu_utilization_825cc2`` holds cpu; an unrecognised name gives the metric ``value``."""
    stem = cols.normalise(_stem(path))
    words = stem.split("_")
    if "cpu" in words:
        return "cpu"
    if "memory" in words or "mem" in words:
        return "memory"
    return "value"
