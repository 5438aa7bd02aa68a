"""The lake on S3: the same tables, keys and Hive layout as :class:`~fleetcast.lake.local.LocalLake`.

``s3://<bucket>/<table>/<partition>=<value>/.../<key>.parquet``: each table lives where the Glue
catalog says (``LAKE_TABLE_LOCATIONS``, one JSON object ``{table: "s3://bucket/table/"}``), so the
curated and results buckets hold their own tables. Parquet goes through awswrangler (pyarrow types
kept: timestamps in microseconds, zstd); every partition a write creates is registered in the Glue
catalog (``database``), so Athena sees it at once.

Semantics are LocalLake's: a key names one file, and writing it again replaces it (an S3 PUT is
atomic: a reader sees the old file or the new one); ``replace_partition`` writes ``part`` and then
removes the partition's other files; ``delete_key`` removes a key from every partition.

Nothing is created at import time: boto3 and awswrangler are imported and sessions made on first
use, so importing this module costs a few milliseconds (it must not import polars either: the zip
functions have no polars; :meth:`S3Lake.read` imports it when called).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

import pyarrow as pa

from fleetcast.lake.tables import TABLES, Table

Partition = Mapping[str, object]
LOCATIONS_VAR = "LAKE_TABLE_LOCATIONS"
DATABASE_VAR = "LAKE_DATABASE"
#: Parquet written as the local lake writes it (zstd, microsecond timestamps, no INT96).
PARQUET_OPTIONS = {"coerce_timestamps": "us", "allow_truncated_timestamps": False,
                   "use_deprecated_int96_timestamps": False}
READ_THREADS = 8


class S3Lake:
    """A lake whose tables live at S3 prefixes, with partitions registered in a Glue database.

    Parameters
    ----------
    locations
        Table name -> ``s3://bucket/prefix/`` (the table's root). Tables not listed cannot be used.
    database
        Glue database holding the tables; ``None`` writes data without touching the catalog.
    boto3_session
        Session for every S3 and Glue call (default: a new ``boto3.Session()`` on first use).

    Examples
    --------
    >>> lake = S3Lake.at("s3://my-lake/", database=None)
    >>> lake.table_uri(TABLES["observations"])
    's3://my-lake/observations/'
    """

    def __init__(self, locations: Mapping[str, str], *, database: str | None = None,
                 boto3_session: Any = None) -> None:
        self.locations = {name: uri.rstrip("/") + "/" for name, uri in locations.items()}
        self.database = database
        self._session = boto3_session
        self._registered: set[tuple[str, tuple[str, ...]]] = set()

    @classmethod
    def at(cls, root: str, *, database: str | None = None, boto3_session: Any = None,
           tables: Mapping[str, Table] = TABLES) -> S3Lake:
        """Every table under one prefix: ``<root>/<table>/`` (the LocalLake layout, on S3)."""
        root = root.rstrip("/")
        return cls({name: f"{root}/{name}/" for name in tables}, database=database, boto3_session=boto3_session)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ, *, boto3_session: Any = None) -> S3Lake:
        """The lake a deployed function sees: ``LAKE_TABLE_LOCATIONS`` and ``LAKE_DATABASE``.

        Examples
        --------
        >>> env = {"LAKE_TABLE_LOCATIONS": '{"runs": "s3://results/runs/"}', "LAKE_DATABASE": "fleetcast"}
        >>> S3Lake.from_environment(env).locations, S3Lake.from_environment(env).database
        ({'runs': 's3://results/runs/'}, 'fleetcast')
        """
        if LOCATIONS_VAR not in environ:
            raise KeyError(f"{LOCATIONS_VAR} is not set: the lake's table locations are unknown")
        return cls(json.loads(environ[LOCATIONS_VAR]), database=environ.get(DATABASE_VAR) or None,
                   boto3_session=boto3_session)

    def __repr__(self) -> str:
        return f"S3Lake({len(self.locations)} tables, database={self.database!r})"

    @cached_property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session()
        return self._session

    # -- the LocalLake interface ------------------------------------------------------------------

    def table_uri(self, table: Table) -> str:
        try:
            return self.locations[table.name]
        except KeyError:
            raise KeyError(f"table {table.name!r} has no location in this lake") from None

    def table_dir(self, table: Table) -> S3Path:
        """The table's root as a path-like object (``/``, ``mkdir``, ``write_text``, ``read_text``)."""
        return S3Path(self.table_uri(table), self)

    def write(self, table: Table, rows: Any, *, partition: Partition | None = None, key: str = "part") -> None:
        """Write ``rows`` as ``<table>/<partition>/<key>.parquet``, replacing that object if present."""
        import awswrangler as wr

        frame = conform(table, rows)
        directory = self._partition_uri(table, partition or {})
        wr.s3.to_parquet(_to_pandas(frame), path=f"{directory}{key}.parquet", index=False, compression="zstd",
                         boto3_session=self.session, pyarrow_additional_kwargs=dict(PARQUET_OPTIONS))
        self._register(table, partition or {}, directory)

    def replace_partition(self, table: Table, rows: Any, partition: Partition) -> None:
        """Make ``rows`` the whole content of one partition (an empty frame empties it)."""
        directory = self._partition_uri(table, partition)
        if _height(rows) == 0:
            self._delete(self._children(directory))
            self._deregister(table, partition)
            return
        self.write(table, rows, partition=partition, key="part")
        self._delete([uri for uri in self._children(directory) if posixpath.basename(uri) != "part.parquet"])

    def delete_key(self, table: Table, key: str) -> list[dict[str, str]]:
        """Remove every object named ``key`` in any partition; return the partitions it was in."""
        root = self.table_uri(table)
        found = [uri for uri in self._list(root) if posixpath.basename(uri) == f"{key}.parquet"]
        self._delete(found)
        return [_partition_of(uri, root) for uri in found]

    def files(self, table: Table, partition: Partition | None = None) -> list[str]:
        """URIs of the table's (or one partition's) Parquet objects, sorted."""
        return self._list(self._partition_uri(table, partition or {}))

    def scan(self, table: Table, partition: Partition | None = None) -> Any:
        """The table (or one partition) as a polars LazyFrame, partition columns included."""
        return self.read(table, partition).lazy()

    def read(self, table: Table, partition: Partition | None = None) -> Any:
        """The table (or one partition) as a polars DataFrame, columns as ``table.full_schema``."""
        import polars as pl

        return pl.from_arrow(self.read_arrow(table, partition))

    def read_arrow(self, table: Table, partition: Partition | None = None) -> pa.Table:
        """Like :meth:`read`, as a pyarrow Table (for callers without polars)."""
        root = self.table_uri(table)
        uris = self.files(table, partition)
        if not uris:
            return table.full_schema.empty_table()
        with ThreadPoolExecutor(min(READ_THREADS, len(uris))) as pool:
            parts = list(pool.map(lambda uri: self._read_file(table, uri, root), uris))
        return pa.concat_tables(parts)

    # -- internals --------------------------------------------------------------------------------

    def _read_file(self, table: Table, uri: str, root: str) -> pa.Table:
        import awswrangler as wr

        frame = wr.s3.read_parquet(uri, dtype_backend="pyarrow", use_threads=False, boto3_session=self.session)
        data = pa.Table.from_pandas(frame, preserve_index=False)
        values = _partition_of(uri, root)
        columns = []
        for field in table.full_schema:
            if field.name in values and field.name not in table.schema.names:
                column = pa.array([values[field.name]] * data.num_rows, pa.string()).cast(field.type)
            elif field.name in data.column_names:
                column = data.column(field.name).cast(field.type)
            else:  # a column added to the table after this file was written
                column = pa.nulls(data.num_rows, field.type)
            columns.append(column)
        return pa.Table.from_arrays(columns, schema=table.full_schema)

    def _partition_uri(self, table: Table, partition: Partition) -> str:
        uri = self.table_uri(table)
        for column in table.partitions:
            if column.name not in partition:
                break
            uri += f"{column.name}={partition[column.name]}/"
        return uri

    def _list(self, prefix: str) -> list[str]:
        import awswrangler as wr

        uris = wr.s3.list_objects(prefix, suffix=".parquet", boto3_session=self.session)
        hidden = [u for u in uris if any(p.startswith(("_", ".")) for p in u[len(prefix):].split("/"))]
        return sorted(set(uris) - set(hidden))

    def _children(self, directory: str) -> list[str]:
        return [uri for uri in self._list(directory) if "/" not in uri[len(directory):]]

    def _delete(self, uris: list[str]) -> None:
        import awswrangler as wr

        if uris:
            wr.s3.delete_objects(uris, boto3_session=self.session)

    def _full_spec(self, table: Table, partition: Partition) -> tuple[str, ...] | None:
        if not table.partitions or not all(c.name in partition for c in table.partitions):
            return None
        return tuple(str(partition[c.name]) for c in table.partitions)

    def _register(self, table: Table, partition: Partition, directory: str) -> None:
        import awswrangler as wr

        values = self._full_spec(table, partition)
        if self.database is None or values is None or (table.name, values) in self._registered:
            return
        wr.catalog.add_parquet_partitions(database=self.database, table=table.name,
                                          partitions_values={directory: list(values)}, compression="zstd",
                                          boto3_session=self.session)
        self._registered.add((table.name, values))

    def _deregister(self, table: Table, partition: Partition) -> None:
        values = self._full_spec(table, partition)
        if self.database is None or values is None:
            return
        glue = self.session.client("glue")
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.delete_partition(DatabaseName=self.database, TableName=table.name, PartitionValues=list(values))
        self._registered.discard((table.name, values))


