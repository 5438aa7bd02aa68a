"""Read an access log file (any size, plain or gzip) into per-minute request bins and rejects.

Chunks are parsed on a small thread pool (Polars and hashlib release the GIL) with a bounded number
in flight, so memory stays flat however large the file is. The bins are *mergeable*: counts and
sums add up, distinct hosts are kept per bin, so two files sharing a minute combine exactly.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from fleetcast.errors import InputError
from fleetcast.ingest.access_log import REJECT_SCHEMA, parse_chunk
from fleetcast.ingest.reader import make_chunk, read_blocks

NEEDED = ("line", "host", "ts", "status", "bytes")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class LogFile:
    """What one access log contributes: request bins, rejected lines and the line accounting."""

    source_id: str
    bins: pl.DataFrame
    rejects: pl.DataFrame
    lines_read: int
    lines_repaired: int
    records: int
    first_ts: datetime | None
    last_ts: datetime | None

    @property
    def lines_rejected(self) -> int:
        return self.rejects.height

    @property
    def lines_parsed(self) -> int:
        return self.lines_read - self.lines_rejected


def read_access_log(path: Path, series_id: str, *, base_seconds: int = 60,
                    progress: Progress | None = None, workers: int | None = None) -> LogFile:
    """Parse ``path`` and bin its requests into ``base_seconds`` bins of series ``series_id``.

    Raises :class:`InputError` when the file cannot be used at all (no line is an access log line).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.log"
    >>> _ = p.write_text('h - - [01/Aug/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 7\\nbroken\\n')
    >>> f = read_access_log(p, "site")
    >>> f.lines_read, f.lines_parsed, f.lines_rejected, f.bins["requests"].to_list()
    (2, 1, 1, [1])
    """
    digest = hashlib.sha256()
    partials: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    lines = repaired = records = 0
    workers = workers or min(2, os.cpu_count() or 1)

    def work(block: memoryview) -> tuple[int, pl.DataFrame, pl.DataFrame, int, int]:
        chunk = make_chunk(block)  # line numbers relative to the block; shifted below
        parsed = parse_chunk(chunk, NEEDED)
        return (chunk.n_lines, _bin(parsed.records, series_id, base_seconds), parsed.rejects,
                parsed.repaired, parsed.records.height)

    # the digest is taken in a thread of its own (in order), so the reading thread only reads
    with ThreadPoolExecutor(workers) as pool, ThreadPoolExecutor(1) as hasher:
        for block, future in _bounded(pool, work, _hashed(read_blocks(path), digest, hasher), workers + 1):
            n_lines, part, bad, fixed, n_records = future.result()
            partials.append(part)
            rejects.append(bad.with_columns(pl.col("line") + lines))
            lines += n_lines
            repaired += fixed
            records += n_records
            if progress:
                progress(len(block))

    if records == 0:
        first_bad = pl.concat(rejects).head(1) if rejects else None
        detail = f" (line {first_bad['line'][0]}: {first_bad['reason'][0]})" if first_bad is not None \
            and first_bad.height else ""
        raise InputError(f"no line is a Common/Combined Log Format request{detail}", path=str(path))
    bins = merge_bins(partials)
    source_id = digest.hexdigest()[:16]
    return LogFile(
        source_id=source_id, bins=bins,
        rejects=pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECT_SCHEMA),
        lines_read=lines, lines_repaired=repaired, records=records,
        first_ts=bins["first_seen"].min(), last_ts=bins["last_seen"].max(),  # type: ignore[arg-type]
    )


def merge_bins(partials: list[pl.DataFrame]) -> pl.DataFrame:
    """Combine request bins of the same series and bin (from chunks or from several files).

    The result is sorted by ``series_id, ts`` with one row per bin. Bins in order with no bin twice
    (one file, read in order) are returned as they are: no list of hosts is copied.

    Examples
    --------
    >>> from datetime import datetime
    >>> def part(minute, hosts):
    ...     return pl.DataFrame({"series_id": "s", "ts": datetime(2024, 1, 1, 0, minute), "requests": len(hosts),
    ...         "bytes_sum": 0, "bytes_n": 0, "status_2xx": len(hosts), "status_3xx": 0, "status_4xx": 0,
    ...         "status_5xx": 0, "first_seen": datetime(2024, 1, 1, 0, minute),
    ...         "last_seen": datetime(2024, 1, 1, 0, minute), "hosts": [hosts]})
    >>> merged = merge_bins([part(0, ["a"]), part(1, ["a", "b"]), part(1, ["b", "c"])])
    >>> merged["requests"].to_list(), merged["hosts"].list.sort().to_list()
    ([1, 4], [['a'], ['a', 'b', 'c']])
    """
    frame = pl.concat(partials, how="vertical_relaxed") if len(partials) > 1 else partials[0]
    series, ts = pl.col("series_id"), pl.col("ts")
    ascending = (series > series.shift()) | ((series == series.shift()) & (ts > ts.shift()))
    if frame.select(ascending.fill_null(True).all()).item():
        return frame
    shared = pl.struct("series_id", "ts").is_duplicated()
    if not frame.select(shared.any()).item():
        return frame.sort("series_id", "ts")
    return pl.concat([frame.filter(~shared), _combine(frame.filter(shared))]).sort("series_id", "ts")


def _combine(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per ``series_id, ts``: counts added up, first and last seen, distinct hosts."""
    counts = ["requests", "bytes_sum", "bytes_n", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
    return (
        frame.group_by("series_id", "ts")
        .agg(*[pl.col(c).sum() for c in counts],
             pl.col("first_seen").min(), pl.col("last_seen").max(),
             pl.col("hosts").list.explode().unique())
        .select(frame.columns)
    )


def _bin(records: pl.DataFrame, series_id: str, base_seconds: int) -> pl.DataFrame:
    status_class = pl.col("status") // 100
    epoch = pl.col("ts").dt.epoch("s")
    return (
        records.lazy()
        # integer keys group fastest; lines are mostly in time order, so bins come out sorted
        .group_by((epoch - epoch % base_seconds).alias("_bin"), maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("requests"),
            pl.col("bytes").sum().alias("bytes_sum"),
            pl.col("bytes").count().cast(pl.Int64).alias("bytes_n"),
            *[(status_class == k).sum().cast(pl.Int64).alias(f"status_{k}xx") for k in (2, 3, 4, 5)],
            pl.col("ts").min().alias("first_seen"),
            pl.col("ts").max().alias("last_seen"),
            pl.col("host").alias("hosts"),
        )
        .select(pl.lit(series_id).alias("series_id"),
                pl.from_epoch("_bin", time_unit="s").cast(pl.Datetime("us")).alias("ts"),
                pl.exclude("_bin", "hosts"), pl.col("hosts").list.unique())  # faster than unique() in agg
        .collect()
    )


def _hashed(blocks: Iterator[memoryview], digest: hashlib._Hash, hasher: ThreadPoolExecutor
            ) -> Iterator[memoryview]:
    for block in blocks:
        hasher.submit(digest.update, block)
        yield block


def _bounded(pool: ThreadPoolExecutor, fn: Callable, items: Iterator, window: int
             ) -> Iterator[tuple[object, Future]]:
    """Like ``pool.map`` but with at most ``window`` items in flight, results in order."""
    pending: deque[tuple[object, Future]] = deque()
    for item in items:
        pending.append((item, pool.submit(fn, item)))
        if len(pending) >= window:
            yield pending.popleft()
    while pending:
        yield pending.popleft()
