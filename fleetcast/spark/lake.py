"""The lake through Hadoop paths: ``s3://`` on Glue, ``file://`` or plain paths locally. Same layout as
:class:`fleetcast.lake.local.LocalLake`: ``<table>/<partition>=<value>/.../<key>.parquet``.

Spark writes a table's rows once, partitioned, into a scratch folder; each file is then moved to its
place under its key (``<source_id>.parquet`` for staging, ``part.parquet`` for a derived partition), so
a re-delivered input replaces its own files and nothing else, and a reader sees a file whole or not at
all (a rename on a file system, a copy on S3).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fleetcast.lake.tables import Table
from fleetcast.spark.schemas import conform, table_schema

Partition = dict[str, str]


class HadoopLake:
    """Tables at the locations of ``locations`` (table name -> folder URI), scratch space under ``scratch``.

    Examples
    --------
    >>> lake = HadoopLake(spark, {"observations": "s3://curated/observations/"}, "s3://curated/_tmp")  # doctest: +SKIP
    """

    def __init__(self, spark: SparkSession, locations: Mapping[str, str], scratch: str) -> None:
        self.spark = spark
        self.locations = {name: uri.rstrip("/") for name, uri in locations.items()}
        self.scratch = scratch.rstrip("/")
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    # --- files -------------------------------------------------------------------------------------------
    def _fs(self, uri: str):
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(self._conf)
        if fs.getClass().getName() == "org.apache.hadoop.fs.LocalFileSystem":
            fs = fs.getRawFileSystem()  # no .crc side files in the lake
        return fs, path

    def exists(self, uri: str) -> bool:
        fs, path = self._fs(uri)
        return bool(fs.exists(path))

    def size(self, uri: str) -> int:
        fs, path = self._fs(uri)
        return int(fs.getFileStatus(path).getLen())

    def _open(self, uri: str, *, decompress: bool):
        fs, path = self._fs(uri)
        stream = fs.open(path)
        codec = self._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(self._conf).getCodec(path) \
            if decompress else None
        return codec.createInputStream(stream) if codec is not None else stream

    def head(self, uri: str, n: int, *, decompress: bool = True) -> bytes:
        """The first ``n`` bytes (decompressed when the name says gzip)."""
        stream = self._open(uri, decompress=decompress)
        try:
            return bytes(stream.readNBytes(n))
        finally:
            stream.close()

    def content_size(self, uri: str) -> int:
        """Size of the content, decompressed (read through, on the JVM side, when compressed)."""
        stream = self._open(uri, decompress=True)
        try:
            return int(stream.transferTo(self._jvm.java.io.OutputStream.nullOutputStream()))
        finally:
            stream.close()

    def copy(self, source: str, target: str) -> None:
        src_fs, src = self._fs(source)
        dst_fs, dst = self._fs(target)
        self._jvm.org.apache.hadoop.fs.FileUtil.copy(src_fs, src, dst_fs, dst, False, True, self._conf)

    def delete(self, uri: str) -> None:
        fs, path = self._fs(uri)
        fs.delete(path, True)

    def _files(self, uri: str) -> list[str]:
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return []
        found, listing = [], fs.listFiles(path, True)
        while listing.hasNext():
            found.append(listing.next().getPath().toString())
        return found

    def has_files(self, table: Table, partition: Mapping[str, object]) -> bool:
        return any(uri.endswith(".parquet") for uri in self._files(self.partition_uri(table, partition)))

    def _replace(self, source: str, target: str) -> None:
        """Move ``source`` over ``target`` (rename; where a file system refuses to overwrite, delete first)."""
        fs, dst = self._fs(target)
        _, src = self._fs(source)
        fs.mkdirs(dst.getParent())
        if not fs.rename(src, dst):
            fs.delete(dst, False)
            if not fs.rename(src, dst):
                raise OSError(f"cannot move {source} to {target}")

    # --- tables ------------------------------------------------------------------------------------------
    def location(self, table: Table) -> str:
        try:
            return self.locations[table.name]
        except KeyError:
            raise KeyError(f"no location for table {table.name!r} in the lake locations") from None

    def partition_uri(self, table: Table, partition: Mapping[str, object]) -> str:
        parts = [f"{c.name}={partition[c.name]}" for c in table.partitions if c.name in partition]
        return "/".join([self.location(table), *parts])

    def read(self, table: Table, partitions: Iterable[Mapping[str, object]], *,
             with_file: bool = False) -> DataFrame | None:
        """The rows of some partitions (partition columns included; ``source_file`` = the file's key when
        ``with_file``), or None when none of them holds a file."""
        partitions = list(partitions)
        folders = [self.partition_uri(table, p) for p in partitions]
        folders = [f for f, p in zip(folders, partitions, strict=True) if self.has_files(table, p)]
        if not folders:
            return None
        frame = self.spark.read.schema(table_schema(table, partitions=True)) \
            .option("basePath", self.location(table)).parquet(*folders)
        if with_file:
            frame = frame.withColumn("source_file", F.regexp_extract(F.input_file_name(), "([^/]+)\\.parquet$", 1))
        return frame

    def write_keyed(self, table: Table, rows: DataFrame, key: str) -> list[Partition]:
        """Write ``rows`` as ``<table>/<partition>/<key>.parquet`` (one file per partition, or
        ``<table>/<key>.parquet``); return the partitions written."""
        return self._write(table, rows, key)

    def delete_key(self, table: Table, key: str) -> list[Partition]:
        """Remove every file named ``<key>.parquet`` in any partition; return the partitions it was in."""
        removed = []
        root = self.location(table)
        for uri in self._files(root):
            if uri.endswith(f"/{key}.parquet"):
                removed.append(_partition_of(uri[len(_strip_scheme_root(uri, root)):], table))
                self.delete(uri)
        return removed

    def replace_partitions(self, table: Table, rows: DataFrame, scope: list[Partition]
                           ) -> tuple[list[Partition], list[Partition]]:
        """Make ``rows`` the whole content of every partition in ``scope`` (a partition of the scope with no
        row is emptied). Returns the partitions written and those emptied."""
        written = self._write(table, rows, "part")
        emptied = [p for p in scope if p not in written]
        for partition in emptied:
            self.delete(self.partition_uri(table, partition))
        for partition in written:  # files under any other key than "part" (another writer's) go
            folder = self.partition_uri(table, partition)
            for uri in self._files(folder):
                if uri.endswith(".parquet") and not uri.endswith("/part.parquet"):
                    self.delete(uri)
        return written, emptied

    def _write(self, table: Table, rows: DataFrame, key: str) -> list[Partition]:
        names = [c.name for c in table.partitions]
        scratch = f"{self.scratch}/{uuid.uuid4().hex}"
        frame = conform(rows, table, partitions=True)
        frame = frame.repartition(*names) if names else frame.coalesce(1)
        frame.write.mode("overwrite").option("compression", "zstd").partitionBy(*names).parquet(scratch)
        written = []
        files = sorted(uri for uri in self._files(scratch) if uri.endswith(".parquet"))
        for uri in files:
            relative = uri[uri.index(scratch.split("://")[-1]) + len(scratch.split("://")[-1]):].strip("/")
            partition = _partition_of(relative, table)
            if partition in written:
                raise RuntimeError(f"{table.name}: more than one file for partition {partition}")
            written.append(partition)
            self._replace(uri, f"{self.partition_uri(table, partition)}/{key}.parquet")
        self.delete(scratch)
        return written


def _partition_of(relative: str, table: Table) -> Partition:
    """``{"granularity": "1h", "shard": "3"}`` from ``granularity=1h/shard=3/file.parquet``."""
    parts = [p.split("=", 1) for p in relative.strip("/").split("/")[:-1] if "=" in p]
    names = {c.name for c in table.partitions}
    return {name: value for name, value in parts if name in names}


def _strip_scheme_root(uri: str, root: str) -> str:
    """The prefix of ``uri`` that is the table root ``root`` (schemes may be spelled differently)."""
    bare = root.split("://")[-1].rstrip("/")
    return uri[: uri.index(bare) + len(bare)]
