"""Fixtures of the API tests: lakes with results, the resolver called in-process, a served API.

The resolver is called with the API Gateway REST proxy events ``fleetcast serve`` builds
(:func:`fleetcast.api.local.to_event`), so in-process calls see what API Gateway would send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fleetcast.api import services
from fleetcast.api.http import app
from fleetcast.api.local import make_server, to_event
from fleetcast.api.sample import write_sample_results
from fleetcast.lake.local import LocalLake

NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab-aws-cloudwatch"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    def fields(self) -> list[str]:
        """The ``field`` of each field-level error."""
        return [e["field"] for e in self.json["errors"]]


def call(method: str, path: str, body: Any = None, content_type: str = "application/json",
         headers: dict[str, str] | None = None) -> Reply:
    """Resolve one request in-process, as API Gateway would send it."""
    if body is None:
        raw = b""
    elif isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    pairs = [("Content-Type", content_type), *(headers or {}).items()] if raw else list((headers or {}).items())
    response = app.resolve(to_event(method, path, pairs, raw), None)
    flat = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    flat.update(response.get("headers") or {})
    return Reply(response["statusCode"], flat, response["body"])


def nab(name: str) -> pl.DataFrame:
    """One real NAB CloudWatch series (``timestamp, value``), two weeks of 5-minute points."""
    path = NAB / f"{name}.csv"
    assert path.is_file(), f"real data missing: {path} (../shared must sit beside the repository)"
    return pl.read_csv(path, try_parse_dates=True)


def points(frame: pl.DataFrame, column: str = "value") -> list[dict[str, Any]]:
    """``[{"timestamp": "...Z", "value": v}]`` rows of a ``timestamp, value`` frame."""
    return [{"timestamp": f"{ts:%Y-%m-%dT%H:%M:%S}Z", "value": v}
            for ts, v in zip(frame["timestamp"], frame[column], strict=True)]


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> LocalLake:
    """Results of three runs (two nightly, one upload over two shards) for 40 servers."""
    lake = LocalLake(tmp_path_factory.mktemp("api") / "lake")
    write_sample_results(lake, n_series=40)
    return lake


@pytest.fixture
def served_lake(sample_lake: LocalLake) -> Iterator[LocalLake]:
    """The API answers from ``sample_lake`` for the test."""
    with serving(sample_lake):
        yield sample_lake


class serving:  # noqa: N801 (used as a context manager)
    """Serve ``lake`` within a ``with`` block, then whatever was served before."""

    def __init__(self, lake: Any) -> None:
        self.lake = lake

    def __enter__(self) -> Any:
        self.before = dict(services._state)
        services.configure(self.lake, ttl_seconds=0.0)
        return self.lake

    def __exit__(self, *exc: object) -> None:
        services._state.update(self.before)


@pytest.fixture
def base_url(served_lake: LocalLake) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the API served over HTTP (a free port) for the test."""
    server = make_server("127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