class S3Path:
    """The part of :class:`pathlib.Path` the stages use beside a table (e.g. model cards), on S3.

    Examples
    --------
    >>> p = S3Path("s3://lake/forecasts/") / "_model_cards" / "run_id=r1" / "1h.json"
    >>> str(p), p.name
    ('s3://lake/forecasts/_model_cards/run_id=r1/1h.json', '1h.json')
    """

    def __init__(self, uri: str, lake: S3Lake | None = None) -> None:
        self.uri = uri.rstrip("/")
        self._lake = lake

    def __truediv__(self, part: str) -> S3Path:
        return S3Path(f"{self.uri}/{str(part).strip('/')}", self._lake)

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"S3Path({self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S3Path) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    @property
    def name(self) -> str:
        return posixpath.basename(self.uri)

    @property
    def parent(self) -> S3Path:
        return S3Path(posixpath.dirname(self.uri), self._lake)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: S3 has no directories."""

    def write_bytes(self, data: bytes) -> int:
        bucket, key = split_uri(self.uri)
        self._client().put_object(Bucket=bucket, Key=key, Body=data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def read_bytes(self) -> bytes:
        bucket, key = split_uri(self.uri)
        return self._client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def exists(self) -> bool:
        bucket, key = split_uri(self.uri)
        listed = self._client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return any(o["Key"] == key or o["Key"].startswith(key + "/") for o in listed.get("Contents", []))

    def _client(self) -> Any:
        if self._lake is None:
            import boto3

            return boto3.client("s3")
        return self._lake.session.client("s3")


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``.

    Examples
    --------
    >>> split_uri("s3://raw/logs/access.log.gz")
    ('raw', 'logs/access.log.gz')
    """
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def conform(table: Table, rows: Any) -> pa.Table:
    """``rows`` (polars, pandas or pyarrow) as the table's stored columns, in order and cast.

    Examples
    --------
    >>> conform(TABLES["runs"], pa.table({"run_id": ["r1"]})).num_rows
    Traceback (most recent call last):
    ...
    ValueError: runs: rows lack columns ['trigger', 'started_at', 'finished_at', 'status', 'inputs', \
'lines_read', 'lines_rejected', 'series', 'observations', 'gaps', 'model_version', 'message']
    """
    data = _to_arrow(rows)
    missing = [name for name in table.schema.names if name not in data.column_names]
    if missing:
        raise ValueError(f"{table.name}: rows lack columns {missing}")
    return pa.Table.from_arrays([data.column(f.name).cast(f.type) for f in table.schema], schema=table.schema)


def _to_arrow(rows: Any) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    if hasattr(rows, "to_arrow"):  # polars
        return rows.to_arrow()
    return pa.Table.from_pandas(rows, preserve_index=False)


def _to_pandas(frame: pa.Table) -> Any:
    import pandas as pd

    return frame.to_pandas(types_mapper=pd.ArrowDtype)


def _height(rows: Any) -> int:
    return rows.num_rows if isinstance(rows, pa.Table) else len(rows)


def _partition_of(uri: str, root: str) -> dict[str, str]:
    parts = uri[len(root):].split("/")[:-1]
    return dict(part.split("=", 1) for part in parts if "=" in part)
