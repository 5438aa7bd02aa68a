"""Glue 5.0 (Spark 3.5, Python 3.11) entry point of the aggregation step: one upload -> staging + observations.

Thin: reads the job arguments, builds the session and the catalog adapter, and hands over to
:func:`fleetcast.spark.aggregate.run_aggregation` (the ``fleetcast`` package comes with ``--extra-py-files``;
it needs only pyspark, pyarrow and boto3, which Glue 5.0 provides).
"""

import logging
import sys

import boto3
from awsglue.utils import getResolvedOptions
from pyspark.sql import SparkSession

from fleetcast.spark.aggregate import run_aggregation
from fleetcast.spark.catalog import PartitionCatalog

ARGUMENTS = [
    "run_id",
    "source_id",
    "source_uri",
    "kind",
    "format",
    "raw_bucket",
    "curated_bucket",
    "database",
    "lake_locations",
]


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = getResolvedOptions(argv, ARGUMENTS)
    spark = SparkSession.builder.getOrCreate()
    catalog = PartitionCatalog(boto3.client("glue"), args["database"]) if args["database"] else None
    result = run_aggregation(spark, **args, catalog=catalog)
    logging.getLogger("fleetcast").info("aggregated: %s", result)


if __name__ == "__main__":
    main(sys.argv)
