"""Athena-dialect SQL over the local lake, run by DuckDB.

Every lake table is a DuckDB view over its Parquet files (partition columns from the paths), and
every file in ``fleetcast/lake/views/`` is a view too: the same SQL files Athena gets on AWS. SQL
is transpiled from Athena (Trino) to DuckDB with sqlglot.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import sqlglot
from sqlglot.errors import ParseError

from fleetcast.errors import FleetcastError
from fleetcast.lake.local import LocalLake
from fleetcast.lake.tables import TABLES, Table

_DUCK_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.int16(): "SMALLINT",
               pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN", pa.date32(): "DATE"}


def to_duckdb(sql: str) -> str:
    """Transpile one Athena (Trino) statement to DuckDB.

    Examples
    --------
    >>> to_duckdb("SELECT approx_percentile(value, 0.95) FROM observations")
    'SELECT APPROX_QUANTILE(value, 0.95) FROM observations'
    """
    try:
        statements = sqlglot.transpile(sql, read="athena", write="duckdb")
    except ParseError as exc:
        raise FleetcastError(f"SQL does not parse: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise FleetcastError(f"give exactly one SQL statement (got {len(statements)})")
    return statements[0]


def view_files() -> dict[str, str]:
    """The Athena views shipped with fleetcast: view name -> SELECT statement."""
    folder = resources.files("fleetcast.lake") / "views"
    if not folder.is_dir():
        return {}
    return {Path(f.name).stem: f.read_text() for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".sql")}


def connect(lake: LocalLake) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every lake table and view defined."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in TABLES.values():
        con.execute(f'CREATE VIEW "{table.name}" AS {_table_source(lake, table)}')
    pending = view_files()
    while pending:  # views may select from views: create each once what it reads exists
        failed = {}
        for name, sql in pending.items():
            try:
                con.execute(f'CREATE VIEW "{name}" AS {to_duckdb(sql)}')
            except duckdb.CatalogException as exc:
                failed[name] = exc
        if len(failed) == len(pending):
            name, exc = next(iter(failed.items()))
            raise FleetcastError(f"view {name}.sql: {str(exc).splitlines()[0]}")
        pending = {name: pending[name] for name in failed}
    return con


def query(lake: LocalLake, sql: str) -> pl.DataFrame:
    """Run Athena-dialect ``sql`` over ``lake`` and return the result.

    Examples
    --------
    >>> import tempfile
    >>> query(LocalLake(tempfile.mkdtemp()), "SELECT count(*) AS n FROM observations").rows()
    [(0,)]
    """
    con = connect(lake)
    try:
        return pl.from_arrow(con.sql(to_duckdb(sql)).to_arrow_table())  # type: ignore[return-value]
    except duckdb.Error as exc:
        raise FleetcastError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


def _table_source(lake: LocalLake, table: Table) -> str:
    files = lake.files(table)
    if not files:
        columns = ", ".join(f'CAST(NULL AS {_duck_type(f.type)}) AS "{f.name}"' for f in table.full_schema)
        return f"SELECT {columns} WHERE false"
    paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    options = "union_by_name = true"
    if table.partitions:
        hive = ", ".join(f"'{c.name}': '{_duck_type(c.type)}'" for c in table.partitions)
        options += f", hive_partitioning = true, hive_types = {{{hive}}}"
    return f"SELECT * FROM read_parquet([{paths}], {options})"


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_list(arrow_type):
        return f"{_duck_type(arrow_type.value_type)}[]"
    return _DUCK_TYPES[arrow_type]
