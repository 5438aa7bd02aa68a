"""Synthesize the app once per session (default context, and once with every option on).

Synth runs exactly as `python app.py` does, offline: credentials are removed from the environment and
CDK_DOCKER points at `false`, so any attempt to run Docker during synth fails the session.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # before jsii starts
REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # infra/ and layers/ are not installed packages
    sys.path.insert(0, str(REPO))

VIEWS = Path(__file__).resolve().parent / "views"
QUICKSIGHT_ARN = "arn:aws:quicksight:eu-west-1:111122223333:user/default/analyst"


@dataclass
class Synth:
    outdir: Path
    template: dict

    @property
    def resources(self) -> dict:
        return self.template["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict]:
        return {k: r for k, r in self.resources.items() if r["Type"] == cfn_type}


def _synth(tmp: Path, context: dict, *, region: str | None = None, **props) -> Synth:
    from app import build_app

    saved = dict(os.environ)
    for var in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "CDK_DEFAULT_ACCOUNT",
        "CDK_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        os.environ.pop(var, None)
    if region:
        os.environ["CDK_DEFAULT_REGION"] = region
    os.environ["CDK_DOCKER"] = "false"
    os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    try:
        build_app(context, outdir=str(tmp), **props).synth()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    stack = context.get("envName", "dev")
    return Synth(tmp, json.loads((tmp / f"Fleetcast-{stack}.template.json").read_text()))


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    """The app as cdk.json configures it (repository view files, IAM auth, QuickSight off)."""
    return _synth(tmp_path_factory.mktemp("cdk-default"), {})


@pytest.fixture(scope="session")
def synth_options(tmp_path_factory) -> Synth:
    """Every opt-in: QuickSight, API keys, another environment name, test view files, a region."""
    context = {
        "envName": "prod",
        "quicksightPrincipalArn": QUICKSIGHT_ARN,
        "apiAuth": "apiKey",
        "reservedConcurrency": "false",
        "alarmEmail": "ops@example.com",
    }
    return _synth(tmp_path_factory.mktemp("cdk-options"), context, region="eu-west-1", views_dir=VIEWS)
