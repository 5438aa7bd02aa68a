"""Read one input file (access log or metrics) into what it contributes to the lake."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from fleetcast.ingest.detect import ACCESS_LOG, detect
from fleetcast.ingest.logs import read_access_log
from fleetcast.ingest.metrics import MetricsOptions, read_metrics
from fleetcast.lake.tables import shard_of
from fleetcast.progress import QUIET, Progress

LOG_BASE_SECONDS = 60  # request bins are staged per minute whatever granularities are asked for
_ROTATION = re.compile(r"([._-](\d{1,3}|\d{4}-?\d{2}-?\d{2}(T?\d{2,6})?))+$")


@dataclass(frozen=True)
class Source:
    """An input file, read: staging rows (log bins or metric samples), rejects and accounting."""

    path: Path
    source_id: str
    kind: str
    format: str
    size_bytes: int
    lines_read: int
    lines_rejected: int
    lines_repaired: int
    records: int
    first_ts: datetime | None
    last_ts: datetime | None
    staged: pl.DataFrame  # with a ``shard`` column
    rejects: pl.DataFrame  # line, field, reason, raw
    warnings: list[str] = field(default_factory=list)

    @property
    def lines_parsed(self) -> int:
        return self.lines_read - self.lines_rejected

    @property
    def series(self) -> list[str]:
        return sorted(self.staged["series_id"].unique().to_list())

    @property
    def shards(self) -> set[int]:
        return set(self.staged["shard"].unique().to_list())


def log_series_name(path: Path) -> str:
    """Series name for an access log: the file name without extensions and rotation suffixes.

    Examples
    --------
    >>> log_series_name(Path("/var/log/nginx/access.log.2.gz")), log_series_name(Path("shop-2024-05-01.log"))
    ('access', 'shop')
    """
    name = _ROTATION.sub("", path.name.removesuffix(".gz"))
    name = _ROTATION.sub("", name.removesuffix(".log").removesuffix(".txt"))
    return name.lower() or "access"


def read_source(path: Path, *, series: str | None = None, metrics: MetricsOptions = MetricsOptions(),
                progress: Progress = QUIET) -> Source:
    """Detect what ``path`` is and read it; raises ``InputError`` when it cannot be used."""
    kind = detect(path)
    size = path.stat().st_size
    with progress.step(f"reading {path.name}", total=size) as advance:
        if kind == ACCESS_LOG:
            log = read_access_log(path, series or log_series_name(path), base_seconds=LOG_BASE_SECONDS,
                                  progress=advance)
            rejects = log.rejects.with_columns(pl.lit(None, pl.String).alias("field"))
            return Source(path, log.source_id, kind, "access-log", size, log.lines_read,
                          log.lines_rejected, log.lines_repaired, log.records, log.first_ts, log.last_ts,
                          _with_shard(log.bins), rejects)
        table = read_metrics(path, metrics)
        advance(size)
    return Source(path, table.source_id, kind, table.format, size, table.lines_read,
                  table.lines_rejected, 0, table.samples.height, table.first_ts, table.last_ts,
                  _with_shard(table.samples), table.rejects, table.warnings)


def _with_shard(frame: pl.DataFrame) -> pl.DataFrame:
    shards = {s: shard_of(s) for s in frame["series_id"].unique().to_list()}
    return frame.with_columns(shard=pl.col("series_id").replace_strict(shards, return_dtype=pl.Int32))
