"""The one place that builds what the API reads from: the lake (local directory or S3).

Nothing is built at import time. The lake comes from, in order: :func:`configure` (``fleetcast serve``
and tests inject one), ``FLEETCAST_LAKE`` (a directory, or ``s3://bucket/prefix``), or the
deployment's ``LAKE_TABLE_LOCATIONS`` (JSON ``{table: s3://bucket/table/}``, set by the CDK stack).
Any object with the :class:`~fleetcast.lake.local.LocalLake` methods (``scan``, ``read``, ``files``)
serves: the API is written against that interface, not a class.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

_state: dict[str, Any] = {"lake": None, "results": None}


class LakeNotConfigured(RuntimeError):
    """Neither :func:`configure` nor the environment says where the lake is."""


def configure(lake: Any, *, ttl_seconds: float = 30.0) -> None:
    """Serve ``lake`` (a LocalLake, an S3Lake or anything with their methods) from now on.

    ``ttl_seconds``: how long the list of runs per shard is reused before the lake is listed again.
    """
    from fleetcast.api.results import Results

    _state["lake"] = lake
    _state["results"] = Results(lake, ttl_seconds=ttl_seconds)


def results():
    """The :class:`~fleetcast.api.results.Results` reader over the configured lake."""
    if _state["results"] is None:
        configure(lake_from_environment(os.environ))
    return _state["results"]


def lake_from_environment(environ: Mapping[str, str]) -> Any:
    """The lake named by the environment (see the module docstring).

    Examples
    --------
    >>> lake_from_environment({"FLEETCAST_LAKE": "/tmp/lake"})
    LocalLake('/tmp/lake')
    """
    where = environ.get("FLEETCAST_LAKE")
    if where and not where.startswith("s3://"):
        from fleetcast.lake.local import LocalLake

        return LocalLake(where)
    if where or environ.get("LAKE_TABLE_LOCATIONS"):
        from fleetcast.lake.s3 import S3Lake  # the S3 twin of LocalLake (same methods)

        return S3Lake.at(where) if where else S3Lake.from_environment(environ)
    raise LakeNotConfigured("no lake configured: set FLEETCAST_LAKE (a directory or s3:// URI) "
                            "or LAKE_TABLE_LOCATIONS")


def describe(lake: Any) -> str:
    """Where the lake is, for /health (no credentials, just the location)."""
    root = getattr(lake, "root", None) or getattr(lake, "uri", None)
    return str(root) if root is not None else type(lake).__name__
