"""Glue catalog: one Parquet table per registry entry, in the bucket of its stage."""

import pyarrow as pa
import pytest

from fleetcast.lake.tables import TABLES
from infra.catalog import CURATED_TABLES, glue_type, table_zone


def _tables(synth) -> dict[str, dict]:
    return {r["Properties"]["TableInput"]["Name"]: r["Properties"] for r in synth.of_type("AWS::Glue::Table").values()}


def test_database_is_named_from_context(synth, synth_options):
    (db,) = synth.of_type("AWS::Glue::Database").values()
    assert db["Properties"]["DatabaseInput"]["Name"] == "fleetcast"
    assert db["Properties"]["CatalogId"] == {"Ref": "AWS::AccountId"}


def test_every_registry_table_is_a_parquet_table_with_its_columns_and_partitions(synth):
    # Given the registry as other sessions extend it; When the stack is synthesized
    tables = _tables(synth)
    # Then there is exactly one Glue table per registry table (new ones appear automatically)
    assert sorted(tables) == sorted(TABLES)
    for name, table in TABLES.items():
        props = tables[name]
        sd = props["TableInput"]["StorageDescriptor"]
        assert props["DatabaseName"] == "fleetcast"
        assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [(c.name, glue_type(c.type)) for c in table.columns]
        assert [(c["Name"], c["Type"]) for c in props["TableInput"].get("PartitionKeys", [])] == [
            (c.name, glue_type(c.type)) for c in table.partitions
        ]
        assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        assert sd["InputFormat"].endswith("MapredParquetInputFormat")
        assert props["TableInput"]["Parameters"]["classification"] == "parquet"


def test_tables_live_in_the_bucket_of_the_stage_that_writes_them(synth):
    tables = _tables(synth)
    for name in TABLES:
        location = tables[name]["TableInput"]["StorageDescriptor"]["Location"]["Fn::Join"][1]
        bucket = location[1]["Ref"]
        expected = "StorageCurated" if name in CURATED_TABLES else "StorageResults"
        assert bucket.startswith(expected), (name, bucket)
        assert location[2] == f"/{name}/"


def test_arrow_types_map_to_athena_types():
    assert (
        glue_type(pa.struct([("a", pa.int64()), ("b", pa.list_(pa.float64()))])) == "struct<a:bigint,b:array<double>>"
    )
    assert glue_type(pa.decimal128(12, 2)) == "decimal(12,2)"
    assert glue_type(pa.dictionary(pa.int32(), pa.string())) == "string"
    with pytest.raises(ValueError, match="no Glue type"):
        glue_type(pa.duration("s"))


def test_new_tables_default_to_the_results_bucket():
    assert table_zone(TABLES["observations"]) == "curated"
    assert table_zone(TABLES["runs"]) == "results"
