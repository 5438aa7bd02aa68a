"""`npx cdk synth` works offline: no credentials, no Docker (CDK_DOCKER=false).

`python app.py` is what the session fixtures run in-process (conftest.py), with the same offline environment.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _offline_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        HOME=str(home),
        CDK_DOCKER="false",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    return env


@pytest.mark.slow
def test_npx_cdk_synth_succeeds_offline(tmp_path):
    # Given the pinned CLI from package-lock.json (installed by `npm ci`)
    assert (REPO / "node_modules" / "aws-cdk" / "package.json").is_file(), "run `npm ci` first"
    version = json.loads((REPO / "node_modules/aws-cdk/package.json").read_text())["version"]
    assert version.startswith("2.")
    run = subprocess.run(
        [shutil.which("npx"), "--no-install", "cdk", "synth", "--quiet", "-o", str(tmp_path / "out")],
        cwd=REPO,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "out" / "Fleetcast-dev.template.json").is_file()
