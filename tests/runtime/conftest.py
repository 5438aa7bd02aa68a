"""Fixtures for the runtime tests: moto per service (each yielding a ready resource), the synthesized
template once per session, and a LocalCloud per test.

Every test runs in its own in-process moto world (nothing leaves the machine); credentials and
region are fake and set for the test only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REGION = "us-east-1"
EVENTS = Path(__file__).resolve().parents[1] / "events"
LAKE_BUCKET = "fc-test-lake"


def event(name: str) -> dict:
    """A JSON event from tests/events/."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def aws(monkeypatch):
    """A fresh moto world and a boto3 session bound to it."""
    import boto3
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EVENT_BUS_NAME", "LAKE_TABLE_LOCATIONS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def raw_bucket(aws) -> str:
    """The raw bucket: versioned, as deployed."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="fc-test-raw")
    s3.put_bucket_versioning(Bucket="fc-test-raw", VersioningConfiguration={"Status": "Enabled"})
    return "fc-test-raw"


@pytest.fixture
def catalog(aws) -> str:
    """Glue database ``fleetcast`` with every registry table under s3://fc-test-lake/<table>/."""
    from fleetcast.localcloud.provision import registry_catalog

    aws.client("s3").create_bucket(Bucket=LAKE_BUCKET)
    registry_catalog(aws, "fleetcast", LAKE_BUCKET)
    return "fleetcast"


@pytest.fixture
def s3_lake(aws, catalog):
    from fleetcast.lake.s3 import S3Lake

    return S3Lake.at(f"s3://{LAKE_BUCKET}", database=catalog, boto3_session=aws)


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> dict:
    """The CDK app synthesized once per session, offline (what `python app.py` writes).

    ``FLEETCAST_TEMPLATE=cdk.out/Fleetcast-dev.template.json`` reuses a template synthesized earlier
    (saves ~15 s when iterating; CI leaves it unset so the current code is what runs).
    """
    from fleetcast.localcloud.template import load_template, synthesize

    if os.environ.get("FLEETCAST_TEMPLATE"):
        return load_template(os.environ["FLEETCAST_TEMPLATE"])
    return synthesize(tmp_path_factory.mktemp("synth"))


@pytest.fixture
def cloud(template):
    from fleetcast.localcloud import LocalCloud

    with LocalCloud(template) as running:
        yield running
