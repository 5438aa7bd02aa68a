"""Ingest input files into the lake: stage what each contributes, then recompute affected shards.

Every input is read and checked before anything is written, so an unusable input leaves the lake
untouched. Staging files are keyed by the input's content (``source_id``): delivering the same file
again replaces its staging files, and the recomputed shards come out identical (no duplicates).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import polars as pl

from fleetcast.aggregate import requests, servers
from fleetcast.aggregate.bins import DEFAULT_GRANULARITIES, GRANULARITIES
from fleetcast.ingest.detect import ACCESS_LOG
from fleetcast.ingest.logs import merge_bins
from fleetcast.ingest.metrics import MetricsOptions
from fleetcast.lake import tables as t
from fleetcast.lake.local import LocalLake, conform
from fleetcast.lake.tables import Table
from fleetcast.pipeline.sources import Source, read_source
from fleetcast.progress import QUIET, Progress


@dataclass(frozen=True)
class IngestOptions:
    granularities: tuple[str, ...] = DEFAULT_GRANULARITIES
    series: str | None = None  # series name for access logs (default: from the file name)
    metrics: MetricsOptions = MetricsOptions()


@dataclass(frozen=True)
class ShardSummary:
    series: int
    observations: int
    gaps: int


@dataclass(frozen=True)
class IngestResult:
    sources: list[Source]
    shards: dict[int, ShardSummary]

    @property
    def series(self) -> int:
        return sum(s.series for s in self.shards.values())

    @property
    def observations(self) -> int:
        return sum(s.observations for s in self.shards.values())

    @property
    def gaps(self) -> int:
        return sum(s.gaps for s in self.shards.values())


def ingest(paths: list[Path], lake: LocalLake, run_id: str, options: IngestOptions = IngestOptions(),
           progress: Progress = QUIET) -> IngestResult:
    """Read ``paths``, stage them in ``lake`` and recompute observations and gaps of their shards.

    Staging files are written on a thread of their own while the shards are aggregated: a shard
    that holds nothing but what one of ``paths`` just staged is aggregated from those rows in memory
    (not read back); any other shard waits for the writes and reads all its staging files.
    """
    sources = [read_source(p, series=options.series, metrics=options.metrics, progress=progress)
               for p in paths]
    shards: set[int] = set()
    summaries = {}
    with ThreadPoolExecutor(1) as writer:
        writes: list[Future] = []

        def write(*args, **kwargs) -> None:
            writes.append(writer.submit(lake.write, *args, **kwargs))

        for source in sources:
            shards |= stage(lake, source, run_id, write)
        with progress.step(f"aggregating {len(shards)} shard(s)"):
            for shard in sorted(shards):
                only = _only_staging(lake, shard, sources)
                if only is None:
                    _wait(writes)
                summaries[shard] = refresh_shard(lake, shard, run_id, options.granularities, only)
        _wait(writes)
    return IngestResult(sources, summaries)


def stage(lake: LocalLake, source: Source, run_id: str, write: Callable[..., None] | None = None) -> set[int]:
    """Write what ``source`` contributes, replacing an earlier delivery; return the shards touched.

    ``write`` takes :meth:`LocalLake.write`'s arguments (default: that method).
    """
    write = write or lake.write
    table = _staging_table(source)
    touched = set()
    for staging in (t.LOG_BINS, t.METRIC_SAMPLES):
        touched |= {int(p["shard"]) for p in lake.delete_key(staging, source.source_id)}
    for (shard,), rows in source.staged.partition_by("shard", as_dict=True).items():
        write(table, rows, partition={"shard": shard}, key=source.source_id)
        touched.add(int(shard))
    write(t.SOURCES, _source_row(source, run_id), key=source.source_id)
    write(t.REJECTS, source.rejects.with_columns(
        source_id=pl.lit(source.source_id), file=pl.lit(str(source.path)), run_id=pl.lit(run_id)),
        key=source.source_id)
    return touched


def refresh_shard(lake: LocalLake, shard: int, run_id: str, granularities: tuple[str, ...],
                  only: tuple[Table, pl.DataFrame] | None = None) -> ShardSummary:
    """Recompute the shard's observations and gaps from all its staging files.

    ``only``: the shard's whole staging content (a table and its rows) when it is known in memory;
    the staging files are read otherwise.
    """
    obs, gaps = [], []
    bins = _staging_rows(lake, t.LOG_BINS, shard, only)
    if bins.height:
        for _, series_bins in merge_bins([bins]).group_by("series_id", maintain_order=True):
            found = requests.find_gaps(series_bins)
            obs.append(requests.observations(series_bins, found, granularities))
            series_id = series_bins["series_id"][0]
            gaps.append(found.select(
                pl.lit(series_id).alias("series_id"), pl.lit(None, pl.String).alias("metric"),
                pl.lit("unlogged").alias("kind"), "start", "end", "seconds", "expected"))
    samples = _staging_rows(lake, t.METRIC_SAMPLES, shard, only)
    if samples.height:
        samples = samples.unique(["series_id", "metric", "ts"], keep="first", maintain_order=True)
        obs.append(servers.observations(samples, granularities))
        found = servers.find_gaps(samples, servers.sampling_intervals(samples))
        gaps.append(found.select("series_id", "metric", pl.lit("missing_samples").alias("kind"), "start",
                                 "end", "seconds", pl.lit(None, pl.Float64).alias("expected")))
    observations = pl.concat(obs).with_columns(run_id=pl.lit(run_id)) if obs else pl.DataFrame()
    for granularity in GRANULARITIES:  # all of them: a granularity no longer asked for is emptied
        rows = observations.filter(pl.col("granularity") == granularity).sort("series_id", "metric", "ts") \
            if obs else observations
        lake.replace_partition(t.OBSERVATIONS, rows, {"granularity": granularity, "shard": shard})
    all_gaps = pl.concat(gaps).with_columns(run_id=pl.lit(run_id)) if gaps else pl.DataFrame()
    lake.replace_partition(t.GAPS, all_gaps, {"shard": shard})
    n_series = observations["series_id"].n_unique() if obs else 0
    return ShardSummary(n_series, observations.height, all_gaps.height)


def _source_row(source: Source, run_id: str) -> pl.DataFrame:
    return pl.DataFrame([{
        "source_id": source.source_id, "uri": str(source.path), "kind": source.kind,
        "format": source.format, "size_bytes": source.size_bytes, "lines_read": source.lines_read,
        "lines_parsed": source.lines_parsed, "lines_rejected": source.lines_rejected,
        "lines_repaired": source.lines_repaired, "records": source.records,
        "first_ts": source.first_ts, "last_ts": source.last_ts, "series": source.series,
        "run_id": run_id,
    }], schema=pl.Schema(t.SOURCES.schema))


def _staging_table(source: Source) -> Table:
    return t.LOG_BINS if source.kind == ACCESS_LOG else t.METRIC_SAMPLES


def _only_staging(lake: LocalLake, shard: int, sources: list[Source]) -> tuple[Table, pl.DataFrame] | None:
    """What one of ``sources`` staged in ``shard``, when the shard holds nothing else."""
    staged_here = [s for s in sources if shard in s.shards]
    if len({s.source_id for s in staged_here}) != 1:
        return None
    source = staged_here[-1]
    if any(PurePosixPath(str(f)).stem != source.source_id for table in (t.LOG_BINS, t.METRIC_SAMPLES)
           for f in lake.files(table, {"shard": shard})):  # paths, or URIs on S3
        return None
    return _staging_table(source), source.staged.filter(pl.col("shard") == shard)


def _staging_rows(lake: LocalLake, table: Table, shard: int, only: tuple[Table, pl.DataFrame] | None
                  ) -> pl.DataFrame:
    """The shard's staging rows of ``table``, as read from its files (without the ``shard`` column)."""
    if only is None:
        return lake.read(table, {"shard": shard}).drop("shard")
    return conform(table, only[1] if only[0] is table else pl.DataFrame(schema=pl.Schema(table.schema)))


def _wait(writes: list[Future]) -> None:
    """Wait for the staging writes (raising the first error)."""
    for future in writes:
        future.result()
