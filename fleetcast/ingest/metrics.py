"""Read per-server utilisation metrics (CSV or Parquet, long or wide) into validated samples.

Layouts:
- long: ``timestamp, server_id, metric, value``
- wide: ``timestamp, server_id, cpu, memory, disk_io, network, ...``
- single series: ``timestamp, value`` (server and metric from options or the file name)

Percent metrics are stored in 0-100. Values slightly above 100 (within ``tolerance``) are clipped to
100; negative, non-numeric, NaN, far-above-100 and absurd (beyond 1e100) values are rejected with
their reason, as are lines with an unreadable timestamp or an empty server id, and repeated samples
(the last is kept).
A line counts as parsed when at least one of its values is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from fleetcast.errors import LARGEST_VALUE, InputError
from fleetcast.ingest import columns as cols
from fleetcast.ingest.detect import csv_separator
from fleetcast.ingest.reader import PARQUET_MAGIC, head_bytes, open_binary, read_blocks
from fleetcast.ingest.timestamps import parse_timestamps

RAW_TEXT_LIMIT = 500
BLOCK_BYTES = 8 << 20  # text per block when streaming (a block's frames take some 20 times this)
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
    """Read and validate a metrics file (all of it in memory; :func:`checked_blocks` streams).

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
    checked, layout = check_rows(raw, path, options, decimal_comma)
    fraction = detected_fractions(options, *percent_range(checked))
    checked = mark_duplicates(checked)
    used = checked.filter(pl.col("reason").is_null())
    samples = to_samples(used, 100.0 if fraction else 1.0).sort("series_id", "metric", "ts")
    lines_used = used["line"].unique()
    rejects = rejected_lines(checked.filter(pl.col("reason").is_not_null()), raw)
    lines_read = raw.height
    lines_rejected = lines_read - lines_used.len()
    if samples.height == 0:
        first = rejects.head(1)
        detail = f" (line {first['line'][0]}: {first['reason'][0]})" if first.height else ""
        raise InputError(f"no usable metric value in the file{detail}", path=str(path))
    warnings = [fraction_warning(path)] if fraction else []
    return MetricsFile(digest, f"{kind}-{layout}", samples, rejects, lines_read, lines_rejected, warnings)


@dataclass(frozen=True)
class CheckedBlock:
    """A block of a metrics file's rows, validated.

    ``checked``: its usable values, one row each (``line, column, server, metric, percent, ts, value,
    reason``); percent values are not yet scaled when the units are detected (see
    :func:`detected_fractions`).
    ``rejects``: the block's rejected values and lines (:data:`REJECT_SCHEMA`). ``lines``: rows read.
    ``percent_low``/``percent_high``: :func:`percent_range` of the block, for :func:`detected_fractions`.
    """

    checked: pl.DataFrame
    rejects: pl.DataFrame
    lines: int
    percent_low: float | None
    percent_high: float | None


def checked_blocks(path: Path, options: MetricsOptions = MetricsOptions(),
                   block_bytes: int = BLOCK_BYTES) -> Iterator[CheckedBlock]:
    """Stream a metrics file (CSV, gzip CSV or Parquet) as validated blocks of about ``block_bytes``.

    Line numbers run on across blocks. Repeated samples are not marked (a repeat may sit in another
    block: :func:`mark_duplicates` once all of a server's rows are together), and percent values are
    not scaled when ``options.units`` is ``auto`` (that needs the whole file's range).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("timestamp,server_id,cpu\\n" + "".join(f"2024-01-01T{h:02d}:00:00Z,a,{h}\\n"
    ...                                                          for h in range(24)))
    >>> [(b.lines, b.checked["line"].min()) for b in checked_blocks(p, block_bytes=256)]
    [(9, 2), (10, 11), (5, 21)]
    """
    line = 2  # the header is line 1
    for raw, decimal_comma in _raw_blocks(path, block_bytes):
        checked, _ = check_rows(raw, path, options, decimal_comma, first_line=line)
        bad = checked.filter(pl.col("reason").is_not_null())
        yield CheckedBlock(checked.filter(pl.col("reason").is_null()), rejected_lines(bad, raw, line),
                           raw.height, *percent_range(checked))
        line += raw.height


