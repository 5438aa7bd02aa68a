"""The aggregation Glue job, run in process when the state machine starts it.

Gap closed: moto records ``StartJobRun`` and lets the run "succeed" without running anything. The
shim wraps moto's ``FakeJob.start_job_run``: after moto has created the run (so ``GetJobRun``,
``GetJobRuns`` and the run id behave as before), the job's work is done right there, synchronously,
with the run's arguments (the job's ``DefaultArguments`` overlaid with the state machine's), and
the run ends ``SUCCEEDED`` or ``FAILED`` with the error as its ``ErrorMessage``. Runs of one job are
serialized (the template's ``MaxConcurrentRuns`` is 1: on AWS a second run waits for the slot
through the state machine's ``ConcurrentRunsExceededException`` retry; here it waits on a lock).

The job's work is the local engine - :func:`fleetcast.pipeline.sources.read_source`,
:func:`~fleetcast.pipeline.ingest.stage` and :func:`~fleetcast.pipeline.ingest.refresh_shard` - against
an :class:`~fleetcast.lake.s3.S3Lake` built from the job's ``--lake_locations`` and ``--database``: the
same tables, keys and catalog partitions the Glue script writes. Not the PySpark job itself: Spark cannot
read moto's in-process S3 (it would need the hadoop-aws jars and a moto server) and costs 30-60 s per
upload; that the PySpark transforms write the same rows as the local engine is what
``tests/spark/test_aggregation_parity.py`` proves (ADR 0002).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

from moto.glue.models import FakeJob, FakeJobRun

JobFunction = Callable[[Mapping[str, str]], None]


class GlueJobs:
    """Job name -> what running it means, installed over moto's Glue.

    Examples
    --------
    >>> jobs = GlueJobs()
    >>> jobs.register("AggregationJob", lambda args: None)
    >>> sorted(jobs.jobs)
    ['AggregationJob']
    """

    def __init__(self) -> None:
        self.jobs: dict[str, JobFunction] = {}
        self.runs: list[tuple[str, dict[str, str], str, str | None]] = []  # name, args, state, error
        self._locks: dict[str, threading.Lock] = {}

    def register(self, job_name: str, function: JobFunction) -> None:
        self.jobs[job_name] = function
        self._locks[job_name] = threading.Lock()

    @contextlib.contextmanager
    def installed(self) -> Iterator[GlueJobs]:
        original_start, original_dict = FakeJob.start_job_run, FakeJobRun.as_dict
        jobs = self

        def start_job_run(job: FakeJob, *args: Any, **kwargs: Any) -> str:
            run_id = original_start(job, *args, **kwargs)
            run = next(r for r in job.job_runs if r.job_run_id == run_id)
            jobs.execute(job.name, run)
            return run_id

        def as_dict(run: FakeJobRun) -> dict[str, Any]:
            answer = original_dict(run)
            if getattr(run, "error_message", None):
                answer["ErrorMessage"] = run.error_message
            return answer

        with mock.patch.object(FakeJob, "start_job_run", start_job_run), \
                mock.patch.object(FakeJobRun, "as_dict", as_dict):
            yield self

    def execute(self, job_name: str, run: FakeJobRun) -> None:
        if job_name not in self.jobs:
            run.status, run.error_message = "FAILED", f"job {job_name} is not run by the local cloud"
            return
        arguments = dict(run.arguments or {})
        with self._locks[job_name]:
            try:
                self.jobs[job_name](arguments)
                run.status, run.error_message = "SUCCEEDED", None
            except Exception as exc:  # a job run that raises ends FAILED, like on Glue
                run.status, run.error_message = "FAILED", f"{type(exc).__name__}: {exc}"
        self.runs.append((job_name, arguments, run.status, run.error_message))


def aggregation_job(session: Any) -> JobFunction:
    """The aggregation job's work, with S3 and Glue through ``session``."""
    return lambda arguments: aggregate_locally(arguments, session)


def aggregate_locally(arguments: Mapping[str, str], session: Any) -> dict[int, Any]:
    """One upload into the lake with the local engine: what ``glue_jobs/aggregate.py`` does on Glue.

    Reads ``--source_uri`` (the object validate accepted), stages it under its ``source_id`` and
    recomputes the observations and gaps of every shard it touches, stamped ``--run_id``.
    """
    from fleetcast.aggregate.bins import DEFAULT_GRANULARITIES
    from fleetcast.lake.s3 import S3Lake, split_uri
    from fleetcast.pipeline.ingest import refresh_shard, stage
    from fleetcast.pipeline.sources import read_source

    args = {k.removeprefix("--"): v for k, v in arguments.items()}
    lake = S3Lake(json.loads(args["lake_locations"]), database=args.get("database") or None, boto3_session=session)
    bucket, key = split_uri(args["source_uri"])
    with tempfile.TemporaryDirectory(prefix="fleetcast-glue-") as folder:
        local = Path(folder) / Path(key).name  # same file name: access-log series are named after it
        session.client("s3").download_file(bucket, key, str(local))
        source = read_source(local)
    if args.get("source_id") and source.source_id != args["source_id"]:
        raise ValueError(f"validate fingerprinted {args['source_uri']} as {args['source_id']}, "
                         f"the aggregation as {source.source_id}")
    source = dataclasses.replace(source, path=_ObjectPath(args["source_uri"]))
    shards = stage(lake, source, args["run_id"])
    return {shard: refresh_shard(lake, shard, args["run_id"], DEFAULT_GRANULARITIES) for shard in sorted(shards)}


class _ObjectPath(str):
    """An S3 URI standing where the local engine keeps a file's path (it only formats it)."""

    @property
    def name(self) -> str:
        return self.rsplit("/", 1)[-1]
