"""In-process Lambda: the real handlers of ``lambdas/<function>/``, run where moto would start Docker.

Gap closed: moto executes a function only in a Docker container (``LambdaFunction._invoke_lambda``).
The shim replaces that one method: an invocation (from the state machine's ``lambda:invoke`` task or
any boto3 ``invoke``) goes through moto's Lambda API as usual - function lookup, payload, the
``X-Amz-Function-Error`` header - and only the execution is swapped for a call of the handler module
in this process, with a Lambda-like context. An exception becomes the error payload the Lambda
runtime sends (``errorType`` = the exception's class name, which the state machine's Retry/Catch
match, e.g. ``InputRejected``).

Which handler: functions created by ``infra/functions.py`` carry ``POWERTOOLS_METRICS_FUNCTION_NAME``
= their folder under ``lambdas/``; the module and function come from the zip ``Handler``
(``handler.handler``) or the image ``Command`` (``forecast.handler.handler``). Handler modules are
imported on their first invocation, once per runtime (so each local cloud gets fresh module state).

A semaphore caps concurrent invocations (``max_concurrency``, default 2: this runs on a laptop, not
on a fleet); a Distributed Map of 16 shards simply queues.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from moto.awslambda.models import LambdaFunction

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"


@dataclass(frozen=True)
class HandlerRef:
    """Where a function's code is: ``lambdas/<folder>/<module>.py``, function ``attr``."""

    folder: str
    module: str = "handler"
    attr: str = "handler"

    @classmethod
    def from_function(cls, properties: dict) -> HandlerRef | None:
        """From a resolved ``AWS::Lambda::Function``; None for functions that are not fleetcast's."""
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        folder = variables.get("POWERTOOLS_METRICS_FUNCTION_NAME")
        if not folder:
            return None
        command = ((properties.get("ImageConfig") or {}).get("Command") or [None])[0]
        dotted = command.split(".", 1)[1] if command else properties.get("Handler", "handler.handler")
        module, _, attr = dotted.rpartition(".")
        return cls(folder, module or "handler", attr)

    def path(self, root: Path = LAMBDAS_DIR) -> Path:
        return root / self.folder / f"{self.module.replace('.', '/')}.py"


@dataclass
class Invocation:
    function: str
    event: Any
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    seconds: float = 0.0


@dataclass
class LambdaContext:
    """What a handler sees as ``context`` (the attributes Powertools reads)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    timeout_s: int = 900
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "localcloud"
    _deadline: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRuntime:
    """Runs registered functions in process; records every invocation.

    Examples
    --------
    >>> runtime = LambdaRuntime()
    >>> runtime.register("Fn1", HandlerRef("validate"))
    >>> sorted(runtime.handlers)
    ['Fn1']
    """

    def __init__(self, *, max_concurrency: int = 2, root: Path = LAMBDAS_DIR) -> None:
        self.handlers: dict[str, HandlerRef] = {}
        self.invocations: list[Invocation] = []
        self.root = root
        self._modules: dict[str, ModuleType] = {}
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()

    def register(self, function_name: str, ref: HandlerRef) -> None:
        self.handlers[function_name] = ref

    @contextlib.contextmanager
    def installed(self) -> Iterator[LambdaRuntime]:
        runtime = self

        def invoke(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(fn.function_name, fn.function_arn, event, memory=int(fn.memory_size or 128),
                                  timeout=int(fn.timeout or 3))

        with mock.patch.object(LambdaFunction, "_invoke_lambda", invoke):
            yield self

    def invoke(self, name: str, arn: str, event: Any, *, memory: int = 1024, timeout: int = 900
               ) -> tuple[str, bool, str]:
        """Run the handler of ``name``: (payload JSON, errored, log tail) as moto's Docker path returns."""
        record = Invocation(name, event)
        start = time.perf_counter()
        with self._slots:
            result, error = self._run(name, event, LambdaContext(name, arn, memory, timeout))
        record.seconds = time.perf_counter() - start
        if error is None:
            record.result = result
            payload, errored = json.dumps(result), False
        else:
            record.error_type, record.error_message = error["errorType"], error["errorMessage"]
            payload, errored = json.dumps(error), True
        with self._lock:
            self.invocations.append(record)
        return payload, errored, ""

    def _run(self, name: str, event: Any, context: LambdaContext) -> tuple[Any, dict | None]:
        try:
            function = self.handler(name)
        except ImportError as exc:  # what the Lambda runtime reports when the handler cannot load
            return None, _error_payload(exc, "Runtime.ImportModuleError")
        except NotImplementedError as exc:
            return None, _error_payload(exc, "LocalCloud.NotEmulated")
        try:
            result = function(event, context)
        except Exception as exc:  # the Lambda runtime reports every exception as a function error
            return None, _error_payload(exc)
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:  # the runtime cannot send a non-JSON answer
            return None, _error_payload(exc, "Runtime.MarshalError")
        return result, None

    def handler(self, name: str) -> Callable[[Any, Any], Any]:
        if name not in self.handlers:
            raise NotImplementedError(f"function {name} is not run by the local cloud (not a fleetcast handler)")
        ref = self.handlers[name]
        return getattr(self.module(ref.folder, ref.module), ref.attr)

    def module(self, folder: str, module: str = "handler") -> ModuleType:
        """The handler module of ``lambdas/<folder>/`` as this runtime runs it (imported on first use), e.g.
        for a test to patch what the handler calls."""
        with self._lock:
            if folder not in self._modules:
                path = HandlerRef(folder, module).path(self.root)
                self._modules[folder] = _load(path, f"{folder}_{id(self):x}")
            return self._modules[folder]

    def calls(self, folder: str) -> list[Invocation]:
        """Invocations of the function whose code is ``lambdas/<folder>/``."""
        names = {n for n, ref in self.handlers.items() if ref.folder == folder}
        return [i for i in self.invocations if i.function in names]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fleetcast_localcloud_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {"errorMessage": str(exc), "errorType": error_type or type(exc).__name__, "requestId": str(uuid.uuid4()),
            "stackTrace": traceback.format_tb(exc.__traceback__)}
