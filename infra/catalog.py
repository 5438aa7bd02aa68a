"""Glue Data Catalog: database and one Parquet table per entry of the lake's table registry.

Tables are generated from ``fleetcast.lake.tables.TABLES`` at synth, so a table appended there is
deployed with the next ``cdk deploy``; nothing here names a table except the rule below that decides
which bucket holds it.

Partitions are registered by the writers (awswrangler ``to_parquet(database=..., table=...)`` and the
Glue job), not by partition projection: the registry does not say which values a partition column may
take, and a projected table ignores partitions that are registered.
"""

from __future__ import annotations

import pyarrow as pa
from aws_cdk import Aws, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from fleetcast.lake.tables import TABLES, Table

#: Tables written by ingestion and aggregation (validate, the Glue job) live in the curated bucket;
#: every other table (run outputs: forecasts, backtests, risk flags, plans, simulations, runs) lives
#: in the results bucket. New tables default to results.
CURATED_TABLES = frozenset({"observations", "gaps", "rejects", "sources", "log_bins", "metric_samples"})

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

CATALOG_READ = (
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
)
CATALOG_WRITE = (
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
    "glue:DeletePartition",
    "glue:BatchDeletePartition",
)


def glue_type(dtype: pa.DataType) -> str:
    """Hive/Athena type of an Arrow type, as the Glue catalog wants it.

    Examples
    --------
    >>> glue_type(pa.timestamp("us")), glue_type(pa.list_(pa.string())), glue_type(pa.int32())
    ('timestamp', 'array<string>', 'int')
    """
    simple = {
        pa.string(): "string",
        pa.large_string(): "string",
        pa.bool_(): "boolean",
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.uint8(): "smallint",
        pa.uint16(): "int",
        pa.uint32(): "bigint",
        pa.uint64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.date32(): "date",
        pa.binary(): "binary",
    }
    if dtype in simple:
        return simple[dtype]
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_decimal(dtype):
        return f"decimal({dtype.precision},{dtype.scale})"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return f"array<{glue_type(dtype.value_type)}>"
    if pa.types.is_map(dtype):
        return f"map<{glue_type(dtype.key_type)},{glue_type(dtype.item_type)}>"
    if pa.types.is_struct(dtype):
        return "struct<" + ",".join(f"{f.name}:{glue_type(f.type)}" for f in dtype) + ">"
    if pa.types.is_dictionary(dtype):
        return glue_type(dtype.value_type)
    raise ValueError(f"no Glue type for Arrow type {dtype}")


def table_zone(table: Table) -> str:
    """``curated`` or ``results``: which bucket holds ``table``."""
    return "curated" if table.name in CURATED_TABLES else "results"


class Catalog(Construct):
    """The ``fleetcast`` database, its tables, and catalog grants scoped to exactly those tables."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database_name: str,
        curated: s3.IBucket,
        results: s3.IBucket,
        tables: dict[str, Table] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = database_name
        self.tables = dict(tables if tables is not None else TABLES)
        buckets = {"curated": curated, "results": results}
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name,
                description="fleetcast lake: observations, forecasts, risk flags, scaling plans, runs",
            ),
        )
        self.locations: dict[str, str] = {}
        self.cfn_tables: dict[str, glue.CfnTable] = {}
        for table in self.tables.values():
            location = f"s3://{buckets[table_zone(table)].bucket_name}/{table.name}/"
            self.locations[table.name] = location
            cfn = glue.CfnTable(
                self,
                f"Table-{table.name}",
                catalog_id=Aws.ACCOUNT_ID,
                database_name=database_name,
                table_input=_table_input(table, location),
            )
            cfn.node.add_dependency(self.database)
            self.cfn_tables[table.name] = cfn

    def catalog_arn(self) -> str:
        return Stack.of(self).format_arn(service="glue", resource="catalog")

    def database_arn(self) -> str:
        return Stack.of(self).format_arn(service="glue", resource="database", resource_name=self.database_name)

    def table_arns(self, names: list[str] | None = None) -> list[str]:
        stack = Stack.of(self)
        return [
            stack.format_arn(service="glue", resource="table", resource_name=f"{self.database_name}/{n}")
            for n in (names or sorted(self.tables))
        ]

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the database, its tables and their partitions (not the data: grant the buckets)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(CATALOG_READ),
            resource_arns=[self.catalog_arn(), self.database_arn(), *self.table_arns()],
        )

    def grant_write_partitions(self, grantee: iam.IGrantable, table_names: list[str]) -> iam.Grant:
        """Read the catalog and add/replace partitions of ``table_names`` only."""
        self.grant_read(grantee)
        unknown = sorted(set(table_names) - set(self.tables))
        if unknown:
            raise ValueError(f"not lake tables: {unknown}")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(CATALOG_WRITE),
            resource_arns=[self.catalog_arn(), self.database_arn(), *self.table_arns(table_names)],
        )

    def tables_in(self, zone: str) -> list[str]:
        return sorted(name for name, table in self.tables.items() if table_zone(table) == zone)


def _table_input(table: Table, location: str) -> glue.CfnTable.TableInputProperty:
    def column(c) -> glue.CfnTable.ColumnProperty:
        return glue.CfnTable.ColumnProperty(name=c.name, type=glue_type(c.type), comment=c.doc[:255] or None)

    return glue.CfnTable.TableInputProperty(
        name=table.name,
        description=table.doc[:2048],
        table_type="EXTERNAL_TABLE",
        parameters={
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "parquet.compression": "ZSTD",
            "fleetcast.internal": str(table.internal).lower(),
        },
        partition_keys=[column(c) for c in table.partitions],
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=[column(c) for c in table.columns],
            location=location,
            input_format=PARQUET_INPUT,
            output_format=PARQUET_OUTPUT,
            serde_info=glue.CfnTable.SerdeInfoProperty(
                serialization_library=PARQUET_SERDE, parameters={"serialization.format": "1"}
            ),
            compressed=True,
        ),
    )
