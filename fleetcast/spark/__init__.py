"""PySpark versions of the local aggregation: the Glue job's transforms and its thin I/O.

The transforms give the same rows as the local engine (``fleetcast.ingest`` + ``fleetcast.aggregate`` +
``fleetcast.pipeline.ingest.refresh_shard``) on the same input; ``tests/spark`` proves it table by table.

Pure transforms (DataFrame in, DataFrame out; no file system, no Glue):

- :func:`fleetcast.spark.text.number_lines` - raw text lines -> ``line, text, chunk, cut``
- :func:`fleetcast.spark.access_log.parse_access_log` - lines -> requests and rejects (split lines repaired)
- :func:`fleetcast.spark.access_log.bin_requests` - requests -> per-minute ``log_bins`` staging rows
- :func:`fleetcast.spark.metrics.metric_samples` - a metrics table -> ``metric_samples`` and rejects
- :func:`fleetcast.spark.log_series.log_observations`, :func:`~fleetcast.spark.log_series.log_gaps`
- :func:`fleetcast.spark.server_series.server_observations`, :func:`~fleetcast.spark.server_series.server_gaps`
- :func:`fleetcast.spark.shards.shard_tables` - staging rows of some shards -> ``observations`` and ``gaps``

Orchestration for one uploaded object: :func:`fleetcast.spark.aggregate.run_aggregation` (reads and writes
through Hadoop paths, ``s3://`` on Glue, ``file://`` or plain paths locally; catalog partitions through an
injected boto3 Glue client).

Nothing here imports polars (Glue 5.0 does not ship it): only pyspark, the standard library, pyarrow
(shipped by Glue 5.0) for the table registry, and boto3 in the catalog adapter. Every transform assumes
a session in UTC (``spark.sql.session.timeZone=UTC``; :func:`configure_session` sets it).
"""

from __future__ import annotations

from pyspark.sql import SparkSession

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # timestamps are naive UTC everywhere in the lake
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.compression.codec": "zstd",  # as the local lake writes
}


def configure_session(spark: SparkSession) -> SparkSession:
    """Set the session options the transforms rely on (UTC session time zone, non-ANSI casts).

    Examples
    --------
    >>> configure_session(spark).conf.get("spark.sql.session.timeZone")  # doctest: +SKIP
    'UTC'
    """
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    return spark