def check_rows(raw: pl.DataFrame, path: Path, options: MetricsOptions, decimal_comma: bool = False,
               first_line: int = 2) -> tuple[pl.DataFrame, str]:
    """One row per value of ``raw`` (rows numbered from ``first_line``), with the reason it is unusable."""
    long, layout = _to_long(raw, path, options, first_line)
    if decimal_comma:  # semicolon-separated files (European spreadsheets) write 5,5 for 5.5
        long = long.with_columns(pl.col("value_raw").str.replace(",", ".", literal=True))
    long = long.with_columns(ts=parse_timestamps(long["ts_raw"], options.timezone))
    long = _with_values(long, scale=options.units == "fraction")
    return long.with_columns(reason=_reason(options.tolerance)), layout


def percent_range(checked: pl.DataFrame) -> tuple[float | None, float | None]:
    """Lowest and highest finite value of percent metrics (``None`` when there are none)."""
    values = checked.filter(pl.col("percent") & pl.col("value").is_finite())["value"]
    return values.min(), values.max()  # type: ignore[return-value]


def detected_fractions(options: MetricsOptions, low: float | None, high: float | None) -> bool:
    """With ``units="auto"``: whether every percent value (lowest ``low``, highest ``high``) is in 0-1,
    so they are fractions to scale to percent. (Declared fractions are scaled by :func:`check_rows`.)"""
    return options.units == "auto" and low is not None and high is not None and low >= 0 and high <= 1.0


def fraction_warning(path: Path) -> str:
    return (f"{path}: every utilisation value is between 0 and 1: read as fractions and scaled to percent "
            f"(pass --units percent if they are already percent)")


def to_samples(used: pl.DataFrame, scale: float = 1.0) -> pl.DataFrame:
    """``series_id, metric, ts, value`` of usable values; percent values times ``scale``, clipped at 100."""
    return used.select(
        pl.col("server").alias("series_id"), "metric", "ts",
        pl.when(pl.col("percent")).then((pl.col("value") * scale).clip(upper_bound=100.0))
        .otherwise(pl.col("value")).alias("value"))


def _read_table(path: Path) -> tuple[pl.DataFrame, str, bool]:
    with open_binary(path) as fh:
        data = fh.read()
    if data.startswith(PARQUET_MAGIC):
        return _parquet(data, path), "parquet", False
    separator = _csv_separator(data[:4096], path)
    return _parse_csv(data, separator, path), "csv", separator == ";"


def _raw_blocks(path: Path, block_bytes: int) -> Iterator[tuple[pl.DataFrame, bool]]:
    """The file's rows as string frames of about ``block_bytes`` each, and whether decimals use commas."""
    if head_bytes(path, 4).startswith(PARQUET_MAGIC):
        table, _, _ = _read_table(path)  # Parquet is columnar and compressed: its row groups come in memory
        yield table, False
        return
    separator, header = None, b""
    for block in read_blocks(path, block_bytes):
        data = bytes(block)
        if separator is None:  # the first block starts with the header line
            separator = _csv_separator(data[:4096], path)
            header = data[: data.find(b"\n") + 1]
            yield _parse_csv(data, separator, path), separator == ";"
        else:
            yield _parse_csv(header + data, separator, path, first=False), separator == ";"


