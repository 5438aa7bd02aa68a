#!/usr/bin/env python3
"""The fleetcast CDK app (`npx cdk synth`, `npx cdk deploy`, or `python app.py`).

Synth is offline: no AWS credentials, no Docker, no network. It builds the pure-Python core layer
(a file copy unless layers/core/requirements.txt lists packages) and fingerprints the container
image's context; the image itself is built by `cdk deploy`. cdk-nag's AwsSolutions checks run as a
policy-validation plugin: a finding that is not acknowledged (with its reason, next to the resource)
fails the synth.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import Config
from infra.stack import FleetcastStack
from layers.build import build_core_layer

REPO = Path(__file__).resolve().parent


def cdk_json_context() -> dict:
    """The ``context`` of cdk.json, so `python app.py` synthesizes what `npx cdk synth` does."""
    return json.loads((REPO / "cdk.json").read_text()).get("context", {})


def build_app(
    context: dict | None = None, *, outdir: str | None = None, core_layer_dir: Path | None = None, **stack_props
) -> cdk.App:
    """The app with its one stack; ``context`` overrides cdk.json (the CLI's ``-c`` overrides both)."""
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = Config.from_node(app.node)
    env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    FleetcastStack(
        app,
        f"Fleetcast-{config.env_name}",
        config=config,
        env=env,
        core_layer_dir=core_layer_dir or build_core_layer().path,
        **stack_props,
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
