"""Spark schemas of the lake tables, derived from the one table registry (``fleetcast.lake.tables``).

Timestamps are ``TIMESTAMP_NTZ`` (naive UTC), which Parquet stores as ``TIMESTAMP(MICROS,
isAdjustedToUTC=false)``: the same physical type the local lake (polars ``Datetime("us")``) writes, so
files from either writer read back identically everywhere (polars, DuckDB, Athena, Spark).
"""

from __future__ import annotations

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fleetcast.lake.tables import Table


def spark_type(dtype: pa.DataType) -> T.DataType:
    """The Spark type of an Arrow type of the registry.

    Examples
    --------
    >>> spark_type(pa.timestamp("us")), spark_type(pa.list_(pa.string()))
    (TimestampNTZType(), ArrayType(StringType(), True))
    """
    simple = {pa.string(): T.StringType(), pa.large_string(): T.StringType(), pa.int64(): T.LongType(),
              pa.int32(): T.IntegerType(), pa.int16(): T.ShortType(), pa.float64(): T.DoubleType(),
              pa.bool_(): T.BooleanType()}
    if dtype in simple:
        return simple[dtype]
    if pa.types.is_timestamp(dtype):
        if dtype.tz is not None:
            raise ValueError(f"lake timestamps are naive UTC, not {dtype}")
        return T.TimestampNTZType()
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return T.ArrayType(spark_type(dtype.value_type))
    raise ValueError(f"no Spark type for Arrow type {dtype}")


def table_schema(table: Table, *, partitions: bool = False) -> T.StructType:
    """Columns stored in the table's files (and its partition columns when ``partitions``)."""
    columns = (*table.columns, *table.partitions) if partitions else table.columns
    return T.StructType([T.StructField(c.name, spark_type(c.type)) for c in columns])


def conform(frame: DataFrame, table: Table, *, partitions: bool = False) -> DataFrame:
    """``frame`` with exactly the table's columns, in order and cast to their types.

    A missing column is an error (as in the local lake), extra columns are dropped.
    """
    schema = table_schema(table, partitions=partitions)
    missing = [f.name for f in schema.fields if f.name not in frame.columns]
    if missing:
        raise ValueError(f"{table.name}: rows lack columns {missing}")
    return frame.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def epoch_seconds(ts: Column) -> Column:
    """Whole seconds since the epoch (floored) of a naive UTC timestamp (UTC session)."""
    return F.unix_seconds(ts.cast("timestamp"))


def epoch_micros(ts: Column) -> Column:
    return F.unix_micros(ts.cast("timestamp"))


def from_seconds(seconds: Column) -> Column:
    """A naive UTC timestamp from epoch seconds (UTC session)."""
    return F.timestamp_seconds(seconds).cast("timestamp_ntz")


def from_micros(micros: Column) -> Column:
    return F.timestamp_micros(micros).cast("timestamp_ntz")
