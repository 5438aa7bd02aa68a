"""Daily capacity statistics of a metrics file of any size, in bounded memory.

1. The file is streamed in blocks (:func:`fleetcast.ingest.metrics.checked_blocks`). Rejected
   values are spilled to Parquet as they are found; usable ones go to one of ``partitions`` Parquet
   partitions by server, so all of a server's rows end up together.
2. One partition at a time: repeated samples are marked (the last is kept), fractions scaled to
   percent when the whole file showed them to be fractions, and each day's P95 and mean computed.
3. Only when repeated samples were found: the file is read once more for those lines' text.

Memory is bounded by one block (:data:`~fleetcast.ingest.metrics.BLOCK_BYTES` of text) plus one
partition (about :data:`PARTITION_BYTES` of text), not by the file: ``bench/risk_scale.py`` measures
it. A single server with more rows than that still has to fit: a partition never splits a server.
A Parquet input is read whole in step 1 (it is columnar and compressed, so it is small).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from fleetcast.errors import InputError
from fleetcast.ingest.metrics import (
    BLOCK_BYTES,
    REJECT_SCHEMA,
    MetricsOptions,
    checked_blocks,
    detected_fractions,
    fraction_warning,
    line_texts,
    mark_duplicates,
    rejected_lines,
    to_samples,
)
from fleetcast.ingest.reader import GZIP_MAGIC
from fleetcast.risk.daily import daily_stats

PARTITION_BYTES = 8 << 20  # file text per server partition (gzip counts four times its size)
MAX_PARTITIONS = 512
_KEEP = ("server", "column", "metric", "percent", "ts", "value", "line")


@dataclass(frozen=True)
class FileDaily:
    """``daily`` (:func:`~fleetcast.risk.daily.daily_stats` columns), the line accounting, and the
    rejects (:data:`~fleetcast.ingest.metrics.REJECT_SCHEMA`, lazily read from the work directory)."""

    daily: pl.DataFrame
    rejects: pl.LazyFrame
    lines_read: int
    lines_rejected: int
    warnings: list[str]


def daily_from_file(path: Path, workdir: Path, options: MetricsOptions = MetricsOptions(), *,
                    block_bytes: int = BLOCK_BYTES, partitions: int | None = None) -> FileDaily:
    """Daily P95 and mean per server and metric of a metrics file, spilling to ``workdir``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [f"2024-01-01T{h:02d}:00:00Z,{s},{10 * i + h}" for h in range(24) for i, s in enumerate("ab")]
    >>> _ = (d / "m.csv").write_text("timestamp,server_id,cpu\\n" + "\\n".join(rows + rows[-1:]) + "\\n")
    >>> result = daily_from_file(d / "m.csv", d / "work", block_bytes=300, partitions=2)
    >>> result.daily.select("series_id", pl.col("p95").round(2), "mean").rows()
    [('a', 21.85, 11.5), ('b', 31.85, 21.5)]
    >>> result.lines_read, result.lines_rejected, result.rejects.collect()["reason"].to_list()
    (49, 1, ['repeated sample for this server, metric and time (line 50 kept)'])
    """
    n = partitions or _partitions(path)
    parts, spills = workdir / "partitions", workdir / "rejects"
    for folder in (parts, spills):
        folder.mkdir(parents=True, exist_ok=True)
    lines_read, low, high = 0, math.inf, -math.inf
    with _Partitions(parts, n) as partitioned:
        for i, block in enumerate(checked_blocks(path, options, block_bytes)):
            lines_read += block.lines
            if block.percent_low is not None:
                low, high = min(low, block.percent_low), max(high, block.percent_high)
            if block.rejects.height:
                block.rejects.write_parquet(spills / f"block-{i:05d}.parquet")
            partitioned.add(block.checked)
    fraction = detected_fractions(options, low, high) if low <= high else False
    daily, repeats, lines_used = _daily_by_partition(parts, 100.0 if fraction else 1.0)
    if repeats.height:
        texts = line_texts(path, repeats["line"].unique(), block_bytes)
        repeats.drop("raw").join(texts, on="line", how="left").write_parquet(spills / "repeats.parquet")
    rejects = (pl.scan_parquet(str(spills / "*.parquet")).sort("line", "field") if any(spills.iterdir())
               else pl.LazyFrame(schema=REJECT_SCHEMA))
    if not lines_used:
        first = rejects.head(1).collect()
        detail = f" (line {first['line'][0]}: {first['reason'][0]})" if first.height else ""
        raise InputError(f"no usable metric value in the file{detail}", path=str(path))
    return FileDaily(daily, rejects, lines_read, lines_read - lines_used,
                     [fraction_warning(path)] if fraction else [])


def _partitions(path: Path) -> int:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if fh.read(2) == GZIP_MAGIC:
            size *= 4
    return max(1, min(MAX_PARTITIONS, math.ceil(size / PARTITION_BYTES)))


class _Partitions:
    """Parquet files ``part-NNN.parquet`` in ``folder``, each taking a server's rows by its hash."""

    def __init__(self, folder: Path, n: int) -> None:
        self.folder, self.n = folder, n
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.schema: pa.Schema | None = None

    def add(self, usable: pl.DataFrame) -> None:
        usable = usable.select(_KEEP).with_columns(part=pl.col("server").hash() % self.n)
        for (part,), rows in usable.partition_by("part", as_dict=True, include_key=False).items():
            table = rows.to_arrow()
            self.schema = self.schema or table.schema
            if part not in self.writers:
                self.writers[part] = pq.ParquetWriter(self.folder / f"part-{part:03d}.parquet", self.schema)
            self.writers[part].write_table(table.cast(self.schema))

    def __enter__(self) -> _Partitions:
        return self

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers.values():
            writer.close()


def _daily_by_partition(folder: Path, scale: float) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Daily statistics, repeated-sample rejects (text still null) and the number of lines used."""
    daily, repeats, lines_used = [], [], 0
    for part in sorted(folder.iterdir()):
        rows = mark_duplicates(pl.read_parquet(part).with_columns(reason=pl.lit(None, pl.String)))
        repeats.append(rejected_lines(rows.filter(pl.col("reason").is_not_null()), None))
        used = rows.filter(pl.col("reason").is_null())
        lines_used += used["line"].n_unique()
        daily.append(daily_stats(to_samples(used, scale)))
    if not daily:
        return pl.DataFrame(), pl.DataFrame(schema=REJECT_SCHEMA), 0
    return pl.concat(daily).sort("series_id", "metric", "day"), pl.concat(repeats), lines_used
