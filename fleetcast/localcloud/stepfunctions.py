"""Shims on moto's Step Functions interpreter, each closing one documented gap.

moto 5.2 executes state machines (``{"stepfunctions": {"execute_state_machine": True}}``) with an
interpreter ported from LocalStack. Three things differ from Step Functions in ways the pipeline's
synthesized definition runs into:

1. ``$$.Execution.StartTime`` is a Python ``datetime`` instead of the ISO-8601 string AWS gives
   (``2024-05-01T03:00:00.123Z``): intrinsics such as ``States.StringSplit`` on it fail, and
   ``DescribeExecution`` cannot serialize an output that carries it. :func:`iso_start_time` converts it.
2. ``arn:aws:states:::glue:startJobRun.sync`` always fails with ``'NoneType' object has no attribute
   'interrupt_all'``: the callback-task code releases a task-token endpoint that only exists for
   ``.waitForTaskToken``. :func:`glue_sync_without_callback` polls the job run to its end instead
   (what ``.sync`` means), raising the same failure moto raises for a FAILED/TIMEOUT/ERROR run.
3. Retry waits are real ``time.sleep`` calls (5 s, 15 s... with the pipeline's backoff). Not a bug,
   but a retried forecast shard would cost tens of seconds in a test: :func:`scaled_retry_waits`
   multiplies every retry wait by ``scale`` (the Retry policy itself - which errors, how many
   attempts - runs exactly as synthesized).

Each shim is a context manager patching one function, undone on exit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from unittest import mock

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
    StateTaskServiceGlue,
)
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

SYNC_POLL_SECONDS = 0.05


def aws_timestamp(moment: datetime) -> str:
    """A datetime the way Step Functions writes ``$$.Execution.StartTime``.

    Examples
    --------
    >>> aws_timestamp(datetime(2024, 5, 1, 3, 0, 0, 123456))
    '2024-05-01T03:00:00.123Z'
    """
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@contextlib.contextmanager
def iso_start_time() -> Iterator[None]:
    original = ExecutionWorker._get_evaluation_environment

    def environment(self):  # noqa: ANN001 - moto's signature
        env = original(self)
        execution = env.states.context_object.context_object_data["Execution"]
        if isinstance(execution.get("StartTime"), datetime):
            execution["StartTime"] = aws_timestamp(execution["StartTime"])
        return env

    with mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment):
        yield


@contextlib.contextmanager
def glue_sync_without_callback() -> Iterator[None]:
    def sync(self, env, resource_runtime_part, normalised_parameters, state_credentials):  # noqa: ANN001
        # The StartJobRun answer is on the stack (moto's _eval_execution pushed it); the sync resolver
        # pops it, polls GetJobRun and returns the job run once it has ended (or raises on failure).
        resolver = self._build_sync_resolver(env, resource_runtime_part, normalised_parameters, state_credentials)
        while env.is_running():
            outcome = resolver()
            if outcome:
                env.stack.append(outcome)
                return
            time.sleep(SYNC_POLL_SECONDS)

    with mock.patch.object(StateTaskServiceGlue, "_eval_integration_pattern", sync):
        yield


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: ``sleep`` is ``scale`` times shorter."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)


@contextlib.contextmanager
def scaled_retry_waits(scale: float) -> Iterator[None]:
    with mock.patch.object(retrier_decl, "time", _ScaledTime(scale)):
        yield
