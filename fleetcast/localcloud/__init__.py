"""The local cloud: fleetcast's deployed event flow on this machine, with no AWS account.

moto (in-process) provides S3, EventBridge, the Glue catalog, SNS/SQS, Lambda's API and Step
Functions' interpreter; the stack is created from the template CDK synthesizes (intrinsics resolved
to local names, :mod:`~fleetcast.localcloud.template`), never from a hand-copied definition.

Where moto stops short of AWS, one small shim each (documented in its module, tested in
``tests/runtime/test_localcloud_shims.py``):

========================================  ===========================================================
moto gap                                   shim
========================================  ===========================================================
Lambda runs only in Docker                 :mod:`.lambdas`: the real ``lambdas/<fn>/handler.py`` in
                                           process, behind moto's Lambda API (errors as the runtime
                                           reports them)
EventBridge never delivers to Step         :mod:`.dispatcher`: each rule gets an SQS tap; the
Functions or SNS                           dispatcher delivers tapped events to the real targets
Schedules never fire                       :meth:`.dispatcher.EventDispatcher.fire_schedule`
S3 events: ``time`` epoch, ``eTag``        :func:`.dispatcher.aws_shape` (AWS: ISO time, ``etag``)
Glue runs nothing                          :mod:`.glue`: the aggregation, by the local engine (its
                                           parity with the PySpark job: ``tests/spark``)
``glue:startJobRun.sync`` crashes          :func:`.stepfunctions.glue_sync_without_callback`
``$$.Execution.StartTime`` not a string    :func:`.stepfunctions.iso_start_time`
Retry waits in real time (not a gap)       :func:`.stepfunctions.scaled_retry_waits`
Athena returns canned results              not shimmed: nothing in the pipeline queries Athena; query
                                           the lake with DuckDB (``fleetcast query``) instead
========================================  ===========================================================

Entry point: :class:`~fleetcast.localcloud.cloud.LocalCloud`; ``python -m fleetcast.localcloud FILE...``
runs files through it and prints what happened.
"""

from fleetcast.localcloud.cloud import LocalCloud

__all__ = ["LocalCloud"]
