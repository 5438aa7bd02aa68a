"""A metrics table (CSV or Parquet, long, wide or single series) -> validated samples and rejects.

The rules of :func:`fleetcast.ingest.metrics.read_metrics`: layout from the column names, percent
metrics in 0-100 (all-fraction files scaled), values slightly above 100 clipped, the reasons of a
rejected value or line, repeated samples (the last line kept), line numbers counted from the header.

Two local defects are not reproduced (see the report in tests/spark): a line without a readable
timestamp is always rejected (locally an *empty* timestamp is accepted with a null time), and an empty
metric name in the long layout is rejected as "empty metric name" (locally it crashes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fleetcast.errors import InputError
from fleetcast.ingest import columns as cols
from fleetcast.spark.timestamps import strip, with_timestamps

RAW_TEXT_LIMIT = 500
LINE = "__line"  # the row-number column added to a table (no file column is called that)
FLOAT = "^[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?$"  # what polars casts to a float
WHOLE_LINE = ("timestamp", "empty server id")


@dataclass(frozen=True)
class MetricsOptions:
    """As :class:`fleetcast.ingest.metrics.MetricsOptions` (that module needs polars; Glue has none)."""

    units: str = "auto"  # auto | percent | fraction
    timezone: str = "UTC"
    tolerance: float = 5.0
    series: str | None = None
    metric: str | None = None


@dataclass(frozen=True)
class MetricsLayout:
    """Which columns hold what: ``name`` is long, wide or single."""

    name: str
    ts: str
    server: str | None = None
    metric: str | None = None
    value: str | None = None
    values: tuple[str, ...] = ()
    series: str | None = None  # single series: the server and metric named by options or the file name
    metric_name: str | None = None


class MetricsParse(NamedTuple):
    """``samples``: ``series_id, metric, ts, value``; ``rejects``: ``line, field, reason, raw``;
    ``checked``: every value with its ``reason`` (persist it when using both)."""

    samples: DataFrame
    rejects: DataFrame
    checked: DataFrame


def metrics_layout(columns: list[str], where: str, options: MetricsOptions = MetricsOptions()) -> MetricsLayout:
    """The layout of a metrics table with these columns, or :class:`InputError` (same messages as locally).

    Examples
    --------
    >>> metrics_layout(["timestamp", "server_id", "cpu", "memory"], "m.csv").values
    ('cpu', 'memory')
    """
    ts_col = cols.find_column(columns, cols.TIMESTAMP_NAMES)
    if ts_col is None:
        raise InputError(f"no timestamp column (expected one of {', '.join(cols.TIMESTAMP_NAMES)}); "
                         f"columns are: {', '.join(columns)}", path=where)
    server_col = cols.find_column(columns, cols.SERVER_NAMES)
    metric_col, value_col = cols.find_column(columns, ("metric", "metric_name")), cols.find_column(
        columns, ("value", "val"))
    if metric_col and value_col and server_col:
        return MetricsLayout("long", ts_col, server_col, metric_col, value_col)
    if server_col is None:
        others = [c for c in columns if c != ts_col]
        if value_col is None or len(others) != 1:
            raise InputError(f"no server column (expected one of {', '.join(cols.SERVER_NAMES)}), and "
                             f"not a single 'timestamp,value' series; columns are: {', '.join(columns)}",
                             path=where)
        return MetricsLayout("single", ts_col, value=value_col, series=options.series or file_stem(where),
                             metric_name=options.metric or metric_from_stem(where))
    value_cols = [c for c in columns if c not in (ts_col, server_col)]
    unknown = [c for c in value_cols if cols.metric_name(c) is None]
    if unknown or not value_cols:
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else "no metric columns"
        raise InputError(f"{what}: {cols.known_metrics_hint()}", path=where)
    return MetricsLayout("wide", ts_col, server_col, values=tuple(value_cols))


def metric_samples(rows: DataFrame, layout: MetricsLayout, options: MetricsOptions = MetricsOptions(), *,
                   decimal_comma: bool = False) -> MetricsParse:
    """Validate the rows of a metrics table (its columns plus :data:`LINE`, the local line number).

    Examples
    --------
    >>> parsed = metric_samples(rows, metrics_layout(rows.columns[:-1], "m.csv"))  # doctest: +SKIP
    >>> parsed.samples.select("metric", "value").collect()  # doctest: +SKIP
    [Row(metric='cpu', value=55.0), Row(metric='memory', value=100.0)]
    """
    types = {f.name: f.dataType for f in rows.schema.fields}
    long = _to_long(rows, layout, types)
    if decimal_comma:  # semicolon-separated files write 5,5 for 5.5 (the first comma only, as locally)
        long = long.withColumn("value_raw", F.regexp_replace("value_raw", "^([^,]*),", "$1."))
    long = with_timestamps(long, "ts_raw", types[layout.ts], options.timezone)
    long = long.join(F.broadcast(_metric_names(long, layout)), F.col("column").eqNullSafe(F.col("name")), "left") \
        .drop("name")
    long = long.withColumn("value", _parse_float(strip(F.col("value_raw"))))
    long = _to_percent(long, options)
    checked = long.withColumn("reason", _reason(options.tolerance, _text(F.col("ts_raw"), types[layout.ts])))
    checked = _reject_duplicates(checked)
    used = checked.filter(F.col("reason").isNull())
    samples = used.select(
        F.col("server").alias("series_id"), "metric", "ts",
        F.when(F.col("percent"), F.least(F.col("value"), F.lit(100.0))).otherwise(F.col("value")).alias("value"))
    return MetricsParse(samples, _rejects(checked.filter(F.col("reason").isNotNull()), rows, types), checked)


def metrics_accounting(parse: MetricsParse, rows: DataFrame) -> dict:
    """``lines_read``, ``lines_rejected`` (lines with no value used), ``records`` and the time span."""
    used = parse.checked.filter(F.col("reason").isNull())
    lines_used = used.select("line").distinct().count()
    span = used.agg(F.count(F.lit(1)).alias("records"), F.min("ts").alias("first_ts"),
                    F.max("ts").alias("last_ts")).first()
    lines_read = rows.count()
    return {"lines_read": lines_read, "lines_rejected": lines_read - lines_used, "records": span["records"],
            "first_ts": span["first_ts"], "last_ts": span["last_ts"]}


def _to_long(rows: DataFrame, layout: MetricsLayout, types: dict[str, T.DataType]) -> DataFrame:
    ts = F.col(_q(layout.ts)).alias("ts_raw")
    line = F.col(LINE).alias("line")
    if layout.name == "long":
        return rows.select(line, ts, _text(F.col(_q(layout.server)), types[layout.server]).alias("server"),
                           _text(F.col(_q(layout.metric)), types[layout.metric]).alias("column"),
                           _text(F.col(_q(layout.value)), types[layout.value]).alias("value_raw"))
    if layout.name == "single":
        return rows.select(line, ts, F.lit(layout.series).alias("server"), F.lit(layout.metric_name).alias("column"),
                           _text(F.col(_q(layout.value)), types[layout.value]).alias("value_raw"))
    wide = rows.select(line, ts, _text(F.col(_q(layout.server)), types[layout.server]).alias("server"),
                       *[_text(F.col(_q(c)), types[c]).alias(f"v{k}") for k, c in enumerate(layout.values)])
    pairs = F.explode(F.array(*[F.struct(F.lit(c).alias("column"), F.col(f"v{k}").alias("value_raw"))
                                for k, c in enumerate(layout.values)]))
    return wide.select("line", "ts_raw", "server", pairs.alias("p")).select("line", "ts_raw", "server", "p.*")


def _metric_names(long: DataFrame, layout: MetricsLayout) -> DataFrame:
    """``name -> metric, percent`` for the metric names of the table (the long layout's are data)."""
    names = [r[0] for r in long.select("column").distinct().collect()] if layout.name == "long" \
        else list(layout.values or (layout.metric_name,))
    rows = [(n, *(cols.metric_name(n) or (cols.normalise(n), False))) if n is not None else (None, None, False)
            for n in names]
    return long.sparkSession.createDataFrame(rows, "name string, metric string, percent boolean")


def _to_percent(long: DataFrame, options: MetricsOptions) -> DataFrame:
    """Scale percent metrics given as fractions: always with units=fraction; with auto, when every finite
    percent value of the file is within 0-1."""
    if options.units == "fraction":
        fraction = F.lit(True)
    elif options.units == "auto":
        finite = F.when(F.col("percent") & ~F.isnan("value") & (F.abs("value") != float("inf")), F.col("value"))
        stats = long.agg(F.count(finite).alias("_n"), F.min(finite).alias("_lo"), F.max(finite).alias("_hi"))
        long = long.crossJoin(F.broadcast(stats))
        fraction = (F.col("_n") > 0) & (F.col("_lo") >= 0) & (F.col("_hi") <= 1.0)
    else:
        fraction = F.lit(False)
    scaled = F.when(fraction & F.col("percent"), F.col("value") * 100).otherwise(F.col("value"))
    return long.withColumn("value", scaled).drop("_n", "_lo", "_hi")


def _reason(tolerance: float, ts_text: Column) -> Column:
    raw, value = strip(F.col("value_raw")), F.col("value")
    return (
        F.when(F.col("ts").isNull(), F.concat(F.lit("timestamp '"), F.coalesce(ts_text, F.lit("")),
                                              F.lit("' not understood")))
        .when(F.col("server").isNull() | (strip(F.col("server")) == ""), F.lit("empty server id"))
        .when(F.col("column").isNull(), F.lit("empty metric name"))
        .when(raw.isNull() | (raw == ""), F.lit("empty value"))
        .when(value.isNull(), F.concat(F.lit("not a number: '"), F.substring(raw, 1, 40), F.lit("'")))
        .when(F.isnan(value), F.lit("value is NaN"))
        .when(F.abs(value) == float("inf"), F.lit("value is infinite"))
        .when(value < 0, F.concat(F.lit("negative value "), raw))
        .when(F.col("percent") & (value > 100 + tolerance),
              F.concat(F.lit("value "), raw, F.lit(f" is above 100% (more than {tolerance!r} points over)")))
    )


def _reject_duplicates(checked: DataFrame) -> DataFrame:
    ok = F.col("reason").isNull()
    last_line = F.max(F.when(ok, F.col("line"))).over(Window.partitionBy("server", "metric", "ts"))
    repeated = F.concat(F.lit("repeated sample for this server, metric and time (line "), last_line.cast("string"),
                        F.lit(" kept)"))
    return checked.withColumn("reason", F.when(ok & (F.col("line") != last_line), repeated).otherwise(F.col("reason")))


def _rejects(bad: DataFrame, rows: DataFrame, types: dict[str, T.DataType]) -> DataFrame:
    whole_line = F.col("reason").startswith(WHOLE_LINE[0]) | (F.col("reason") == WHOLE_LINE[1])
    per_line = bad.filter(whole_line).select("line", F.lit(None).cast("string").alias("field"), "reason").distinct()
    per_value = bad.filter(~whole_line).select("line", F.col("column").alias("field"), "reason")
    files = [c for c in rows.columns if c != LINE]
    text = rows.select(F.col(LINE).alias("line"), F.substring(F.concat_ws(",", *[
        F.coalesce(_text(F.col(_q(c)), types[c]), F.lit("")) for c in files]), 1, RAW_TEXT_LIMIT).alias("raw"))
    return per_line.unionByName(per_value).join(text, "line", "left").select("line", "field", "reason", "raw")


def _parse_float(text: Column) -> Column:
    """A float the way polars casts text: decimal numbers, inf/infinity/nan in any case; else null."""
    lower = F.lower(text)
    return (F.when(lower.rlike("^[+-]?nan$"), F.lit(float("nan")))
            .when(lower.rlike("^\\+?inf(inity)?$"), F.lit(float("inf")))
            .when(lower.rlike("^-inf(inity)?$"), F.lit(float("-inf")))
            .when(text.rlike(FLOAT), text.cast("double")))


def _text(column: Column, dtype: T.DataType) -> Column:
    """A value as polars writes it when casting to text (floats, timestamps: see :func:`_float_text`)."""
    if isinstance(dtype, T.StringType):
        return column
    if isinstance(dtype, (T.TimestampNTZType, T.TimestampType)):
        return F.date_format(column, "yyyy-MM-dd HH:mm:ss.SSSSSS")
    if isinstance(dtype, (T.DoubleType, T.FloatType)):
        return _float_text(column)
    return column.cast("string")


def _float_text(column: Column) -> Column:
    """Java's float text rewritten the way polars prints floats: plain from 1e-5 to below 1e16, otherwise
    ``d.ddde±x``; ``NaN``, ``inf``, ``-inf``. (Java's shortest digits can differ in rare cases.)"""
    java = column.cast("string")
    body = F.regexp_replace(java, "^-", "")
    e = F.regexp_extract(body, "E(-?\\d+)$", 1).cast("int")
    digits = F.regexp_replace(F.regexp_replace(F.regexp_extract(body, "^([0-9.]+)E", 1), "\\.", ""), "(?<=.)0+$", "")
    n = F.length(digits)
    plain_big = F.concat(F.concat(digits, F.lit("0" * 16)).substr(F.lit(1), e + 1), F.lit("."),
                         F.when(n > e + 1, digits.substr(e + 2, n)).otherwise(F.lit("0")))
    plain_small = F.concat(F.lit("0."), F.lit("0" * 5).substr(F.lit(1), -e - 1), digits)
    sci = F.concat(digits.substr(F.lit(1), F.lit(1)),
                   F.when(n > 1, F.concat(F.lit("."), digits.substr(F.lit(2), n))).otherwise(F.lit("")),
                   F.lit("e"), F.when(e >= 0, F.lit("+")).otherwise(F.lit("-")), F.abs(e).cast("string"))
    rewritten = F.when(e.between(-5, -1), plain_small).when(e.between(0, 15), plain_big).otherwise(sci)
    sign = F.when(java.startswith("-"), F.lit("-")).otherwise(F.lit(""))
    return (F.when(F.isnan(column), F.lit("NaN")).when(column == float("inf"), F.lit("inf"))
            .when(column == float("-inf"), F.lit("-inf"))
            .when(body.contains("E"), F.concat(sign, rewritten)).otherwise(java))


def _q(name: str) -> str:
    """A column name quoted for ``F.col`` (names may hold dots or spaces)."""
    return f"`{name.replace('`', '``')}`"


def file_stem(where: str) -> str:
    """``fleetcast.ingest.metrics._stem`` of a path or URI."""
    name = re.split(r"[/\\]", where.rstrip("/"))[-1]
    for suffix in (".gz", ".csv", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return name


def metric_from_stem(where: str) -> str:
    """``fleetcast.ingest.metrics._metric_from_stem``: cpu, memory or value."""
    words = cols.normalise(file_stem(where)).split("_")
    if "cpu" in words:
        return "cpu"
    if "memory" in words or "mem" in words:
        return "memory"
    return "value"