def _parquet(data: bytes, path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(data)
    except Exception as exc:  # polars raises several error types for broken Parquet
        raise InputError(f"unreadable Parquet file ({exc})", path=str(path)) from None


def _csv_separator(head: bytes, path: Path) -> str:
    header = head.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")
    separator = csv_separator(header)
    names = [name.strip() for name in header.split(separator)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"column(s) {', '.join(repeated)} appear more than once in the header", path=str(path))
    return separator


def _parse_csv(data: bytes, separator: str, path: Path, first: bool = True) -> pl.DataFrame:
    try:
        frame = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy", separator=separator)
    except pl.exceptions.NoDataError:
        raise InputError("file is empty", path=str(path)) from None
    except pl.exceptions.ComputeError as exc:
        problem = str(exc).strip().splitlines()[0]
        raise InputError(f"not a well-formed CSV file ({problem})", path=str(path)) from None
    if first and frame.height == 0:
        raise InputError("file has a header but no data rows", path=str(path))
    return frame


def _to_long(raw: pl.DataFrame, path: Path, options: MetricsOptions, first_line: int) -> tuple[pl.DataFrame, str]:
    where = str(path)
    names = raw.columns
    ts_col = cols.find_column(names, cols.TIMESTAMP_NAMES)
    if ts_col is None:
        raise InputError(f"no timestamp column (expected one of {', '.join(cols.TIMESTAMP_NAMES)}); "
                         f"columns are: {', '.join(names)}", path=where)
    server_col = cols.find_column(names, cols.SERVER_NAMES)
    framed = raw.with_row_index("line", offset=first_line).with_columns(pl.col("line").cast(pl.Int64))
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


def _with_values(long: pl.DataFrame, scale: bool) -> pl.DataFrame:
    """Metric names, whether each is a percent, and values as numbers (fractions to percent if ``scale``)."""
    names = {c: cols.metric_name(c) or (cols.normalise(c), False) for c in long["column"].unique()}
    mapping = pl.DataFrame({"column": list(names), "metric": [v[0] for v in names.values()],
                            "percent": [v[1] for v in names.values()]})
    value = pl.col("value_raw").str.strip_chars().cast(pl.Float64, strict=False)
    if scale:
        value = pl.when(pl.col("percent")).then(value * 100).otherwise(value)
    return long.join(mapping, on="column", how="left").with_columns(value=value)


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
        .when(value > LARGEST_VALUE).then(pl.format("value {} is beyond {}, larger than any measurement", raw,
                                                    pl.lit(f"{LARGEST_VALUE:g}")))
        .when(pl.col("percent") & (value > 100 + tolerance))
        .then(pl.format("value {} is above 100% (more than {} points over)", raw, pl.lit(tolerance)))
    )


def mark_duplicates(checked: pl.DataFrame) -> pl.DataFrame:
    """Give each usable value repeated later (same server, metric and time) its reason: the last one is kept."""
    key = ["server", "metric", "ts"]
    ok = pl.col("reason").is_null()
    last_line = pl.col("line").filter(ok).max().over(key)
    return checked.with_columns(
        reason=pl.when(ok & (pl.col("line") != last_line))
        .then(pl.format("repeated sample for this server, metric and time (line {} kept)", last_line))
        .otherwise(pl.col("reason"))
    )


def rejected_lines(bad: pl.DataFrame, raw: pl.DataFrame | None, first_line: int = 2) -> pl.DataFrame:
    """:data:`REJECT_SCHEMA` rows of rejected values; a line unusable as a whole gives one row.

    ``raw`` is the block ``bad`` came from (its first row is line ``first_line``) for the lines'
    text; without it the text is left null (:func:`line_texts` finds it later).
    """
    whole_line = pl.col("reason").str.starts_with("timestamp") | (pl.col("reason") == "empty server id")
    per_line = bad.filter(whole_line).unique("line", keep="first")
    rows = pl.concat([
        per_line.select("line", pl.lit(None, pl.String).alias("field"), "reason"),
        bad.filter(~whole_line).select("line", pl.col("column").alias("field"), "reason"),
    ])
    text = (_texts(raw, first_line) if raw is not None
            else rows.select("line", pl.lit(None, pl.String).alias("raw")).unique("line"))
    return rows.join(text, on="line", how="left").sort("line", "field").select(list(REJECT_SCHEMA))


def line_texts(path: Path, lines: pl.Series, block_bytes: int = BLOCK_BYTES) -> pl.DataFrame:
    """``line, raw``: the text of the given data lines of a metrics file (fields joined by commas),
    as :func:`rejected_lines` writes it, reading the file once more block by block."""
    found, first_line = [], 2
    for raw, _ in _raw_blocks(path, block_bytes):
        wanted = lines.filter((lines >= first_line) & (lines < first_line + raw.height))
        if wanted.len():
            found.append(_texts(raw, first_line).filter(pl.col("line").is_in(wanted.implode())))
        first_line += raw.height
    return pl.concat(found) if found else pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String})


def _texts(raw: pl.DataFrame, first_line: int) -> pl.DataFrame:
    return raw.with_row_index("line", offset=first_line).select(
        pl.col("line").cast(pl.Int64),
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in raw.columns], separator=",")
        .str.slice(0, RAW_TEXT_LIMIT).alias("raw"))


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
