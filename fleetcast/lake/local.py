"""The lake on a local directory: Hive-partitioned Parquet, the same layout as on S3.

Every write goes to a temporary file that is then renamed over its destination, so a reader sees
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from fleetcast.lake.tables import Table

Partition = Mapping[str, object]


class LocalLake:
    """A lake rooted at a directory.

    Examples
    --------
    >>> import tempfile, polars as pl
    >>> from fleetcast.lake.tables import METRIC_SAMPLES
    >>> lake = LocalLake(tempfile.mkdtemp())
    >>> rows = pl.DataFrame({"series_id": ["a"], "metric": ["cpu"], "ts": [None], "value": [1.0]})
    >>> lake.write(METRIC_SAMPLES, rows, partition={"shard": 3}, key="src1")
    >>> lake.read(METRIC_SAMPLES).select("series_id", "shard").rows()
    [('a', 3)]
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalLake({str(self.root)!r})"

    def table_dir(self, table: Table) -> Path:
        return self.root / table.name

    def write(self, table: Table, rows: pl.DataFrame, *, partition: Partition | None = None,
              key: str = "part") -> None:
        """Write ``rows`` as ``<table>/<partition>/<key>.parquet``, replacing that file if present."""
        directory = self._partition_dir(table, partition or {})
        directory.mkdir(parents=True, exist_ok=True)
        frame = conform(table, rows)
        tmp = directory / f".{key}.{uuid.uuid4().hex}.tmp"
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, directory / f"{key}.parquet")

    def replace_partition(self, table: Table, rows: pl.DataFrame, partition: Partition) -> None:
        """Make ``rows`` the whole content of one partition (an empty frame empties it)."""
        directory = self._partition_dir(table, partition)
        if rows.height == 0:
            shutil.rmtree(directory, ignore_errors=True)
            return
        self.write(table, rows, partition=partition, key="part")
        for other in directory.glob("*.parquet"):
            if other.name != "part.parquet":
                other.unlink()

    def delete_key(self, table: Table, key: str) -> list[dict[str, str]]:
        """Remove every file named ``key`` in any partition; return the partitions it was in."""
        found = []
        for path in self.table_dir(table).rglob(f"{key}.parquet"):
            rel = path.parent.relative_to(self.table_dir(table))
            found.append(dict(part.split("=", 1) for part in rel.parts))
            path.unlink()
        return found

    def files(self, table: Table, partition: Partition | None = None) -> list[Path]:
        base = self._partition_dir(table, partition or {})
        return sorted(base.rglob("*.parquet")) if base.exists() else []

    def scan(self, table: Table, partition: Partition | None = None) -> pl.LazyFrame:
        """Lazily read a table (or one partition of it), partition columns included."""
        files = self.files(table, partition)
        if not files:
            return pl.LazyFrame(schema=pl.Schema(table.full_schema))
        hive = pl.Schema(pl.Schema(table.full_schema).items() - pl.Schema(table.schema).items())
        frame = pl.scan_parquet(
            files, hive_partitioning=bool(table.partitions), hive_schema=hive or None,
            schema=pl.Schema(table.schema), missing_columns="insert",
        )
        if not table.partitions:
            return frame
        # a partition scanned directly has its own values fixed by the path
        fixed = {c.name: pl.lit(v).cast(hive[c.name]) for c in table.partitions
                 if (v := (partition or {}).get(c.name)) is not None}
        return frame.with_columns(**fixed) if fixed else frame

    def read(self, table: Table, partition: Partition | None = None) -> pl.DataFrame:
        return self.scan(table, partition).collect()

    def _partition_dir(self, table: Table, partition: Partition) -> Path:
        directory = self.table_dir(table)
        for column in table.partitions:
            if column.name not in partition:
                break
            directory = directory / f"{column.name}={partition[column.name]}"
        return directory


def conform(table: Table, rows: pl.DataFrame) -> pl.DataFrame:
    """Order and cast ``rows`` to the table's stored columns (as written and read back); partition
    columns are dropped."""
    schema = pl.Schema(table.schema)
    missing = [name for name in schema if name not in rows.columns]
    if missing:
        raise ValueError(f"{table.name}: rows lack columns {missing}")
    return rows.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
