"""One uploaded object -> what it contributes: staging rows (with ``shard``), rejects and line accounting.

The Spark counterpart of :func:`fleetcast.pipeline.sources.read_source` for an object that validation
already classified (``kind``). Gzip is read by Hadoop's codec, which goes by the ``.gz`` suffix: gzip
content under another name (or a ``.gz`` name over plain text) is first copied to scratch space under
a name that says what it is.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from fleetcast.errors import InputError
from fleetcast.ingest.detect import csv_separator
from fleetcast.lake.tables import N_SHARDS
from fleetcast.spark.access_log import bin_requests, parse_access_log
from fleetcast.spark.lake import HadoopLake
from fleetcast.spark.metrics import LINE, MetricsOptions, metric_samples, metrics_accounting, metrics_layout
from fleetcast.spark.text import number_lines, raw_lines

ACCESS_LOG, METRICS = "access_log", "metrics"  # fleetcast.ingest.detect
GZIP_MAGIC, PARQUET_MAGIC = b"\x1f\x8b", b"PAR1"
_ROTATION = re.compile(r"([._-](\d{1,3}|\d{4}-?\d{2}-?\d{2}(T?\d{2,6})?))+$")  # fleetcast.pipeline.sources


@dataclass
class SourceRows:
    """What one input contributes. ``staged`` has ``shard``; ``rejects`` has ``line, field, reason, raw``."""

    kind: str
    format: str
    staged: DataFrame
    rejects: DataFrame
    accounting: dict
    cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        for frame in self.cached:
            frame.unpersist()


def log_series_name(uri: str) -> str:
    """Series name of an access log: its file name without extensions and rotation suffixes.

    Examples
    --------
    >>> log_series_name("s3://raw/logs/access.log.2.gz"), log_series_name("shop-2024-05-01.log")
    ('access', 'shop')
    """
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    name = _ROTATION.sub("", name.removesuffix(".gz"))
    name = _ROTATION.sub("", name.removesuffix(".log").removesuffix(".txt"))
    return name.lower() or "access"


def with_shard(frame: DataFrame) -> DataFrame:
    """``shard`` = crc32(series_id) mod N_SHARDS, as :func:`fleetcast.lake.tables.shard_of`."""
    return frame.withColumn("shard", F.pmod(F.crc32(F.col("series_id")), F.lit(N_SHARDS)).cast("int"))


def readable(lake: HadoopLake, uri: str) -> str:
    """``uri``, or a scratch copy named so that Hadoop decompresses it exactly when it is gzip."""
    gzip = lake.head(uri, 2, decompress=False) == GZIP_MAGIC
    if gzip == uri.endswith(".gz"):
        return uri
    copy = f"{lake.scratch}/input/{uri.rstrip('/').rsplit('/', 1)[-1]}" + (".gz" if gzip else ".plain")
    lake.copy(uri, copy)
    return copy


def read_log_source(lake: HadoopLake, uri: str, series: str | None = None) -> SourceRows:
    """Parse and bin an access log; raise :class:`InputError` when no line is a request."""
    path = readable(lake, uri)
    lines = number_lines(raw_lines(lake.spark, path), total_bytes=lake.content_size(path))
    name = series or log_series_name(uri)
    parsed = parse_access_log(lines, name, materialize=True)
    outcomes = parsed.outcomes
    bins = with_shard(bin_requests(parsed.requests)).persist()
    rejects = parsed.rejects.persist()
    counts = outcomes.agg(F.count(F.lit(1)).alias("lines"),
                          F.sum(F.when(F.col("outcome") == "rejected", 1).otherwise(0)).alias("failed"),
                          F.sum(F.when(F.col("outcome") == "joined", 1).otherwise(0)).alias("joined")).first()
    span = bins.agg(F.sum("requests").alias("records"), F.min("first_seen").alias("first_ts"),
                    F.max("last_seen").alias("last_ts")).first()
    n_rejects = rejects.count()
    if not span["records"]:
        first = rejects.orderBy("line").first()
        detail = f" (line {first['line']}: {first['reason']})" if first else ""
        raise InputError(f"no line is a Common/Combined Log Format request{detail}", path=uri)
    fragments = counts["failed"] - n_rejects  # host fragments joined to the next line's request
    accounting = {"lines_read": counts["lines"], "lines_rejected": n_rejects,
                  "lines_repaired": 2 * (counts["joined"] + fragments), "records": span["records"],
                  "first_ts": span["first_ts"], "last_ts": span["last_ts"], "series": [name]}
    rejects = rejects.select("line", F.lit(None).cast("string").alias("field"), "reason", "raw")
    return SourceRows(ACCESS_LOG, "access-log", bins, rejects, accounting, [outcomes, bins, rejects])


DEFAULT_OPTIONS = MetricsOptions()


def read_metrics_source(lake: HadoopLake, uri: str, options: MetricsOptions = DEFAULT_OPTIONS) -> SourceRows:
    """Read and validate a metrics CSV or Parquet object; :class:`InputError` when no value is usable."""
    path = readable(lake, uri)
    if lake.head(path, 4) == PARQUET_MAGIC:
        kind, rows, decimal_comma = "parquet", _parquet_rows(lake, path), False
    else:
        kind, rows, decimal_comma = "csv", *_csv_rows(lake, path, uri)
    rows = rows.persist()
    layout = metrics_layout([c for c in rows.columns if c != LINE], uri, options)
    parsed = metric_samples(rows, layout, options, decimal_comma=decimal_comma)
    checked = parsed.checked.persist()
    samples = with_shard(parsed.samples).persist()
    rejects = parsed.rejects.persist()
    accounting = {**metrics_accounting(parsed, rows), "lines_repaired": 0,
                  "series": sorted(r[0] for r in samples.select("series_id").distinct().collect())}
    if not accounting["records"]:
        first = rejects.orderBy("line", "field").first()
        detail = f" (line {first['line']}: {first['reason']})" if first else ""
        raise InputError(f"no usable metric value in the file{detail}", path=uri)
    return SourceRows(METRICS, f"{kind}-{layout.name}", samples, rejects, accounting, [rows, checked, samples, rejects])


def _parquet_rows(lake: HadoopLake, path: str) -> DataFrame:
    frame = lake.spark.read.parquet(path)
    tagged = frame.select("*", F.input_file_block_start().alias("__block"),
                          F.monotonically_increasing_id().alias("__row"))
    blocks = tagged.groupBy("__block").agg(F.count(F.lit(1)).alias("__n"), F.min("__row").alias("__first"))
    before = Window.orderBy("__block").rowsBetween(Window.unboundedPreceding, -1)
    blocks = blocks.select("__block", "__first", F.coalesce(F.sum("__n").over(before), F.lit(0)).alias("__before"))
    numbered = tagged.join(F.broadcast(blocks), "__block")
    line = F.col("__before") + F.col("__row") - F.col("__first") + 2  # polars: row index + 2
    return numbered.select(*[F.col(f"`{c}`") for c in frame.columns], line.alias(LINE))


def _csv_rows(lake: HadoopLake, path: str, uri: str) -> tuple[DataFrame, bool]:
    """The data lines of a CSV, split by Spark's CSV parser per line (a blank line is a row of nulls, as
    polars reads it); line numbers are the file's (the header is line 1)."""
    header = lake.head(path, 4096).split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")
    separator = csv_separator(header)
    names = [name.strip() for name in header.split(separator)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"column(s) {', '.join(repeated)} appear more than once in the header", path=uri)
    columns = next(csv.reader([header], delimiter=separator, quotechar='"', doublequote=True))
    lines = number_lines(raw_lines(lake.spark, path)).filter(F.col("line") > 1)
    schema = ", ".join(f"`{c.replace('`', '``')}` STRING" for c in columns)
    options = {"sep": separator, "quote": '"', "escape": '"', "mode": "PERMISSIVE"}
    parsed = lines.select(F.col("line").alias(LINE),
                          F.from_csv(F.regexp_replace("text", "\\r$", ""), schema, options).alias("__row"))
    rows = parsed.select(*[F.col("__row").getField(c).alias(c) for c in columns], LINE)
    if rows.limit(1).count() == 0:
        raise InputError("file has a header but no data rows", path=uri)
    return rows, separator == ";"


def source_row(source: SourceRows, source_id: str, uri: str, size_bytes: int, run_id: str) -> dict:
    """The ``sources`` row of an input, as :func:`fleetcast.pipeline.ingest._source_row` makes it."""
    a = source.accounting
    return {"source_id": source_id, "uri": uri, "kind": source.kind, "format": source.format,
            "size_bytes": size_bytes, "lines_read": a["lines_read"],
            "lines_parsed": a["lines_read"] - a["lines_rejected"], "lines_rejected": a["lines_rejected"],
            "lines_repaired": a["lines_repaired"], "records": a["records"], "first_ts": _naive(a["first_ts"]),
            "last_ts": _naive(a["last_ts"]), "series": a["series"], "run_id": run_id}


def _naive(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=None) if value is not None else None
