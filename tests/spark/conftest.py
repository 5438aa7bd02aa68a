"""One local Spark session for the whole test session, tuned for tiny inputs.

pyspark is imported at module level on purpose: without it (or without Java) these tests fail, they
never skip (CI must notice).

The inputs are a few kilobytes, so the time goes into planning, not into data: one shuffle partition,
no adaptive re-planning, no constraint propagation (its cost grows with the number of predicates of
the parser's plans), the JVM's quick compiler only, and no UI.
"""

from __future__ import annotations

import os
import sys

import pytest
from pyspark.sql import SparkSession

from fleetcast.spark import configure_session

TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.constraintPropagation.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Duser.timezone=UTC",
}


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master("local[2]").appName("fleetcast-tests")
    for key, value in TEST_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield configure_session(session)
    session.stop()
