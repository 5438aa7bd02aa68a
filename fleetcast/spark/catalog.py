"""Glue Data Catalog partitions of the tables the job writes, through an injected boto3 Glue client.

Chosen over ``MSCK REPAIR TABLE``: the job knows exactly which partitions it created and emptied, so it
registers those (``batch_create_partition``) and removes emptied ones (``batch_delete_partition``) in a
few calls, without listing the tables' whole S3 history, without needing Spark's Hive support, and
testably against moto. Partitions inherit the table's storage descriptor with their own location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetcast.lake.tables import Table

CREATE_BATCH, DELETE_BATCH = 100, 25  # Glue API limits


class PartitionCatalog:
    """Partitions of tables in one Glue database.

    Examples
    --------
    >>> catalog = PartitionCatalog(boto3.client("glue"), "fleetcast")  # doctest: +SKIP
    >>> present = [{"granularity": "1h", "shard": "3"}]
    >>> catalog.sync(OBSERVATIONS, "s3://curated/observations", present, [])  # doctest: +SKIP
    """

    def __init__(self, glue: Any, database: str) -> None:
        self.glue = glue
        self.database = database

    def sync(self, table: Table, location: str, present: list[Mapping[str, str]],
             absent: list[Mapping[str, str]]) -> None:
        """Make sure ``present`` partitions are registered and ``absent`` ones are not."""
        if not table.partitions:
            return
        if present:
            self._create(table, location.rstrip("/"), present)
        if absent:
            self._delete(table, absent)

    def _values(self, table: Table, partition: Mapping[str, str]) -> list[str]:
        return [str(partition[c.name]) for c in table.partitions]

    def _create(self, table: Table, location: str, partitions: list[Mapping[str, str]]) -> None:
        descriptor = self.glue.get_table(DatabaseName=self.database, Name=table.name)["Table"]["StorageDescriptor"]
        inputs = []
        for partition in partitions:
            values = self._values(table, partition)
            path = "/".join([location, *[f"{c.name}={v}" for c, v in zip(table.partitions, values, strict=True)]])
            inputs.append({"Values": values, "StorageDescriptor": {**descriptor, "Location": f"{path}/"}})
        for start in range(0, len(inputs), CREATE_BATCH):
            answer = self.glue.batch_create_partition(DatabaseName=self.database, TableName=table.name,
                                                      PartitionInputList=inputs[start:start + CREATE_BATCH])
            _raise_unexpected(answer, "AlreadyExistsException")

    def _delete(self, table: Table, partitions: list[Mapping[str, str]]) -> None:
        values = [{"Values": self._values(table, p)} for p in partitions]
        for start in range(0, len(values), DELETE_BATCH):
            answer = self.glue.batch_delete_partition(DatabaseName=self.database, TableName=table.name,
                                                      PartitionsToDelete=values[start:start + DELETE_BATCH])
            _raise_unexpected(answer, "EntityNotFoundException")


def _raise_unexpected(answer: dict, expected: str) -> None:
    errors = [e for e in answer.get("Errors", []) if e.get("ErrorDetail", {}).get("ErrorCode") != expected]
    if errors:
        detail = errors[0].get("ErrorDetail", {})
        raise RuntimeError(f"Glue catalog: {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")
